import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Batch } from '../../../contracts/batches.ts';
import type { Job } from '../../../contracts/jobs.ts';
import { type LocalPlatform, startLocalPlatform } from '../../../lambdas/local/platform.ts';

const post = (platform: LocalPlatform, path: string, body: unknown) =>
  fetch(`${platform.url}${path}`, {
    method: 'POST',
    headers: { 'X-API-Key': platform.devKey, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
const get = async <T>(platform: LocalPlatform, path: string) =>
  (await (await fetch(`${platform.url}${path}`, { headers: { 'X-API-Key': platform.devKey } })).json()) as T;

describe('the local platform across a restart', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('resumes a batch interrupted by a stop, keeping jobs that had completed', async () => {
    // Prepare: the first job completes, the second hangs until the platform stops.
    const dataDir = await mkdtemp(join(tmpdir(), 'synthforge-resume-'));
    dirs.push(dataDir);
    const seen: string[] = [];
    let hung = '';
    const first = await startLocalPlatform({
      dataDir,
      retryIntervalMs: 0,
      batchMaxConcurrency: 1,
      wrapTask: (placeholder, task) =>
        placeholder === 'RunJobFunctionArn'
          ? async (runtime, event) => {
              if (!seen.includes(event.jobId)) seen.push(event.jobId);
              if (seen.indexOf(event.jobId) === 1) {
                hung = event.jobId;
                // Only the stop ends this attempt: its execution is aborted around it.
                return new Promise(() => undefined);
              }
              return task(runtime, event);
            }
          : task,
    });
    const submitted = await post(first, '/api/v1/batches', {
      job_runs: [1, 2].map((seed) => ({
        name: 'shapes',
        param_values: { seed, image_width: 64, image_height: 64, frames: 1 },
      })),
    });
    const batch = (await submitted.json()) as Batch;
    await vi.waitFor(() => expect(hung).not.toBe(''));
    const completedBefore = await get<Job>(first, `/api/v1/jobs/${seen[0]}`);

    // Act
    await first.stop();
    const second = await startLocalPlatform({ dataDir, retryIntervalMs: 0 });
    await vi.waitFor(
      async () => expect((await get<Batch>(second, `/api/v1/batches/${batch.id}`)).status).toBe('completed'),
      { timeout: 30_000, interval: 100 },
    );
    const resumed = await get<Batch>(second, `/api/v1/batches/${batch.id}`);
    const completedAfter = await get<Job>(second, `/api/v1/jobs/${seen[0]}`);
    await second.stop();

    // Assess
    expect(second.resumedBatches).toEqual([batch.id]);
    expect(second.devKey).toBe(first.devKey);
    expect(resumed.counts).toMatchObject({ completed: 2, failed: 0 });
    expect(completedBefore.status).toBe('completed');
    // Not rendered again: the same record, version and finish time.
    expect(completedAfter).toEqual(completedBefore);
  });
});
