/**
 * Entry points for streaming API routes: Lambda response streaming behind API Gateway's STREAM
 * transfer mode (lib/constructs/api.ts). The handler writes a metadata prelude (status, headers)
 * through `awslambda.HttpResponseStream.from`, then the body as it is produced.
 *
 * `awslambda` is a global of Lambda's Node runtime only: this module must also load on the local
 * platform, in the tests and in the benchmark, where the local API server hands the handler a sink
 * on its own HTTP response instead (lambdas/local/apigateway/server.ts).
 */
import type { Writable } from 'node:stream';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import {
  createStreamingApiHandler,
  type ResponseSink,
  type StreamingApiHandler,
  type StreamRouteBinding,
  writeChunk,
} from '../http/stream-handler.ts';
import { type CoreRuntime, type RuntimeBuilder, runtimeFromEnvOnce } from '../runtime/core.ts';
import { logger } from './logger.ts';

type StreamHandler = (
  event: APIGatewayProxyEvent,
  responseStream: Writable,
  context: Context,
) => Promise<void>;

/** Wraps a writable in the HTTP prelude Lambda's runtime expects (status and headers first). */
export type PreludeWriter = (
  stream: Writable,
  metadata: { statusCode: number; headers: Record<string, string> },
) => Writable;

const lambdaPrelude: PreludeWriter = (stream, metadata) =>
  awslambda.HttpResponseStream.from(stream, metadata);

/** A sink over Lambda's response stream. */
export function lambdaSink(responseStream: Writable, prelude: PreludeWriter = lambdaPrelude): ResponseSink {
  const gone = new AbortController();
  // API Gateway closing the connection (the client left) closes the stream; the model call stops.
  // A stream that closes once its answer is whole aborts nothing.
  responseStream.once('close', () => {
    if (!responseStream.writableFinished) gone.abort();
  });
  responseStream.once('error', () => gone.abort());
  let body: Writable | undefined;
  const opened = () => {
    if (!body) throw new Error('the response head must be written first');
    return body;
  };
  return {
    head(statusCode, headers) {
      body = prelude(responseStream, { statusCode, headers });
    },
    write(chunk) {
      return writeChunk(opened(), chunk);
    },
    end() {
      opened().end();
    },
    signal: gone.signal,
  };
}

/** A streaming API Gateway entry point for a family of streaming routes, over the runtime `build` composes. */
export function streamEntry<R extends CoreRuntime>(
  bindingsFor: (runtime: R) => StreamRouteBinding[],
  build: RuntimeBuilder<R>,
): StreamHandler {
  const runtimeFromEnv = runtimeFromEnvOnce(build);
  let api: StreamingApiHandler | undefined;
  const handle: StreamHandler = async (event, responseStream, context) => {
    logger.addContext(context);
    if (!api) api = createStreamingApiHandler(bindingsFor(await runtimeFromEnv()));
    await api(event, lambdaSink(responseStream));
  };
  // The SDK's invoke store sets a bare `globalThis.awslambda` outside Lambda too: the decorator is
  // what tells Lambda's runtime apart.
  const runtime = (globalThis as { awslambda?: Partial<typeof awslambda> }).awslambda;
  return typeof runtime?.streamifyResponse === 'function'
    ? (runtime.streamifyResponse(handle) as StreamHandler)
    : handle;
}
