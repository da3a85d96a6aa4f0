/**
 * Entry points of the WebSocket API's functions (routes and the push target), and the one place
 * the generation socket is composed from the runtime: the local platform builds it here too, with
 * its own messenger.
 */
import { ApiGatewayConnectionMessenger } from '../adapters/apigateway/connection-messenger.ts';
import { DynamoConnectionStore } from '../adapters/dynamo/connection-store.ts';
import { linkedImage } from '../domain/images/service.ts';
import type { ConnectionMessenger } from '../domain/ports.ts';
import { refusalOf } from '../domain/rate-limits.ts';
import { GenerationSocket } from '../domain/websocket/service.ts';
import { type ImagesRuntime, withImages } from '../families/images/runtime.ts';
import { type CoreRuntime, runtimeFromEnvOnce } from '../runtime/core.ts';
import { withPowertools } from './lambda-entry.ts';
import { logger } from './logger.ts';

/** The generation socket over `runtime`'s state table, image service and bucket. */
export function generationSocketFor(
  runtime: CoreRuntime & ImagesRuntime,
  messenger: ConnectionMessenger,
): GenerationSocket {
  const tableName = runtime.config.stateTable;
  if (!tableName) throw new Error('environment variable STATE_TABLE is not set for this function');
  return new GenerationSocket({
    connections: new DynamoConnectionStore(runtime.clients.dynamo, { tableName }),
    messenger,
    jobs: runtime.store,
    // Built on first use: only the function that serves `generate` has the image workflow's settings.
    // A `generate` message counts against seed 001's generation limit, as POST /generate does.
    generate: async (tenant, request) => {
      const refusal = refusalOf(await runtime.rateLimiter.take(tenant, 'generation'));
      if (refusal) throw refusal;
      return runtime.images.generate(tenant, request);
    },
    image: (job) =>
      linkedImage(job, {
        blobs: runtime.blobs,
        ttlSeconds: runtime.config.resultUrlTtlSeconds,
        requirePrivacyValidation: runtime.imagesConfig.requirePrivacyValidation === true,
      }),
    clock: runtime.clock,
    report: (message, details) => logger.error(message, details),
  });
}

/** API Gateway's `PostToConnection` on this stage (`WEBSOCKET_CALLBACK_URL`), built on first send. */
function messengerFromEnv(region: string): ConnectionMessenger {
  let messenger: ApiGatewayConnectionMessenger | undefined;
  return {
    send: (connectionId, data) => {
      const callbackUrl = process.env.WEBSOCKET_CALLBACK_URL;
      if (!callbackUrl) {
        throw new Error('environment variable WEBSOCKET_CALLBACK_URL is not set for this function');
      }
      messenger ??= new ApiGatewayConnectionMessenger({ region, callbackUrl });
      return messenger.send(connectionId, data);
    },
  };
}

/** A Lambda entry point that serves WebSocket routes or pushes with the generation socket. */
export function socketEntry<E, R>(handle: (socket: GenerationSocket, event: E) => Promise<R>) {
  let socket: GenerationSocket | undefined;
  const runtimeFromEnv = runtimeFromEnvOnce(withImages);
  return withPowertools(async (event: E) => {
    if (!socket) {
      const runtime = await runtimeFromEnv();
      socket = generationSocketFor(runtime, messengerFromEnv(runtime.config.region));
    }
    return handle(socket, event);
  }, false);
}
