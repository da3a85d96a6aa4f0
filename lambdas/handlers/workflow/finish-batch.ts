import { finishBatch } from '../../domain/batches/workflow-tasks.ts';
import type { Runtime } from '../../runtime.ts';
import { taskEntry } from '../../shared/task-entry.ts';

export const finishBatchTask = (runtime: Runtime, event: Parameters<typeof finishBatch>[1]) =>
  finishBatch(runtime.engine, event);

export const handler = taskEntry(finishBatchTask);
