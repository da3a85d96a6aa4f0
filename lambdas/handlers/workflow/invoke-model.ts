import { type InvokeModelInput, invokeModel } from '../../domain/images/workflow-tasks.ts';
import type { Runtime } from '../../runtime.ts';
import { taskEntry } from '../../shared/task-entry.ts';

/** The image workflow's InvokeModel step (`lambda:invoke.waitForTaskToken`). */
export const invokeModelTask = (runtime: Runtime, event: InvokeModelInput) =>
  invokeModel(runtime.imageTasks, event);

export const handler = taskEntry(invokeModelTask);
