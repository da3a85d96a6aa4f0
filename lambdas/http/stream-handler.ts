/**
 * A route family whose answers stream (Server-Sent Events): the request is parsed, authorized and
 * checked exactly as api-handler.ts does it, and anything that fails before the stream starts is
 * answered with its status in the family's error format. Once the implementation has handed back its
 * events, the head (200, `text/event-stream`) goes out and each event is written as it comes; a
 * failure after that can only be an event, so the implementation ends its own stream with an `error`
 * event, and anything it lets escape becomes one here.
 *
 * Where the bytes go is a `ResponseSink`: Lambda's response stream in AWS (lambda-entry's
 * `streamEntry`), the HTTP response on the local platform (lambdas/local/apigateway/server.ts).
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { logger } from '../shared/logger.ts';
import {
  failureResponse,
  type RouteBinding,
  type RouteRequest,
  requestOf,
  routeTable,
} from './api-handler.ts';

/** One Server-Sent Event: its name and its JSON data. */
export interface ServerSentEvent {
  event: string;
  data: unknown;
}

/** What a streaming route answers once it knows the stream can start. */
export interface EventStream {
  events: AsyncIterable<ServerSentEvent>;
  /** The event that ends the stream when the implementation fails in an unplanned way. */
  failureEvent: (requestId: string) => ServerSentEvent;
}

export interface StreamRouteBinding {
  route: RouteBinding['route'];
  /** Throws (a DomainError) to answer with a status; resolves once the first event can be sent. */
  // biome-ignore lint/suspicious/noExplicitAny: each binding is typed where it is made, by `bindStream`.
  impl: (request: RouteRequest<any>, signal: AbortSignal) => Promise<EventStream>;
}

/** Pairs a streaming route with its implementation, typed by the route's schemas. */
export function bindStream<R extends RouteBinding['route']>(
  route: R,
  impl: (request: RouteRequest<R>, signal: AbortSignal) => Promise<EventStream>,
): StreamRouteBinding {
  return { route, impl };
}

/** Where a streamed answer is written. */
export interface ResponseSink {
  /** Sends the status and headers; called once, before any write. */
  head(status: number, headers: Record<string, string>): void;
  /** Resolves when the chunk may be followed by another (backpressure). */
  write(chunk: string): Promise<void>;
  end(): void;
  /** Aborts when the client has gone: the model call stops too. */
  readonly signal: AbortSignal;
}

export type StreamingApiHandler = (event: APIGatewayProxyEvent, sink: ResponseSink) => Promise<void>;

/** What a sink writes to: Lambda's response stream, or the local platform's HTTP response. */
export interface ChunkTarget {
  write(chunk: string): boolean;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
}

/**
 * Writes a chunk and resolves when another may follow (backpressure), for every sink. A target the
 * client has left (destroyed) or that has ended takes nothing and resolves at once: it fires neither
 * `drain` nor `close` again, so a wait on them would never end. Both listeners go once either fires,
 * so a slow reader does not pile them up.
 */
export function writeChunk(target: ChunkTarget, chunk: string): Promise<void> {
  if (target.destroyed || target.writableEnded || target.write(chunk)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      target.off('drain', done);
      target.off('close', done);
      resolve();
    };
    target.once('drain', done);
    target.once('close', done);
    // The write itself may have found it gone.
    if (target.destroyed) done();
  });
}

/** `event: name` and `data: json`, ended by a blank line; JSON holds no raw newline, so one data line. */
export const formatEvent = ({ event, data }: ServerSentEvent): string =>
  `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

export function createStreamingApiHandler(
  bindings: StreamRouteBinding[],
  options: { now?: () => Date } = {},
): StreamingApiHandler {
  const now = options.now ?? (() => new Date());
  const table = routeTable(bindings);

  return async (event, sink) => {
    const requestId = event.requestContext?.requestId ?? 'local';
    const found = table.find(event);
    if (!found) return answer(sink, table.unrouted(event, requestId));
    let stream: EventStream;
    try {
      stream = await found.impl(requestOf(found, event, requestId), sink.signal);
    } catch (error) {
      return answer(sink, failureResponse(error, found, event, requestId, now()));
    }
    sink.head(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-request-id': requestId,
      // Proxies that buffer by default (nginx) pass each event on at once.
      'x-accel-buffering': 'no',
    });
    try {
      for await (const next of stream.events) {
        if (sink.signal.aborted) break;
        await sink.write(formatEvent(next));
      }
    } catch (error) {
      logger.error('stream failed', {
        error: error as Error,
        operation: found.route.operationId,
        requestId,
      });
      if (!sink.signal.aborted) await sink.write(formatEvent(stream.failureEvent(requestId)));
    } finally {
      sink.end();
    }
  };
}

/** A whole non-streamed answer (an error before the stream started) written to the sink. */
async function answer(sink: ResponseSink, result: APIGatewayProxyResult): Promise<void> {
  // A client that left while the stream was opening (a model waking) takes no answer.
  if (sink.signal.aborted) return;
  sink.head(result.statusCode, (result.headers ?? {}) as Record<string, string>);
  await sink.write(result.body);
  sink.end();
}
