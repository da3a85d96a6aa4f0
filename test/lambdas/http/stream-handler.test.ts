/**
 * The streaming route handler: everything that fails before the stream starts is an ordinary answer
 * with its status in the family's format (seed 003's `{time, request, error}`), and once the stream
 * has started each event is written as it comes, an unplanned failure ending it with an error event.
 */
import { PassThrough, Writable } from 'node:stream';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { routes } from '../../../contracts/routes.ts';
import { DomainError } from '../../../lambdas/domain/errors.ts';
import {
  bindStream,
  createStreamingApiHandler,
  formatEvent,
  type ResponseSink,
  type ServerSentEvent,
  writeChunk,
} from '../../../lambdas/http/stream-handler.ts';
import { loadEvent } from '../../support/fixtures.ts';

const streamEvent = (body: unknown, tenant: string | null = 'tenant-a'): APIGatewayProxyEvent => {
  const base = loadEvent<APIGatewayProxyEvent>('apigateway/rest-proxy-post.json');
  return {
    ...base,
    resource: '/api/stream/{model_name}',
    path: '/api/stream/qwen2-vl-7b',
    httpMethod: 'POST',
    pathParameters: { model_name: 'qwen2-vl-7b' },
    body: JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: {
      ...base.requestContext,
      authorizer: tenant === null ? null : { tenant },
    },
  } as APIGatewayProxyEvent;
};

/** A sink that records what is written, and when each write happened relative to the events. */
function recordingSink(signal = new AbortController().signal) {
  const writes: string[] = [];
  let head: { status: number; headers: Record<string, string> } | undefined;
  let ended = false;
  const sink: ResponseSink = {
    head(status, headers) {
      head = { status, headers };
    },
    async write(chunk) {
      writes.push(chunk);
    },
    end() {
      ended = true;
    },
    signal,
  };
  return {
    sink,
    writes,
    get head() {
      return head;
    },
    get ended() {
      return ended;
    },
  };
}

async function* eventsOf(...events: ServerSentEvent[]) {
  for (const event of events) yield event;
}

const failureEvent = (requestId: string): ServerSentEvent => ({
  event: 'error',
  data: { type: 'error', error: `internal error (${requestId})`, code: 'internal', status: 500 },
});

describe('createStreamingApiHandler', () => {
  it('writes the SSE head, then each event, then ends', async () => {
    // Prepare
    const seen: unknown[] = [];
    const handler = createStreamingApiHandler([
      bindStream(routes.streamInference, async (request) => {
        seen.push(request.params, request.body, request.tenant);
        return {
          events: eventsOf(
            { event: 'delta', data: { type: 'delta', text: 'Hel' } },
            { event: 'delta', data: { type: 'delta', text: 'lo' } },
          ),
          failureEvent,
        };
      }),
    ]);
    const recorder = recordingSink();

    // Act
    await handler(streamEvent({ text: 'Describe this image' }), recorder.sink);

    // Assess
    expect(recorder.head?.status).toBe(200);
    expect(recorder.head?.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(recorder.writes).toEqual([
      'event: delta\ndata: {"type":"delta","text":"Hel"}\n\n',
      'event: delta\ndata: {"type":"delta","text":"lo"}\n\n',
    ]);
    expect(recorder.ended).toBe(true);
    expect(seen).toEqual([
      { model_name: 'qwen2-vl-7b' },
      { text: 'Describe this image', frames: [], mediaType: 'image', max_tokens: 1024, temperature: 0.1 },
      'tenant-a',
    ]);
  });

  it('answers a failure before the stream in seed 003’s wrapper, with its status and Retry-After', async () => {
    // Prepare
    const handler = createStreamingApiHandler(
      [
        bindStream(routes.streamInference, async () => {
          throw new DomainError(
            'UNAVAILABLE',
            'model qwen2-vl-7b is scaled to zero and waking up; retry after 90 s',
            { estimated_ready_at: '2026-12-07T05:00:00.000Z' },
            90,
          );
        }),
      ],
      { now: () => new Date('2026-12-07T04:58:30.000Z') },
    );
    const recorder = recordingSink();

    // Act
    await handler(streamEvent({ text: 'hi', frames: [], max_tokens: 5 }), recorder.sink);

    // Assess
    expect(recorder.head?.status).toBe(503);
    expect(recorder.head?.headers['retry-after']).toBe('90');
    expect(JSON.parse(recorder.writes.join(''))).toEqual({
      time: '2026-12-07T04:58:30.000Z',
      request: { text: 'hi', frames_count: 0, media_type: 'image', max_tokens: 5, temperature: 0.1 },
      error: 'model qwen2-vl-7b is scaled to zero and waking up; retry after 90 s',
      code: 'unavailable',
      details: { estimated_ready_at: '2026-12-07T05:00:00.000Z' },
      estimated_ready_at: '2026-12-07T05:00:00.000Z',
    });
    expect(recorder.ended).toBe(true);
  });

  it('refuses a body that fails its schema before calling the implementation', async () => {
    // Prepare
    let called = false;
    const handler = createStreamingApiHandler([
      bindStream(routes.streamInference, async () => {
        called = true;
        return { events: eventsOf(), failureEvent };
      }),
    ]);
    const recorder = recordingSink();

    // Act
    await handler(streamEvent({ text: '' }), recorder.sink);

    // Assess
    expect(recorder.head?.status).toBe(400);
    expect(JSON.parse(recorder.writes.join('')).error).toMatch(/text/);
    expect(called).toBe(false);
  });

  it('answers a request for none of its routes 404 in its family’s format, as the API handler does', async () => {
    // Prepare
    const handler = createStreamingApiHandler([
      bindStream(routes.streamInference, async () => ({ events: eventsOf(), failureEvent })),
    ]);
    const recorder = recordingSink();

    // Act
    await handler({ ...streamEvent({ text: 'hi' }), resource: '/api/stream' }, recorder.sink);

    // Assess
    expect(recorder.head?.status).toBe(404);
    expect(JSON.parse(recorder.writes.join(''))).toMatchObject({ code: 'not_found', request: {} });
  });

  it('answers 401 without a tenant from the authorizer', async () => {
    // Prepare
    const handler = createStreamingApiHandler([
      bindStream(routes.streamInference, async () => ({ events: eventsOf(), failureEvent })),
    ]);
    const recorder = recordingSink();

    // Act
    await handler(streamEvent({ text: 'hi' }, null), recorder.sink);

    // Assess
    expect(recorder.head?.status).toBe(401);
  });

  it('writes nothing to a client that left while the stream was opening (a model waking)', async () => {
    // Prepare
    const client = new AbortController();
    const handler = createStreamingApiHandler([
      bindStream(routes.streamInference, async () => {
        client.abort();
        throw new DomainError('UNAVAILABLE', 'model qwen2-vl-7b is waking up', {}, 30);
      }),
    ]);
    const recorder = recordingSink(client.signal);

    // Act
    await handler(streamEvent({ text: 'hi' }), recorder.sink);

    // Assess
    expect(recorder.head).toBeUndefined();
    expect(recorder.writes).toEqual([]);
  });

  it('ends a stream whose events fail unexpectedly with the failure event', async () => {
    // Prepare
    async function* failing() {
      yield { event: 'delta', data: { type: 'delta', text: 'a' } };
      throw new Error('socket reset');
    }
    const handler = createStreamingApiHandler([
      bindStream(routes.streamInference, async () => ({ events: failing(), failureEvent })),
    ]);
    const recorder = recordingSink();

    // Act
    await handler(streamEvent({ text: 'hi' }), recorder.sink);

    // Assess
    expect(recorder.head?.status).toBe(200);
    expect(recorder.writes).toHaveLength(2);
    expect(recorder.writes[1]).toMatch(/^event: error\ndata: .*"status":500/);
    expect(recorder.ended).toBe(true);
  });
});

describe('writeChunk', () => {
  /** Whether the promise settles within a few event-loop turns. */
  const settlesSoon = (promise: Promise<void>) =>
    Promise.race([
      promise.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(resolve, 50, false)),
    ]);

  it('resolves at once on a target the client has left, which never drains nor closes again', async () => {
    // Prepare
    const target = new PassThrough({ highWaterMark: 1 });
    target.destroy();
    await new Promise((resolve) => target.once('close', resolve));

    // Act
    const settled = await settlesSoon(writeChunk(target, 'event: error\n\n'));

    // Assess
    expect(settled).toBe(true);
  });

  it('waits for each write of a slow reader to drain, leaving no listener behind', async () => {
    // Prepare: a reader that takes each chunk only when the test says so.
    const taken: (() => void)[] = [];
    const target = new Writable({
      highWaterMark: 1,
      write: (_chunk, _encoding, callback) => taken.push(callback),
    });
    const listeners = () => target.listenerCount('drain') + target.listenerCount('close');
    const before = listeners();
    const settledWhileFull: boolean[] = [];
    const after: number[] = [];

    // Act: more writes than an emitter's default listener limit (10).
    for (let i = 0; i < 12; i++) {
      const writing = writeChunk(target, 'chunk');
      settledWhileFull.push(await settlesSoon(writing));
      taken.shift()?.();
      await writing;
      after.push(listeners());
    }

    // Assess
    expect(settledWhileFull.every((settled) => !settled)).toBe(true);
    expect(after.every((count) => count === before)).toBe(true);
  });

  it('ends the wait of a full target when the client leaves', async () => {
    // Prepare
    const target = new PassThrough({ highWaterMark: 1 });
    const waiting = writeChunk(target, 'chunk');

    // Act
    target.destroy();

    // Assess
    expect(await settlesSoon(waiting)).toBe(true);
  });
});

describe('formatEvent', () => {
  it('writes one data line whatever the text holds, newlines included', () => {
    // Act
    const text = formatEvent({ event: 'delta', data: { type: 'delta', text: 'a\nb\r\n\nc' } });

    // Assess
    expect(text.split('\n\n')).toEqual(['event: delta\ndata: {"type":"delta","text":"a\\nb\\r\\n\\nc"}', '']);
  });
});
