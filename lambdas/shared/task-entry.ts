/**
 * Entry points for Step Functions tasks and EventBridge targets. Kept apart from the API entries so
 * that a task's bundle carries no HTTP layer and no schema library.
 */
import { type CoreRuntime, type RuntimeBuilder, runtimeFromEnvOnce } from '../runtime/core.ts';
import { coreOnly, type LambdaEntry, withPowertools } from './lambda-entry.ts';

/** A task over the core runtime alone. */
export function taskEntry<E, Out>(
  task: (runtime: CoreRuntime, event: E) => Promise<Out>,
): LambdaEntry<E, Out>;
/** A task over the runtime `build` composes from the function's environment. */
export function taskEntry<R, E, Out>(
  task: (runtime: R, event: E) => Promise<Out>,
  build: RuntimeBuilder<R>,
): LambdaEntry<E, Out>;
export function taskEntry<R, E, Out>(
  task: (runtime: R, event: E) => Promise<Out>,
  // Only the first signature leaves it out, and its task takes the core.
  build = coreOnly as RuntimeBuilder<R>,
): LambdaEntry<E, Out> {
  const runtimeFromEnv = runtimeFromEnvOnce(build);
  return withPowertools(async (event: E) => task(await runtimeFromEnv(), event));
}
