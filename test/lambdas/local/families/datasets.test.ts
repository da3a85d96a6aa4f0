/**
 * The datasets family on the local platform under faults: a validation that runs one image per slice
 * (the machine's Continue loop), whose step crashes after a slice kept its progress, still reaches
 * every image once; and a profile job that a stop interrupted is run again on the next start, from
 * the progress its last slice kept, and completes.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { Job } from '../../../../contracts/jobs.ts';
import { type LocalPlatform, startLocalPlatform } from '../../../../lambdas/local/platform.ts';
import { useTempDirs } from '../../../support/fixture.ts';

const request = (platform: LocalPlatform, method: string, path: string, body?: unknown) =>
  fetch(`${platform.url}${path}`, {
    method,
    headers: { 'X-API-Key': platform.devKey, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

const jobOf = async (platform: LocalPlatform, id: string) =>
  (await (await request(platform, 'GET', `/api/v1/jobs/${id}`)).json()) as Job & { result_url?: string };

async function ended(platform: LocalPlatform, id: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await jobOf(platform, id);
    if (['completed', 'failed', 'cancelled'].includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} is still ${job.status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A small image of one colour, different for each index. */
const tile = (index: number) =>
  sharp({
    create: {
      width: 32,
      height: 32,
      channels: 3,
      background: { r: (index * 40) % 256, g: 80, b: 200 - index * 10 },
    },
  })
    .png()
    .toBuffer();

async function putTiles(platform: LocalPlatform, prefix: string, count: number) {
  for (let i = 0; i < count; i++) {
    await platform.runtime.blobs.put(`dev/${prefix}/tile-${i}.png`, await tile(i), 'image/png');
  }
}

describe('the local datasets family under faults', () => {
  const aDataDir = useTempDirs();

  it('validates every image once when the step crashes after a slice kept its progress', async () => {
    // Prepare: one image per slice; the third call of the step dies after doing its slice.
    let calls = 0;
    const platform = await startLocalPlatform({
      port: 0,
      retryIntervalMs: 0,
      datasets: { sliceMs: 0 },
      wrapTask: (placeholder, task) =>
        placeholder !== 'RunDatasetJobFunctionArn'
          ? task
          : async (runtime, event) => {
              const result = await task(runtime, event);
              calls++;
              if (calls === 3)
                throw Object.assign(new Error('the function crashed after its slice'), {
                  name: 'Lambda.Unknown',
                });
              return result;
            },
    });
    try {
      await putTiles(platform, 'faults/tiles', 5);

      // Act
      const accepted = (await (
        await request(platform, 'POST', '/api/v1/validate/batch', {
          dataset_dir: 'faults/tiles/',
          privacy: false,
        })
      ).json()) as { job_id: string };
      const job = await ended(platform, accepted.job_id);

      // Assess: every image once, in order, though one call was lost after its work.
      expect(job.status).toBe('completed');
      const report = (await (await fetch(job.result_url ?? '')).json()) as {
        images: { image_path: string }[];
      };
      expect(report.images.map((image) => image.image_path.split('/').at(-1))).toEqual(
        [0, 1, 2, 3, 4].map((i) => `tile-${i}.png`),
      );
      expect(calls).toBeGreaterThanOrEqual(5);
    } finally {
      await platform.stop();
    }
  });

  it('runs a profile job that a stop interrupted again on the next start, and completes it', async () => {
    // Prepare: a profile whose step never gets past its first slice before the stop.
    const dataDir = await aDataDir('datasets-resume');
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = await startLocalPlatform({
      port: 0,
      dataDir,
      retryIntervalMs: 0,
      datasets: { sliceMs: 0 },
      wrapTask: (placeholder, task) =>
        placeholder !== 'RunDatasetJobFunctionArn'
          ? task
          : async (runtime, event) => {
              const result = await task(runtime, event);
              await held;
              return result;
            },
    });
    let jobId: string;
    try {
      await putTiles(first, 'resume/tiles', 3);
      const accepted = (await (
        await request(first, 'POST', '/api/v1/profiles', {
          name: 'tiles',
          source: { s3_prefix: 'resume/tiles/' },
        })
      ).json()) as { job_id: string };
      jobId = accepted.job_id;
      // Wait until the first slice has kept its progress.
      for (let i = 0; i < 200 && (await jobOf(first, jobId)).progress === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      const stopping = first.stop();
      release();
      await stopping;
    }

    // Act
    const second = await startLocalPlatform({ port: 0, dataDir, retryIntervalMs: 0 });
    try {
      const job = await ended(second, jobId);
      const profile = (await (await request(second, 'GET', '/api/v1/profiles/tiles')).json()) as {
        sample_count: number;
      };

      // Assess
      expect(second.resumedJobs).toContain(jobId);
      expect(job.status).toBe('completed');
      expect(profile.sample_count).toBe(3);
    } finally {
      await second.stop();
    }
  });
});
