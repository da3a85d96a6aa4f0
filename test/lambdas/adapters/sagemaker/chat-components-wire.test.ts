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
import {
  type ChatStreamEvent,
  type ChatTurn,
  type DeployedSageMakerModel,
  ModelCallError,
} from '../../../../lambdas/domain/inference/ports.ts';
import { EVENT_STREAM_CONTENT_TYPE, encodeEvent } from '../../../../lambdas/local/support/event-stream.ts';

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

const model = (componentName: string): DeployedSageMakerModel => ({
  provider: 'sagemaker',
  key: 'qwen2-vl-7b',
  name: 'Qwen2-VL 7B Instruct',
  modelId: 'Qwen/Qwen2-VL-7B-Instruct',
  media: ['image'],
  imagesPerPrompt: 2,
  prices: { inputPerMillionUsd: 0, outputPerMillionUsd: 0 },
  deployment: {
    endpointName: 'synthforge-dev-vlm',
    componentName,
    instanceType: 'ml.g5.2xlarge',
    wakeSeconds: 600,
  },
  emulated: false,
});
const TURN: ChatTurn = { text: 'Describe it.', frames: [], maxTokens: 64, temperature: 0 };

async function failure(call: Promise<unknown>): Promise<ModelCallError> {
  const error = await call.then(
    () => expect.fail('the call succeeded'),
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ModelCallError);
  return error as ModelCallError;
}

describe('SageMakerChatModels on the wire', () => {
  it('streams from the named component, whatever the part boundaries', async () => {
    // Prepare
    const models = new SageMakerChatModels(clients.sageMakerRealtime);
    const seen: ChatStreamEvent[] = [];
    const before = requests.length;

    // Act
    for await (const item of models.stream(model('qwen'), TURN, new AbortController().signal))
      seen.push(item);

    // Assess
    expect(seen.map((item) => (item.type === 'delta' ? item.text : item.stopReason))).toEqual([
      'Two',
      ' shapés',
      '.',
      'end_turn',
    ]);
    expect(seen.at(-1)).toMatchObject({ id: 'chatcmpl-w', answeredBy: 'synthforge/local-vision' });
    expect(requests.slice(before)).toEqual([
      { path: '/endpoints/synthforge-dev-vlm/invocations-response-stream', component: 'qwen' },
    ]);
  });

  it('answers no_capacity for a component scaled to zero, after one attempt', async () => {
    // Prepare
    const models = new SageMakerChatModels(clients.sageMakerRealtime);
    const before = requests.length;

    // Act
    const mapped = await failure(models.complete(model('asleep'), TURN, new AbortController().signal));

    // Assess
    expect(mapped).toMatchObject({ reason: 'no_capacity', serviceError: 'ValidationError' });
    expect(requests.slice(before)).toEqual([
      { path: '/endpoints/synthforge-dev-vlm/invocations', component: 'asleep' },
    ]);
  });

  it('ends a stream that hangs at its deadline, as a timeout', async () => {
    // Prepare
    const models = new SageMakerChatModels(clients.sageMakerRealtime);
    const deadline = new AbortController();
    const seen: ChatStreamEvent[] = [];

    // Act
    const mapped = await failure(
      (async () => {
        for await (const item of models.stream(model('hanging'), TURN, deadline.signal)) {
          seen.push(item);
          deadline.abort();
        }
      })(),
    );

    // Assess
    expect(seen).toEqual([{ type: 'delta', text: 'Two' }]);
    expect(mapped.reason).toBe('timeout');
  });
});
