/**
 * A Bedrock model backend that forwards to a model server speaking OpenAI chat completions on the
 * SageMaker container contract (`POST /invocations`), such as the local vision model: the Converse
 * request becomes a chat-completions request with `stream: true`, and the server's jsonlines chunks
 * become the answer's tokens as they arrive.
 *
 * - Images travel as `image_url` parts with `data:image/<format>;base64,` URLs; videos as
 *   `video_url` parts with `data:video/<type>;base64,` URLs (vLLM's extension: a server without it
 *   answers 400, which the caller gets as ValidationException).
 * - Chunk lines may carry a `data: ` prefix (server-sent events); blank lines and `[DONE]` are skipped.
 * - The server's errors map onto Bedrock's: 400/422 ValidationException, 408/504
 *   ModelTimeoutException, 429 ThrottlingException, 502/503 or no server ServiceUnavailableException,
 *   any other ModelErrorException; an `error` chunk part-way is the model's failure.
 */
import {
  BedrockError,
  type BedrockModelBackend,
  type EmulatedContentBlock,
  type EmulatedConverseRequest,
  type ModelCompletion,
  type StopReason,
} from './runtime.ts';

export interface ChatCompletionsBackendOptions {
  /** The request's `model` and the answers' `served_by`, e.g. `synthforge/local-vision`. */
  model: string;
}

/** OpenAI's `finish_reason` as Converse's `stopReason`. */
const STOP_REASONS: Record<string, StopReason> = {
  stop: 'end_turn',
  length: 'max_tokens',
  content_filter: 'content_filtered',
  tool_calls: 'tool_use',
};

const VIDEO_TYPES: Record<string, string> = {
  mkv: 'x-matroska',
  mov: 'quicktime',
  mp4: 'mp4',
  webm: 'webm',
  flv: 'x-flv',
  mpeg: 'mpeg',
  mpg: 'mpeg',
  wmv: 'x-ms-wmv',
  three_gp: '3gpp',
};

interface ChatCompletionChunk {
  choices?: { delta?: { content?: unknown }; finish_reason?: unknown; stop_reason?: unknown }[];
  usage?: { prompt_tokens?: unknown; completion_tokens?: unknown };
  error?: { message?: unknown };
}

/** The backend that answers through the chat-completions server at `url` (its `/invocations`). */
export function chatCompletionsBackend(
  url: string,
  options: ChatCompletionsBackendOptions,
): BedrockModelBackend {
  const invocations = `${url.replace(/\/+$/, '')}/invocations`;
  return {
    servedBy: options.model,
    async *converse(request, signal) {
      const response = await post(invocations, toChatCompletionsRequest(request, options.model), signal);
      const completion: ModelCompletion = {};
      for await (const line of lines(response.body, signal)) {
        const chunk = parseChunkLine(line);
        if (!chunk) continue;
        if (chunk.error) throw new Error(`the model server failed: ${String(chunk.error.message)}`);
        const choice = chunk.choices?.[0];
        const text = choice?.delta?.content;
        if (typeof text === 'string' && text !== '') yield text;
        if (typeof choice?.finish_reason === 'string') {
          // vLLM names the stop sequence it met in `stop_reason`; OpenAI only says `stop`.
          completion.stopReason =
            choice.finish_reason === 'stop' && typeof choice.stop_reason === 'string'
              ? 'stop_sequence'
              : (STOP_REASONS[choice.finish_reason] ?? 'end_turn');
        }
        if (typeof chunk.usage?.prompt_tokens === 'number')
          completion.inputTokens = chunk.usage.prompt_tokens;
        if (typeof chunk.usage?.completion_tokens === 'number') {
          completion.outputTokens = chunk.usage.completion_tokens;
        }
      }
      return completion;
    },
  };
}

/** The Converse request as an OpenAI chat-completions request that streams. */
export function toChatCompletionsRequest(
  request: EmulatedConverseRequest,
  model: string,
): Record<string, unknown> {
  const { maxTokens, temperature, topP, stopSequences } = request.inferenceConfig;
  return {
    model,
    messages: [
      ...(request.system.length > 0 ? [{ role: 'system', content: request.system.join('\n\n') }] : []),
      ...request.messages.map((message) => ({
        role: message.role,
        // Text alone as a string: servers that take parts for users may still want a string from assistants.
        content: message.content.every((block) => block.type === 'text')
          ? message.content.map((block) => block.text).join('\n')
          : message.content.map(toPart),
      })),
    ],
    ...(maxTokens === undefined ? {} : { max_tokens: maxTokens }),
    ...(temperature === undefined ? {} : { temperature }),
    ...(topP === undefined ? {} : { top_p: topP }),
    ...(stopSequences === undefined ? {} : { stop: stopSequences }),
    stream: true,
    stream_options: { include_usage: true },
  };
}

function toPart(block: EmulatedContentBlock): Record<string, unknown> {
  const base64 = () => Buffer.from(block.type === 'text' ? '' : block.bytes).toString('base64');
  switch (block.type) {
    case 'text':
      return { type: 'text', text: block.text };
    case 'image':
      return { type: 'image_url', image_url: { url: `data:image/${block.format};base64,${base64()}` } };
    case 'video':
      return {
        type: 'video_url',
        video_url: { url: `data:video/${VIDEO_TYPES[block.format]};base64,${base64()}` },
      };
  }
}

async function post(
  url: string,
  body: unknown,
  signal: AbortSignal,
): Promise<Response & { body: ReadableStream }> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/jsonlines' },
      body: JSON.stringify(body),
      signal,
    });
  } catch (error) {
    if (signal.aborted) throw error;
    throw new BedrockError(
      'ServiceUnavailableException',
      `The model server at ${url} cannot be reached: ${String(error)}`,
    );
  }
  if (!response.ok) throw await serverError(response);
  if (!response.body) throw new Error('the model server answered without a body');
  return response as Response & { body: ReadableStream };
}

/** The model server's error status and message as the Bedrock error a caller gets. */
async function serverError(response: Response): Promise<BedrockError> {
  const text = await response.text().catch(() => '');
  let message = text;
  try {
    const json = JSON.parse(text) as { error?: { message?: unknown }; message?: unknown };
    message = String(json.error?.message ?? json.message ?? text);
  } catch {
    // Not JSON: its text is the message.
  }
  const detail = `The model server answered ${response.status}: ${message || response.statusText}`;
  const type =
    {
      400: 'ValidationException',
      422: 'ValidationException',
      408: 'ModelTimeoutException',
      504: 'ModelTimeoutException',
      429: 'ThrottlingException',
      502: 'ServiceUnavailableException',
      503: 'ServiceUnavailableException',
    }[response.status] ?? 'ModelErrorException';
  return new BedrockError(type, detail);
}

/** A jsonlines line as its chunk; undefined for a blank line or the end marker. */
function parseChunkLine(line: string): ChatCompletionChunk | undefined {
  const data = line.trim().replace(/^data:\s*/, '');
  if (data === '' || data === '[DONE]') return undefined;
  try {
    return JSON.parse(data) as ChatCompletionChunk;
  } catch {
    throw new Error(`the model server sent a line that is not JSON: ${data.slice(0, 200)}`);
  }
}

/** The body's lines as they arrive; a chunk may hold several lines or part of one. */
async function* lines(body: ReadableStream<Uint8Array>, signal: AbortSignal): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = '';
  for await (const bytes of body) {
    signal.throwIfAborted();
    pending += decoder.decode(bytes, { stream: true });
    const complete = pending.split('\n');
    pending = complete.pop() ?? '';
    yield* complete;
  }
  pending += decoder.decode();
  if (pending !== '') yield pending;
}
