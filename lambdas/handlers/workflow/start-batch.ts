import { startBatch } from '../../domain/batches/workflow-tasks.ts';
import type { Runtime } from '../../runtime.ts';
import { taskEntry } from '../../shared/task-entry.ts';

export const startBatchTask = (runtime: Runtime, event: Parameters<typeof startBatch>[1]) =>
  startBatch(runtime.engine, event);

export const handler = taskEntry(startBatchTask);
