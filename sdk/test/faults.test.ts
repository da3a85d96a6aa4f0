/**
 * The client's retry rules over real HTTP, with a fault-injecting proxy in front of the local
 * platform: what is retried and how often, `Retry-After`, the typed error after the budget, and that
 * a submission retried through lost answers starts exactly one batch.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { routes } from '../../contracts/routes.ts';
import { usePlatform } from '../../test/support/platform.ts';
import { ApiClient, type ApiClientOptions } from '../src/api-client.ts';
import { Batch } from '../src/batch.ts';
import { NetworkError, SynthForgeError, TimeoutError } from '../src/errors.ts';
import { FaultProxy } from './support/fault-proxy.ts';
import { jobControls } from './support/job-controls.ts';

const controls = jobControls();
const fixture = usePlatform({ wrapTask: controls.wrapTask });
let proxy: FaultProxy;

/** A deployed stage's base URL has a path; the proxy serves under one so that the client must keep it. */
const STAGE = '/dev';
const FAST_RETRIES = { maxAttempts: 5, baseDelayMs: 5, maxDelayMs: 2_000 };
const SMALL_JOB = { image_width: 64, image_height: 64, frames: 1 };

beforeAll(async () => {
  proxy = await FaultProxy.start(fixture.platform.url, { prefix: STAGE });
});
afterAll(async () => {
  await proxy.close();
  // The platform stops after this file: batches still writing to the store then would fail loudly.
  const direct = new ApiClient({ baseUrl: fixture.platform.url, apiKey: fixture.platform.devKey });
  await Promise.all(
    (await batchIds()).map((id) =>
      new Batch(direct, id).awaitCompletion({ pollIntervalMs: 25, timeoutMs: 30_000 }),
    ),
  );
});
afterEach(() => {
  proxy.reset();
  controls.release();
});

function clientThroughProxy(options: Partial<ApiClientOptions> = {}): ApiClient {
  return new ApiClient({
    baseUrl: proxy.url,
    apiKey: fixture.platform.devKey,
    retries: FAST_RETRIES,
    ...options,
  });
}

/** Batches in the store, read straight from the platform (not through the proxy). */
async function batchIds(): Promise<string[]> {
  const direct = new ApiClient({ baseUrl: fixture.platform.url, apiKey: fixture.platform.devKey });
  const page = await direct.listJobs({ kind: 'batch', limit: 100 });
  return page.jobs.map((job) => job.id);
}

const GENERATORS = { method: 'GET', path: /^\/api\/v1\/generators$/ };
const SUBMIT = { method: 'POST', path: /^\/api\/v1\/batches$/ };
const VALIDATE = { method: 'POST', path: /^\/api\/v1\/generators\/shapes\/validate$/ };

describe('retries', () => {
  it('retries a GET through 429 (Retry-After: 0), 503 and a dropped connection, then succeeds', async () => {
    // Prepare
    const client = clientThroughProxy();
    proxy.inject(
      GENERATORS,
      { kind: 'answer', status: 429, retryAfter: '0' },
      { kind: 'answer', status: 503 },
      { kind: 'drop' },
    );

    // Act
    const list = await client.listGenerators();

    // Assess
    expect(list.generators.map((generator) => generator.name)).toContain('shapes');
    expect(proxy.count(GENERATORS)).toBe(4);
  });

  it('waits out Retry-After: 1 before the next attempt', async () => {
    // Prepare: timers that record each pause instead of spending it, so the test neither takes a
    // second nor depends on how loaded the machine is.
    const pauses: number[] = [];
    const client = clientThroughProxy({
      timers: { now: () => Date.now(), sleep: async (ms) => void pauses.push(ms) },
    });
    proxy.inject(GENERATORS, { kind: 'answer', status: 429, retryAfter: '1' });

    // Act
    await client.listGenerators();

    // Assess: one pause, of the server's second rather than the (much shorter) backoff.
    expect(proxy.count(GENERATORS)).toBe(2);
    expect(pauses).toEqual([1_000]);
  });

  it('gives up at once when Retry-After asks for more than the longest backoff', async () => {
    // Prepare
    const client = clientThroughProxy({ retries: { ...FAST_RETRIES, maxDelayMs: 500 } });
    proxy.inject(GENERATORS, { kind: 'answer', status: 429, retryAfter: '1' });

    // Act
    const error = await client.listGenerators().catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(SynthForgeError);
    expect(error).toMatchObject({ status: 429, code: 'RATE_LIMITED', retryAfterMs: 1000, attempts: 1 });
    expect(proxy.count(GENERATORS)).toBe(1);
  });

  it('throws the last answer as a typed error once the attempts are spent', async () => {
    // Prepare
    const client = clientThroughProxy({ retries: { ...FAST_RETRIES, maxAttempts: 3 } });
    proxy.inject(GENERATORS, ...Array.from({ length: 5 }, () => ({ kind: 'answer', status: 503 }) as const));

    // Act
    const error = await client.listGenerators().catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(SynthForgeError);
    expect(error).toMatchObject({ status: 503, code: 'UNAVAILABLE', retryable: true, attempts: 3 });
    expect(proxy.count(GENERATORS)).toBe(3);
  });

  it('throws a NetworkError once every attempt lost its connection', async () => {
    // Prepare
    const client = clientThroughProxy({ retries: { ...FAST_RETRIES, maxAttempts: 2 } });
    proxy.inject(GENERATORS, { kind: 'drop' }, { kind: 'drop' }, { kind: 'drop' });

    // Act
    const error = await client.listGenerators().catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(NetworkError);
    expect(error).toMatchObject({ attempts: 2 });
    expect(proxy.count(GENERATORS)).toBe(2);
  });

  it('throws a TimeoutError when no attempt is answered in time', async () => {
    // Prepare
    const client = clientThroughProxy({ timeoutMs: 150, retries: { ...FAST_RETRIES, maxAttempts: 2 } });
    proxy.inject(GENERATORS, { kind: 'stall' }, { kind: 'stall' });

    // Act
    const error = await client.listGenerators().catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ timeoutMs: 150, attempts: 2 });
    expect(proxy.count(GENERATORS)).toBe(2);
  });

  it('does not retry an answer that breaks the contract, and says so', async () => {
    // Prepare
    const client = clientThroughProxy();
    proxy.inject(GENERATORS, { kind: 'answer', status: 200, body: '{"generators": "none"}' });

    // Act
    const error = await client.listGenerators().catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(SynthForgeError);
    expect(error).toMatchObject({ status: 200, code: 'INVALID_RESPONSE', attempts: 1 });
    expect(proxy.count(GENERATORS)).toBe(1);
  });

  it('reads an error answer without the envelope as HTTP_ERROR', async () => {
    // Prepare: a load balancer's own page, retried like any 502, until the budget is spent.
    const client = clientThroughProxy({ retries: { ...FAST_RETRIES, maxAttempts: 2 } });
    const page = {
      kind: 'answer',
      status: 502,
      body: '<html>Bad Gateway</html>',
      contentType: 'text/html',
    } as const;
    proxy.inject(GENERATORS, page, page);

    // Act
    const error = await client.listGenerators().catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ status: 502, code: 'HTTP_ERROR', retryable: true, attempts: 2 });
    expect((error as Error).message).toContain('Bad Gateway');
  });
});

describe('submissions', () => {
  it('creates exactly one batch when the submission is retried through 429, 503 and lost answers', async () => {
    // Prepare: the third and fourth attempts reach the platform, which starts the batch, and their
    // answers are lost on the way back.
    const client = clientThroughProxy();
    const before = await batchIds();
    proxy.inject(
      SUBMIT,
      { kind: 'answer', status: 429, retryAfter: '0' },
      { kind: 'answer', status: 503 },
      { kind: 'drop-after-forward' },
      { kind: 'drop-after-forward' },
    );

    // Act
    const batch = await client.submitBatch({
      name: 'retried',
      job_runs: [{ name: 'shapes', param_values: SMALL_JOB }],
    });

    // Assess
    const created = (await batchIds()).filter((id) => !before.includes(id));
    expect(created).toEqual([batch.id]);
    expect(proxy.count(SUBMIT)).toBe(5);
    const keys = proxy.requests
      .filter((seen) => seen.method === 'POST')
      .map((seen) => seen.headers['idempotency-key']);
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('retries a submission answered 409 REQUEST_IN_FLIGHT, and not one answered 409 ILLEGAL_STATE', async () => {
    // Prepare
    const client = clientThroughProxy();
    const conflict = (code: string) =>
      ({
        kind: 'answer',
        status: 409,
        retryAfter: '0',
        body: JSON.stringify({ error: { code, message: 'injected by the fault proxy' } }),
      }) as const;
    const body = { job_runs: [{ name: 'shapes', param_values: SMALL_JOB }] };

    // Act
    proxy.inject(SUBMIT, conflict('REQUEST_IN_FLIGHT'));
    const retried = await client.submitBatch(body);
    proxy.inject(SUBMIT, conflict('ILLEGAL_STATE'));
    const refused = await client.submitBatch(body).catch((error: unknown) => error);

    // Assess
    expect(retried.id).toEqual(expect.any(String));
    expect(refused).toMatchObject({ status: 409, code: 'ILLEGAL_STATE', attempts: 1 });
    expect(proxy.count(SUBMIT)).toBe(3);
  });

  it('gives each submission its own Idempotency-Key, so two submissions start two batches', async () => {
    // Prepare
    const client = clientThroughProxy();
    const before = await batchIds();
    const body = { job_runs: [{ name: 'shapes', param_values: SMALL_JOB }] };

    // Act
    const first = await client.submitBatch(body);
    const second = await client.submitBatch(body);

    // Assess
    expect(first.id).not.toBe(second.id);
    expect((await batchIds()).filter((id) => !before.includes(id)).sort()).toEqual(
      [first.id, second.id].sort(),
    );
  });

  it('does not retry a POST without an Idempotency-Key when its connection drops', async () => {
    // Prepare
    const client = clientThroughProxy();
    proxy.inject(VALIDATE, { kind: 'drop' });

    // Act
    const error = await client
      .validateParams('shapes', { job_params: [{}] })
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(NetworkError);
    expect(error).toMatchObject({ attempts: 1 });
    expect(proxy.count(VALIDATE)).toBe(1);
  });

  it('does not retry a POST without an Idempotency-Key on 503 either', async () => {
    // Prepare
    const client = clientThroughProxy();
    proxy.inject(VALIDATE, { kind: 'answer', status: 503 });

    // Act
    const error = await client
      .validateParams('shapes', { job_params: [{}] })
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ status: 503, attempts: 1 });
    expect(proxy.count(VALIDATE)).toBe(1);
  });

  it('retries a POST without an Idempotency-Key on 429, which no handler saw', async () => {
    // Prepare
    const client = clientThroughProxy();
    proxy.inject(VALIDATE, { kind: 'answer', status: 429, retryAfter: '0' });

    // Act
    const answer = await client.validateParams('shapes', { job_params: [{}] });

    // Assess
    expect(answer.valid).toBe(true);
    expect(proxy.count(VALIDATE)).toBe(2);
    expect(proxy.requests[0]?.headers['idempotency-key']).toBeUndefined();
  });

  it('refuses an Idempotency-Key on a route that does not take one', async () => {
    // Prepare
    const client = clientThroughProxy();

    // Act
    const attempt = () =>
      client.call(routes.validateParams, {
        params: { name: 'shapes' },
        body: { job_params: [{}] },
        idempotencyKey: 'not-here',
      });

    // Assess
    await expect(attempt()).rejects.toThrow(TypeError);
    expect(proxy.count(VALIDATE)).toBe(0);
  });

  it('retries a cancel whose answer was lost, and reports the batch cancelled though the retry met a 409', async () => {
    // Prepare
    controls.hold();
    const client = clientThroughProxy();
    const batch = new Batch(
      client,
      (await client.submitBatch({ job_runs: [{ name: 'shapes', param_values: SMALL_JOB }] })).id,
    );
    const CANCEL = { method: 'DELETE', path: new RegExp(`^/api/v1/jobs/${batch.id}$`) };
    proxy.inject(CANCEL, { kind: 'drop-after-forward' });

    // Act
    const cancelled = await batch.cancel();

    // Assess
    expect(cancelled).toMatchObject({ id: batch.id, status: 'cancelled' });
    expect(proxy.count(CANCEL)).toBe(2);
  });
});
