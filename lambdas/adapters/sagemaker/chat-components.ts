/**
 * The EMD models: vision language models served by vLLM, each an inference component of one
 * SageMaker real-time endpoint, called with OpenAI chat completions through InvokeEndpoint (and
 * InvokeEndpointWithResponseStream). The local platform's endpoint host answers the same calls from
 * its local model, which names itself in the answer's `model`.
 */
import {
  InvokeEndpointCommand,
  InvokeEndpointWithResponseStreamCommand,
  type ResponseStream,
  type SageMakerRuntimeClient,
} from '@aws-sdk/client-sagemaker-runtime';
import { LOCAL_VISION_MODEL } from '../../../contracts/inference-vocabulary.ts';
import {
  type ChatModelPort,
  type ChatReply,
  type ChatStreamEvent,
  type ChatTurn,
  type DeployedSageMakerModel,
  type Frame,
  ModelCallError,
  type ModelCallReason,
} from '../../domain/inference/ports.ts';
import { cutOff, newMessageId, type ServiceFailure, toModelCallError } from '../model-calls.ts';

/** SageMaker's runtime errors by name; ValidationError and ModelError are read further (`reasonOf`). */
const REASONS: Record<string, ModelCallReason> = {
  ThrottlingException: 'throttled',
  ModelNotReadyException: 'throttled',
  ServiceUnavailable: 'unavailable',
  InternalFailure: 'unavailable',
  InternalDependencyException: 'unavailable',
  ModelStreamError: 'model_error',
  InternalStreamFailure: 'unavailable',
};

/**
 * What a ModelError's container said with a status that means "your input": vLLM answers 400 for a
 * prompt longer than the model's context or more images than it takes per prompt. That is the
 * caller's to fix (`rejected`, 400), not a failure of the model (`model_error`).
 */
const INPUT_REFUSED = new Set([400, 413, 422]);

interface SageMakerFailure extends ServiceFailure {
  OriginalStatusCode?: number;
  OriginalMessage?: string;
}

function reasonOf(failure: SageMakerFailure): ModelCallReason | undefined {
  const message = failure.message ?? '';
  // SageMaker throttles some callers with a bare 400 and no message (see model-endpoints.ts).
  const bare = message === '' || message === 'UnknownError';
  if (bare && (failure.name === 'ValidationError' || failure.$metadata?.httpStatusCode === 400)) {
    return 'throttled';
  }
  switch (failure.name) {
    case 'ValidationError':
      // A component with no copies (scaled to zero) answers this; its scaling policy wakes it.
      if (/has no capacity/i.test(message)) return 'no_capacity';
      return /not found|could not find|does not exist/i.test(message) ? 'not_found' : 'rejected';
    case 'ModelError':
      return INPUT_REFUSED.has(failure.OriginalStatusCode ?? 0) ? 'rejected' : 'model_error';
    default:
      return REASONS[failure.name ?? ''];
  }
}

function mapError(error: unknown, signal: AbortSignal): ModelCallError {
  const mapped = toModelCallError(error, signal, reasonOf);
  const original = (error as SageMakerFailure | undefined)?.OriginalMessage;
  // A ModelError's own message only says that the container failed; what it said is the model's.
  return original && mapped.serviceError === 'ModelError'
    ? new ModelCallError(mapped.reason, containerMessage(original), mapped.serviceError)
    : mapped;
}

/** vLLM's errors are JSON (`{"object":"error","message":…}`); anything else is kept as it is. */
function containerMessage(original: string): string {
  try {
    const parsed: unknown = JSON.parse(original);
    const message = messageOf(parsed);
    if (message) return message;
  } catch {
    // Not JSON: the container's text is the message.
  }
  return original;
}

function messageOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { message, error } = body as { message?: unknown; error?: unknown };
  if (typeof message === 'string') return message;
  if (typeof error === 'string') return error;
  return messageOf(error);
}

/** The parts of a `chat.completion` and a `chat.completion.chunk` read here. */
interface Completion {
  id?: string;
  model?: string;
  choices?: { message?: { content?: unknown }; delta?: { content?: unknown }; finish_reason?: unknown }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
}

/**
 * OpenAI's `finish_reason` in the seed's vocabulary (Anthropic's `stop_reason`, which Bedrock's
 * Converse also uses), so that an answer says why it ended the same way whichever model gave it.
 */
const STOP_REASONS: Readonly<Record<string, string>> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  content_filter: 'content_filtered',
};
const stopReasonOf = (finishReason: string): string => STOP_REASONS[finishReason] ?? finishReason;

export class SageMakerChatModels implements ChatModelPort<DeployedSageMakerModel> {
  constructor(private readonly client: SageMakerRuntimeClient) {}

  async complete(model: DeployedSageMakerModel, turn: ChatTurn, signal: AbortSignal): Promise<ChatReply> {
    let body: Uint8Array | undefined;
    try {
      const output = await this.client.send(
        new InvokeEndpointCommand({ ...target(model), Body: chatRequest(model, turn, false) }),
        { abortSignal: signal },
      );
      body = output.Body;
    } catch (error) {
      throw mapError(error, signal);
    }
    const completion = parseCompletion(new TextDecoder().decode(body));
    const choice = completion.choices?.[0];
    const answeredBy = answeredByOf(completion.model);
    return {
      id: completion.id ?? newMessageId(),
      text: typeof choice?.message?.content === 'string' ? choice.message.content : '',
      inputTokens: completion.usage?.prompt_tokens ?? 0,
      outputTokens: completion.usage?.completion_tokens ?? 0,
      ...(typeof choice?.finish_reason === 'string'
        ? { stopReason: stopReasonOf(choice.finish_reason) }
        : {}),
      ...(answeredBy === undefined ? {} : { answeredBy }),
    };
  }

  async *stream(
    model: DeployedSageMakerModel,
    turn: ChatTurn,
    signal: AbortSignal,
  ): AsyncGenerator<ChatStreamEvent, void, undefined> {
    const last: Completion = {};
    let stopReason: string | undefined;
    let deltas = 0;
    try {
      const output = await this.client.send(
        new InvokeEndpointWithResponseStreamCommand({
          ...target(model),
          Body: chatRequest(model, turn, true),
        }),
        { abortSignal: signal },
      );
      for await (const line of jsonLines(output.Body ?? [])) {
        const chunk = parseCompletion(line);
        last.id ??= chunk.id;
        last.model ??= chunk.model;
        if (chunk.usage) last.usage = chunk.usage;
        const choice = chunk.choices?.[0];
        if (typeof choice?.finish_reason === 'string') stopReason = stopReasonOf(choice.finish_reason);
        const text = choice?.delta?.content;
        if (typeof text === 'string' && text.length > 0) {
          deltas += 1;
          yield { type: 'delta', text };
        }
      }
    } catch (error) {
      throw mapError(error, signal);
    }
    // vLLM's last chunk always has a finish_reason: a stream without one was cut off.
    if (stopReason === undefined) throw cutOff(signal);
    const answeredBy = answeredByOf(last.model);
    yield {
      type: 'end',
      id: last.id ?? newMessageId(),
      // Without `usage` (a server that ignores stream_options), an estimate: vLLM sends a chunk per
      // generated token, and a prompt is about 4 characters a token plus a token per 28×28 pixels of
      // each image (Qwen2-VL's patches). Video is not counted.
      inputTokens: last.usage?.prompt_tokens ?? estimatedPromptTokens(turn),
      outputTokens: last.usage?.completion_tokens ?? deltas,
      stopReason,
      ...(answeredBy === undefined ? {} : { answeredBy }),
    };
  }
}

function target(model: DeployedSageMakerModel) {
  return {
    EndpointName: model.deployment.endpointName,
    InferenceComponentName: model.deployment.componentName,
    ContentType: 'application/json',
  };
}

/** The OpenAI chat completions request vLLM serves; media is inlined as data URIs. */
export function chatRequest(model: DeployedSageMakerModel, turn: ChatTurn, stream: boolean): string {
  return JSON.stringify({
    model: model.modelId,
    messages: [{ role: 'user', content: [...turn.frames.map(framePart), { type: 'text', text: turn.text }] }],
    max_tokens: turn.maxTokens,
    temperature: turn.temperature,
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  });
}

function framePart(frame: Frame) {
  if (frame.bytes === undefined) {
    // The domain sends a video by S3 location to Bedrock only; the invoke payload carries bytes.
    throw new ModelCallError('rejected', 'an EMD model takes a video only inline, not from S3');
  }
  const data = Buffer.from(frame.bytes).toString('base64');
  return frame.kind === 'image'
    ? { type: 'image_url', image_url: { url: `data:image/${frame.format};base64,${data}` } }
    : // vLLM's own part type for a video.
      { type: 'video_url', video_url: { url: `data:video/${frame.format};base64,${data}` } };
}

/**
 * The stream's lines, whatever the PayloadPart boundaries: a part may end inside a line (or inside a
 * UTF-8 character) and hold several. LMI writes JSON lines; an SSE formatter writes `data: …` lines,
 * blank lines and `data: [DONE]`; both read the same here.
 */
async function* jsonLines(parts: AsyncIterable<ResponseStream> | readonly ResponseStream[]) {
  const decoder = new TextDecoder();
  let pending = '';
  for await (const part of parts) {
    // The SDK throws these from the iterator itself; as members they mean the same.
    const failure = part.ModelStreamError ?? part.InternalStreamFailure;
    if (failure) {
      const name = part.ModelStreamError ? 'ModelStreamError' : 'InternalStreamFailure';
      throw Object.assign(new Error(failure.message || failure.Message || name), { name });
    }
    if (!part.PayloadPart?.Bytes) continue;
    pending += decoder.decode(part.PayloadPart.Bytes, { stream: true });
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    yield* payloadLines(lines);
  }
  yield* payloadLines([pending + decoder.decode()]);
}

/** SSE lines that carry no data: comments (`: keep-alive`) and the other fields. */
const NOT_DATA = /^(:|event:|id:|retry:)/;

function* payloadLines(lines: readonly string[]) {
  for (const raw of lines) {
    const trimmed = raw.trim();
    const line = trimmed.replace(/^data:\s*/, '');
    if (line === '' || line === '[DONE]' || NOT_DATA.test(trimmed)) continue;
    yield line;
  }
}

function parseCompletion(text: string): Completion {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ModelCallError(
      'model_error',
      `the model answered with something other than JSON: ${text.slice(0, 200)}`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ModelCallError('model_error', 'the model answered with something other than a chat completion');
  }
  // An error written by the server in place of an answer, with a 200 or inside the stream.
  const body = parsed as Completion & { object?: unknown; error?: unknown };
  if (body.object === 'error' || (body.error !== undefined && body.error !== null)) {
    throw new ModelCallError('model_error', messageOf(body) ?? 'the model failed');
  }
  return body;
}

/**
 * The local model when it stood in for the one asked. Only it is named: a real LMI or vLLM container
 * answers with the name it serves under (often a path, not the Hub id), and that is still the model
 * asked.
 */
function answeredByOf(answered: string | undefined): string | undefined {
  return answered === LOCAL_VISION_MODEL ? answered : undefined;
}

function estimatedPromptTokens(turn: ChatTurn): number {
  const patches = turn.frames.reduce(
    (sum, frame) => sum + (frame.kind === 'image' ? Math.ceil((frame.width * frame.height) / (28 * 28)) : 0),
    0,
  );
  return Math.ceil(turn.text.length / 4) + patches;
}
