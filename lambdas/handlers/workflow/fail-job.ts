import { failJob, type StepError } from '../../domain/batches/workflow-tasks.ts';
import type { Runtime } from '../../runtime.ts';
import { taskEntry } from '../../shared/runtime-entry.ts';

export const failJobTask = (runtime: Runtime, event: { tenant: string; jobId: string; error?: StepError }) =>
  failJob(runtime.engine, event);

export const handler = taskEntry(failJobTask);
