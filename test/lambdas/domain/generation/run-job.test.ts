/**
 * A generation job's worker over the real state table and bucket, when its batch was cancelled but
 * the cancel's clean-up never ran (the process died right after the batch's own transition).
 */
import { describe, expect, it } from 'vitest';
import { S3BlobStore } from '../../../../lambdas/adapters/s3/blob-store.ts';
import type { Renderer } from '../../../../lambdas/domain/generation/renderer.ts';
import { runGenerationJob } from '../../../../lambdas/domain/generation/run-job.ts';
import { useEmulators } from '../../../support/emulators.ts';
import { aBatchCancelledHalfway, engineOver } from '../../../support/jobs.ts';

const fixture = useEmulators();

const anEngine = () => engineOver(fixture);

/** Counts renders: a job of a cancelled batch must never get one. */
function countingRenderer() {
  const renderer = {
    renders: 0,
    async render() {
      renderer.renders++;
      return { archive: new Uint8Array([1, 2, 3]), frames: 1 };
    },
  } satisfies Renderer & { renders: number };
  return renderer;
}

describe('runGenerationJob', () => {
  it('cancels, without running it, a job whose batch was cancelled but not closed', async () => {
    // Prepare
    const engine = anEngine();
    const { tenant, jobs } = await aBatchCancelledHalfway(engine);
    const renderer = countingRenderer();
    const blobs = new S3BlobStore(fixture.clients.s3, { bucket: fixture.emulators.bucketName });

    // Act
    const outcomes = [];
    for (const job of jobs) {
      outcomes.push(
        await runGenerationJob(
          { engine, blobs, renderer },
          { tenant, batchId: job.batchId ?? '', jobId: job.id },
        ),
      );
    }
    const after = await Promise.all(jobs.map((job) => engine.get(tenant, job.id)));

    // Assess
    expect(renderer.renders).toBe(0);
    expect(outcomes).toEqual(jobs.map(() => ({ outcome: 'skipped', status: 'cancelled' })));
    expect(after.map((job) => job.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    expect(after.every((job) => job.result === undefined)).toBe(true);
  });
});
