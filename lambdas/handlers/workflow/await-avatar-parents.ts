import { awaitParents } from '../../domain/avatars/workflow-tasks.ts';
import { type AvatarStepsRuntime, withAvatarSteps } from '../../families/avatars/steps.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import { taskEntry } from '../../shared/task-entry.ts';

/** The avatars machine's AwaitParents step: keeps the step's task token on the job for its parents to send back. */
export const awaitAvatarParentsTask = (
  runtime: CoreRuntime & AvatarStepsRuntime,
  event: Parameters<typeof awaitParents>[1],
) => awaitParents(runtime.avatarTasks, event);

export const handler = taskEntry(awaitAvatarParentsTask, withAvatarSteps);
