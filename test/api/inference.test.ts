/**
 * Seed 003's inference routes over HTTP against the local platform, on the same code as deployed:
 * the EMD models are inference components of the local SageMaker answered by the local vision model
 * (real OCR, faces and colours), Bedrock is its local emulator. Frames are made in the test; the OCR
 * must read their text back.
 */

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  InferenceError,
  InferenceResponse,
  type MultiInferenceResponse,
  StreamEvent,
} from '../../contracts/inference.ts';
import { SEED_BEDROCK_MODELS } from '../../contracts/inference-models.ts';
import { LOCAL_VLM_ENDPOINT as ENDPOINT } from '../../lambdas/local/families/inference.ts';
import { ApiClient } from '../../sdk/src/api-client.ts';
import { keyFor, LEAK_PATTERNS, usePlatform } from '../support/platform.ts';

/** Short, so that the slow model's test is quick; long enough for a photo's analysis on a busy machine. */
const DEADLINE_MS = 6_000;
const fixture = usePlatform({
  inference: { bedrock: 'emulate', initialCopies: 0, wakeDelayMs: 200, deadlineMs: DEADLINE_MS },
});

/** An image of black text on white, as PNG or JPEG bytes. */
async function textImage(text: string, format: 'png' | 'jpeg', width = 480): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="140">
    <rect width="100%" height="100%" fill="white"/>
    <text x="24" y="95" font-family="DejaVu Sans" font-size="64" fill="black">${text}</text></svg>`;
  const image = sharp(Buffer.from(svg));
  return format === 'png' ? image.png().toBuffer() : image.jpeg({ quality: 92 }).toBuffer();
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** Polls a model until it answers 200 (it wakes from zero on its first call), or gives up. */
async function warm(path: string, body: unknown, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const response = await fixture.api.post(path, body);
    if (response.status !== 503 || Date.now() > until) return response;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** The SSE events of a streamed answer, with how many reads of the body they took. */
async function readStream(path: string, body: unknown) {
  const response = await fetch(new URL(path, fixture.platform.url), {
    method: 'POST',
    headers: { 'x-api-key': fixture.platform.devKey, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const reader = response.body?.getReader();
  if (!reader) throw new Error('no body');
  let text = '';
  let reads = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    reads++;
    text += new TextDecoder().decode(value);
  }
  const events = text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const name = /^event: (.+)$/m.exec(block)?.[1];
      const data = StreamEvent.parse(JSON.parse(/^data: (.+)$/m.exec(block)?.[1] ?? 'null'));
      expect(data.type).toBe(name);
      return data;
    });
  return { response, events, reads };
}

let png: Buffer;
let jpeg: Buffer;

beforeAll(async () => {
  png = await textImage('HELLO 42', 'png');
  jpeg = await textImage('INVOICE 7', 'jpeg');
  // The components start at zero copies: the first call wakes the shared local model.
  const first = await warm('/api/emd/qwen2-vl-7b', { text: 'warm up', frames: [b64(png)] });
  expect(first.status, first.text).toBe(200);
}, 90_000);

describe('POST /api/emd/{model_key}', () => {
  it('answers in seed 003’s shape, the OCR reading the PNG’s text, and says which model answered', async () => {
    // Act
    const response = await fixture.api.post('/api/emd/qwen2-vl-7b', {
      text: 'What is in this image?',
      frames: [b64(png)],
      mediaType: 'image',
      max_tokens: 256,
      temperature: 0.1,
    });

    // Assess
    expect(response.status, response.text).toBe(200);
    const body = InferenceResponse.parse(response.body);
    expect(body.request).toEqual({
      text: 'What is in this image?',
      frames_count: 1,
      media_type: 'image',
      max_tokens: 256,
      temperature: 0.1,
    });
    expect(body.response.content[0]?.text).toContain('HELLO 42');
    expect(body.response.usage.output_tokens).toBeGreaterThan(0);
    expect(body.model).toEqual({
      key: 'qwen2-vl-7b',
      model_id: 'Qwen/Qwen2-VL-7B-Instruct',
      provider: 'sagemaker',
      answered_by: 'synthforge/local-vision',
      emulated: true,
    });
  });

  it('reads a JPEG too, on another model key', async () => {
    // Act
    const response = await warm('/api/emd/gemma-3-4b', { text: 'Read the text', frames: [b64(jpeg)] });

    // Assess
    expect(response.status, response.text).toBe(200);
    expect(InferenceResponse.parse(response.body).response.content[0]?.text).toContain('INVOICE 7');
  });

  it('answers a model scaled to zero with 503, Retry-After and estimated_ready_at, then serves it', async () => {
    // Prepare
    fixture.platform.sageMaker.scaleComponentToZero(ENDPOINT, 'synthforge-ui-tars-1-5-7b');
    const body = { text: 'What is in this image?', frames: [b64(png)] };

    // Act
    const waking = await fixture.api.post('/api/emd/ui-tars-1.5-7b', body);
    const served = await warm('/api/emd/ui-tars-1.5-7b', body);

    // Assess
    expect(waking.status, waking.text).toBe(503);
    expect(Number(waking.headers.get('retry-after'))).toBeGreaterThan(0);
    const error = InferenceError.parse(waking.body);
    expect(error.code).toBe('unavailable');
    expect(error.error).toMatch(/waking/);
    expect(Date.parse(error.estimated_ready_at ?? '')).toBeGreaterThan(Date.now() - 1000);
    expect(served.status, served.text).toBe(200);
  });
});

describe('POST /api/claude4 and /api/nova (Bedrock, emulated)', () => {
  // A fault a failing test left queued would fail the tests after it.
  afterEach(() => fixture.platform.bedrock?.clearFaults());

  it.each([
    ['/api/claude4', 'claude4'],
    ['/api/nova', 'nova'],
  ])('%s answers through Converse, saying the local model stood in', async (path, key) => {
    // Act
    const response = await fixture.api.post(path, { text: 'Describe', frames: [b64(jpeg)], max_tokens: 300 });

    // Assess
    expect(response.status, response.text).toBe(200);
    const body = InferenceResponse.parse(response.body);
    expect(body.response.content[0]?.text).toContain('INVOICE 7');
    expect(body.model).toMatchObject({
      key,
      provider: 'bedrock',
      answered_by: 'synthforge/local-vision',
      emulated: true,
    });
  });

  it('answers Bedrock throttling that outlasts the retries with 429 and Retry-After, never 500', async () => {
    // Prepare
    const claude = SEED_BEDROCK_MODELS.find((model) => model.key === 'claude4');
    fixture.platform.bedrock?.throttleNext(claude?.modelId, 50);

    // Act
    const response = await fixture.api.post('/api/claude4', { text: 'hello' });

    // Assess
    expect(response.status, response.text).toBe(429);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(InferenceError.parse(response.body).code).toBe('rate_limited');
  });
});

describe('POST /api/stream/{model_name}', () => {
  it('streams the tokens as events, read chunk by chunk, ending with usage', async () => {
    // Prepare
    const body = { text: 'What is in this image?', frames: [b64(png)], max_tokens: 200 };
    const whole = InferenceResponse.parse((await fixture.api.post('/api/emd/qwen2-vl-7b', body)).body);

    // Act
    const { response, events, reads } = await readStream('/api/stream/qwen2-vl-7b', body);

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(events[0]?.type).toBe('start');
    const deltas = events.filter((event) => event.type === 'delta');
    expect(deltas.length).toBeGreaterThan(5);
    expect(deltas.map((event) => event.text).join('')).toBe(whole.response.content[0]?.text);
    expect(events.at(-1)).toMatchObject({ type: 'done', usage: whole.response.usage });
    expect(reads).toBeGreaterThan(1);
  });

  it('streams a Bedrock model through ConverseStream', async () => {
    // Act
    const { events } = await readStream('/api/stream/nova', { text: 'Read it', frames: [b64(jpeg)] });

    // Assess
    const text = events.flatMap((event) => (event.type === 'delta' ? [event.text] : [])).join('');
    expect(text).toContain('INVOICE 7');
    expect(events.at(-1)?.type).toBe('done');
  });

  it('ends with an error event when the model fails mid-stream', async () => {
    // Prepare
    // By bytes, not chunks: the model's lines may reach the host in as few chunks as TCP likes.
    fixture.platform.sageMaker.failStreamAfter(ENDPOINT, 'synthforge-qwen2-vl-7b', { bytes: 2_000 });

    // Act
    const { response, events } = await readStream('/api/stream/qwen2-vl-7b', {
      text: 'hi',
      frames: [b64(png)],
    });

    // Assess
    expect(response.status).toBe(200);
    expect(events.at(-1)).toMatchObject({ type: 'error', status: 500 });
  });

  it('answers an error before the first token with its status, not a stream', async () => {
    // Act
    const response = await fixture.api.post('/api/stream/no-such-model', { text: 'hi' });

    // Assess
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(InferenceError.parse(response.body).error).toMatch(/no-such-model/);
  });
});

describe('POST /api/multi-inference', () => {
  it('calls every model in parallel: one failing and one slow model fail only their own part', async () => {
    // Prepare
    await warm('/api/emd/ui-tars-1.5-7b', { text: 'warm', frames: [b64(png)] });
    fixture.platform.sageMaker.failRealtimeNext(ENDPOINT, 'synthforge-gemma-3-4b', 1);
    fixture.platform.sageMaker.delayRealtimeNext(ENDPOINT, 'synthforge-ui-tars-1-5-7b', DEADLINE_MS + 1_000);
    const started = Date.now();

    // Act
    const response = await fixture.api.post<MultiInferenceResponse>('/api/multi-inference', {
      text: 'What is in this image?',
      frames: [b64(png)],
      max_tokens: 100,
      models: ['qwen2-vl-7b', 'gemma-3-4b', 'ui-tars-1.5-7b', 'claude4'],
    });

    // Assess
    expect(response.status, response.text).toBe(200);
    const [qwen, gemma, tars, claude] = response.body.results;
    expect(qwen).toMatchObject({ model: 'qwen2-vl-7b', status: 200 });
    expect(qwen?.response?.content[0]?.text).toContain('HELLO 42');
    expect(claude).toMatchObject({ model: 'claude4', status: 200 });
    expect(gemma).toMatchObject({ model: 'gemma-3-4b', status: 500, code: 'model_error' });
    expect(tars).toMatchObject({ model: 'ui-tars-1.5-7b', status: 503 });
    expect(tars?.error).toMatch(/did not answer within/);
    // The slow model's deadline bounds the whole answer, not the sum of the models' times.
    expect(Date.now() - started).toBeLessThan(DEADLINE_MS + 2_500);
  });
});

describe('the seed’s bad inputs', () => {
  const cases: [string, string, unknown, RegExp][] = [
    ['no text', '/api/emd/qwen2-vl-7b', { frames: [] }, /text/],
    [
      'a frame that is not an image',
      '/api/emd/qwen2-vl-7b',
      { text: 'hi', frames: [b64(Buffer.from('plain text, not an image'))] },
      /frames\[0\]/,
    ],
    [
      '21 images',
      '/api/claude4',
      { text: 'hi', frames: Array.from({ length: 21 }, () => 'iVBORw0KGgo=') },
      /20/,
    ],
    ['an unknown model key', '/api/emd/llama-9000', { text: 'hi' }, /llama-9000/],
    ['a frame that is not base64', '/api/nova', { text: 'hi', frames: ['%%%not-base64%%%'] }, /frames\[0\]/],
    [
      'a video for a model without video',
      '/api/claude4',
      { text: 'hi', mediaType: 'video', frames: [b64(Buffer.from('0000ftypisom'))] },
      /video/,
    ],
  ];

  it.each(cases)(
    'answers %s with 400 in the seed’s wrapper, calling no model',
    async (_name, path, body, message) => {
      // Prepare
      const before = await fixture.platform.runtime.inference.usageSummary(
        'dev',
        new Date(Date.now() - 86_400_000),
        new Date(),
      );

      // Act
      const response = await fixture.api.post(path, body);

      // Assess
      expect(response.status, response.text).toBe(400);
      const error = InferenceError.parse(response.body);
      expect(error.error).toMatch(message);
      for (const pattern of LEAK_PATTERNS) expect(response.text).not.toMatch(pattern);
      const after = await fixture.platform.runtime.inference.usageSummary(
        'dev',
        new Date(Date.now() - 86_400_000),
        new Date(),
      );
      expect(after).toEqual(before);
    },
  );
});

describe('GET /api/emd/status and /api/emd/models', () => {
  it('reports every EMD model with its component, copies and the model standing in for it', async () => {
    // Act
    const response = await fixture.api.get<{
      models: { model_key: string; state: string; answered_by?: string; copies?: { current: number } }[];
    }>('/api/emd/status');

    // Assess
    expect(response.status).toBe(200);
    const keys = response.body.models.map((model) => model.model_key).sort();
    expect(keys).toEqual(['gemma-3-4b', 'qwen2-vl-7b', 'qwen2.5-vl-32b', 'ui-tars-1.5-7b']);
    const qwen = response.body.models.find((model) => model.model_key === 'qwen2-vl-7b');
    expect(qwen).toMatchObject({
      state: 'ready',
      answered_by: 'synthforge/local-vision',
      copies: { current: 1 },
    });
  });

  it('lists the Bedrock models and the EMD models with their states', async () => {
    // Act
    const response = await fixture.api.get<{
      models: { model_key: string; provider: string; deployed: boolean }[];
    }>('/api/emd/models');

    // Assess
    expect(response.status).toBe(200);
    expect(response.body.models.map((model) => model.model_key)).toEqual(
      expect.arrayContaining(['claude4', 'nova', 'qwen2-vl-7b', 'gemma-3-4b']),
    );
    expect(response.body.models.every((model) => model.deployed)).toBe(true);
  });
});

describe('faces, uploads and usage', () => {
  it('finds the faces of face-api’s own sample photo (MIT, read from the package)', async () => {
    // Prepare
    const faceApi = dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json'));
    // 800 px wide: the faces stay large enough to find, and the analysis stays well inside the deadline.
    const photo = await sharp(await readFile(join(faceApi, 'demo', 'sample1.jpg')))
      .resize({ width: 800 })
      .jpeg()
      .toBuffer();

    // Act
    const response = await fixture.api.post('/api/emd/qwen2-vl-7b', {
      text: 'Who is there?',
      frames: [b64(photo)],
    });

    // Assess
    expect(response.status, response.text).toBe(200);
    expect(InferenceResponse.parse(response.body).response.content[0]?.text).toMatch(/\b3 faces\b/);
  });

  it('takes a frame uploaded through the presigned PUT by its s3:// URI', async () => {
    // Prepare
    const link = await fixture.api.post<{ url: string; s3_uri: string; headers: Record<string, string> }>(
      '/api/uploads',
      { filename: 'invoice.png', content_type: 'image/png' },
    );
    expect(link.status, link.text).toBe(200);
    const put = await fetch(link.body.url, { method: 'PUT', headers: link.body.headers, body: png });
    expect(put.status).toBe(200);

    // Act
    const response = await fixture.api.post('/api/nova', { text: 'Read it', frames: [link.body.s3_uri] });

    // Assess
    expect(response.status, response.text).toBe(200);
    expect(InferenceResponse.parse(response.body).response.content[0]?.text).toContain('HELLO 42');
  });

  it('answers another tenant’s s3:// frame 404, as if it did not exist', async () => {
    // Prepare
    const link = await fixture.api.post<{ url: string; s3_uri: string; headers: Record<string, string> }>(
      '/api/uploads',
      { filename: 'mine.png', content_type: 'image/png' },
    );
    await fetch(link.body.url, { method: 'PUT', headers: link.body.headers, body: png });
    const other = fixture.api.withKey((await keyFor(fixture.platform, 'tenant-b')).key);

    // Act
    const response = await other.post('/api/nova', { text: 'Read it', frames: [link.body.s3_uri] });

    // Assess
    expect(response.status, response.text).toBe(404);
    expect(InferenceError.parse(response.body).code).toBe('not_found');
  });

  it('streams through the SDK’s client, event by event', async () => {
    // Prepare
    const client = new ApiClient({ baseUrl: fixture.platform.url, apiKey: fixture.platform.devKey });
    const seen: string[] = [];

    // Act
    for await (const event of client.stream('gemma-3-4b', { text: 'Read it', frames: [b64(jpeg)] })) {
      seen.push(event.type === 'delta' ? event.text : `<${event.type}>`);
    }

    // Assess
    expect(seen[0]).toBe('<start>');
    expect(seen.at(-1)).toBe('<done>');
    expect(seen.slice(1, -1).join('')).toContain('INVOICE 7');
  });

  it('reports the tenant’s model calls, tokens and cost in GET /api/v1/usage', async () => {
    // Prepare
    const tenant = await keyFor(fixture.platform, 'tenant-usage');
    const api = fixture.api.withKey(tenant.key);
    await api.post('/api/claude4', { text: 'one', frames: [b64(png)] });
    await api.post('/api/claude4', { text: 'two' });

    // Act
    const usage = await api.get<{
      inference: {
        calls: number;
        estimated_usd: number;
        by_model: Record<string, { calls: number; input_tokens: number }>;
      };
    }>('/api/v1/usage');

    // Assess
    expect(usage.status, usage.text).toBe(200);
    expect(usage.body.inference.calls).toBe(2);
    expect(Object.keys(usage.body.inference.by_model)).toEqual(['claude4']);
    expect(usage.body.inference.by_model.claude4?.input_tokens).toBeGreaterThan(256);
    // Claude's price is per token: two calls cost something, and exactly what the tokens say.
    expect(usage.body.inference.estimated_usd).toBeGreaterThan(0);
  });
});
