/**
 * The EMD models behind the chat model port: the chat completions request sent to the inference
 * component, the answer and its stream read whatever the part boundaries, and every error mapped.
 */
import {
  InternalDependencyException,
  InternalFailure,
  InvokeEndpointCommand,
  InvokeEndpointWithResponseStreamCommand,
  ModelError,
  ModelNotReadyException,
  ModelStreamError,
  type ResponseStream,
  SageMakerRuntimeClient,
  ServiceUnavailable,
  ValidationError,
} from '@aws-sdk/client-sagemaker-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { SageMakerChatModels } from '../../../../lambdas/adapters/sagemaker/chat-components.ts';
import type {
  ChatStreamEvent,
  ChatTurn,
  ModelCallError,
} from '../../../../lambdas/domain/inference/ports.ts';
import { QWEN } from '../../domain/inference/fakes.ts';
import { collect, failure, live, MP4, PNG } from '../support/chat-models.ts';

const runtime = mockClient(SageMakerRuntimeClient);
const models = () => new SageMakerChatModels(new SageMakerRuntimeClient({ region: 'us-east-1' }));

const TURN: ChatTurn = {
  text: 'Describe the frames.',
  frames: [
    { kind: 'image', format: 'png', bytes: PNG, width: 56, height: 28 },
    { kind: 'video', format: 'mp4', bytes: MP4 },
  ],
  maxTokens: 256,
  temperature: 0.5,
};
const sendOptions = (call: number): unknown => (runtime.call(call).args as unknown[])[1];
const utf8 = (text: string) => new TextEncoder().encode(text);
/** A response body as the SDK hands it over (its blob adapter is a Uint8Array). */
const body = (value: unknown) => utf8(JSON.stringify(value)) as never;

function completion(overrides: Record<string, unknown> = {}) {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model: 'Qwen/Qwen2-VL-7B-Instruct',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Two shapes.' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 900, completion_tokens: 3, total_tokens: 903 },
    ...overrides,
  };
}

/** A chunk line as vLLM writes it. */
function chunk(content: string | null, finish: string | null = null, usage?: object): string {
  return JSON.stringify({
    id: 'chatcmpl-9',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'synthforge/local-vision',
    choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: finish }],
    ...(usage ? { usage } : {}),
  });
}

/** The stream's PayloadParts, each exactly the bytes given (boundaries anywhere). */
async function* parts(
  ...chunks: (Uint8Array | string | ResponseStream | Error)[]
): AsyncGenerator<ResponseStream> {
  for (const part of chunks) {
    if (part instanceof Error) throw part;
    if (typeof part === 'string' || part instanceof Uint8Array) {
      yield { PayloadPart: { Bytes: typeof part === 'string' ? utf8(part) : part } };
    } else yield part;
  }
}

function streaming(...chunks: Parameters<typeof parts>) {
  runtime.on(InvokeEndpointWithResponseStreamCommand).resolves({ Body: parts(...chunks), $metadata: {} });
}

const fault = { $metadata: {} };
const ERRORS: [string, Error, ModelCallError['reason']][] = [
  [
    'a component with no copies',
    new ValidationError({
      message:
        'Inference Component has no capacity to process this request. ApplicationAutoScaling may be in-progress (if configured) or try to increase the capacity by invoking UpdateInferenceComponentRuntimeConfig API.',
      ...fault,
    }),
    'no_capacity',
  ],
  [
    'a missing endpoint',
    new ValidationError({
      message: 'Endpoint synthforge-dev-vlm of account 123456789012 not found.',
      ...fault,
    }),
    'not_found',
  ],
  [
    'a missing component',
    new ValidationError({ message: 'Inference component synthforge-dev-x does not exist.', ...fault }),
    'not_found',
  ],
  ['another ValidationError', new ValidationError({ message: 'Body too large', ...fault }), 'rejected'],
  [
    'the bare 400 SageMaker throttles with',
    Object.assign(new Error(''), { name: 'ValidationError', $metadata: { httpStatusCode: 400 } }),
    'throttled',
  ],
  [
    'the bare 400 {message: null} of an unnamed error',
    Object.assign(new Error(), { name: 'Error', message: null, $metadata: { httpStatusCode: 400 } }),
    'throttled',
  ],
  [
    'ThrottlingException',
    Object.assign(new Error('Rate exceeded'), {
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
    }),
    'throttled',
  ],
  ['ModelNotReadyException', new ModelNotReadyException({ message: 'not ready', ...fault }), 'throttled'],
  ['ServiceUnavailable', new ServiceUnavailable({ message: 'down', ...fault }), 'unavailable'],
  ['InternalFailure', new InternalFailure({ message: 'oops', ...fault }), 'unavailable'],
  [
    'InternalDependencyException',
    new InternalDependencyException({ message: 'dep', ...fault }),
    'unavailable',
  ],
  [
    'a connection refused',
    Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    'unavailable',
  ],
];

beforeEach(() => runtime.reset());

describe('SageMakerChatModels.complete', () => {
  it("sends an OpenAI chat completion to the model's component, media as data URIs", async () => {
    // Prepare
    runtime.on(InvokeEndpointCommand).resolves({ Body: body(completion()), $metadata: {} });
    const signal = live();

    // Act
    const reply = await models().complete(QWEN, TURN, signal);

    // Assess
    expect(reply).toEqual({
      id: 'chatcmpl-1',
      text: 'Two shapes.',
      inputTokens: 900,
      outputTokens: 3,
      stopReason: 'end_turn',
    });
    const input = runtime.commandCalls(InvokeEndpointCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      EndpointName: 'synthforge-vlm',
      InferenceComponentName: 'synthforge-qwen2-vl-7b',
      ContentType: 'application/json',
    });
    expect(JSON.parse(String(input?.Body))).toEqual({
      model: 'Qwen/Qwen2-VL-7B-Instruct',
      messages: [
        {
          role: 'user',
          content: [
            {
              type: 'image_url',
              image_url: { url: `data:image/png;base64,${Buffer.from(PNG).toString('base64')}` },
            },
            {
              type: 'video_url',
              video_url: { url: `data:video/mp4;base64,${Buffer.from(MP4).toString('base64')}` },
            },
            { type: 'text', text: 'Describe the frames.' },
          ],
        },
      ],
      max_tokens: 256,
      temperature: 0.5,
    });
    expect(sendOptions(0)).toEqual({ abortSignal: signal });
  });

  it('names the model that answered when it is not the one asked (the local model)', async () => {
    // Prepare
    runtime.on(InvokeEndpointCommand).resolves({
      Body: body(completion({ model: 'synthforge/local-vision', id: undefined })),
      $metadata: {},
    });

    // Act
    const reply = await models().complete(QWEN, TURN, live());

    // Assess
    expect(reply.answeredBy).toBe('synthforge/local-vision');
    expect(reply.id).toMatch(/^msg_[0-9a-z]{26}$/);
  });

  it.each(['/opt/ml/model', 'qwen2-vl-7b', 'lmi'])(
    'names no stand-in when a real container answers under its served name %j',
    async (served) => {
      // Prepare
      runtime
        .on(InvokeEndpointCommand)
        .resolves({ Body: body(completion({ model: served })), $metadata: {} });

      // Act
      const reply = await models().complete(QWEN, TURN, live());

      // Assess
      expect(reply.answeredBy).toBeUndefined();
    },
  );

  it('calls an answer that is not a chat completion a model error', async () => {
    // Prepare
    runtime
      .on(InvokeEndpointCommand)
      .resolvesOnce({ Body: utf8('<html>502</html>') as never, $metadata: {} })
      .resolves({ Body: body({ object: 'error', message: 'CUDA out of memory', code: 500 }), $metadata: {} });

    // Act
    const notJson = await failure(models().complete(QWEN, TURN, live()));
    const error = await failure(models().complete(QWEN, TURN, live()));

    // Assess
    expect(notJson.reason).toBe('model_error');
    expect(error).toMatchObject({ reason: 'model_error', message: 'CUDA out of memory' });
  });

  it('refuses a video by S3 location before calling (the payload carries bytes only)', async () => {
    // Act
    const mapped = await failure(
      models().complete(
        QWEN,
        { ...TURN, frames: [{ kind: 'video', format: 'mp4', s3Uri: 's3://b/acme/uploads/1/a.mp4' }] },
        live(),
      ),
    );

    // Assess
    expect(mapped.reason).toBe('rejected');
    expect(runtime).not.toHaveReceivedCommand(InvokeEndpointCommand);
  });

  it.each(ERRORS)('maps %s', async (_name, error, reason) => {
    // Prepare
    runtime.on(InvokeEndpointCommand).rejects(error);

    // Act
    const mapped = await failure(models().complete(QWEN, TURN, live()));

    // Assess
    expect(mapped.reason).toBe(reason);
  });

  it.each([
    [500, 'model_error'],
    [400, 'rejected'],
  ] as const)(
    "maps a ModelError whose container answered %i with the container's own message",
    async (status, reason) => {
      // Prepare
      runtime.on(InvokeEndpointCommand).rejects(
        new ModelError({
          message: 'Received client error (400) from primary with message "…". See logs.',
          OriginalStatusCode: status,
          OriginalMessage: JSON.stringify({
            object: 'error',
            message: "This model's maximum context length is 16000 tokens.",
            type: 'BadRequestError',
            code: status,
          }),
          ...fault,
        }),
      );

      // Act
      const mapped = await failure(models().complete(QWEN, TURN, live()));

      // Assess
      expect(mapped).toMatchObject({
        reason,
        message: "This model's maximum context length is 16000 tokens.",
        serviceError: 'ModelError',
      });
    },
  );

  it('calls a failure after the deadline a timeout', async () => {
    // Prepare
    const deadline = new AbortController();
    deadline.abort();
    runtime
      .on(InvokeEndpointCommand)
      .rejects(Object.assign(new Error('Request aborted'), { name: 'AbortError' }));

    // Act
    const mapped = await failure(models().complete(QWEN, TURN, deadline.signal));

    // Assess
    expect(mapped.reason).toBe('timeout');
  });
});

describe('SageMakerChatModels.stream', () => {
  it('asks for a stream with its usage, and reads lines split anywhere across the parts', async () => {
    // Prepare: one part ends inside a JSON line, the next holds the rest and two more lines, one
    // splits a two-byte character, and the usage comes last without a newline.
    const first = chunk('Two');
    const second = chunk(' shapés');
    const secondBytes = utf8(`${second}\n`);
    const cut = secondBytes.indexOf(0xc3) + 1;
    streaming(
      first.slice(0, 17),
      `${first.slice(17)}\n${chunk(null)}\n`,
      secondBytes.slice(0, cut),
      secondBytes.slice(cut),
      `${chunk('.', 'stop')}\n`,
      JSON.stringify({
        id: 'chatcmpl-9',
        object: 'chat.completion.chunk',
        model: 'synthforge/local-vision',
        choices: [],
        usage: { prompt_tokens: 50, completion_tokens: 3 },
      }),
    );
    const signal = live();

    // Act
    const seen = await collect(models().stream(QWEN, TURN, signal));

    // Assess
    expect(seen).toEqual([
      { type: 'delta', text: 'Two' },
      { type: 'delta', text: ' shapés' },
      { type: 'delta', text: '.' },
      {
        type: 'end',
        id: 'chatcmpl-9',
        inputTokens: 50,
        outputTokens: 3,
        stopReason: 'end_turn',
        answeredBy: 'synthforge/local-vision',
      },
    ]);
    const input = runtime.commandCalls(InvokeEndpointWithResponseStreamCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      EndpointName: 'synthforge-vlm',
      InferenceComponentName: 'synthforge-qwen2-vl-7b',
    });
    expect(JSON.parse(String(input?.Body))).toMatchObject({
      model: QWEN.modelId,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(sendOptions(0)).toEqual({ abortSignal: signal });
  });

  it('reads server-sent events too: data: prefixes, other fields, blank lines, comments and [DONE]', async () => {
    // Prepare
    streaming(
      `: keep-alive\r\n\r\nevent: message\r\ndata: ${chunk('A')}\r\n\r\ndata: ${chunk('B', 'length', { prompt_tokens: 7, completion_tokens: 2 })}\r\n\r\n`,
      'data: [DONE]\r\n\r\n',
    );

    // Act
    const seen = await collect(models().stream(QWEN, TURN, live()));

    // Assess
    expect(seen).toEqual([
      { type: 'delta', text: 'A' },
      { type: 'delta', text: 'B' },
      expect.objectContaining({ type: 'end', inputTokens: 7, outputTokens: 2, stopReason: 'max_tokens' }),
    ]);
  });

  it('estimates the tokens when no usage came: a chunk a token, 4 characters or 28×28 pixels a prompt token', async () => {
    // Prepare
    streaming(`${chunk('Two')}\n${chunk(' shapes')}\n${chunk('.', 'stop')}\n`);

    // Act
    const seen = await collect(models().stream(QWEN, TURN, live()));

    // Assess: 'Describe the frames.' is 20 characters (5) and the 56×28 image 2 patches.
    expect(seen.at(-1)).toMatchObject({ type: 'end', inputTokens: 7, outputTokens: 3 });
  });

  it('fails before its first event when the component has no copies', async () => {
    // Prepare
    runtime.on(InvokeEndpointWithResponseStreamCommand).rejects(
      new ValidationError({
        message: 'Inference Component has no capacity to process this request.',
        ...fault,
      }),
    );
    const stream = models().stream(QWEN, TURN, live())[Symbol.asyncIterator]();

    // Act
    const mapped = await failure(stream.next());

    // Assess
    expect(mapped.reason).toBe('no_capacity');
  });

  it.each([
    [
      new ModelStreamError({
        message: 'did not complete sending the inference response in the allotted time',
        ...fault,
      }),
      'model_error',
    ],
    [Object.assign(new Error('internal'), { name: 'InternalStreamFailure' }), 'unavailable'],
  ] as const)('maps %s thrown mid-stream after the first delta', async (error, reason) => {
    // Prepare
    streaming(`${chunk('Two')}\n`, error);
    const seen: ChatStreamEvent[] = [];

    // Act
    const mapped = await failure(collect(models().stream(QWEN, TURN, live()), seen));

    // Assess
    expect(seen).toEqual([{ type: 'delta', text: 'Two' }]);
    expect(mapped.reason).toBe(reason);
    expect(mapped.message).toBe(error.message);
  });

  it('maps a stream error sent as a part member, with its Message', async () => {
    // Prepare
    streaming(`${chunk('Two')}\n`, {
      ModelStreamError: { Message: 'model crashed', ErrorCode: 'ModelError' },
    } as never);

    // Act
    const mapped = await failure(collect(models().stream(QWEN, TURN, live())));

    // Assess
    expect(mapped).toMatchObject({
      reason: 'model_error',
      message: 'model crashed',
      serviceError: 'ModelStreamError',
    });
  });

  it('calls a stream without a finish_reason cut off: unavailable, or a timeout once aborted', async () => {
    // Prepare
    runtime
      .on(InvokeEndpointWithResponseStreamCommand)
      .resolvesOnce({ Body: parts(`${chunk('Two')}\n`), $metadata: {} })
      .resolves({ Body: parts(`${chunk('Two')}\n`), $metadata: {} });
    const deadline = new AbortController();
    deadline.abort();

    // Act
    const ended = await failure(collect(models().stream(QWEN, TURN, live())));
    const abandoned = await failure(collect(models().stream(QWEN, TURN, deadline.signal)));

    // Assess
    expect(ended.reason).toBe('unavailable');
    expect(abandoned.reason).toBe('timeout');
  });

  it('calls an error line in the stream a model error', async () => {
    // Prepare
    streaming(`${chunk('Two')}\n{"object":"error","message":"engine died","code":500}\n`);

    // Act
    const mapped = await failure(collect(models().stream(QWEN, TURN, live())));

    // Assess
    expect(mapped).toMatchObject({ reason: 'model_error', message: 'engine died' });
  });
});
