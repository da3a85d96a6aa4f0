import { decide } from '../../domain/avatars/workflow-tasks.ts';
import { type AvatarsRuntime, withAvatars } from '../../families/avatars/runtime.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import { taskEntry } from '../../shared/task-entry.ts';

/** The avatars machine's Decide step: whether an avatar job runs, waits for its parents, or has ended (parent_error). */
export const decideAvatarJobTask = (
  runtime: CoreRuntime & AvatarsRuntime,
  event: Parameters<typeof decide>[1],
) => decide(runtime.avatarTasks, event);

export const handler = taskEntry(decideAvatarJobTask, withAvatars);
