/**
 * Entry points for Step Functions tasks and EventBridge targets. Kept apart from the API entries so
 * that a task's bundle carries no HTTP layer and no schema library.
 */
import { type Runtime, runtimeFromEnv } from '../runtime.ts';
import { withPowertools } from './lambda-entry.ts';

export function taskEntry<E, R>(task: (runtime: Runtime, event: E) => Promise<R>) {
  return withPowertools(async (event: E) => task(await runtimeFromEnv(), event));
}
