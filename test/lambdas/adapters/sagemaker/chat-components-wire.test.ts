/**
 * The EMD adapter with the real client as createAwsClients builds it (`sageMakerRealtime`), against a
 * fake SageMaker Runtime: the component header, PayloadParts cut anywhere, a component with no
 * copies refused after one attempt, and a hanging stream ended at its deadline.
 */
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsClients, createAwsClients } from '../../../../lambdas/adapters/clients.ts';
import { SageMakerChatModels } from '../../../../lambdas/adapters/sagemaker/chat-components.ts';
import type {
  ChatStreamEvent,
  ChatTurn,
  DeployedSageMakerModel,
} from '../../../../lambdas/domain/inference/ports.ts';
import { EVENT_STREAM_CONTENT_TYPE, encodeEvent } from '../../../../lambdas/local/support/event-stream.ts';
import { QWEN } from '../../domain/inference/fakes.ts';
import { collect, collectPastDeadline, failure, live } from '../support/chat-models.ts';

const payloadPart = (bytes: Uint8Array) => encodeEvent('PayloadPart', bytes, 'application/octet-stream');
const chunk = (content: string, finish: string | null = null) =>
  `${JSON.stringify({ id: 'chatcmpl-w', object: 'chat.completion.chunk', model: 'synthforge/local-vision', choices: [{ index: 0, delta: { content }, finish_reason: finish }] })}\n`;

/** The lines' bytes as PayloadParts of 5 bytes each: every boundary falls inside a line. */
function writeParts(response: ServerResponse, lines: string): void {
  const bytes = new TextEncoder().encode(lines);
  for (let at = 0; at < bytes.length; at += 5) response.write(payloadPart(bytes.subarray(at, at + 5)));
}

const requests: { path: string; component: string | undefined }[] = [];
let server: Server;
let clients: AwsClients;

beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const path = request.url ?? '';
      const component = request.headers['x-amzn-sagemaker-inference-component'];
      requests.push({ path, component: typeof component === 'string' ? component : undefined });
      if (component === 'asleep') {
        response.writeHead(400, {
          'content-type': 'application/json',
          'x-amzn-errortype': 'ValidationError',
        });
        response.end(
          JSON.stringify({ message: 'Inference Component has no capacity to process this request.' }),
        );
        return;
      }
      response.writeHead(200, {
        'content-type': EVENT_STREAM_CONTENT_TYPE,
        'x-amzn-sagemaker-content-type': 'application/jsonlines',
      });
      if (component === 'hanging') {
        writeParts(response, chunk('Two'));
        return;
      }
      writeParts(response, chunk('Two') + chunk(' shapés') + chunk('.', 'stop'));
      response.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  clients = createAwsClients({ region: 'us-east-1', endpoints: { sagemaker: `http://127.0.0.1:${port}` } });
});

afterAll(async () => {
  clients.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Qwen under another component name: the fake runtime answers by the component header. */
const model = (componentName: string): DeployedSageMakerModel => ({
  ...QWEN,
  deployment: { ...QWEN.deployment, componentName },
});
const TURN: ChatTurn = { text: 'Describe it.', frames: [], maxTokens: 64, temperature: 0 };

describe('SageMakerChatModels on the wire', () => {
  it('streams from the named component, whatever the part boundaries', async () => {
    // Prepare
    const models = new SageMakerChatModels(clients.sageMakerRealtime);
    const before = requests.length;

    // Act
    const seen = await collect(models.stream(model('qwen'), TURN, live()));

    // Assess
    expect(seen.map((item) => (item.type === 'delta' ? item.text : item.stopReason))).toEqual([
      'Two',
      ' shapés',
      '.',
      'end_turn',
    ]);
    expect(seen.at(-1)).toMatchObject({ id: 'chatcmpl-w', answeredBy: 'synthforge/local-vision' });
    expect(requests.slice(before)).toEqual([
      { path: '/endpoints/synthforge-vlm/invocations-response-stream', component: 'qwen' },
    ]);
  });

  it('answers no_capacity for a component scaled to zero, after one attempt', async () => {
    // Prepare
    const models = new SageMakerChatModels(clients.sageMakerRealtime);
    const before = requests.length;

    // Act
    const mapped = await failure(models.complete(model('asleep'), TURN, live()));

    // Assess
    expect(mapped).toMatchObject({ reason: 'no_capacity', serviceError: 'ValidationError' });
    expect(requests.slice(before)).toEqual([
      { path: '/endpoints/synthforge-vlm/invocations', component: 'asleep' },
    ]);
  });

  it('ends a stream that hangs at its deadline, as a timeout', async () => {
    // Prepare
    const models = new SageMakerChatModels(clients.sageMakerRealtime);
    const seen: ChatStreamEvent[] = [];

    // Act: the deadline passes once the first delta is in
    const mapped = await failure(
      collectPastDeadline((signal) => models.stream(model('hanging'), TURN, signal), seen),
    );

    // Assess
    expect(seen).toEqual([{ type: 'delta', text: 'Two' }]);
    expect(mapped.reason).toBe('timeout');
  });
});
