import { prepareProcessing } from '../../domain/avatars/processing.ts';
import { type AvatarStepsRuntime, withAvatarSteps } from '../../families/avatars/steps.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import { taskEntry } from '../../shared/task-entry.ts';

/**
 * The avatars machine's PrepareProcessing step: a job too large for Lambda begins its run, and the
 * processing job's request is answered.
 */
export const prepareAvatarProcessingTask = (
  runtime: CoreRuntime & AvatarStepsRuntime,
  event: Parameters<typeof prepareProcessing>[1],
) => prepareProcessing(runtime.avatarProcessing, event);

export const handler = taskEntry(prepareAvatarProcessingTask, withAvatarSteps);
