import { finishBatch } from '../../domain/batches/workflow-tasks.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import { taskEntry } from '../../shared/task-entry.ts';

export const finishBatchTask = (runtime: CoreRuntime, event: Parameters<typeof finishBatch>[1]) =>
  finishBatch(runtime.engine, event);

export const handler = taskEntry(finishBatchTask);
