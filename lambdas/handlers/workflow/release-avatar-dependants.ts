import { release } from '../../domain/avatars/workflow-tasks.ts';
import { type AvatarStepsRuntime, withAvatarSteps } from '../../families/avatars/steps.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import { taskEntry } from '../../shared/task-entry.ts';

/** The avatars machine's Release step: wakes the jobs that depend on this one. */
export const releaseAvatarDependantsTask = (
  runtime: CoreRuntime & AvatarStepsRuntime,
  event: Parameters<typeof release>[1],
) => release(runtime.avatarTasks, event);

export const handler = taskEntry(releaseAvatarDependantsTask, withAvatarSteps);
