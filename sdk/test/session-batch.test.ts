/**
 * Seed 000 from TypeScript, over real HTTP against the local platform: a Manager opens a Session
 * for `shapes`, validates and draws parameters, estimates, submits standard and preview jobs, waits
 * with progress, lists what completed and failed, and downloads the results; then the waits that
 * must end (timeout) and cancellation.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { usePlatform } from '../../test/support/platform.ts';
import { BatchTimeoutError } from '../src/batch.ts';
import { SynthForgeError } from '../src/errors.ts';
import { Manager } from '../src/manager.ts';
import type { BatchSummary, ParamValues } from '../src/resources.ts';
import { FAILING_SEED, jobControls } from './support/job-controls.ts';

const controls = jobControls();
const fixture = usePlatform({ wrapTask: controls.wrapTask });
const dirs: string[] = [];
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

afterEach(() => controls.release());
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

function manager(): Manager {
  return new Manager({ baseUrl: fixture.platform.url, apiKey: fixture.platform.devKey });
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'synthforge-sdk-'));
  dirs.push(dir);
  return dir;
}

describe('Session', () => {
  it('describes the generator: parameterInfo by name, and defaults', async () => {
    // Prepare
    const raw = await manager().client.getGenerator('shapes');

    // Act
    const session = await manager().session('shapes');

    // Assess
    expect(Object.keys(session.parameterInfo)).toEqual(raw.params.map((spec) => spec.name));
    expect(session.parameterInfo.frames).toMatchObject({
      type: 'int',
      default_value: 4,
      options: { min: 1, max: 64 },
    });
    expect(session.defaults).toEqual(
      Object.fromEntries(raw.params.map((spec) => [spec.name, spec.default_value])),
    );
    expect(session.allowsPreview).toBe(true);
  });

  it('validates locally exactly as the server does, one entry per job', async () => {
    // Prepare
    const session = await manager().session('shapes');
    const jobs: unknown[] = [
      { frames: 2 },
      { frames: 0 },
      { frames: 1.5 },
      { bogus: 1 },
      { classes: 'hexagon' },
      'not an object',
      {},
    ];

    // Act
    const local = session.validateJobParams(jobs);

    // Assess
    const server = await session.client.validateParams('shapes', { job_params: jobs });
    expect(local).toEqual(server.results);
    expect(local.map((violations) => violations?.[0]?.kind ?? null)).toEqual([
      null,
      'range',
      'type',
      'unsupported',
      'choice',
      'type',
      null,
    ]);
  });

  it('leaves rules across parameters to the server, which the generator description does not publish', async () => {
    // Prepare
    const session = await manager().session('shapes');
    const overBudget = [{ output: 'identity_crops', identities: 500, crops_per_identity: 200 }];

    // Act
    const local = session.validateJobParams(overBudget);

    // Assess
    const server = await session.client.validateParams('shapes', { job_params: overBudget });
    expect(local).toEqual([null]);
    expect(server.results[0]?.[0]).toMatchObject({ parameter: 'crops_per_identity', kind: 'range' });
  });

  it('draws valid, reproducible random parameters, more than one request holds', async () => {
    // Prepare
    const session = await manager().session('shapes');

    // Act
    const drawn = await session.randomJobParams(130, 42);
    const again = await session.randomJobParams(130, 42);
    const other = await session.randomJobParams(3, 43);

    // Assess
    expect(drawn).toHaveLength(130);
    expect(again).toEqual(drawn);
    expect(other).not.toEqual(drawn.slice(0, 3));
    const verdict = await session.client.validateParams('shapes', { job_params: drawn });
    expect(verdict.valid).toBe(true);
    expect(Object.keys(drawn[0] ?? {}).sort()).toEqual(Object.keys(session.defaults).sort());
    expect(await session.randomJobParams(0)).toEqual([]);
  });

  it('randomizes only what the caller left out', async () => {
    // Prepare
    const session = await manager().session('shapes');
    const given = { frames: 1, palette: 'pastel', min_objects: 40 };

    // Act
    const completed = await session.randomizeUnspecified(given, 7);

    // Assess
    expect(completed).toMatchObject(given);
    expect(Object.keys(completed).sort()).toEqual(Object.keys(session.defaults).sort());
    expect(session.validateJobParams([completed])).toEqual([null]);
    expect(completed.max_objects).toBeGreaterThanOrEqual(40);
  });

  it('refuses a preview list whose length is not the number of jobs, before sending anything', async () => {
    // Prepare
    const session = await manager().session('shapes');

    // Act
    const attempt = session.submit([{}, {}], { preview: [true] });

    // Assess
    await expect(attempt).rejects.toThrow(RangeError);
  });

  it('is a 404 SynthForgeError for a generator that does not exist', async () => {
    // Act
    const error = await manager()
      .session('no-such-generator')
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(SynthForgeError);
    expect(error).toMatchObject({
      status: 404,
      code: 'NOT_FOUND',
      details: { generator: 'no-such-generator' },
    });
    expect((error as SynthForgeError).requestId).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('the seed-000 flow', () => {
  it('submits 2 standard jobs and 1 preview, waits with progress, and downloads every result', async () => {
    // Prepare
    const sdk = manager();
    const session = await sdk.session('shapes');
    const jobs: ParamValues[] = [
      { image_width: 64, image_height: 64, frames: 2, seed: 1 },
      { image_width: 80, image_height: 64, frames: 1, seed: 2 },
      { image_width: 96, image_height: 64, seed: 3 },
    ];
    const preview = [false, false, true];
    const dir = await tempDir();
    const progress: BatchSummary[] = [];

    // Act
    const errors = session.validateJobParams(jobs);
    const estimate = await session.estimate(jobs, { preview });
    const batch = await session.submit(jobs, { name: 'seed 000 flow', preview });
    const final = await batch.awaitCompletion({
      pollIntervalMs: 25,
      onProgress: (summary) => void progress.push(summary),
    });
    const completed = await batch.validCompletedJobs();
    const failed = await batch.failedJobs();
    const report = await batch.download(dir);

    // Assess
    expect(errors).toEqual([null, null, null]);
    expect(estimate).toMatchObject({ items: 3, frames_per_job: [2, 1, 1], total_frames: 4 });
    expect(batch.latest?.job_runs.map((job) => job.is_preview)).toEqual(preview);
    expect(final.status).toBe('completed');
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress.at(-1)).toEqual(final);
    expect(completed.map((job) => job.id).sort()).toEqual(batch.latest?.job_runs.map((job) => job.id).sort());
    expect(failed).toEqual([]);
    expect(report).toMatchObject({ batchId: batch.id, skipped: [], unavailable: [] });
    expect(report.downloaded).toHaveLength(3);
    expect((await readFile(join(dir, 'batch_id.txt'), 'utf8')).trim()).toBe(batch.id);

    const submitted = batch.latest?.job_runs ?? [];
    for (const [index, job] of submitted.entries()) {
      const folder = join(dir, job.id);
      const frames = (await readdir(join(folder, 'frames'))).sort();
      const expectedFrames = preview[index] ? 1 : Number(jobs[index]?.frames);
      expect(frames).toEqual(
        Array.from({ length: expectedFrames }, (_, i) => `frame_${String(i).padStart(4, '0')}.png`),
      );
      const png = await readFile(join(folder, 'frames', 'frame_0000.png'));
      expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
      const annotations = JSON.parse(await readFile(join(folder, 'annotations.json'), 'utf8'));
      expect(annotations.images).toHaveLength(expectedFrames);
      const params = JSON.parse(await readFile(join(folder, 'params.json'), 'utf8'));
      expect(params).toMatchObject(jobs[index] ?? {});
    }
  });

  it('lists batches and jobs through the Manager, newest first', async () => {
    // Prepare
    const sdk = manager();
    const session = await sdk.session('shapes');
    const small = { image_width: 64, image_height: 64, frames: 1 };
    const older = await session.submit([small], { name: 'listed first' });
    const newer = await session.submit([small, small], { name: 'listed second' });
    await Promise.all([older, newer].map((batch) => batch.awaitCompletion({ pollIntervalMs: 25 })));

    // Act
    const health = await sdk.health();
    const batches = await sdk.recentBatches(2);
    const jobs = await sdk.recentJobs(5, { batch: newer.id });

    // Assess
    expect(health.status).toBe('ok');
    expect(batches.map(({ id, name, total }) => ({ id, name, total }))).toEqual([
      { id: newer.id, name: 'listed second', total: 2 },
      { id: older.id, name: 'listed first', total: 1 },
    ]);
    expect(jobs.map((job) => job.id).sort()).toEqual(newer.latest?.job_runs.map((job) => job.id).sort());
  });

  it('reports failed jobs with their error', async () => {
    // Prepare
    const session = await manager().session('shapes');
    const batch = await session.submit([
      { image_width: 64, image_height: 64, frames: 1, seed: 5 },
      { image_width: 64, image_height: 64, frames: 1, seed: FAILING_SEED },
    ]);

    // Act
    const final = await batch.awaitCompletion({ pollIntervalMs: 25 });
    const failed = await batch.failedJobs();
    const completed = await batch.validCompletedJobs();

    // Assess
    expect(final.counts).toMatchObject({ completed: 1, failed: 1 });
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ id: batch.latest?.job_runs[1]?.id, result_url: null });
    expect(failed[0]?.error?.message).toBeTruthy();
    expect(completed.map((job) => job.id)).toEqual([batch.latest?.job_runs[0]?.id]);
  });
});

describe('waits that end, and cancellation', () => {
  it('stops waiting after timeoutMs with the last summary, while the batch runs on', async () => {
    // Prepare: a clock that moves only when the SDK pauses, so how many polls fit in the timeout
    // is a fact of the code and not of the machine's load.
    controls.hold();
    let virtualNow = Date.parse('2031-01-01T00:00:00Z');
    const pauses: number[] = [];
    const timers = {
      now: () => virtualNow,
      sleep: async (ms: number) => {
        pauses.push(ms);
        virtualNow += ms;
      },
    };
    const session = await new Manager({
      baseUrl: fixture.platform.url,
      apiKey: fixture.platform.devKey,
      timers,
    }).session('shapes');
    const batch = await session.submit([{ image_width: 64, image_height: 64, frames: 1 }]);
    const polled: BatchSummary[] = [];

    // Act
    const error = await batch
      .awaitCompletion({
        timeoutMs: 300,
        pollIntervalMs: 50,
        onProgress: (summary) => void polled.push(summary),
      })
      .catch((caught: unknown) => caught);

    // Assess: a poll at 0, 50, …, 300 ms, a pause between each, and no pause past the deadline.
    expect(error).toBeInstanceOf(BatchTimeoutError);
    expect(error).toMatchObject({ batchId: batch.id, timeoutMs: 300 });
    expect(['pending', 'running']).toContain((error as BatchTimeoutError).lastSummary.status);
    expect(pauses).toEqual([50, 50, 50, 50, 50, 50]);
    expect(polled).toHaveLength(7);
    expect((error as BatchTimeoutError).lastSummary).toEqual(polled.at(-1));
    await batch.cancel();
  });

  it('cancels a running batch; a second cancel is a 409', async () => {
    // Prepare
    controls.hold();
    const session = await manager().session('shapes');
    const batch = await session.submit([
      { image_width: 64, image_height: 64, frames: 1 },
      { image_width: 64, image_height: 64, frames: 1 },
    ]);

    // Act
    const cancelled = await batch.cancel();
    controls.release();
    const final = await batch.awaitCompletion({ pollIntervalMs: 25, timeoutMs: 30_000 });
    const again = await batch.cancel().catch((caught: unknown) => caught);

    // Assess
    expect(cancelled).toMatchObject({ id: batch.id, kind: 'batch', status: 'cancelled' });
    expect(final.status).toBe('cancelled');
    expect(final.counts.cancelled).toBe(2);
    expect(await batch.validCompletedJobs()).toEqual([]);
    expect(await batch.failedJobs()).toEqual([]);
    expect(again).toBeInstanceOf(SynthForgeError);
    expect(again).toMatchObject({ status: 409, code: 'ILLEGAL_STATE' });
    expect((await batch.refresh()).status).toBe('cancelled');
  });
});
