/**
 * `generate` (route selection `$request.body.type`) and `$default` (every other message, `ping`
 * and `subscribe` included): both parse the message with the contract and answer on the
 * connection.
 */
import { receiveMessage } from '../../domain/websocket/client-messages.ts';
import type { GenerationSocket } from '../../domain/websocket/service.ts';
import { socketEntry } from '../../shared/websocket-entry.ts';
import { bodyOf, callerOf, OK, type WebSocketRouteEvent } from './routes.ts';

export async function messagesRoute(socket: GenerationSocket, event: WebSocketRouteEvent) {
  await receiveMessage(socket, callerOf(event), bodyOf(event));
  return OK;
}

export const handler = socketEntry(messagesRoute);
