/**
 * `waitForDatasetJob` against scripted answers, for what the local platform does not do on cue: a
 * job that outlasts the wait, a job of another kind, a completed job whose result is missing or not
 * what its kind promises. The clock moves only when the wait sleeps, so no test spends real time.
 */
import { describe, expect, it } from 'vitest';
import { ApiClient } from '../src/api-client.ts';
import { DatasetJobTimeoutError } from '../src/dataset-jobs.ts';
import { SynthForgeError } from '../src/errors.ts';
import type { Timers } from '../src/retry.ts';

const JOB_ID = '01JD3X2K8Q7YV4N6B5M9T0RWZC';
const RESULT_URL = 'http://results.test/result.json';

function job(fields: Record<string, unknown>) {
  return {
    id: JOB_ID,
    kind: 'image-profile',
    status: 'running',
    progress: 40,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:01.000Z',
    version: 2,
    ...fields,
  };
}

const json = (body: unknown) =>
  new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });

/** A client whose job answers the states given, one per poll (the last one repeated), and whose result link answers `result`. */
function scripted(states: Record<string, unknown>[], result: unknown = {}) {
  let now = 0;
  const sleeps: number[] = [];
  const timers: Timers = {
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
  };
  let polls = 0;
  const client = new ApiClient({
    baseUrl: 'http://api.test',
    timers,
    fetch: async (url) => {
      if (url === RESULT_URL) return json(result);
      const state = states[Math.min(polls, states.length - 1)] ?? {};
      polls++;
      return json(job(state));
    },
  });
  return { client, sleeps, polls: () => polls };
}

describe('waitForDatasetJob', () => {
  it('gives up at the deadline with the job as last seen, the pause growing to its cap', async () => {
    // Prepare
    const { client, sleeps } = scripted([{ status: 'running', progress: 40 }]);

    // Act
    const error = await client
      .waitForDatasetJob(JOB_ID, { timeoutMs: 3_000, pollMs: 400, maxPollMs: 1_000 })
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(DatasetJobTimeoutError);
    expect(error).toMatchObject({ jobId: JOB_ID, timeoutMs: 3_000, job: { status: 'running' } });
    expect((error as Error).message).toBe(
      `the image-profile job ${JOB_ID} did not end within 3000 ms (running, 40%)`,
    );
    expect(sleeps).toEqual([400, 600, 900, 1_000, 100]);
  });

  it('tells each change of status or progress once', async () => {
    // Prepare
    const profile = {
      name: 'p',
      created_at: '2026-01-01T00:00:00.000Z',
      updated_at: '2026-01-01T00:00:00.000Z',
      sample_count: 1,
      path: 's3://bucket/dev/profiles/p.json',
      statistics: {
        color_distribution: { red_mean: 1, green_mean: 2, blue_mean: 3 },
        brightness_mean: 0.5,
        contrast_mean: 0.2,
        resolution: { width_mean: 8, height_mean: 8 },
      },
      source: { s3_prefix: 'uploads/' },
    };
    const { client } = scripted(
      [
        { status: 'pending', progress: 0 },
        { status: 'running', progress: 0 },
        { status: 'running', progress: 0 },
        { status: 'running', progress: 50 },
        { status: 'completed', progress: 100, result_url: RESULT_URL },
      ],
      profile,
    );
    const seen: string[] = [];

    // Act
    const result = await client.waitForDatasetJob(
      { job_id: JOB_ID, kind: 'image-profile' },
      { onProgress: (j) => seen.push(`${j.status} ${j.progress}`) },
    );

    // Assess
    expect(seen).toEqual(['pending 0', 'running 0', 'running 50', 'completed 100']);
    expect(result.statistics.resolution).toEqual({ width_mean: 8, height_mean: 8 });
  });

  it('refuses the id of a job that no dataset route started, at the first poll', async () => {
    // Prepare
    const { client, polls } = scripted([{ kind: 'image', status: 'completed' }]);

    // Act
    const error = await client.waitForDatasetJob(JOB_ID).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe(`job ${JOB_ID} is of kind image, which no dataset route starts`);
    expect(polls()).toBe(1);
  });

  it.each([
    ['links no result', { status: 'completed', progress: 100 }, {}, 'it links no result (result_url)'],
    [
      'links what its kind does not answer',
      { status: 'completed', progress: 100, result_url: RESULT_URL },
      { name: 'p' },
      'its result does not match the API contract: created_at',
    ],
  ])('throws INVALID_RESPONSE for a completed job that %s', async (_, state, result, reason) => {
    // Prepare
    const { client } = scripted([state], result);

    // Act
    const error = await client.waitForDatasetJob(JOB_ID).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(SynthForgeError);
    expect(error).toMatchObject({ code: 'INVALID_RESPONSE' });
    expect((error as Error).message).toContain(`the image-profile job ${JOB_ID} completed, but ${reason}`);
  });
});
