import { inProcessEngine } from '../../domain/avatars/compute.ts';
import { runAvatarJob } from '../../domain/avatars/run-job.ts';
import { type AvatarStepsRuntime, createAvatarStepsRuntime } from '../../families/avatars/steps.ts';
import { type CoreRuntime, compose, type RuntimeBuilder } from '../../runtime/core.ts';
import { taskEntry } from '../../shared/task-entry.ts';

/**
 * The avatars machine's Run step: the avatar engine on the job's tables, its results to S3. The same
 * code runs in the 4 GB and the 10 GB function; only this function's runtime carries the engine.
 */
export const runAvatarJobTask = (
  runtime: CoreRuntime & AvatarStepsRuntime,
  event: Parameters<typeof runAvatarJob>[1],
) => runAvatarJob(runtime.avatarTasks, event);

const withAvatarEngine: RuntimeBuilder<CoreRuntime & AvatarStepsRuntime> = (core) =>
  compose(core, createAvatarStepsRuntime(core, { engine: inProcessEngine }));

export const handler = taskEntry(runAvatarJobTask, withAvatarEngine);
