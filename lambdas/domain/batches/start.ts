/**
 * Stores a batch and its jobs and starts the workflow that runs them: the one way every family of
 * batch jobs (generation, images) begins (jobs/start.ts says what a failure leaves).
 */
import type { JobsEngine } from '../jobs/engine.ts';
import type { JobRecord } from '../jobs/model.ts';
import { storeAndStart } from '../jobs/start.ts';
import type { BatchWorkflow } from '../ports.ts';

export async function storeAndStartBatch(
  deps: { engine: JobsEngine; workflow: BatchWorkflow },
  batch: JobRecord,
  items: JobRecord[],
  /** What the log says was submitted: `3 jobs`, `3 image jobs to <model>`. */
  submitted: string,
): Promise<void> {
  await storeAndStart(deps, {
    job: batch,
    items,
    logLine: `submitted ${submitted}`,
    input: { tenant: batch.tenant, batchId: batch.id, items: items.map((item) => ({ jobId: item.id })) },
    names: { job: 'the batch', workflow: 'the batch workflow', idDetail: 'batch_id' },
  });
}
