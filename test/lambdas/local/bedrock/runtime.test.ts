/**
 * The local Bedrock Runtime (lambdas/local/bedrock/runtime.ts), through the real BedrockRuntimeClient
 * with its default request handler (HTTP/2) and small fake models.
 */
import {
  BedrockRuntimeClient,
  type BedrockRuntimeClientConfig,
  ConverseCommand,
  type ConverseCommandInput,
  ConverseStreamCommand,
  type ConverseStreamOutput,
} from '@aws-sdk/client-bedrock-runtime';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EMULATOR_CREDENTIALS } from '../../../../lambdas/adapters/clients.ts';
import {
  BedrockError,
  type BedrockModelBackend,
  type BedrockRuntime,
  type EmulatedConverseRequest,
  startBedrockRuntime,
} from '../../../../lambdas/local/bedrock/runtime.ts';

const NOVA = 'us.amazon.nova-lite-v1:0';
const PROFILE_ARN = 'arn:aws:bedrock:us-east-1:000000000000:application-inference-profile/vision/a1b2c3';

/** What the fake models were asked, newest last. */
const requests: EmulatedConverseRequest[] = [];
/** What the model behind `gated` does between its tokens; replaced by each test that uses it. */
let between: (index: number, signal: AbortSignal) => Promise<void> = async () => undefined;

/** Answers "Hello there, friend." in four tokens, and counts them itself. */
const echo: BedrockModelBackend = {
  servedBy: 'test/echo',
  async *converse(request) {
    requests.push(request);
    yield* ['Hello', ' there', ',', ' friend.'];
    return { inputTokens: 11, outputTokens: 4 };
  },
};

/** Yields ten tokens, calling `between` before each, and reports nothing of its usage. */
const gated: BedrockModelBackend = {
  servedBy: 'test/gated',
  async *converse(request, signal) {
    requests.push(request);
    for (let index = 0; index < 10; index++) {
      await between(index, signal);
      yield `t${index} `;
    }
  },
};

/** Fails in the model after one token. */
const broken: BedrockModelBackend = {
  servedBy: 'test/broken',
  async *converse() {
    yield 'partial';
    throw new Error('out of memory');
  },
};

let runtime: BedrockRuntime;
let client: BedrockRuntimeClient;

function newClient(settings: Partial<BedrockRuntimeClientConfig> = {}): BedrockRuntimeClient {
  return new BedrockRuntimeClient({
    region: 'us-east-1',
    endpoint: runtime.endpoint,
    credentials: EMULATOR_CREDENTIALS,
    maxAttempts: 1,
    ...settings,
  });
}

beforeAll(async () => {
  runtime = await startBedrockRuntime({
    models: { [NOVA]: echo, [PROFILE_ARN]: echo, 'test.gated-v1:0': gated, 'test.broken-v1:0': broken },
  });
  client = newClient();
});

afterAll(async () => {
  client?.destroy();
  await runtime?.stop();
});

beforeEach(() => {
  requests.length = 0;
  between = async () => undefined;
});

const hello = (modelId: string, extra: Partial<ConverseCommandInput> = {}): ConverseCommandInput => ({
  modelId,
  messages: [{ role: 'user', content: [{ text: 'Say hello.' }] }],
  ...extra,
});

/** The stream's events, each as its one member's name and value. */
async function collect(stream: AsyncIterable<ConverseStreamOutput> | undefined) {
  const events: [string, unknown][] = [];
  for await (const event of stream ?? []) {
    const [entry] = Object.entries(event).filter(([, value]) => value !== undefined);
    if (entry) events.push(entry);
  }
  return events;
}

describe('the local Bedrock Runtime', () => {
  it('answers Converse with the whole message, the usage and the model that really answered', async () => {
    // Act
    const answer = await client.send(
      new ConverseCommand(
        hello(NOVA, {
          system: [{ text: 'Be brief.' }],
          inferenceConfig: { maxTokens: 50, temperature: 0.2, topP: 0.9, stopSequences: ['END'] },
        }),
      ),
    );

    // Assess: the default handler is HTTP/2, served as h2c.
    expect(client.config.requestHandler.constructor.name).toBe('NodeHttp2Handler');
    expect(answer.$metadata.httpStatusCode).toBe(200);
    expect(answer.output?.message).toEqual({
      role: 'assistant',
      content: [{ text: 'Hello there, friend.' }],
    });
    expect(answer.stopReason).toBe('end_turn');
    expect(answer.usage).toEqual({ inputTokens: 11, outputTokens: 4, totalTokens: 15 });
    expect(answer.metrics?.latencyMs).toBeGreaterThanOrEqual(0);
    expect(answer.additionalModelResponseFields).toEqual({ served_by: 'test/echo', emulated: true });
    expect(requests).toEqual([
      {
        modelId: NOVA,
        system: ['Be brief.'],
        messages: [{ role: 'user', content: [{ type: 'text', text: 'Say hello.' }] }],
        inferenceConfig: { maxTokens: 50, temperature: 0.2, topP: 0.9, stopSequences: ['END'] },
      },
    ]);
  });

  it('streams each token as its own event as soon as the model yields it', async () => {
    // Prepare: the model yields its next token only once the client has read the previous one.
    const read: string[] = [];
    let tokenRead = () => {};
    between = async (index) => {
      if (index === 0) return;
      await new Promise<void>((resolve) => {
        tokenRead = resolve;
      });
      expect(read).toHaveLength(index);
    };

    // Act
    const answer = await client.send(new ConverseStreamCommand(hello('test.gated-v1:0')));
    const events: [string, unknown][] = [];
    for await (const event of answer.stream ?? []) {
      const [entry] = Object.entries(event).filter(([, value]) => value !== undefined);
      if (!entry) continue;
      events.push(entry);
      if (event.contentBlockDelta) {
        read.push(event.contentBlockDelta.delta?.text ?? '');
        tokenRead();
      }
    }

    // Assess
    expect(read).toEqual(Array.from({ length: 10 }, (_, index) => `t${index} `));
    expect(events.map(([name]) => name)).toEqual([
      'messageStart',
      ...Array<string>(10).fill('contentBlockDelta'),
      'contentBlockStop',
      'messageStop',
      'metadata',
    ]);
    expect(events[0]?.[1]).toEqual({ role: 'assistant' });
    expect(events[1]?.[1]).toEqual({ delta: { text: 't0 ' }, contentBlockIndex: 0 });
    expect(events[12]?.[1]).toEqual({
      stopReason: 'end_turn',
      additionalModelResponseFields: { served_by: 'test/gated', emulated: true },
    });
    // The model reported no usage: its tokens are counted, the prompt's words estimated.
    expect(events[13]?.[1]).toEqual({
      usage: { inputTokens: 3, outputTokens: 10, totalTokens: 13 },
      metrics: { latencyMs: expect.any(Number) },
    });
  });

  it('hands the model image and video bytes decoded, with their formats', async () => {
    // Prepare
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 255, 128]);
    const mp4 = new Uint8Array(Array.from({ length: 300 }, (_, index) => index % 256));

    // Act
    await client.send(
      new ConverseCommand({
        modelId: NOVA,
        messages: [
          {
            role: 'user',
            content: [
              { image: { format: 'png', source: { bytes: png } } },
              { video: { format: 'mp4', source: { bytes: mp4 } } },
              { text: 'What is in these?' },
            ],
          },
        ],
      }),
    );

    // Assess
    const content = requests[0]?.messages[0]?.content;
    expect(content).toEqual([
      { type: 'image', format: 'png', bytes: png },
      { type: 'video', format: 'mp4', bytes: mp4 },
      { type: 'text', text: 'What is in these?' },
    ]);
  });

  it('serves a model id with ":" and "/", which travel URL-encoded', async () => {
    // Act
    const answer = await client.send(new ConverseCommand(hello(PROFILE_ARN)));

    // Assess
    expect(answer.output?.message?.content).toEqual([{ text: 'Hello there, friend.' }]);
    expect(requests[0]?.modelId).toBe(PROFILE_ARN);
  });

  it('answers ResourceNotFoundException 404 for a model it does not serve', async () => {
    // Act
    const failure = client.send(new ConverseCommand(hello('amazon.nova-pro-v1:0')));

    // Assess
    await expect(failure).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      $fault: 'client',
      $metadata: { httpStatusCode: 404 },
      message: expect.stringContaining('amazon.nova-pro-v1:0 is not served'),
    });
  });

  it('answers ValidationException 400 for a conversation that does not start with the user', async () => {
    // Act
    const failure = client.send(
      new ConverseCommand({ modelId: NOVA, messages: [{ role: 'assistant', content: [{ text: 'Hi.' }] }] }),
    );

    // Assess
    await expect(failure).rejects.toMatchObject({
      name: 'ValidationException',
      $metadata: { httpStatusCode: 400 },
      message: expect.stringContaining('must start with a user message'),
    });
    expect(requests).toEqual([]);
  });

  it('rejects an image of a format Bedrock does not take, and a temperature above 1', async () => {
    // Act
    const image = client.send(
      new ConverseCommand({
        modelId: NOVA,
        messages: [
          {
            role: 'user',
            content: [{ image: { format: 'bmp' as 'png', source: { bytes: new Uint8Array([1]) } } }],
          },
        ],
      }),
    );
    const temperature = client.send(
      new ConverseCommand(hello(NOVA, { inferenceConfig: { temperature: 1.5 } })),
    );

    // Assess
    await expect(image).rejects.toMatchObject({
      name: 'ValidationException',
      message:
        "1 validation error detected: Value 'bmp' at 'messages.1.member.content.1.member.image.format' " +
        'failed to satisfy constraint: Member must satisfy enum value set: [png, jpeg, gif, webp]',
    });
    await expect(temperature).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining("at 'inferenceConfig.temperature'"),
    });
    expect(requests).toEqual([]);
  });

  it('throttles the next requests to a model: ThrottlingException 429, which the SDK retries', async () => {
    // Prepare
    runtime.throttleNext(NOVA, 1);
    runtime.throttleNext(NOVA, 1);
    const retrying = newClient({ maxAttempts: 3 });

    // Act
    const throttled = client.send(new ConverseCommand(hello(NOVA)));
    await expect(throttled).rejects.toMatchObject({
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 429 },
      message: 'Too many requests, please wait before trying again.',
    });
    const retried = await retrying.send(new ConverseCommand(hello(NOVA)));
    retrying.destroy();

    // Assess: the second throttle was retried away.
    expect(retried.$metadata.attempts).toBe(2);
    expect(retried.output?.message?.content).toEqual([{ text: 'Hello there, friend.' }]);
  });

  it('fails the next requests of any model as told, before the model runs', async () => {
    // Prepare
    runtime.failNext(undefined, 2, { type: 'AccessDeniedException', message: 'no access to this model' });

    // Act
    const first = client.send(new ConverseCommand(hello(NOVA)));
    const second = client.send(new ConverseStreamCommand(hello('test.gated-v1:0')));

    // Assess
    const denied = { name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } };
    await expect(first).rejects.toMatchObject({ ...denied, message: 'no access to this model' });
    await expect(second).rejects.toMatchObject(denied);
    await expect(client.send(new ConverseCommand(hello(NOVA)))).resolves.toBeDefined();
    expect(requests).toHaveLength(1);
  });

  it('delays the next answer of a model: a slow model', async () => {
    // Prepare
    runtime.delayNext(NOVA, 300);

    // Act
    const answer = await client.send(new ConverseCommand(hello(NOVA)));

    // Assess
    expect(answer.metrics?.latencyMs).toBeGreaterThanOrEqual(300);
  });

  it('throws an injected stream exception from the iterator after the tokens before it', async () => {
    // Prepare
    runtime.failStreamAfter('test.gated-v1:0', 3, 'throttlingException');
    const answer = await client.send(new ConverseStreamCommand(hello('test.gated-v1:0')));
    const tokens: string[] = [];

    // Act
    const reading = (async () => {
      for await (const event of answer.stream ?? []) {
        if (event.contentBlockDelta) tokens.push(event.contentBlockDelta.delta?.text ?? '');
      }
    })();

    // Assess
    await expect(reading).rejects.toMatchObject({
      name: 'ThrottlingException',
      message: 'Injected throttlingException after 3 tokens.',
    });
    expect(tokens).toEqual(['t0 ', 't1 ', 't2 ']);
  });

  it("sends a model's own failure mid-stream as modelStreamErrorException, and as 424 to Converse", async () => {
    // Act
    const answer = await client.send(new ConverseStreamCommand(hello('test.broken-v1:0')));
    const streamed = collect(answer.stream);
    const whole = client.send(new ConverseCommand(hello('test.broken-v1:0')));

    // Assess
    await expect(streamed).rejects.toMatchObject({
      name: 'ModelStreamErrorException',
      message: 'The model test/broken failed: out of memory',
      originalStatusCode: 424,
    });
    await expect(whole).rejects.toMatchObject({
      name: 'ModelErrorException',
      $metadata: { httpStatusCode: 424 },
      message: 'The model test/broken failed: out of memory',
    });
  });

  it('stops a model at maxTokens and says so', async () => {
    // Act
    const answer = await client.send(
      new ConverseCommand(hello('test.gated-v1:0', { inferenceConfig: { maxTokens: 4 } })),
    );

    // Assess
    expect(answer.output?.message?.content).toEqual([{ text: 't0 t1 t2 t3 ' }]);
    expect(answer.stopReason).toBe('max_tokens');
    expect(answer.usage?.outputTokens).toBe(4);
  });

  it('stops the model when its caller abandons the stream', async () => {
    // Prepare: the model waits after its second token until it is stopped.
    const stopped = Promise.withResolvers<void>();
    between = async (index, signal) => {
      if (index < 2) return;
      await new Promise<void>((_resolve, reject) => {
        signal.addEventListener('abort', () => {
          stopped.resolve();
          reject(signal.reason);
        });
      });
    };
    const abandon = new AbortController();
    const answer = await client.send(new ConverseStreamCommand(hello('test.gated-v1:0')), {
      abortSignal: abandon.signal,
    });

    // Act
    const reading = (async () => {
      for await (const event of answer.stream ?? []) {
        if (event.contentBlockDelta?.delta?.text === 't1 ') abandon.abort();
      }
    })();

    // Assess: how the client's iterator ends on an abort is the SDK's business; the model stopped.
    await Promise.allSettled([reading]);
    await expect(stopped.promise).resolves.toBeUndefined();
  });

  it('stops while a client still holds its connection', async () => {
    // Prepare
    const other = await startBedrockRuntime({ models: { [NOVA]: echo } });
    const held = newClient({ endpoint: other.endpoint });
    await held.send(new ConverseCommand(hello(NOVA)));

    // Act
    const stopping = other.stop();

    // Assess
    await expect(stopping).resolves.toBeUndefined();
    await expect(held.send(new ConverseCommand(hello(NOVA)))).rejects.toThrow();
    held.destroy();
  });

  it('lets a backend answer with a Bedrock error of its own', async () => {
    // Prepare
    const busy = await startBedrockRuntime({
      models: {
        [NOVA]: {
          servedBy: 'test/busy',
          // biome-ignore lint/correctness/useYield: a model that fails before its first token.
          async *converse() {
            throw new BedrockError('ServiceUnavailableException', 'the model is loading');
          },
        },
      },
    });
    const busyClient = newClient({ endpoint: busy.endpoint });

    // Act
    const failure = busyClient.send(new ConverseCommand(hello(NOVA)));

    // Assess
    await expect(failure).rejects.toMatchObject({
      name: 'ServiceUnavailableException',
      $metadata: { httpStatusCode: 503 },
      message: 'the model is loading',
    });
    busyClient.destroy();
    await busy.stop();
  });
});
