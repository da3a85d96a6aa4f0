/**
 * The Bedrock adapter with the real client as createAwsClients builds it, against a fake Bedrock
 * Runtime on h2c: what the SDK really raises for an error, a stream exception and an abort, and
 * that the client tries once (the gateway retries itself).
 */
import { once } from 'node:events';
import { createServer, type Http2Server, type Http2ServerResponse } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BedrockChatModels } from '../../../../lambdas/adapters/bedrock/chat-models.ts';
import { createBedrockRuntime } from '../../../../lambdas/adapters/bedrock/client.ts';
import { type AwsClients, createAwsClients } from '../../../../lambdas/adapters/clients.ts';
import type {
  BedrockRuntimeModel,
  ChatStreamEvent,
  ChatTurn,
} from '../../../../lambdas/domain/inference/ports.ts';
import {
  EVENT_STREAM_CONTENT_TYPE,
  encodeException,
  encodeJsonEvent,
} from '../../../../lambdas/local/support/event-stream.ts';
import { NOVA } from '../../domain/inference/fakes.ts';
import { collect, collectPastDeadline, failure, live } from '../support/chat-models.ts';

const event = encodeJsonEvent;
const exception = (type: string, message: string) => encodeException(type, { message });

const delta = (value: string) => event('contentBlockDelta', { contentBlockIndex: 0, delta: { text: value } });

/** Writes the messages in 7-byte pieces: a message split anywhere must still decode. */
function writeInPieces(response: Http2ServerResponse, messages: Uint8Array[]): void {
  const bytes = Buffer.concat(messages);
  for (let at = 0; at < bytes.length; at += 7) response.write(bytes.subarray(at, at + 7));
}

const requests: string[] = [];
let server: Http2Server;
let clients: AwsClients;

beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const path = decodeURIComponent(request.url);
      requests.push(path);
      if (path === '/model/throttled/converse') {
        response.writeHead(429, {
          'content-type': 'application/json',
          'x-amzn-errortype': 'ThrottlingException',
        });
        response.end(JSON.stringify({ message: 'Too many requests, please wait before trying again.' }));
        return;
      }
      response.writeHead(200, {
        'content-type': EVENT_STREAM_CONTENT_TYPE,
        'x-amzn-requestid': 'wire-request',
      });
      if (path === '/model/us.amazon.nova-pro-v1:0/converse-stream') {
        writeInPieces(response, [
          event('messageStart', { role: 'assistant' }),
          delta('A red'),
          delta(' square.'),
          event('contentBlockStop', { contentBlockIndex: 0 }),
          event('messageStop', {
            stopReason: 'end_turn',
            additionalModelResponseFields: { served_by: 'synthforge/local-vision', emulated: true },
          }),
          event('metadata', {
            usage: { inputTokens: 12, outputTokens: 3, totalTokens: 15 },
            metrics: { latencyMs: 1 },
          }),
        ]);
        response.end();
      } else if (path === '/model/failing/converse-stream') {
        writeInPieces(response, [
          delta('A red'),
          exception('modelStreamErrorException', 'the model stopped'),
        ]);
        response.end();
      } else {
        // Hangs after one delta, until the caller gives up.
        writeInPieces(response, [delta('A red')]);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  clients = createAwsClients({ region: 'us-east-1', endpoints: { bedrock: `http://127.0.0.1:${port}` } });
});

afterAll(async () => {
  clients.destroy();
  await new Promise((resolve) => server.close(resolve));
});

/** Nova under another model id: the fake Bedrock answers by the path the id makes. */
const model = (modelId: string): BedrockRuntimeModel => ({ ...NOVA, modelId });
const TURN: ChatTurn = { text: 'What is it?', frames: [], maxTokens: 64, temperature: 0 };

describe('BedrockChatModels on the wire', () => {
  it('runs on one client per set of clients, made on first use and destroyed with them', () => {
    // Prepare
    const other = createAwsClients({ region: 'us-east-1', endpoints: { bedrock: 'http://127.0.0.1:9' } });

    // Act
    const first = other.own(createBedrockRuntime);
    const again = other.own(createBedrockRuntime);
    const destroy = vi.spyOn(first, 'destroy');
    other.destroy();

    // Assess
    expect(again).toBe(first);
    expect(first).not.toBe(clients.own(createBedrockRuntime));
    expect(destroy).toHaveBeenCalledOnce();
  });

  it('maps a throttle after one attempt: the SDK does not retry it', async () => {
    // Prepare
    const models = new BedrockChatModels(clients.own(createBedrockRuntime));
    const before = requests.length;

    // Act
    const mapped = await failure(models.complete(model('throttled'), TURN, live()));

    // Assess
    expect(mapped).toMatchObject({ reason: 'throttled', serviceError: 'ThrottlingException' });
    expect(requests.slice(before)).toEqual(['/model/throttled/converse']);
  });

  it('streams the deltas and the end from event-stream messages split anywhere', async () => {
    // Prepare
    const models = new BedrockChatModels(clients.own(createBedrockRuntime));

    // Act
    const seen = await collect(models.stream(NOVA, TURN, live()));

    // Assess
    expect(seen).toEqual([
      { type: 'delta', text: 'A red' },
      { type: 'delta', text: ' square.' },
      {
        type: 'end',
        id: 'wire-request',
        inputTokens: 12,
        outputTokens: 3,
        stopReason: 'end_turn',
        answeredBy: 'synthforge/local-vision',
      },
    ]);
  });

  it('maps an exception sent inside the stream after the first delta', async () => {
    // Prepare
    const models = new BedrockChatModels(clients.own(createBedrockRuntime));
    const seen: ChatStreamEvent[] = [];

    // Act
    const mapped = await failure(collect(models.stream(model('failing'), TURN, live()), seen));

    // Assess
    expect(seen).toEqual([{ type: 'delta', text: 'A red' }]);
    expect(mapped).toMatchObject({ reason: 'model_error', message: 'the model stopped' });
  });

  it('ends a stream that hangs at its deadline, as a timeout', async () => {
    // Prepare
    const models = new BedrockChatModels(clients.own(createBedrockRuntime));
    const seen: ChatStreamEvent[] = [];

    // Act: the deadline passes once the first delta is in
    const mapped = await failure(
      collectPastDeadline((signal) => models.stream(model('hanging'), TURN, signal), seen),
    );

    // Assess
    expect(seen).toEqual([{ type: 'delta', text: 'A red' }]);
    expect(mapped.reason).toBe('timeout');
  });
});
