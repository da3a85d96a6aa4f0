import { createServer } from 'node:http';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it, vi } from 'vitest';
import type { Batch } from '../../../contracts/batches.ts';
import type { Job } from '../../../contracts/jobs.ts';
import { type LocalPlatform, startLocalPlatform } from '../../../lambdas/local/platform.ts';
import { inProcessLauncher } from '../../../lambdas/local/sagemaker/host.ts';
import { useTempDirs } from '../../support/fixture.ts';

const post = (platform: LocalPlatform, path: string, body: unknown) =>
  fetch(`${platform.url}${path}`, {
    method: 'POST',
    headers: { 'X-API-Key': platform.devKey, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
const get = async <T>(platform: LocalPlatform, path: string) =>
  (await (await fetch(`${platform.url}${path}`, { headers: { 'X-API-Key': platform.devKey } })).json()) as T;

describe('the local platform across a restart', () => {
  const aDataDir = useTempDirs();

  it('resumes a batch interrupted by a stop, keeping jobs that had completed', async () => {
    // Prepare: the first job completes, the second hangs until the platform stops.
    const dataDir = await aDataDir('resume');
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
    // The first job renders before the second starts: seconds on a busy 2-core machine, not one.
    await vi.waitFor(() => expect(hung).not.toBe(''), { timeout: 15_000, interval: 50 });
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
    expect(second.resumedJobs).toEqual([batch.id]);
    expect(second.devKey).toBe(first.devKey);
    expect(resumed.counts).toMatchObject({ completed: 2, failed: 0 });
    expect(completedBefore.status).toBe('completed');
    // Not rendered again: the same record, version and finish time.
    expect(completedAfter).toEqual(completedBefore);
  });

  it('closes the jobs of a batch whose cancel was cut short after the batch itself', async () => {
    // Prepare: a running batch whose jobs hang; a cancel writes the batch's own transition (its
    // commit point) and the process stops before the jobs are closed.
    const dataDir = await aDataDir('cancel-crash');
    const first = await startLocalPlatform({
      dataDir,
      retryIntervalMs: 0,
      wrapTask: (placeholder, task) =>
        placeholder === 'RunJobFunctionArn' ? async () => new Promise(() => undefined) : task,
    });
    const submitted = await post(first, '/api/v1/batches', {
      job_runs: [1, 2, 3].map((seed) => ({ name: 'shapes', param_values: { seed, frames: 1 } })),
    });
    const batch = (await submitted.json()) as Batch;
    await vi.waitFor(async () =>
      expect((await get<Batch>(first, `/api/v1/batches/${batch.id}`)).status).toBe('running'),
    );
    await first.runtime.engine.transition('dev', batch.id, 'cancelled', { message: 'cancelled by the user' });
    await first.stop();

    // Act
    const second = await startLocalPlatform({ dataDir, retryIntervalMs: 0 });
    const jobs = await get<{ jobs: Job[] }>(second, `/api/v1/jobs?batch=${batch.id}`);
    await second.stop();

    // Assess
    expect(second.resumedJobs).toEqual([]);
    expect(jobs.jobs.map((job) => job.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
  });

  it('completes, after a restart, the image jobs a stop caught queued at their endpoint', async () => {
    // Prepare: six images wait at an endpoint whose instance is still starting when the platform stops.
    const dataDir = await aDataDir('image-stop');
    const first = await startLocalPlatform({
      dataDir,
      retryIntervalMs: 0,
      batchMaxConcurrency: 6,
      endpointColdStartDelayMs: 600_000,
    });
    const accepted = await post(first, '/api/v1/generate/batch', {
      prompts: ['a', 'b', 'c', 'd', 'e', 'f'].map((word) => `${word} circles`),
      width: 64,
      height: 64,
    });
    const { batch_id: batchId } = (await accepted.json()) as { batch_id: string };
    const statuses = async (platform: LocalPlatform) =>
      (await get<{ jobs: Job[] }>(platform, `/api/v1/jobs?batch=${batchId}`)).jobs.map((job) => job.status);
    // Every job has reached the endpoint, and waits there in its queue.
    await vi.waitFor(() => expect(first.sageMaker.describe('synthforge-local-shapes')?.queued).toBe(6), {
      timeout: 20_000,
    });
    expect(await statuses(first)).toEqual(['running', 'running', 'running', 'running', 'running', 'running']);

    // Act
    await first.stop();
    const second = await startLocalPlatform({ dataDir, retryIntervalMs: 0 });
    await vi.waitFor(
      async () =>
        expect((await get<Batch>(second, `/api/v1/batches/${batchId}`)).status).toMatch(
          /^(completed|failed|cancelled)$/,
        ),
      { timeout: 60_000, interval: 100 },
    );
    const after = await get<{ jobs: Job[] }>(second, `/api/v1/jobs?batch=${batchId}`);
    const batch = await get<Batch>(second, `/api/v1/batches/${batchId}`);
    await second.stop();

    // Assess
    expect(second.resumedJobs).toEqual([batchId]);
    expect(after.jobs.map((job) => [job.status, job.error?.code])).toEqual(
      after.jobs.map(() => ['completed', undefined]),
    );
    expect(batch.counts).toMatchObject({ completed: 6, failed: 0 });
  });

  it('removes the endpoint responses the last run left staged, and nothing else', async () => {
    // Prepare: a response the endpoint wrote just before the process died, and a job's result.
    const dataDir = await aDataDir('staged');
    const first = await startLocalPlatform({ dataDir, retryIntervalMs: 0 });
    const { s3 } = first.runtime.clients;
    const bucket = first.emulators.bucketName;
    const keys = [
      '_endpoints/synthforge-local-shapes/output/5b2f3c4e-0000-4000-8000-000000000001.out',
      '_endpoints/synthforge-local-shapes/failures/5b2f3c4e-0000-4000-8000-000000000002-error.out',
      'dev/jobs/01JAAAAAAAAAAAAAAAAAAAAAAA/result.zip',
    ];
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }));
    await first.stop();

    // Act
    const second = await startLocalPlatform({ dataDir, retryIntervalMs: 0 });
    const listed = await second.runtime.clients.s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    await second.stop();

    // Assess
    expect((listed.Contents ?? []).map((object) => object.Key)).toEqual([keys[2]]);
  });
});

describe('the local platform’s stop', () => {
  it('returns promptly while a stream is open, cutting it', async () => {
    // Prepare: the local model stands in for one that never answers: the stream stays open.
    const invoked: string[] = [];
    const silentModel = inProcessLauncher(() =>
      createServer((request, response) => {
        if (request.url === '/ping') response.end('ok');
        else invoked.push(request.url ?? '');
      }),
    );
    const platform = await startLocalPlatform({
      retryIntervalMs: 0,
      inference: { bedrock: 'off', initialCopies: 1, launcher: silentModel },
    });
    const stream = post(platform, '/api/stream/qwen2-vl-7b', { text: 'hello' }).then(
      (response) => response.text(),
      (error: Error) => error,
    );
    await vi.waitFor(() => expect(invoked).toContain('/invocations'), { timeout: 15_000 });

    // Act
    const started = Date.now();
    await platform.stop();
    const stopMs = Date.now() - started;

    // Assess: well inside the model call's own 25 s deadline, which would otherwise end the stream.
    expect(stopMs).toBeLessThan(10_000);
    expect(await stream).toBeInstanceOf(Error);
  });
});
