/**
 * Recovery of the jobs a stopped or killed platform left open, over the real state table: every one
 * is resumed by its owner or closed, the way its batch ended, and nothing is left pending or running.
 */
import { describe, expect, it } from 'vitest';
import type { JobsEngine } from '../../../../lambdas/domain/jobs/engine.ts';
import type { JobRecord } from '../../../../lambdas/domain/jobs/model.ts';
import { type Resumer, recoverOpenJobs } from '../../../../lambdas/domain/jobs/recovery.ts';
import { useEmulators } from '../../../support/emulators.ts';
import { aBatchCancelledHalfway, aJob, aTenant, engineOver } from '../../../support/jobs.ts';

const fixture = useEmulators();

const anEngine = () => engineOver(fixture);

/** Records what recovery asks to run again. */
function recordingResumers() {
  const resumed = { batches: [] as { id: string; items: string[] }[], training: [] as string[] };
  return {
    resumed,
    resumers: [
      {
        kind: 'batch',
        resume: async (batch: JobRecord, items: readonly JobRecord[]) => {
          resumed.batches.push({ id: batch.id, items: items.map((item) => item.id).sort() });
        },
      },
      {
        kind: 'training',
        resume: async (job: JobRecord) => {
          resumed.training.push(job.id);
        },
      },
    ] satisfies Resumer[],
  };
}

const openJobsOf = async (engine: JobsEngine, jobs: JobRecord[]) =>
  (await Promise.all(jobs.map((job) => engine.get(job.tenant, job.id)))).filter(
    (job) => job.status === 'pending' || job.status === 'running',
  );

describe('recoverOpenJobs', () => {
  it('resumes open batches and training runs with all their jobs, and leaves those jobs to them', async () => {
    // Prepare
    const engine = anEngine();
    const tenant = aTenant();
    const batch = aJob({ tenant, kind: 'batch', total: 2 });
    const done = aJob({ tenant, batchId: batch.id });
    const open = aJob({ tenant, batchId: batch.id });
    const training = aJob({ tenant, kind: 'training' });
    await engine.store.create([batch, done, open, training]);
    await engine.transition(tenant, batch.id, 'running');
    await engine.transition(tenant, done.id, 'running');
    await engine.transition(tenant, done.id, 'completed');
    const { resumed, resumers } = recordingResumers();

    // Act
    const report = await recoverOpenJobs(engine, await openJobsOf(engine, [batch, open, training]), resumers);

    // Assess
    expect(resumed.batches).toEqual([{ id: batch.id, items: [done.id, open.id].sort() }]);
    expect(resumed.training).toEqual([training.id]);
    expect(report).toEqual({ resumed: [batch.id, training.id], closed: [] });
    expect((await engine.get(tenant, open.id)).status).toBe('pending');
  });

  it('cancels the jobs a cut-short cancel left open, without resuming their batch', async () => {
    // Prepare
    const engine = anEngine();
    const { tenant, jobs } = await aBatchCancelledHalfway(engine);
    const { resumed, resumers } = recordingResumers();

    // Act
    const report = await recoverOpenJobs(engine, await openJobsOf(engine, jobs), resumers);
    const after = await Promise.all(jobs.map((job) => engine.get(tenant, job.id)));

    // Assess
    expect(resumed).toEqual({ batches: [], training: [] });
    expect(report.closed.sort()).toEqual(jobs.map((job) => job.id).sort());
    expect(after.map((job) => job.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
  });

  it('fails the open jobs of a batch that ended otherwise, of a batch that is gone, and of no batch', async () => {
    // Prepare
    const engine = anEngine();
    const tenant = aTenant();
    const ended = aJob({ tenant, kind: 'batch', total: 1 });
    const ofEnded = aJob({ tenant, batchId: ended.id });
    const ofNothing = aJob({ tenant, batchId: aJob({ tenant }).id });
    const alone = aJob({ tenant, kind: 'image' });
    await engine.store.create([ended, ofEnded, ofNothing, alone]);
    await engine.transition(tenant, ended.id, 'running');
    await engine.transition(tenant, ended.id, 'failed', { error: { code: 'BatchFailed', message: 'x' } });
    const { resumers } = recordingResumers();

    // Act
    await recoverOpenJobs(engine, await openJobsOf(engine, [ofEnded, ofNothing, alone]), resumers);
    const after = await Promise.all([ofEnded, ofNothing, alone].map((job) => engine.get(tenant, job.id)));

    // Assess
    expect(after.map((job) => [job.status, job.error?.code])).toEqual([
      ['failed', 'NOT_REPORTED'],
      ['failed', 'BATCH_MISSING'],
      ['failed', 'INTERRUPTED'],
    ]);
    expect(await openJobsOf(engine, after)).toEqual([]);
  });
});
