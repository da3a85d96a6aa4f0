import { type InvokeModelInput, invokeModel } from '../../domain/images/workflow-tasks.ts';
import { type ImagesRuntime, withImages } from '../../families/images/runtime.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import { taskEntry } from '../../shared/task-entry.ts';

/** The image workflow's InvokeModel step (`lambda:invoke.waitForTaskToken`). */
export const invokeModelTask = (runtime: CoreRuntime & ImagesRuntime, event: InvokeModelInput) =>
  invokeModel(runtime.imageTasks, event);

export const handler = taskEntry(invokeModelTask, withImages);
