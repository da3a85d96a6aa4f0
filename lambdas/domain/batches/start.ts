/**
 * Stores a batch and its jobs and starts the workflow that runs them: the one way every family of
 * batch jobs (generation, images) begins. No job is ever left pending with nothing to run it: a
 * failure to store or to start fails whatever was written.
 */
import { unavailable } from '../errors.ts';
import type { JobsEngine } from '../jobs/engine.ts';
import type { JobRecord } from '../jobs/model.ts';
import type { BatchWorkflow } from '../ports.ts';

export async function storeAndStartBatch(
  deps: { engine: JobsEngine; workflow: BatchWorkflow },
  batch: JobRecord,
  items: JobRecord[],
  /** What the log says was submitted: `3 jobs`, `3 image jobs to <model>`. */
  submitted: string,
): Promise<void> {
  const { engine, workflow } = deps;
  const { tenant, id: batchId } = batch;
  // Stored with its execution's id, known in advance: a cancel that comes before `start` answers
  // still stops the execution, and no second write records it.
  const stored: JobRecord = { ...batch, executionId: workflow.executionIdOf(batchId) };
  try {
    // The jobs' ids were just drawn and their workflow starts only below: nothing else can write them.
    await engine.createUnstarted(
      [stored, ...items],
      [{ job: stored, level: 'info', message: `submitted ${submitted}` }],
    );
  } catch (error) {
    await failUnstarted(engine, batch, items, {
      code: 'SUBMISSION_FAILED',
      message: 'the batch could not be stored',
    });
    throw error;
  }
  let executionId: string;
  try {
    ({ executionId } = await workflow.start({
      tenant,
      batchId,
      items: items.map((item) => ({ jobId: item.id })),
    }));
  } catch (error) {
    const reason = { code: 'WORKFLOW_UNAVAILABLE', message: 'the batch workflow could not be started' };
    await failUnstarted(engine, batch, items, reason);
    throw unavailable(reason.message, { batch_id: batchId, cause: (error as Error).name }, 5);
  }
  // Only a workflow that names its executions some other way costs this second write.
  if (executionId !== stored.executionId) await engine.store.update(tenant, batchId, { executionId });
}

/** Fails a batch that never started, and its jobs, from the records in hand (no index read). */
async function failUnstarted(
  engine: JobsEngine,
  batch: JobRecord,
  items: JobRecord[],
  error: { code: string; message: string },
): Promise<void> {
  for (const job of [batch, ...items]) {
    await engine.transition(job.tenant, job.id, 'failed', { error }, error.message).catch(() => undefined);
  }
}
