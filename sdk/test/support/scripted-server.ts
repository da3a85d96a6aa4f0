/**
 * A tiny HTTP server on a free port of 127.0.0.1 whose answers a test writes itself, byte by byte
 * when it wants: for what the local platform cannot be made to do on cue (an event split mid-token,
 * a stream held open until the client has shown what it received, a model waking from zero).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { closeServer, listen } from '../../../lambdas/local/support/http.ts';

/** A request as the server received it. */
export interface ReceivedRequest {
  method: string;
  /** Path and query. */
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export type ScriptedHandler = (request: ReceivedRequest, response: ServerResponse) => void | Promise<void>;

export interface ScriptedServer {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** Every request so far, in order. */
  requests: ReceivedRequest[];
  /** Replaces the handler (the next requests get it). */
  handle(handler: ScriptedHandler): void;
  close(): Promise<void>;
}

export async function startScriptedServer(handler?: ScriptedHandler): Promise<ScriptedServer> {
  const requests: ReceivedRequest[] = [];
  let current: ScriptedHandler = handler ?? ((_, response) => void response.writeHead(404).end());
  const server = createServer(async (incoming, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    const request: ReceivedRequest = {
      method: incoming.method ?? 'GET',
      url: incoming.url ?? '/',
      headers: incoming.headers,
      body: Buffer.concat(chunks),
    };
    requests.push(request);
    try {
      await current(request, response);
    } catch (error) {
      if (!response.headersSent) response.writeHead(500).end(String(error));
      else response.destroy();
    }
  });
  const port = await listen(server, 0);
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    handle: (next) => {
      current = next;
    },
    close: () => closeServer(server),
  };
}

/** A JSON answer, with extra headers. */
export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'content-type': 'application/json', 'x-request-id': 'req-test', ...headers });
  response.end(JSON.stringify(body));
}

/** The head of an event stream, as the gateway sends it. */
export function startEventStream(response: ServerResponse): void {
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-request-id': 'req-stream',
  });
  // Node's server buffers the head until the first body write otherwise.
  response.flushHeaders();
}

/** `event: type` + `data: json` + blank line: one event as the gateway writes it. */
export const sseEvent = (event: { type: string } & Record<string, unknown>) =>
  `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
