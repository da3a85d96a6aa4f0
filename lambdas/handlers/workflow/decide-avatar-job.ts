import { decide } from '../../domain/avatars/workflow-tasks.ts';
import { type AvatarStepsRuntime, withAvatarSteps } from '../../families/avatars/steps.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import { taskEntry } from '../../shared/task-entry.ts';

/** The avatars machine's Decide step: whether an avatar job runs, waits for its parents, or has ended (parent_error). */
export const decideAvatarJobTask = (
  runtime: CoreRuntime & AvatarStepsRuntime,
  event: Parameters<typeof decide>[1],
) => decide(runtime.avatarTasks, event);

export const handler = taskEntry(decideAvatarJobTask, withAvatarSteps);
