/**
 * What a client sends on the generation socket, parsed with the contract's schemas and handed to
 * the socket. Apart from service.ts so that the push function, which only sends, carries no schema
 * library.
 */
import { ClientMessage } from '../../../contracts/websocket.ts';
import { DomainError } from '../errors.ts';
import { invalidInput } from '../validation.ts';
import type { GenerationSocket, SocketCaller } from './service.ts';

/** What serving a client message needs of the socket. */
export type MessageReceiver = Pick<GenerationSocket, 'generate' | 'ping' | 'subscribe' | 'refuse'>;

/**
 * Serves one client message: `generate` starts a job, `ping` is answered with `pong`, `subscribe`
 * follows jobs by id; anything else is answered with `error` (INVALID_REQUEST for what is not
 * JSON, INVALID_PARAMETERS naming the parameter, value and constraint as `POST /generate` does) and
 * stores nothing.
 */
export async function receiveMessage(
  socket: MessageReceiver,
  caller: SocketCaller,
  raw: string,
): Promise<void> {
  let input: unknown;
  try {
    input = JSON.parse(raw);
  } catch {
    await socket.refuse(
      caller,
      new DomainError(
        'INVALID_REQUEST',
        'a message must be a JSON object such as {"type": "generate", "prompt": "..."}',
      ),
    );
    return;
  }
  const requestId = echoableRequestId(input);
  const parsed = ClientMessage.safeParse(input);
  if (!parsed.success) {
    await socket.refuse(caller, invalidInput(parsed.error, input, 'message'), requestId);
    return;
  }
  const message = parsed.data;
  switch (message.type) {
    case 'ping':
      await socket.ping(caller, message.request_id);
      return;
    case 'generate': {
      const { type: _type, request_id: id, ...request } = message;
      await socket.generate(caller, request, id);
      return;
    }
    case 'subscribe':
      await socket.subscribe(caller, message.job_ids, message.request_id);
      return;
  }
}

/** The `request_id` of a message that failed validation, when it is one that may be echoed. */
function echoableRequestId(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const id = (input as { request_id?: unknown }).request_id;
  return typeof id === 'string' && id.length > 0 && id.length <= 64 ? id : undefined;
}
