/** Bedrock's Converse behind the chat model port: the request it sends, the answer and every error it maps. */
import {
  AccessDeniedException,
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  type ConverseStreamOutput,
  InternalServerException,
  ModelErrorException,
  ModelNotReadyException,
  ModelStreamErrorException,
  ModelTimeoutException,
  ResourceNotFoundException,
  ServiceQuotaExceededException,
  ServiceUnavailableException,
  ThrottlingException,
  ValidationException,
} from '@aws-sdk/client-bedrock-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { BedrockChatModels } from '../../../../lambdas/adapters/bedrock/chat-models.ts';
import type {
  ChatStreamEvent,
  ChatTurn,
  ModelCallError,
} from '../../../../lambdas/domain/inference/ports.ts';
import { NOVA } from '../../domain/inference/fakes.ts';
import { collect, failure, live, MP4, PNG } from '../support/chat-models.ts';

const bedrock = mockClient(BedrockRuntimeClient);
const models = () => new BedrockChatModels(new BedrockRuntimeClient({ region: 'us-east-1' }));

const TURN: ChatTurn = {
  text: 'What is in these frames?',
  frames: [
    { kind: 'image', format: 'png', bytes: PNG, width: 1, height: 1 },
    { kind: 'video', format: 'mp4', bytes: MP4 },
    { kind: 'video', format: 'mp4', s3Uri: 's3://uploads/acme/uploads/01J/clip.mp4' },
  ],
  maxTokens: 512,
  temperature: 0.2,
};
const metadata = (requestId?: string) => ({ httpStatusCode: 200, ...(requestId ? { requestId } : {}) });
/** What the adapter passed to `send` after the command (the typings know only the command). */
const sendOptions = (call: number): unknown => (bedrock.call(call).args as unknown[])[1];

async function* events(...list: (ConverseStreamOutput | Error)[]): AsyncGenerator<ConverseStreamOutput> {
  for (const event of list) {
    if (event instanceof Error) throw event;
    yield event;
  }
}

const fault = { $metadata: {} };
/** Every error Bedrock models for Converse, and what the gateway makes of it. */
const ERRORS: [string, Error, ModelCallError['reason']][] = [
  ['ThrottlingException', new ThrottlingException({ message: 'Too many requests', ...fault }), 'throttled'],
  ['ModelNotReadyException', new ModelNotReadyException({ message: 'loading', ...fault }), 'throttled'],
  [
    'ServiceQuotaExceededException',
    new ServiceQuotaExceededException({ message: 'tokens per day', ...fault }),
    'throttled',
  ],
  [
    'ServiceUnavailableException',
    new ServiceUnavailableException({ message: 'down', ...fault }),
    'unavailable',
  ],
  ['InternalServerException', new InternalServerException({ message: 'oops', ...fault }), 'unavailable'],
  ['ModelErrorException', new ModelErrorException({ message: 'the model failed', ...fault }), 'model_error'],
  ['ModelStreamErrorException', new ModelStreamErrorException({ message: 'cut', ...fault }), 'model_error'],
  ['ValidationException', new ValidationException({ message: 'maxTokens too large', ...fault }), 'rejected'],
  [
    'ValidationException (unknown model id)',
    new ValidationException({ message: 'The provided model identifier is invalid.', ...fault }),
    'not_found',
  ],
  [
    'ValidationException (no on-demand throughput)',
    new ValidationException({
      message:
        "Invocation of model ID anthropic.claude-sonnet-4-20250514-v1:0 with on-demand throughput isn't supported. Retry your request with the ID or ARN of an inference profile that contains this model.",
      ...fault,
    }),
    'not_found',
  ],
  ['AccessDeniedException', new AccessDeniedException({ message: 'no model access', ...fault }), 'denied'],
  ['ResourceNotFoundException', new ResourceNotFoundException({ message: 'gone', ...fault }), 'not_found'],
  ['ModelTimeoutException', new ModelTimeoutException({ message: 'too slow', ...fault }), 'timeout'],
  [
    'an unmodeled 403 (expired credentials)',
    Object.assign(new Error('The security token included in the request is expired'), {
      name: 'ExpiredTokenException',
      $metadata: { httpStatusCode: 403 },
    }),
    'denied',
  ],
  [
    'an unmodeled 429',
    Object.assign(new Error('slow down'), { name: 'TooManyRequests', $metadata: { httpStatusCode: 429 } }),
    'throttled',
  ],
  ['a connection reset', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'unavailable'],
  ["the SDK's own timer", Object.assign(new Error('Stream timed out'), { name: 'TimeoutError' }), 'timeout'],
];

beforeEach(() => bedrock.reset());

describe('BedrockChatModels.complete', () => {
  it('sends the frames then the prompt, with the sampling settings and the signal', async () => {
    // Prepare
    bedrock.on(ConverseCommand).resolves({
      output: { message: { role: 'assistant', content: [{ text: 'A red ' }, { text: 'square.' }] } },
      stopReason: 'end_turn',
      usage: { inputTokens: 1200, outputTokens: 4, totalTokens: 1204 },
      metrics: { latencyMs: 420 },
      $metadata: metadata('3f1c-request'),
    });
    const signal = live();

    // Act
    const reply = await models().complete(NOVA, TURN, signal);

    // Assess
    expect(reply).toEqual({
      id: '3f1c-request',
      text: 'A red square.',
      inputTokens: 1200,
      outputTokens: 4,
      stopReason: 'end_turn',
    });
    expect(bedrock).toHaveReceivedCommandWith(ConverseCommand, {
      modelId: 'us.amazon.nova-pro-v1:0',
      messages: [
        {
          role: 'user',
          content: [
            { image: { format: 'png', source: { bytes: PNG } } },
            { video: { format: 'mp4', source: { bytes: MP4 } } },
            {
              video: {
                format: 'mp4',
                source: { s3Location: { uri: 's3://uploads/acme/uploads/01J/clip.mp4' } },
              },
            },
            { text: 'What is in these frames?' },
          ],
        },
      ],
      inferenceConfig: { maxTokens: 512, temperature: 0.2 },
    });
    expect(sendOptions(0)).toEqual({ abortSignal: signal });
  });

  it('names the model that stood in (the emulator) and makes up an id where Bedrock sent none', async () => {
    // Prepare
    bedrock.on(ConverseCommand).resolves({
      output: { message: { role: 'assistant', content: [{ text: 'a square' }] } },
      stopReason: 'max_tokens',
      usage: { inputTokens: 10, outputTokens: 2, totalTokens: 12 },
      metrics: { latencyMs: 5 },
      additionalModelResponseFields: { served_by: 'synthforge/local-vision', emulated: true },
      $metadata: metadata(),
    });

    // Act
    const reply = await models().complete(NOVA, { ...TURN, frames: [] }, live());

    // Assess
    expect(reply.answeredBy).toBe('synthforge/local-vision');
    expect(reply.id).toMatch(/^msg_[0-9a-z]{26}$/);
    expect(reply.stopReason).toBe('max_tokens');
  });

  it.each(ERRORS)('maps %s', async (_name, error, reason) => {
    // Prepare
    bedrock.on(ConverseCommand).rejects(error);

    // Act
    const mapped = await failure(models().complete(NOVA, TURN, live()));

    // Assess
    expect(mapped.reason).toBe(reason);
    expect(mapped.message).toBe(error.message);
  });

  it('calls any failure once the deadline has passed a timeout, whatever the SDK raised', async () => {
    // Prepare
    const deadline = new AbortController();
    deadline.abort();
    bedrock.on(ConverseCommand).rejects(Object.assign(new Error('Request aborted'), { name: 'AbortError' }));

    // Act
    const mapped = await failure(models().complete(NOVA, TURN, deadline.signal));

    // Assess
    expect(mapped.reason).toBe('timeout');
    expect(mapped.serviceError).toBe('AbortError');
  });
});

describe('BedrockChatModels.stream', () => {
  it('yields each text delta, then one end with the usage, the stop reason and who answered', async () => {
    // Prepare
    bedrock.on(ConverseStreamCommand).resolves({
      stream: events(
        { messageStart: { role: 'assistant' } },
        { contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'A red' } } },
        { contentBlockDelta: { contentBlockIndex: 0, delta: { text: ' square.' } } },
        { contentBlockStop: { contentBlockIndex: 0 } },
        {
          messageStop: {
            stopReason: 'end_turn',
            additionalModelResponseFields: { served_by: 'synthforge/local-vision', emulated: true },
          },
        },
        {
          metadata: {
            usage: { inputTokens: 30, outputTokens: 3, totalTokens: 33 },
            metrics: { latencyMs: 12 },
          },
        },
      ),
      $metadata: metadata('stream-request'),
    });
    const signal = live();

    // Act
    const seen = await collect(models().stream(NOVA, TURN, signal));

    // Assess
    expect(seen).toEqual([
      { type: 'delta', text: 'A red' },
      { type: 'delta', text: ' square.' },
      {
        type: 'end',
        id: 'stream-request',
        inputTokens: 30,
        outputTokens: 3,
        stopReason: 'end_turn',
        answeredBy: 'synthforge/local-vision',
      },
    ]);
    expect(bedrock).toHaveReceivedCommandWith(ConverseStreamCommand, {
      modelId: NOVA.modelId,
      inferenceConfig: { maxTokens: 512, temperature: 0.2 },
    });
    expect(sendOptions(0)).toEqual({ abortSignal: signal });
  });

  it('fails before its first event when the call cannot start', async () => {
    // Prepare
    bedrock.on(ConverseStreamCommand).rejects(new ThrottlingException({ message: 'slow down', ...fault }));
    const stream = models().stream(NOVA, TURN, live())[Symbol.asyncIterator]();

    // Act
    const mapped = await failure(stream.next());

    // Assess
    expect(mapped.reason).toBe('throttled');
  });

  it.each([
    [new ModelStreamErrorException({ message: 'the model stopped', ...fault }), 'model_error'],
    [new ThrottlingException({ message: 'slow down', ...fault }), 'throttled'],
    [new InternalServerException({ message: 'oops', ...fault }), 'unavailable'],
  ] as const)('maps %s thrown by the stream after the first delta', async (error, reason) => {
    // Prepare
    bedrock.on(ConverseStreamCommand).resolves({
      stream: events({ contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'A red' } } }, error),
      $metadata: metadata(),
    });
    const seen: ChatStreamEvent[] = [];

    // Act
    const mapped = await failure(collect(models().stream(NOVA, TURN, live()), seen));

    // Assess
    expect(seen).toEqual([{ type: 'delta', text: 'A red' }]);
    expect(mapped.reason).toBe(reason);
  });

  it('maps an exception sent as an event member, as an unmodeled reader would see it', async () => {
    // Prepare
    bedrock.on(ConverseStreamCommand).resolves({
      stream: events({
        serviceUnavailableException: new ServiceUnavailableException({ message: 'down', ...fault }),
      }),
      $metadata: metadata(),
    });

    // Act
    const mapped = await failure(collect(models().stream(NOVA, TURN, live())));

    // Assess
    expect(mapped.reason).toBe('unavailable');
  });

  it('calls a stream cut off without its messageStop unavailable, or a timeout once aborted', async () => {
    // Prepare
    const cutOff = () => events({ contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'A red' } } });
    bedrock
      .on(ConverseStreamCommand)
      .resolvesOnce({ stream: cutOff(), $metadata: metadata() })
      .resolves({ stream: cutOff(), $metadata: metadata() });
    const deadline = new AbortController();
    deadline.abort();

    // Act
    const ended = await failure(collect(models().stream(NOVA, TURN, live())));
    const abandoned = await failure(collect(models().stream(NOVA, TURN, deadline.signal)));

    // Assess
    expect(ended.reason).toBe('unavailable');
    expect(abandoned.reason).toBe('timeout');
  });
});
