/**
 * Seed 003's methods of `ApiClient` over real HTTP, against a server the test scripts: each reaches
 * its route with its body and key; errors in seed 003's wrapper arrive typed; `stream` hands out
 * each event as soon as it is whole, before the answer ends; `waitForModel` waits through a model
 * waking from zero; `uploadFrame` sends the bytes to the presigned URL, without the key.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StreamEvent } from '../../contracts/inference.ts';
import { ApiClient, type ApiClientOptions } from '../src/api-client.ts';
import { SynthForgeError, TimeoutError } from '../src/errors.ts';
import { type ModelWaitProgress, ModelWaitTimeoutError } from '../src/model-wait.ts';
import type { Timers } from '../src/retry.ts';
import { answerOf, DONE, delta, ECHO, errorOf, START } from './support/inference-fixtures.ts';
import {
  type ScriptedServer,
  sendJson,
  sseEvent,
  startEventStream,
  startScriptedServer,
} from './support/scripted-server.ts';

const KEY = 'sf_test_key';
const REQUEST = { text: 'What is in this image?', frames: ['iVBORw0KGgo='], max_tokens: 64 };
const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
let server: ScriptedServer;

beforeAll(async () => {
  server = await startScriptedServer();
});
afterAll(() => server.close());
afterEach(() => {
  server.requests.length = 0;
});

function client(options: Partial<ApiClientOptions> = {}): ApiClient {
  return new ApiClient({
    baseUrl: server.url,
    apiKey: KEY,
    retries: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 2_000 },
    ...options,
  });
}

/** Timers whose clock moves only when the client sleeps: waits are recorded, not spent. */
function fakeTimers(): Timers & { sleeps: number[] } {
  let now = 1_000_000;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

const parsedBody = (index: number) => JSON.parse(server.requests[index]?.body.toString() ?? 'null');

async function failureOf(promise: Promise<unknown>): Promise<SynthForgeError> {
  const error = await promise.catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(SynthForgeError);
  return error as SynthForgeError;
}

describe('the model routes', () => {
  it('sends each request to its route with the key, and returns the answer typed', async () => {
    // Prepare
    server.handle((request, response) => {
      if (request.url === '/api/emd/status') return sendJson(response, 200, { time: 'now', models: [] });
      if (request.url === '/api/emd/models') return sendJson(response, 200, { models: [] });
      if (request.url === '/api/multi-inference') {
        return sendJson(response, 200, {
          time: 'now',
          request: ECHO,
          results: [{ model: 'nova', status: 503, latency_ms: 3, error: 'not here', code: 'unavailable' }],
          latency_ms: 4,
        });
      }
      return sendJson(response, 200, answerOf(`answer from ${request.url}`));
    });
    const api = client();

    // Act
    const claude = await api.claude4(REQUEST);
    const nova = await api.nova({ text: 'a clip', mediaType: 'video' });
    const emd = await api.emd('qwen2.5-vl-32b', REQUEST);
    const multi = await api.multiInference({ ...REQUEST, models: ['nova'] });
    const status = await api.emdStatus();
    const models = await api.emdModels();

    // Assess
    expect(server.requests.map((request) => `${request.method} ${request.url}`)).toEqual([
      'POST /api/claude4',
      'POST /api/nova',
      'POST /api/emd/qwen2.5-vl-32b',
      'POST /api/multi-inference',
      'GET /api/emd/status',
      'GET /api/emd/models',
    ]);
    expect(server.requests.every((request) => request.headers['x-api-key'] === KEY)).toBe(true);
    expect(parsedBody(0)).toEqual(REQUEST);
    expect(parsedBody(1)).toEqual({ text: 'a clip', mediaType: 'video' });
    expect(parsedBody(3)).toEqual({ ...REQUEST, models: ['nova'] });
    expect(claude.response.content[0]?.text).toBe('answer from /api/claude4');
    expect(nova.model.emulated).toBe(true);
    expect(emd.response.usage).toEqual({ input_tokens: 17, output_tokens: 5 });
    expect(multi.results[0]).toMatchObject({ model: 'nova', status: 503, code: 'unavailable' });
    expect(status.models).toEqual([]);
    expect(models.models).toEqual([]);
  });

  it('keys an `async: true` request, so that a retry starts no second job, and no call answered at once', async () => {
    // Prepare
    let calls = 0;
    server.handle((_request, response) => {
      calls++;
      // The first answer is lost to a gateway that failed after the handler acted.
      if (calls === 1) return sendJson(response, 502, { message: 'Internal server error' });
      return sendJson(response, 200, answerOf('ok'));
    });
    const api = client();

    // Act
    await api.nova({ ...REQUEST, async: true }).catch(() => undefined);
    const asyncAttempts = server.requests.map((request) => request.headers['idempotency-key']);
    server.requests.length = 0;
    calls = 0;
    const sync = await api.nova(REQUEST).catch((error: unknown) => error);

    // Assess: both attempts of the async request carry one key; the call answered at once is not retried.
    expect(asyncAttempts).toHaveLength(2);
    expect(asyncAttempts[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(asyncAttempts[1]).toBe(asyncAttempts[0]);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.headers['idempotency-key']).toBeUndefined();
    expect(sync).toBeInstanceOf(SynthForgeError);
  });

  it('sends a multi-inference once: a 502 after the models ran does not run them all again', async () => {
    // Prepare: the gateway lost the answer after the fan-out ran.
    server.handle((_request, response) => sendJson(response, 502, { message: 'Internal server error' }));

    // Act
    const error = await failureOf(client().multiInference({ ...REQUEST, models: ['nova', 'qwen2-vl-7b'] }));
    const keyed = await failureOf(
      client().multiInference({ ...REQUEST, models: ['nova'] }, { idempotencyKey: 'fan-out-1' }),
    );

    // Assess: unkeyed, one attempt and no key; given a key, it is sent with it and retried.
    expect(error).toMatchObject({ status: 502 });
    expect(keyed).toMatchObject({ status: 502 });
    expect(server.requests.map((request) => request.headers['idempotency-key'])).toEqual([
      undefined,
      'fan-out-1',
      'fan-out-1',
      'fan-out-1',
    ]);
  });

  it("reads seed 003's error wrapper: code, message, status, Retry-After, estimated_ready_at", async () => {
    // Prepare
    server.handle((request, response) =>
      request.url === '/api/claude4'
        ? sendJson(
            response,
            400,
            errorOf('invalid_parameters', 'frame 0 is not an image', { details: { frame: 0 } }),
          )
        : sendJson(
            response,
            503,
            errorOf('unavailable', 'model gemma-3-4b is waking', {
              estimated_ready_at: '2026-11-22T10:03:00.000Z',
            }),
            { 'retry-after': '7' },
          ),
    );

    // Act
    const invalid = await failureOf(client().claude4(REQUEST));
    const waking = await failureOf(client().emd('gemma-3-4b', REQUEST));

    // Assess
    expect(invalid).toMatchObject({
      status: 400,
      code: 'INVALID_PARAMETERS',
      message: 'frame 0 is not an image',
      details: { frame: 0 },
      requestId: 'req-test',
      retryable: false,
    });
    expect(waking).toMatchObject({
      status: 503,
      code: 'UNAVAILABLE',
      message: 'model gemma-3-4b is waking',
      retryAfter: 7,
      retryAfterMs: 7_000,
      estimatedReadyAt: '2026-11-22T10:03:00.000Z',
    });
    // A POST without an Idempotency-Key is never sent twice for a 503.
    expect(server.requests).toHaveLength(2);
  });
});

describe('stream', () => {
  it('hands out each event as soon as it is whole, before the server ends the answer', async () => {
    // Prepare: an event cut mid-word and mid-character, two events in one write, pauses between writes.
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let ended = false;
    server.handle(async (_, response) => {
      startEventStream(response);
      const first = sseEvent(START) + sseEvent(delta('Hé'));
      const bytes = Buffer.from(first);
      // Between the two bytes of é.
      const byteCut = Buffer.byteLength(first.slice(0, first.lastIndexOf('é'))) + 1;
      response.write(bytes.subarray(0, byteCut));
      await new Promise((resolve) => setTimeout(resolve, 30));
      response.write(bytes.subarray(byteCut));
      response.write(sseEvent(delta('llo')) + sseEvent(delta(', world')).slice(0, 10));
      await new Promise((resolve) => setTimeout(resolve, 30));
      response.write(sseEvent(delta(', world')).slice(10));
      // A client that buffers the answer would never release it: end it anyway, and fail below.
      await Promise.race([released, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      response.end(sseEvent(DONE));
      ended = true;
    });
    const events: StreamEvent[] = [];

    // Act
    const stream = client().stream('qwen2-vl-7b', REQUEST);
    for await (const event of stream) {
      events.push(event);
      if (events.length === 4) {
        // Assess: four events arrived while the server still holds the answer open.
        expect(ended).toBe(false);
        release();
      }
    }

    // Assess
    expect(events).toEqual([START, delta('Hé'), delta('llo'), delta(', world'), DONE]);
    expect(ended).toBe(true);
    const sent = server.requests[0];
    expect(sent?.url).toBe('/api/stream/qwen2-vl-7b');
    expect(sent?.headers).toMatchObject({ 'x-api-key': KEY, accept: 'text/event-stream' });
    expect(JSON.parse(sent?.body.toString() ?? '')).toEqual(REQUEST);
  });

  it('throws an error event after yielding the events before it', async () => {
    // Prepare
    server.handle((_, response) => {
      startEventStream(response);
      response.end(
        sseEvent(START) +
          sseEvent(delta('Partial')) +
          sseEvent({ type: 'error', error: 'the model failed mid-answer', code: 'model_error', status: 500 }),
      );
    });
    const events: StreamEvent[] = [];

    // Act
    const error = await failureOf(
      (async () => {
        for await (const event of client().stream('claude4', REQUEST)) events.push(event);
      })(),
    );

    // Assess
    expect(events).toEqual([START, delta('Partial')]);
    expect(error).toMatchObject({
      status: 500,
      code: 'MODEL_ERROR',
      message: 'the model failed mid-answer',
      requestId: 'req-stream',
    });
  });

  it('throws a non-200 answer before any event, retrying only a 429', async () => {
    // Prepare
    let calls = 0;
    server.handle((_, response) => {
      calls++;
      if (calls === 1)
        return sendJson(response, 429, errorOf('rate_limited', 'slow down'), { 'retry-after': '0' });
      return sendJson(response, 404, errorOf('not_found', 'no model "nope" in this stage'));
    });
    const events: StreamEvent[] = [];

    // Act
    const error = await failureOf(
      (async () => {
        for await (const event of client().stream('nope', REQUEST)) events.push(event);
      })(),
    );

    // Assess
    expect(events).toEqual([]);
    expect(error).toMatchObject({
      status: 404,
      code: 'NOT_FOUND',
      message: 'no model "nope" in this stage',
      attempts: 2,
    });
    expect(calls).toBe(2);
  });

  it('gives up on a server that stops sending, after timeoutMs of silence', async () => {
    // Prepare
    server.handle((_, response) => {
      startEventStream(response);
      response.write(sseEvent(START));
    });
    const events: StreamEvent[] = [];

    // Act
    const error = await (async () => {
      for await (const event of client({ timeoutMs: 300 }).stream('nova', REQUEST)) events.push(event);
    })().catch((caught: unknown) => caught);

    // Assess
    expect(events).toEqual([START]);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toContain('sent nothing for 300 ms');
  });
});

describe('waitForModel', () => {
  /** 503 with Retry-After `waking` times, then the answer. */
  function wakingModel(waking: number, retryAfter = '1') {
    let calls = 0;
    server.handle((request, response) => {
      calls++;
      if (calls <= waking) {
        return sendJson(
          response,
          503,
          errorOf('unavailable', 'model gemma-3-4b is scaled to zero and waking', {
            estimated_ready_at: '2026-11-22T10:01:00.000Z',
          }),
          { 'retry-after': retryAfter },
        );
      }
      if (request.url.startsWith('/api/stream/')) {
        startEventStream(response);
        return void response.end(sseEvent(START) + sseEvent(delta('awake')) + sseEvent(DONE));
      }
      return sendJson(response, 200, answerOf('awake'));
    });
  }

  it('waits Retry-After and asks again until the model answers, reporting each wait', async () => {
    // Prepare
    wakingModel(2);
    const timers = fakeTimers();
    const progress: ModelWaitProgress[] = [];

    // Act
    const answer = await client({ timers }).emd('gemma-3-4b', REQUEST, {
      waitForModel: { onProgress: (step) => progress.push(step) },
    });

    // Assess
    expect(answer.response.content[0]?.text).toBe('awake');
    expect(server.requests).toHaveLength(3);
    expect(timers.sleeps).toEqual([1_000, 1_000]);
    expect(progress.map(({ attempts, delayMs, elapsedMs }) => [attempts, delayMs, elapsedMs])).toEqual([
      [1, 1_000, 0],
      [2, 1_000, 1_000],
    ]);
    expect(progress[0]).toMatchObject({
      model: 'gemma-3-4b',
      estimatedReadyAt: '2026-11-22T10:01:00.000Z',
      message: 'model gemma-3-4b is scaled to zero and waking',
    });
  });

  it('waits for a streamed model too', async () => {
    // Prepare
    wakingModel(1);
    const timers = fakeTimers();
    const events: StreamEvent[] = [];

    // Act
    for await (const event of client({ timers }).stream('gemma-3-4b', REQUEST, { waitForModel: true })) {
      events.push(event);
    }

    // Assess
    expect(events.map((event) => event.type)).toEqual(['start', 'delta', 'done']);
    expect(timers.sleeps).toEqual([1_000]);
  });

  it('is off by default, and never waits for a 503 without Retry-After (a model not deployed)', async () => {
    // Prepare
    wakingModel(1);
    const timers = fakeTimers();

    // Act
    const unasked = await failureOf(client({ timers }).emd('gemma-3-4b', REQUEST));
    server.handle((_, response) =>
      sendJson(response, 503, errorOf('unavailable', 'model x is not deployed in this stage')),
    );
    const notDeployed = await failureOf(client({ timers }).emd('x', REQUEST, { waitForModel: true }));

    // Assess
    expect(unasked).toMatchObject({ status: 503, retryAfter: 1 });
    expect(notDeployed).toMatchObject({ status: 503, retryAfter: undefined });
    expect(timers.sleeps).toEqual([]);
    expect(server.requests).toHaveLength(2);
  });

  it('never waits for a 503 with Retry-After but no estimated_ready_at (a timeout, a brief outage)', async () => {
    // Prepare: the gateway's answer to a model that did not answer within its deadline.
    server.handle((_, response) =>
      sendJson(response, 503, errorOf('unavailable', 'model gemma-3-4b did not answer within 25 s'), {
        'retry-after': '10',
      }),
    );
    const timers = fakeTimers();

    // Act
    const called = await failureOf(client({ timers }).emd('gemma-3-4b', REQUEST, { waitForModel: true }));
    const streamed = await failureOf(
      (async () => {
        for await (const _ of client({ timers }).stream('gemma-3-4b', REQUEST, { waitForModel: true })) {
          // no event is expected
        }
      })(),
    );

    // Assess
    expect(called).toMatchObject({ status: 503, retryAfter: 10, estimatedReadyAt: undefined });
    expect(streamed).toMatchObject({ status: 503, retryAfter: 10 });
    expect(timers.sleeps).toEqual([]);
    expect(server.requests).toHaveLength(2);
  });

  it('caps each wait and gives up at the deadline with ModelWaitTimeoutError', async () => {
    // Prepare
    wakingModel(100, '60');
    const timers = fakeTimers();

    // Act
    const error = await client({ timers })
      .emd('gemma-3-4b', REQUEST, { waitForModel: { timeoutMs: 25_000, maxDelayMs: 10_000 } })
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(ModelWaitTimeoutError);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ model: 'gemma-3-4b', timeoutMs: 25_000, attempts: 4 });
    expect((error as ModelWaitTimeoutError).lastError).toMatchObject({ status: 503, retryAfter: 60 });
    // The last try is made at the deadline, not given up before it.
    expect(timers.sleeps).toEqual([10_000, 10_000, 5_000]);
  });
});

describe('uploadFrame', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'synthforge-upload-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('asks for a presigned PUT, sends the bytes there without the key, and answers the s3:// URI', async () => {
    // Prepare
    const path = join(dir, 'street.png');
    await writeFile(path, PNG);
    server.handle((request, response) => {
      if (request.url === '/api/uploads') {
        const { filename } = JSON.parse(request.body.toString()) as { filename: string };
        return sendJson(response, 200, {
          method: 'PUT',
          url: `${server.url}/bucket/tenant/uploads/${filename}?X-Amz-Signature=abc`,
          headers: { 'content-type': 'image/png' },
          s3_uri: `s3://bucket/tenant/uploads/${filename}`,
          expires_at: '2026-11-22T11:00:00.000Z',
        });
      }
      response.writeHead(200).end();
    });

    // Act
    const fromPath = await client().uploadFrame(path);
    const fromBytes = await client().uploadFrame(PNG);

    // Assess
    expect([fromPath, fromBytes]).toEqual([
      's3://bucket/tenant/uploads/street.png',
      's3://bucket/tenant/uploads/frame.png',
    ]);
    const [ask, put] = server.requests;
    expect(JSON.parse(ask?.body.toString() ?? '')).toEqual({
      filename: 'street.png',
      content_type: 'image/png',
    });
    expect(put?.method).toBe('PUT');
    expect(put?.url).toBe('/bucket/tenant/uploads/street.png?X-Amz-Signature=abc');
    expect(put?.headers['content-type']).toBe('image/png');
    expect(put?.headers['x-api-key']).toBeUndefined();
    expect([...(put?.body ?? [])]).toEqual([...PNG]);
  });

  it('refuses bytes of no known type unless told their type', async () => {
    // Act
    const error = await client()
      .uploadFrame(Uint8Array.from([1, 2, 3]))
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toContain('is not a PNG, JPEG, GIF, WebP or MP4 file');
    expect(server.requests).toHaveLength(0);
  });
});
