import { startBatch } from '../../domain/batches/workflow-tasks.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import { taskEntry } from '../../shared/task-entry.ts';

export const startBatchTask = (runtime: CoreRuntime, event: Parameters<typeof startBatch>[1]) =>
  startBatch(runtime.engine, event);

export const handler = taskEntry(startBatchTask);
