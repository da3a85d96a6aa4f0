import { recordProcessing } from '../../domain/avatars/processing.ts';
import { type AvatarStepsRuntime, withAvatarSteps } from '../../families/avatars/steps.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import { taskEntry } from '../../shared/task-entry.ts';

/**
 * The avatars machine's RecordProcessing step: the job completed (or failed) from what its
 * processing job left among its results.
 */
export const recordAvatarProcessingTask = (
  runtime: CoreRuntime & AvatarStepsRuntime,
  event: Parameters<typeof recordProcessing>[1],
) => recordProcessing(runtime.avatarProcessing, event);

export const handler = taskEntry(recordAvatarProcessingTask, withAvatarSteps);
