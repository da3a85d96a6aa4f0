/**
 * `"async": true` on seed 003's model routes over HTTP against the local platform (issue 13): the
 * route answers 202 with a job of the jobs engine, which the inference machine runs on the same
 * code as deployed; the job is polled at `GET /api/v1/jobs/{id}` like any other, and once completed
 * its `result_url` downloads the answer the route would have given. Bedrock is the local emulator,
 * answered by the local vision model, whose OCR must read the frame's text back.
 */
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { InferenceAccepted, InferenceError, InferenceResponse } from '../../contracts/inference.ts';
import { SEED_BEDROCK_MODELS } from '../../contracts/inference-models.ts';
import type { Job } from '../../contracts/jobs.ts';
import { type Api, usePlatform } from '../support/platform.ts';

const fixture = usePlatform({ inference: { bedrock: 'emulate', initialCopies: 0, wakeDelayMs: 200 } });

const NOVA = SEED_BEDROCK_MODELS.find((model) => model.key === 'nova')?.modelId ?? '';

/** An image of black text on white, as PNG bytes. */
async function textImage(text: string): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="480" height="140">
    <rect width="100%" height="100%" fill="white"/>
    <text x="24" y="95" font-family="DejaVu Sans" font-size="64" fill="black">${text}</text></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** Polls a job at its Location until it has ended; fails with the last view past `timeoutMs`. */
async function waitForJob(api: Api, location: string, timeoutMs = 90_000): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const response = await api.get<Job>(new URL(location).pathname);
    expect(response.status, response.text).toBe(200);
    last = response.text;
    if (['completed', 'failed', 'cancelled'].includes(response.body.status)) return response.body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the job did not end within ${timeoutMs} ms; last seen: ${last}`);
}

/** How many inference jobs the tenant has. */
const inferenceJobs = async () =>
  (
    (await fixture.api.get<{ jobs: Job[] }>('/api/v1/jobs', { kind: 'inference', limit: 100 })).body.jobs ??
    []
  ).length;

let png: string;

beforeAll(async () => {
  png = (await textImage('HELLO 42')).toString('base64');
});

describe('"async": true', () => {
  it('answers 202 with the job at once, which completes with the answer behind its result_url', async () => {
    // Act
    const response = await fixture.api.post('/api/nova', {
      text: 'What is in this image?',
      frames: [png],
      max_tokens: 256,
      async: true,
    });

    // Assess: the job as submitted, and where to poll it.
    expect(response.status, response.text).toBe(202);
    const accepted = InferenceAccepted.parse(response.body);
    expect(accepted).toMatchObject({
      status: 'submitted',
      request: { text: 'What is in this image?', frames_count: 1, media_type: 'image', max_tokens: 256 },
      job: { kind: 'inference', status: 'pending', param_values: { model_key: 'nova', provider: 'bedrock' } },
    });
    const location = response.headers.get('location') ?? '';
    expect(location).toMatch(new RegExp(`/api/v1/jobs/${accepted.job.id}$`));

    // Assess: polled like any other job, it completes with a link to the route's answer.
    const job = await waitForJob(fixture.api, location);
    expect(job, JSON.stringify(job)).toMatchObject({ status: 'completed', progress: 100 });
    expect(job.result_url).toMatch(/^https?:\/\//);
    const download = await fetch(job.result_url ?? '');
    expect(download.status).toBe(200);
    const answer = InferenceResponse.parse(await download.json());
    expect(answer.response.content[0]?.text).toContain('HELLO 42');
    expect(answer.request).toEqual(accepted.request);
    expect(answer.model).toMatchObject({
      key: 'nova',
      answered_by: 'synthforge/local-vision',
      emulated: true,
    });
    expect(job.result).toMatchObject({ content_type: 'application/json' });

    // Assess: the job's log says which model answered.
    const logs = await fixture.api.get<{ entries: { message: string }[] }>(`/api/v1/jobs/${job.id}/logs`);
    const messages = logs.body.entries.map((entry) => entry.message);
    expect(messages.join('\n')).toContain(`answered (synthforge/local-vision, standing in for ${NOVA})`);
  }, 120_000);

  it('fails the job with the route’s message when the model fails', async () => {
    // Prepare
    fixture.platform.bedrock?.failNext(NOVA, 5, { type: 'ModelErrorException', message: 'cannot read it' });

    // Act
    const response = await fixture.api.post('/api/nova', { text: 'Read it', frames: [png], async: true });

    // Assess
    expect(response.status, response.text).toBe(202);
    const job = await waitForJob(fixture.api, response.headers.get('location') ?? '');
    fixture.platform.bedrock?.clearFaults();
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('MODEL_ERROR');
    expect(job.error?.message).toMatch(/^model nova failed on this request: .*cannot read it/);
    expect(job.result_url).toBeUndefined();
  }, 120_000);

  it.each([
    ['a frame that is not an image', '/api/nova', { text: 'hi', frames: ['bm90IGFuIGltYWdl'] }, /frame/],
    ['an unknown EMD model key', '/api/emd/no-such-model', { text: 'hi' }, /no-such-model/],
    ['no text', '/api/claude4', { frames: [] }, /text/],
  ])('answers %s with 400 at once, and starts no job', async (_case, path, body, message) => {
    // Prepare
    const before = await inferenceJobs();

    // Act
    const response = await fixture.api.post(path, { ...body, async: true });

    // Assess
    expect(response.status, response.text).toBe(400);
    expect(InferenceError.parse(response.body).error).toMatch(message);
    expect(await inferenceJobs()).toBe(before);
  });

  it('starts one job for a request retried with the same Idempotency-Key', async () => {
    // Prepare
    const body = { text: 'Read it', frames: [png], async: true };
    const headers = { 'idempotency-key': 'retry-of-a-long-video' };

    // Act
    const first = await fixture.api.post('/api/nova', body, headers);
    const retried = await fixture.api.post('/api/nova', body, headers);

    // Assess
    expect(first.status, first.text).toBe(202);
    expect(retried.status, retried.text).toBe(202);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(InferenceAccepted.parse(retried.body).job.id).toBe(InferenceAccepted.parse(first.body).job.id);
  });

  it('is no field of the stream and multi-inference routes', async () => {
    // Act
    const stream = await fixture.api.post('/api/stream/nova', { text: 'hi', async: true });
    const multi = await fixture.api.post('/api/multi-inference', {
      text: 'hi',
      models: ['nova'],
      async: true,
    });

    // Assess
    for (const response of [stream, multi]) {
      expect(response.status, response.text).toBe(400);
      expect(InferenceError.parse(response.body).error).toMatch(/async/);
    }
  });
});
