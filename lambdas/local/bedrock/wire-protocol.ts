/**
 * Bedrock Runtime's wire protocol for `Converse` and `ConverseStream`, as the AWS SDK v3 client
 * serializes and deserializes it: one HTTP/2 server on 127.0.0.1, its routing, and the answers and
 * errors shaped the way Bedrock sends them. The request bodies are converse-request.ts's, the error
 * types errors.ts's; what answers is the runtime's (runtime.ts). This file only speaks the protocol.
 *
 * - Cleartext HTTP/2 (h2c): `BedrockRuntimeClient`'s default request handler is `NodeHttp2Handler`
 *   (the service has bidirectional operations), which cannot talk to an HTTP/1.1 server. With an
 *   `http://` endpoint it opens h2c with prior knowledge, which `node:http2`'s `createServer` serves.
 * - `POST /model/{modelId}/converse` and `/converse-stream` (restJson1), the model id URL-encoded
 *   (`:` and `/` of profile ids and ARNs included). Image and video bytes are base64 in the JSON.
 * - Errors before an answer: the status, `x-amzn-errortype: <Name>` and `{"message": ...}`.
 * - ConverseStream answers 200 `application/vnd.amazon.eventstream` as soon as the request is
 *   accepted: `messageStart`, `contentBlockDelta` per token as it is produced, `contentBlockStop`,
 *   `messageStop`, `metadata`. What fails in the model after that, even before its first token, is an
 *   exception message in the stream (`throttlingException`, `modelStreamErrorException`...), which the
 *   SDK throws from the client's iterator; only the request's own checks answer with an HTTP error.
 *
 * Not emulated: SigV4 checks, S3 media locations, documents, tools, guardrails, prompt caching.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import {
  createServer,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from 'node:http2';
import { EVENT_STREAM_CONTENT_TYPE, encodeJsonEvent } from '../support/event-stream.ts';
import { type EmulatedConverseRequest, parseConverseRequest } from './converse-request.ts';
import { asBedrockError, BedrockError, streamException } from './errors.ts';

/** The local server of the emulated Bedrock Runtime listens here. */
export const HOST = '127.0.0.1';

/** Why the model stopped, as Converse names it. */
export type StopReason =
  | 'end_turn'
  | 'tool_use'
  | 'max_tokens'
  | 'stop_sequence'
  | 'guardrail_intervened'
  | 'content_filtered';

/** What follows the last token: the answer's `stopReason`, `usage` and model fields. */
export interface AnswerEnd {
  stopReason: StopReason;
  usage: { inputTokens: number; outputTokens: number; totalTokens: number };
  additionalModelResponseFields: Record<string, unknown>;
}

/**
 * The answer's text tokens, each as the model produced it, then its end. Throws when the model fails
 * part-way: a BedrockError says how to answer, anything else is the model's error.
 */
export type ModelAnswer = AsyncGenerator<string, AnswerEnd, undefined>;

/** What the server answers with. */
export interface BedrockOperations {
  /**
   * Accepts a validated request and starts its answer; throws a BedrockError to answer with it
   * instead (an unknown model, a throttle). `signal` aborts when the caller goes away.
   */
  start(request: EmulatedConverseRequest, stream: boolean, signal: AbortSignal): ModelAnswer;
}

type Log = (message: string, details?: Record<string, unknown>) => void;

/** The emulator's HTTP/2 server: routes each request to its operation and writes the answer or the error. */
export function createBedrockServer(operations: BedrockOperations, log: Log): Http2Server {
  return createServer((request, response) => {
    route(operations, request, response, log).catch((error: unknown) => {
      log('request failed', { error: String(error) });
      if (!response.headersSent) {
        sendError(response, new BedrockError('InternalServerException', 'internal error'));
      } else response.stream.close();
    });
  });
}

async function route(
  operations: BedrockOperations,
  request: Http2ServerRequest,
  response: Http2ServerResponse,
  log: Log,
): Promise<void> {
  const startedAt = performance.now();
  const body = await readBody(request);
  const path = request.url.split('?')[0] ?? '/';
  const operation = /^\/model\/([^/]+)\/(converse|converse-stream)$/.exec(path);
  // The model is stopped when its caller goes away; after a complete answer this is a no-op.
  const abandoned = new AbortController();
  response.once('close', () => abandoned.abort());
  let answer: ModelAnswer;
  try {
    if (request.method !== 'POST' || !operation) {
      throw new BedrockError(
        'UnknownOperationException',
        `${request.method} ${path} is not emulated here`,
        404,
      );
    }
    const parsed = parseConverseRequest(decodeModelId(operation[1] ?? ''), body);
    answer = operations.start(parsed, operation[2] === 'converse-stream', abandoned.signal);
  } catch (error) {
    if (!(error instanceof BedrockError)) throw error;
    sendError(response, error);
    return;
  }
  if (operation?.[2] === 'converse-stream') {
    await streamAnswer(response, answer, startedAt, abandoned.signal, log);
  } else {
    await sendAnswer(response, answer, startedAt);
  }
}

/** Converse: the whole answer as one message. A failure part-way is an HTTP error. */
async function sendAnswer(response: Http2ServerResponse, answer: ModelAnswer, startedAt: number) {
  let text = '';
  let next: IteratorResult<string, AnswerEnd>;
  try {
    for (next = await answer.next(); !next.done; next = await answer.next()) text += next.value;
  } catch (error) {
    sendError(response, asBedrockError(error));
    return;
  }
  const end = next.value;
  sendJson(response, 200, {
    output: { message: { role: 'assistant', content: [{ text }] } },
    stopReason: end.stopReason,
    usage: end.usage,
    metrics: { latencyMs: Math.round(performance.now() - startedAt) },
    additionalModelResponseFields: end.additionalModelResponseFields,
  });
}

/** ConverseStream: each token is written as its own event as soon as the model yields it. */
async function streamAnswer(
  response: Http2ServerResponse,
  answer: ModelAnswer,
  startedAt: number,
  abandoned: AbortSignal,
  log: Log,
): Promise<void> {
  response.writeHead(200, {
    'content-type': EVENT_STREAM_CONTENT_TYPE,
    'x-amzn-requestid': randomUUID(),
  });
  const write = async (message: Uint8Array) => {
    if (!response.write(message)) await once(response, 'drain', { signal: abandoned });
  };
  try {
    await write(encodeJsonEvent('messageStart', { role: 'assistant' }));
    let next: IteratorResult<string, AnswerEnd>;
    for (next = await answer.next(); !next.done; next = await answer.next()) {
      await write(
        encodeJsonEvent('contentBlockDelta', { delta: { text: next.value }, contentBlockIndex: 0 }),
      );
    }
    const end = next.value;
    await write(encodeJsonEvent('contentBlockStop', { contentBlockIndex: 0 }));
    await write(
      encodeJsonEvent('messageStop', {
        stopReason: end.stopReason,
        additionalModelResponseFields: end.additionalModelResponseFields,
      }),
    );
    await write(
      encodeJsonEvent('metadata', {
        usage: end.usage,
        metrics: { latencyMs: Math.round(performance.now() - startedAt) },
      }),
    );
  } catch (error) {
    if (abandoned.aborted || response.stream.destroyed) {
      // The model may be mid-token: its signal stops it; return() ends the answer once it yields.
      log('stream abandoned by its caller');
      answer.return(undefined as unknown as AnswerEnd).catch(() => undefined);
      return;
    }
    response.write(streamException(asBedrockError(error)));
  }
  response.end();
}

function decodeModelId(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new BedrockError(
      'ValidationException',
      `The model identifier ${segment} is not a valid URL-encoded string.`,
    );
  }
}
function sendJson(
  response: Http2ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  response.end(text);
}

function sendError(response: Http2ServerResponse, error: BedrockError): void {
  sendJson(response, error.status, { message: error.message }, { 'x-amzn-errortype': error.type });
}

async function readBody(request: Http2ServerRequest): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
