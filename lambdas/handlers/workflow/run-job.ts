import { runGenerationJob } from '../../domain/generation/run-job.ts';
import type { Runtime } from '../../runtime.ts';
import { taskEntry } from '../../shared/runtime-entry.ts';

export const runJobTask = (runtime: Runtime, event: { tenant: string; batchId: string; jobId: string }) =>
  runGenerationJob(runtime, event);

export const handler = taskEntry(runJobTask);
