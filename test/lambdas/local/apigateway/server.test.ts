/**
 * The local API server's streamed answers apart from the platform: a client that leaves before the
 * head settles the handler (nothing waits on a response that is gone), and a stop cuts the streams
 * still open, so that the server closes at once instead of waiting for them to end.
 */
import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { routes } from '../../../../contracts/routes.ts';
import { DomainError } from '../../../../lambdas/domain/errors.ts';
import { createApiKey } from '../../../../lambdas/domain/keys.ts';
import type { ApiKeyRecord, KeyStore } from '../../../../lambdas/domain/ports.ts';
import {
  bindStream,
  createStreamingApiHandler,
  type EventStream,
  type StreamingApiHandler,
} from '../../../../lambdas/http/stream-handler.ts';
import { RateLimiter } from '../../../../lambdas/local/apigateway/rate-limiter.ts';
import { createLocalApiServer } from '../../../../lambdas/local/apigateway/server.ts';
import { closeServer, listen } from '../../../../lambdas/local/support/http.ts';

/** Keys in memory: the authorizer only reads them. */
class MemoryKeyStore implements KeyStore {
  readonly #records = new Map<string, ApiKeyRecord>();
  async findByHash(hash: string) {
    return this.#records.get(hash);
  }
  async create(record: ApiKeyRecord) {
    this.#records.set(record.hash, record);
  }
  async list() {
    return [...this.#records.values()];
  }
  async revoke() {
    return undefined;
  }
}

/** Resolves once the signal aborts. */
const abortOf = (signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });

/** A promise with its resolve, to wait for what a handler does. */
function later<T = void>() {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** Fails with `what` unless the promise settles within `ms`. */
const within = <T>(promise: Promise<T>, ms: number, what: string) =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)),
  ]);

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  if (server) await closeServer(server);
  server = undefined;
});

/** The API server with only the streaming route family, served by `impl`; `settled` once it returns. */
async function serve(
  impl: (signal: AbortSignal) => Promise<EventStream>,
  stopping?: AbortSignal,
): Promise<{ url: string; key: string; settled: Promise<void> }> {
  const keys = new MemoryKeyStore();
  const { key } = await createApiKey(keys, { tenant: 'acme', now: new Date() });
  const streaming = createStreamingApiHandler([
    bindStream(routes.streamInference, (_request, signal) => impl(signal)),
  ]);
  const settled = later();
  const handler: StreamingApiHandler = (event, sink) => streaming(event, sink).finally(settled.resolve);
  server = createLocalApiServer({
    handlers: {},
    streamHandlers: { inferenceStream: handler },
    keys,
    rateLimiter: new RateLimiter(1_000, 1_000),
    ...(stopping ? { stopping } : {}),
  });
  const port = await listen(server, 0);
  return { url: `http://127.0.0.1:${port}/api/stream/qwen2-vl-7b`, key, settled: settled.promise };
}

const post = (url: string, key: string, signal?: AbortSignal) =>
  fetch(url, {
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'application/json' },
    body: JSON.stringify({ text: 'hi' }),
    ...(signal ? { signal } : {}),
  });

const failureEvent = () => ({ event: 'error', data: { type: 'error' } });

describe('the local API server’s streams', () => {
  it('settles the handler of a client that leaves before the head (a model still waking)', async () => {
    // Prepare: the model fails only once the client has gone, as a wake that outlasts it does.
    const opening = later();
    const served = await serve(async (signal) => {
      opening.resolve();
      await abortOf(signal);
      throw new DomainError('UNAVAILABLE', 'model qwen2-vl-7b is waking up', {}, 30);
    });
    const client = new AbortController();
    const answer = post(served.url, served.key, client.signal).catch(() => undefined);
    await opening.promise;

    // Act
    client.abort();

    // Assess
    await within(served.settled, 2_000, 'the handler did not settle');
    await answer;
  });

  it('cuts the streams still open when it is stopping, so that the server closes at once', async () => {
    // Prepare: a stream that sends one event, then nothing until its client leaves.
    const stopping = new AbortController();
    const cut = later<boolean>();
    const served = await serve(async (signal) => {
      async function* events() {
        yield { event: 'start', data: { type: 'start' } };
        await abortOf(signal);
        cut.resolve(true);
      }
      return { events: events(), failureEvent };
    }, stopping.signal);
    const response = await post(served.url, served.key);
    const reader = response.body?.getReader();
    const first = await reader?.read();
    const open = server as Server;

    // Act
    stopping.abort();
    const closed = new Promise<void>((resolve) => open.close(() => resolve()));

    // Assess
    expect(response.status).toBe(200);
    expect(new TextDecoder().decode(first?.value)).toContain('event: start');
    await within(closed, 2_000, 'the server did not close');
    expect(await within(cut.promise, 2_000, 'the stream was not cut')).toBe(true);
    await within(served.settled, 2_000, 'the handler did not settle');
    await expect(reader?.read()).rejects.toThrow();
  });
});
