import { finishBatch, type StepError } from '../../domain/batches/workflow-tasks.ts';
import type { Runtime } from '../../runtime.ts';
import { taskEntry } from '../../shared/runtime-entry.ts';

export const finishBatchTask = (
  runtime: Runtime,
  event: { tenant: string; batchId: string; outcome: 'completed' | 'failed'; error?: StepError },
) => finishBatch(runtime.engine, event);

export const handler = taskEntry(finishBatchTask);
