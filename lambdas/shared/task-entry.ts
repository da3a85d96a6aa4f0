/**
 * Entry points for Step Functions tasks and EventBridge targets. Kept apart from the API entries so
 * that a task's bundle carries no HTTP layer and no schema library.
 */
import { type RuntimeBuilder, runtimeFromEnvOnce } from '../runtime/core.ts';
import { withPowertools } from './lambda-entry.ts';

/** A task over the runtime `build` composes from the function's environment. */
export function taskEntry<R, E, Out>(task: (runtime: R, event: E) => Promise<Out>, build: RuntimeBuilder<R>) {
  const runtimeFromEnv = runtimeFromEnvOnce(build);
  return withPowertools(async (event: E) => task(await runtimeFromEnv(), event));
}
