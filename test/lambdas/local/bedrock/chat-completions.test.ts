/**
 * The chat-completions backend (lambdas/local/bedrock/chat-completions.ts) against a tiny model server
 * written here, which speaks jsonlines the way the local vision model does, behind the local Bedrock
 * Runtime and the real BedrockRuntimeClient.
 */
import { createServer, type Server } from 'node:http';
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
} from '@aws-sdk/client-bedrock-runtime';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EMULATOR_CREDENTIALS } from '../../../../lambdas/adapters/clients.ts';
import { chatCompletionsBackend } from '../../../../lambdas/local/bedrock/chat-completions.ts';
import { type BedrockRuntime, startBedrockRuntime } from '../../../../lambdas/local/bedrock/runtime.ts';
import { closeServer, listen } from '../../../../lambdas/local/support/http.ts';

const MODEL_ID = 'us.amazon.nova-lite-v1:0';
const SERVED_BY = 'synthforge/local-vision';

/** What the model server was sent, newest last. */
const received: { path: string; body: Record<string, unknown> }[] = [];
/** How the model server answers the next request; each test sets it. */
let answerWith: { status: number; lines: string[]; gapMs?: number } = { status: 200, lines: [] };

const chunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1,
    model: SERVED_BY,
    choices: [{ index: 0, delta, finish_reason: null }],
    ...extra,
  });

/** Its deltas and end as the local vision model streams them, with `data: ` lines and blank lines mixed in. */
const STREAMED = [
  chunk({ role: 'assistant' }),
  chunk({ content: 'I see' }),
  '',
  `data: ${chunk({ content: ' 1 image' })}`,
  chunk({ content: '.' }),
  JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1,
    model: SERVED_BY,
    choices: [{ index: 0, delta: {}, finish_reason: 'length' }],
    usage: { prompt_tokens: 70, completion_tokens: 3, total_tokens: 73 },
  }),
  'data: [DONE]',
];

let modelServer: Server;
let modelUrl: string;
let runtime: BedrockRuntime;
let client: BedrockRuntimeClient;

beforeAll(async () => {
  modelServer = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const part of request) chunks.push(part as Buffer);
    received.push({ path: request.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
    const { status, lines, gapMs = 0 } = answerWith;
    response.writeHead(status, { 'content-type': 'application/jsonlines' });
    // One write per line, with a pause between: the backend must not wait for the whole body.
    for (const line of lines) {
      response.write(`${line}\n`);
      await new Promise((resolve) => setTimeout(resolve, gapMs));
    }
    response.end();
  });
  modelUrl = `http://127.0.0.1:${await listen(modelServer, 0)}`;
  runtime = await startBedrockRuntime({
    models: { [MODEL_ID]: chatCompletionsBackend(modelUrl, { model: SERVED_BY }) },
  });
  client = new BedrockRuntimeClient({
    region: 'us-east-1',
    endpoint: runtime.endpoint,
    credentials: EMULATOR_CREDENTIALS,
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client?.destroy();
  await runtime?.stop();
  await closeServer(modelServer);
});

beforeEach(() => {
  received.length = 0;
  answerWith = { status: 200, lines: STREAMED };
});

describe('chatCompletionsBackend', () => {
  it('sends the Converse request as a streaming chat-completions request, images as data URLs', async () => {
    // Prepare
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);

    // Act
    const answer = await client.send(
      new ConverseCommand({
        modelId: MODEL_ID,
        system: [{ text: 'Describe images.' }],
        messages: [
          {
            role: 'user',
            content: [{ text: 'What is this?' }, { image: { format: 'png', source: { bytes: png } } }],
          },
          { role: 'assistant', content: [{ text: 'An image.' }] },
          { role: 'user', content: [{ text: 'More, please.' }] },
        ],
        inferenceConfig: { maxTokens: 3, temperature: 0, topP: 1, stopSequences: ['\n\n'] },
      }),
    );

    // Assess
    expect(received).toEqual([
      {
        path: '/invocations',
        body: {
          model: SERVED_BY,
          messages: [
            { role: 'system', content: 'Describe images.' },
            {
              role: 'user',
              content: [
                { type: 'text', text: 'What is this?' },
                {
                  type: 'image_url',
                  image_url: { url: `data:image/png;base64,${Buffer.from(png).toString('base64')}` },
                },
              ],
            },
            { role: 'assistant', content: 'An image.' },
            { role: 'user', content: 'More, please.' },
          ],
          max_tokens: 3,
          temperature: 0,
          top_p: 1,
          stop: ['\n\n'],
          stream: true,
          stream_options: { include_usage: true },
        },
      },
    ]);
    expect(answer.output?.message?.content).toEqual([{ text: 'I see 1 image.' }]);
    expect(answer.stopReason).toBe('max_tokens');
    expect(answer.usage).toEqual({ inputTokens: 70, outputTokens: 3, totalTokens: 73 });
    expect(answer.additionalModelResponseFields).toEqual({ served_by: SERVED_BY, emulated: true });
  });

  it('streams the model server deltas as they arrive', async () => {
    // Prepare
    answerWith = { status: 200, lines: STREAMED, gapMs: 60 };

    // Act
    const answer = await client.send(
      new ConverseStreamCommand({
        modelId: MODEL_ID,
        messages: [{ role: 'user', content: [{ text: 'Hi' }] }],
      }),
    );
    const started = performance.now();
    const deltas: { text: string; atMs: number }[] = [];
    let stop: unknown;
    for await (const event of answer.stream ?? []) {
      if (event.contentBlockDelta) {
        deltas.push({ text: event.contentBlockDelta.delta?.text ?? '', atMs: performance.now() - started });
      }
      if (event.messageStop) stop = event.messageStop;
    }

    // Assess: each delta came on its own, a gap after the one before.
    expect(deltas.map((delta) => delta.text)).toEqual(['I see', ' 1 image', '.']);
    expect((deltas[2]?.atMs ?? 0) - (deltas[0]?.atMs ?? 0)).toBeGreaterThan(90);
    expect(stop).toEqual({
      stopReason: 'max_tokens',
      additionalModelResponseFields: { served_by: SERVED_BY, emulated: true },
    });
  });

  it("answers the model server's 429 as ThrottlingException and its 400 as ValidationException", async () => {
    // Prepare
    const converse = () =>
      client.send(
        new ConverseCommand({ modelId: MODEL_ID, messages: [{ role: 'user', content: [{ text: 'Hi' }] }] }),
      );
    answerWith = { status: 429, lines: ['{"error":{"message":"busy"}}'] };

    // Act
    const throttled = converse();
    await expect(throttled).rejects.toMatchObject({
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 429 },
      message: 'The model server answered 429: busy',
    });
    answerWith = {
      status: 400,
      lines: ['{"error":{"message":"not an image","type":"invalid_request_error"}}'],
    };
    const invalid = converse();

    // Assess
    await expect(invalid).rejects.toMatchObject({
      name: 'ValidationException',
      $metadata: { httpStatusCode: 400 },
      message: 'The model server answered 400: not an image',
    });
  });

  it('answers ServiceUnavailableException when no model server listens', async () => {
    // Prepare: a port nothing listens on any more.
    const gone = createServer();
    const port = await listen(gone, 0);
    await closeServer(gone);
    const backend = chatCompletionsBackend(`http://127.0.0.1:${port}`, { model: SERVED_BY });

    // Act
    const tokens = backend.converse(
      {
        modelId: MODEL_ID,
        system: [],
        messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
        inferenceConfig: {},
      },
      new AbortController().signal,
    );
    const reading = (async () => {
      for await (const _token of tokens) {
        // Nothing arrives.
      }
    })();

    // Assess
    await expect(reading).rejects.toMatchObject({
      name: 'ServiceUnavailableException',
      status: 503,
      message: expect.stringContaining('cannot be reached'),
    });
  });
});
