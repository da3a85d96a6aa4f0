import { inProcessEngine } from '../../domain/avatars/compute.ts';
import { runAvatarJob } from '../../domain/avatars/run-job.ts';
import {
  type AvatarsRuntime,
  avatarsConfigFromEnv,
  createAvatarsRuntime,
} from '../../families/avatars/runtime.ts';
import { type CoreRuntime, compose, type RuntimeBuilder } from '../../runtime/core.ts';
import { taskEntry } from '../../shared/task-entry.ts';

/**
 * The avatars machine's Run step: the avatar engine on the job's tables, its results to S3. The same
 * code runs in the 4 GB and the 10 GB function; only this function's runtime carries the engine.
 */
export const runAvatarJobTask = (
  runtime: CoreRuntime & AvatarsRuntime,
  event: Parameters<typeof runAvatarJob>[1],
) => runAvatarJob(runtime.avatarTasks, event);

const withAvatarEngine: RuntimeBuilder<CoreRuntime & AvatarsRuntime> = (core, env) =>
  compose(core, createAvatarsRuntime(core, avatarsConfigFromEnv(env), { engine: inProcessEngine }));

export const handler = taskEntry(runAvatarJobTask, withAvatarEngine);
