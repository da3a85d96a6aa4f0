/** `$connect` records the connection the authorizer let in; `$disconnect` removes it. */
import type { GenerationSocket } from '../../domain/websocket/service.ts';
import { socketEntry } from '../../shared/websocket-entry.ts';
import { callerOf, OK, type WebSocketRouteEvent } from './routes.ts';

export async function connectionsRoute(socket: GenerationSocket, event: WebSocketRouteEvent) {
  const caller = callerOf(event);
  switch (event.requestContext.routeKey) {
    case '$connect':
      await socket.connect(caller);
      return OK;
    case '$disconnect':
      await socket.disconnect(caller);
      return OK;
    default:
      throw new Error(`the connections function does not serve route ${event.requestContext.routeKey}`);
  }
}

export const handler = socketEntry(connectionsRoute);
