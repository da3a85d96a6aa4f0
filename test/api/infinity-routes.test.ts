/**
 * The paths Infinity's client (seed 000) calls, over HTTP against the local platform, for what its
 * Python flow (infinity-client.test.ts, which needs `../shared`) cannot show: both spellings of a
 * path, the edges of each route (bad input, time ranges, kinds, tenants) and its shapes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Batch, BatchListItem } from '../../contracts/batches.ts';
import type { InfinityJobRun, InfinityUsage } from '../../contracts/infinity.ts';
import type { z } from '../../contracts/zod.ts';
import { type Api, expectError, keyFor, usePlatform, waitForBatch } from '../support/platform.ts';

const fixture = usePlatform();
const SMALL = { image_width: 64, image_height: 64, frames: 2 };

/** Python's `datetime.isoformat()` of an aware datetime, as the client sends time ranges. */
const pythonIso = (date: Date) => date.toISOString().replace('Z', '000+00:00');

/** The client's requests: `Authorization: Token <key>`, and a slash at the end of every path. */
const infinity = {
  headers: () => ({ authorization: `Token ${fixture.platform.devKey}` }),
  get: <T = unknown>(path: string, query?: Record<string, string>) =>
    fixture.api.withKey(undefined).get<T>(path, query, infinity.headers()),
  post: <T = unknown>(path: string, json: unknown) =>
    fixture.api.withKey(undefined).post<T>(path, json, infinity.headers()),
};

describe("Infinity's client paths", () => {
  let api: Api;
  let batch: Batch;
  let preview: Batch;
  let before: Date;

  beforeAll(async () => {
    api = fixture.api;
    before = new Date();
    const run = (param_values: object, is_preview = false) => ({ name: 'shapes', is_preview, param_values });
    const submitted = await infinity.post<Batch>('/api/batch/', {
      name: '',
      job_runs: [run({ ...SMALL, seed: 1 }), run({ ...SMALL, seed: 2, min_objects: 9, max_objects: 3 })],
    });
    if (submitted.status !== 202)
      throw new Error(`submission answered ${submitted.status}: ${submitted.text}`);
    expect(submitted.headers.get('location')).toBe(
      `${fixture.platform.url}/api/batch/${submitted.body.id}/summary/`,
    );
    batch = submitted.body;
    preview = (await infinity.post<Batch>('/api/batch/', { name: 'p', job_runs: [run(SMALL, true)] })).body;
    await waitForBatch(api, batch.id);
    await waitForBatch(api, preview.id);
  });

  it('names a batch submitted with an empty name, answers 202 and says where to poll it', async () => {
    // Assess
    expect(batch.name).toMatch(/^batch \d{4}-\d\d-\d\dT/);
    expect(batch.job_runs.map((job) => job.param_values.seed)).toEqual([1, 2]);
    // A pair given the other way round is valid, kept as given.
    expect(batch.job_runs[1]?.param_values).toMatchObject({ min_objects: 9, max_objects: 3 });
    const again = await infinity.get<Batch>(`/api/batch/${batch.id}/`);
    expect(again.body).toMatchObject({ id: batch.id, name: batch.name, status: 'completed' });
  });

  it.each([
    ['/api/jobs', '/api/jobs/'],
    ['/api/batch', '/api/batch/'],
    ['/api/job_runs', '/api/job_runs/'],
    ['/api/job_previews', '/api/job_previews/'],
    ['/api/job_runs/counts', '/api/job_runs/counts/'],
  ])('answers %s with and without its trailing slash, a list or usage', async (bare, slashed) => {
    // Act
    const [a, b] = await Promise.all([infinity.get(bare), infinity.get(slashed)]);

    // Assess
    expect(a.status, a.text).toBe(200);
    expect(b.status, b.text).toBe(200);
    expect(Array.isArray(a.body)).toBe(!bare.endsWith('counts'));
  });

  it('lists generators as a bare list and describes one as /api/v1 does', async () => {
    // Act
    const list = await infinity.get<{ name: string }[]>('/api/jobs/');
    const shapes = await infinity.get('/api/jobs/shapes/');
    const v1 = await api.get('/api/v1/generators/shapes');
    const unknown = await infinity.get('/api/jobs/no-such-generator/');

    // Assess
    expect(list.body.map((generator) => generator.name)).toContain('shapes');
    expect(shapes.body).toEqual(v1.body);
    expectError(unknown, 404, 'NOT_FOUND');
  });

  it('estimates frames per job as a bare list of integers, and refuses what a submission refuses', async () => {
    // Act
    const estimate = await api.post('/api/batch/estimate/', {
      name: '',
      job_runs: [
        { name: 'shapes', param_values: { frames: 7 } },
        { name: 'shapes', is_preview: true, param_values: { frames: 7 } },
      ],
    });
    const invalid = await api.post('/api/batch/estimate/', {
      name: '',
      job_runs: [{ name: 'shapes', param_values: { frames: 65 } }],
    });
    const unknownField = await api.post('/api/batch/', { job_runs: [{ name: 'shapes' }], tenant: 'other' });

    // Assess
    expect(estimate.status, estimate.text).toBe(200);
    expect(estimate.body).toEqual([7, 1]);
    expectError(invalid, 400, 'INVALID_PARAMETERS');
    expect(invalid.text).toContain('frames');
    expectError(unknownField, 400, 'INVALID_PARAMETERS');
  });

  it('lists the batches of a time range, newest first, with created times Python parses', async () => {
    // Act: the range as the client writes it (microseconds and an offset).
    const now = new Date(Date.now() + 1000);
    const inRange = await infinity.get<z.infer<typeof BatchListItem>[]>('/api/batch/', {
      start_time: pythonIso(before),
      end_time: pythonIso(now),
    });
    const earlier = await infinity.get<unknown[]>('/api/batch/', {
      start_time: pythonIso(new Date(before.getTime() - 3_600_000)),
      end_time: pythonIso(new Date(before.getTime() - 1_800_000)),
    });
    const inverted = await infinity.get('/api/batch/', {
      start_time: pythonIso(now),
      end_time: pythonIso(before),
    });

    // Assess
    expect(inRange.body.map((item) => item.id)).toEqual([preview.id, batch.id]);
    // Python's fromisoformat reads `Z` only from 3.11; the client supports 3.7, which reads this.
    expect(inRange.body[0]?.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
    expect(earlier.body).toEqual([]);
    expectError(inverted, 400, 'INVALID_PARAMETERS');
  });

  it('serves standard jobs and previews each on their own path, with result links', async () => {
    // Act
    const runs = await infinity.get<InfinityJobRun[]>('/api/job_runs/');
    const previews = await infinity.get<InfinityJobRun[]>('/api/job_previews/', { limit: '1' });
    const standardId = batch.job_runs[0]?.id ?? '';
    const previewId = preview.job_runs[0]?.id ?? '';
    const one = await infinity.get<InfinityJobRun>(`/api/job_runs/${standardId}/`);
    const previewAsStandard = await infinity.get(`/api/job_runs/${previewId}/`);
    const standardAsPreview = await infinity.get(`/api/job_previews/${standardId}/`);
    const batchAsJob = await infinity.get(`/api/job_runs/${batch.id}/`);

    // Assess
    expect(runs.body.map((job) => job.id)).toEqual(batch.job_runs.map((job) => job.id).reverse());
    expect(previews.body.map((job) => job.id)).toEqual([previewId]);
    expect(one.body).toMatchObject({
      id: standardId,
      name: 'shapes',
      batch_id: batch.id,
      is_preview: false,
      status: 'completed',
      in_progress: false,
      param_values: { seed: 1 },
    });
    const zip = await fetch(one.body.result_url ?? '');
    expect(zip.status).toBe(200);
    expectError(previewAsStandard, 404, 'NOT_FOUND');
    expectError(standardAsPreview, 404, 'NOT_FOUND');
    expectError(batchAsJob, 404, 'NOT_FOUND');
  });

  it('reports usage per generator: jobs, previews and the frames rendered', async () => {
    // Act
    const usage = await infinity.get<InfinityUsage>('/api/job_runs/counts/', {
      start_time: pythonIso(before),
    });

    // Assess
    expect(usage.status, usage.text).toBe(200);
    expect(usage.body).toEqual({
      shapes: {
        samples: 2 + 2 + 1,
        jobs: 3,
        standard: 2,
        preview: 1,
        by_status: { pending: 0, running: 0, completed: 3, failed: 0, cancelled: 0 },
      },
    });
  });

  it('shows another tenant none of these: its lists are empty, the ids not found', async () => {
    // Prepare
    const { key } = await keyFor(fixture.platform, 'infinity-other');
    const other = api.withKey(key);

    // Act
    const lists = await Promise.all(
      ['/api/batch/', '/api/job_runs/', '/api/job_previews/'].map((p) => other.get(p)),
    );
    const usage = await other.get('/api/job_runs/counts/');
    const reads = await Promise.all([
      other.get(`/api/batch/${batch.id}/`),
      other.get(`/api/batch/${batch.id}/summary/`),
      other.get(`/api/job_runs/${batch.job_runs[0]?.id}/`),
      other.get(`/api/job_previews/${preview.job_runs[0]?.id}/`),
    ]);

    // Assess
    for (const list of lists) expect(list.body).toEqual([]);
    expect(usage.body).toEqual({});
    for (const read of reads) expectError(read, 404, 'NOT_FOUND');
  });

  it('refuses every path without a key', async () => {
    // Act
    const anonymous = api.withKey(undefined);
    const answers = await Promise.all(
      ['/api/jobs/', '/api/batch/', '/api/job_runs/counts/'].map((p) => anonymous.get(p)),
    );

    // Assess
    for (const answer of answers) expectError(answer, 401, 'UNAUTHORIZED');
  });
});
