/**
 * The reconciler over the real state table, for an execution of any family's machine: a batch's
 * closes its open jobs and records its counts; a training run's, which owns no jobs, is failed with
 * the reason and stays readable (a batch's counts on it would make it a record of no kind).
 */
import { describe, expect, it } from 'vitest';
import { reconcileClosedExecution } from '../../../../lambdas/domain/jobs/reconciler.ts';
import { useEmulators } from '../../../support/emulators.ts';
import { aJob, aTenant, engineOver } from '../../../support/jobs.ts';

const fixture = useEmulators();

describe('reconcileClosedExecution', () => {
  it('fails a training run whose execution timed out, and leaves it readable, without counts', async () => {
    // Prepare
    const engine = engineOver(fixture);
    const tenant = aTenant();
    const run = aJob({ tenant, kind: 'training' });
    await engine.store.create([run]);
    await engine.transition(tenant, run.id, 'running');

    // Act
    const result = await reconcileClosedExecution(engine, { tenant, jobId: run.id, status: 'TIMED_OUT' });
    const after = await engine.get(tenant, run.id);
    const listed = await engine.store.list(tenant, { limit: 10, kind: 'training' });

    // Assess
    expect(result).toEqual({ jobsFailed: 0, ownerFailed: true });
    expect(after).toMatchObject({
      status: 'failed',
      error: { code: 'EXECUTION_TIMED_OUT', message: 'the training execution ended TIMED_OUT' },
    });
    expect('counts' in after).toBe(false);
    expect(listed.items.map((job) => job.id)).toEqual([run.id]);
  });

  it("fails a batch's open jobs and the batch, recording its counts", async () => {
    // Prepare
    const engine = engineOver(fixture);
    const tenant = aTenant();
    const batch = aJob({ tenant, kind: 'batch', total: 2 });
    const jobs = [aJob({ tenant, batchId: batch.id }), aJob({ tenant, batchId: batch.id })];
    await engine.store.create([batch, ...jobs]);
    await engine.transition(tenant, batch.id, 'running');

    // Act
    const result = await reconcileClosedExecution(engine, {
      tenant,
      jobId: batch.id,
      status: 'FAILED',
      error: 'BatchFailed',
    });

    // Assess
    expect(result).toEqual({ jobsFailed: 2, ownerFailed: true });
    expect(await engine.get(tenant, batch.id)).toMatchObject({
      status: 'failed',
      counts: { pending: 0, running: 0, completed: 0, failed: 2, cancelled: 0 },
      error: { message: 'the batch execution ended FAILED: BatchFailed' },
    });
  });
});
