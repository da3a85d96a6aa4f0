/**
 * The WebSocket API's routes, as API Gateway invokes them (Lambda proxy integration): `$connect`
 * and `$disconnect` (connections.ts), `generate` and `$default` (messages.ts). The tenant is the
 * one the authorizer put in the context at `$connect`; API Gateway passes that context with every
 * later message of the connection.
 */
import type { SocketCaller } from '../../domain/websocket/service.ts';

/** The parts of API Gateway's WebSocket proxy event the routes read. */
export interface WebSocketRouteEvent {
  requestContext: {
    routeKey: string;
    connectionId: string;
    authorizer?: { tenant?: string; keyId?: string; principalId?: string } | null;
  };
  body?: string | null;
  isBase64Encoded?: boolean;
}

/** What a route answers: API Gateway only looks at the status (no route here returns a response). */
export const OK = { statusCode: 200 } as const;

/** The connection and tenant a route event is about. Throws when the authorizer's context is missing. */
export function callerOf(event: WebSocketRouteEvent): SocketCaller & { keyId?: string } {
  const { connectionId, authorizer } = event.requestContext;
  const tenant = authorizer?.tenant;
  if (!tenant)
    throw new Error(`route ${event.requestContext.routeKey} has no tenant in its authorizer context`);
  return { tenant, connectionId, ...(authorizer?.keyId ? { keyId: authorizer.keyId } : {}) };
}

/** The text of a message (API Gateway base64-encodes binary frames). */
export function bodyOf(event: WebSocketRouteEvent): string {
  const body = event.body ?? '';
  return event.isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
}
