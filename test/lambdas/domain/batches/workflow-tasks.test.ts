/**
 * The batch workflow's steps over the real state table and bucket, when a batch ended under its
 * execution: a cancel whose clean-up never ran (the process died right after the batch's own
 * transition) must still leave every job of the batch cancelled, whichever step meets it first.
 */
import { describe, expect, it } from 'vitest';
import { finishBatch } from '../../../../lambdas/domain/batches/workflow-tasks.ts';
import { useEmulators } from '../../../support/emulators.ts';
import { aBatchCancelledHalfway, aJob, aTenant, engineOver } from '../../../support/jobs.ts';

const fixture = useEmulators();

const anEngine = () => engineOver(fixture);

describe('finishBatch', () => {
  it('closes the open jobs of a batch cancelled under its execution as cancelled, not failed', async () => {
    // Prepare
    const engine = anEngine();
    const { tenant, batch, jobs } = await aBatchCancelledHalfway(engine);

    // Act
    const finished = await finishBatch(engine, { tenant, batchId: batch.id, outcome: 'completed' });
    const after = await Promise.all([batch, ...jobs].map((job) => engine.get(tenant, job.id)));

    // Assess
    expect(finished).toEqual({ status: 'cancelled' });
    expect(after.map((job) => job.status)).toEqual(['cancelled', 'cancelled', 'cancelled', 'cancelled']);
    expect(after.some((job) => job.error?.code === 'NOT_REPORTED')).toBe(false);
  });

  it('fails the jobs that never reported when the batch ends normally', async () => {
    // Prepare
    const engine = anEngine();
    const tenant = aTenant();
    const batch = aJob({ tenant, kind: 'batch', total: 1 });
    const job = aJob({ tenant, batchId: batch.id });
    await engine.store.create([batch, job]);
    await engine.transition(tenant, batch.id, 'running');

    // Act
    const finished = await finishBatch(engine, { tenant, batchId: batch.id, outcome: 'completed' });
    const after = await engine.get(tenant, job.id);

    // Assess
    expect(finished).toEqual({ status: 'completed' });
    expect(after).toMatchObject({ status: 'failed', error: { code: 'NOT_REPORTED' } });
  });
});
