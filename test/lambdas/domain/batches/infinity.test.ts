import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JOB_STATUSES } from '../../../../contracts/jobs.ts';
import { usageByGenerator } from '../../../../lambdas/domain/batches/infinity.ts';
import type { JobRecord } from '../../../../lambdas/domain/jobs/model.ts';
import { aJob } from '../../../support/jobs.ts';

const TENANT = 'usage-tenant';

/** A job run of one of three generators, standard or preview, in any status, maybe with a result. */
const jobRun: fc.Arbitrary<JobRecord> = fc
  .record({
    kind: fc.constantFrom('generation' as const, 'image' as const, 'batch' as const),
    generator: fc.constantFrom('shapes', 'other', 'shapes-endpoint'),
    preview: fc.boolean(),
    status: fc.constantFrom(...JOB_STATUSES),
    frames: fc.integer({ min: 1, max: 64 }),
  })
  .map(({ kind, generator, preview, status, frames }) => {
    const shared = {
      tenant: TENANT,
      generator,
      status,
      ...(status === 'completed'
        ? { result: { key: 'k', bytes: 1, frames, contentType: 'application/zip' } }
        : {}),
    };
    // Only generation jobs are previews or not; the other kinds have no such field.
    return kind === 'generation' ? aJob({ ...shared, kind, preview }) : aJob({ ...shared, kind });
  });

describe('usageByGenerator', () => {
  it('counts jobs, previews and the frames of completed jobs per generator, leaving batches out', () => {
    // Prepare
    const completed = (frames: number, preview = false) =>
      aJob({
        tenant: TENANT,
        status: 'completed',
        preview,
        result: { key: 'k', bytes: 1, frames, contentType: 'application/zip' },
      });
    const jobs = [
      completed(4),
      completed(1, true),
      aJob({ tenant: TENANT, status: 'failed' }),
      aJob({
        tenant: TENANT,
        kind: 'image',
        generator: 'sd15',
        status: 'completed',
        result: { key: 'i', bytes: 1, frames: 1, contentType: 'image/png' },
      }),
      aJob({ tenant: TENANT, kind: 'batch', generator: undefined, status: 'completed', total: 3 }),
    ];

    // Act
    const usage = usageByGenerator(jobs);

    // Assess
    expect(usage).toEqual({
      sd15: {
        samples: 1,
        jobs: 1,
        standard: 1,
        preview: 0,
        by_status: { pending: 0, running: 0, completed: 1, failed: 0, cancelled: 0 },
      },
      shapes: {
        samples: 5,
        jobs: 3,
        standard: 2,
        preview: 1,
        by_status: { pending: 0, running: 0, completed: 2, failed: 1, cancelled: 0 },
      },
    });
  });

  it('for any jobs, accounts for every job run exactly once', () => {
    fc.assert(
      fc.property(fc.array(jobRun, { maxLength: 40 }), (jobs) => {
        // Act
        const usage = Object.values(usageByGenerator(jobs));

        // Assess
        const runs = jobs.filter((job) => job.kind !== 'batch');
        const sum = (pick: (entry: (typeof usage)[number]) => number) =>
          usage.reduce((a, e) => a + pick(e), 0);
        expect(sum((entry) => entry.jobs)).toBe(runs.length);
        expect(sum((entry) => entry.standard + entry.preview)).toBe(runs.length);
        expect(sum((entry) => Object.values(entry.by_status).reduce((a, b) => a + b, 0))).toBe(runs.length);
        expect(sum((entry) => entry.samples)).toBe(
          runs.reduce((a, job) => a + (job.status === 'completed' ? (job.result?.frames ?? 0) : 0), 0),
        );
      }),
    );
  });
});
