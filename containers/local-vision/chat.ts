/**
 * The OpenAI chat-completions request as synthforge/local-vision reads it, and the shapes it answers
 * with: the protocol the LMI container's vLLM speaks on SageMaker (`POST /invocations` with a
 * `messages` field), so that the gateway's client drives either.
 *
 * Read: `messages` (each `{role, content}`, content a string or an array of `text` and `image_url`
 * parts), `max_tokens` (or its newer name `max_completion_tokens`), `temperature`, `stream`, `model`
 * and `n` (1 only). Images are base64 `data:` URLs; an http(s) URL is refused, as this model
 * downloads nothing. Other fields (`top_p`, `seed`, `stop`, `stream_options`, ...) are accepted and
 * ignored, as vLLM accepts fields it does not use.
 *
 * Errors are OpenAI's: `{"error": {"message", "type": "invalid_request_error", "param", "code"}}`.
 */
import { detectImageFormat, NOT_AN_IMAGE } from './analyze.ts';

/** The most images one request may carry: the most the stood-in models take (Qwen2.5-VL 32B: 20). */
export const MAX_IMAGES = 20;
/** OpenAI's and vLLM's range. */
export const MAX_TEMPERATURE = 2;
const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool']);

/** A request as read: its texts and images in conversation order, and its settings. */
export interface ChatRequest {
  texts: string[];
  images: Uint8Array[];
  maxTokens: number | undefined;
  temperature: number | undefined;
  stream: boolean;
  model: string | undefined;
}

/** A request this model refuses, with the field at fault: a 400 (or `status`). */
export class RequestError extends Error {
  readonly param: string | null;
  readonly status: number;
  constructor(message: string, param: string | null = null, status = 400) {
    super(message);
    this.name = 'RequestError';
    this.param = param;
    this.status = status;
  }
}

/** Checks a decoded JSON body; a RequestError naming the field at fault when it is not a valid request. */
export function parseChatRequest(body: unknown): ChatRequest {
  if (!isRecord(body)) throw new RequestError('the request body must be a JSON object');
  const { messages } = body;
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new RequestError('"messages" must be a non-empty array of chat messages', 'messages');
  }
  const texts: string[] = [];
  const images: Uint8Array[] = [];
  messages.forEach((message, i) => {
    readMessage(message, `messages[${i}]`, texts, images);
  });
  if (images.length > MAX_IMAGES) {
    throw new RequestError(`at most ${MAX_IMAGES} images per request, got ${images.length}`, 'messages');
  }
  const maxTokens = positiveInteger(body, 'max_tokens') ?? positiveInteger(body, 'max_completion_tokens');
  const temperature = optionalNumber(body, 'temperature', 0, MAX_TEMPERATURE);
  const stream = body.stream ?? false;
  if (typeof stream !== 'boolean') throw new RequestError('"stream" must be a boolean', 'stream');
  const model = body.model ?? undefined;
  if (model !== undefined && (typeof model !== 'string' || model.trim() === '')) {
    throw new RequestError('"model" must be a non-empty string', 'model');
  }
  const n = body.n ?? 1;
  if (n !== 1) throw new RequestError('"n" must be 1: this model gives one answer', 'n');
  return { texts, images, maxTokens, temperature, stream, model };
}

function readMessage(message: unknown, path: string, texts: string[], images: Uint8Array[]): void {
  if (!isRecord(message)) throw new RequestError(`${path} must be an object with "role" and "content"`, path);
  if (typeof message.role !== 'string' || !ROLES.has(message.role)) {
    throw new RequestError(`${path}.role must be one of ${[...ROLES].join(', ')}`, `${path}.role`);
  }
  const { content } = message;
  if (typeof content === 'string') {
    texts.push(content);
    return;
  }
  // An assistant turn that only called tools has no content.
  if ((content === null || content === undefined) && message.role === 'assistant') return;
  if (!Array.isArray(content)) {
    throw new RequestError(
      `${path}.content must be a string or an array of content parts`,
      `${path}.content`,
    );
  }
  content.forEach((part, j) => {
    const partPath = `${path}.content[${j}]`;
    if (!isRecord(part)) throw new RequestError(`${partPath} must be an object with "type"`, partPath);
    if (part.type === 'text') {
      if (typeof part.text !== 'string')
        throw new RequestError(`${partPath}.text must be a string`, partPath);
      texts.push(part.text);
    } else if (part.type === 'image_url') {
      const url = isRecord(part.image_url) ? part.image_url.url : undefined;
      if (typeof url !== 'string') {
        throw new RequestError(`${partPath}.image_url.url must be a string`, `${partPath}.image_url`);
      }
      images.push(imageFromUrl(url, images.length + 1, `${partPath}.image_url`));
    } else {
      throw new RequestError(
        `${partPath}: content parts of type ${JSON.stringify(part.type)} are not supported; send "text" or "image_url"`,
        partPath,
      );
    }
  });
}

const DATA_URL = /^data:([^;,]*)((?:;[^;,]*)*),(.*)$/s;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The bytes of a `data:image/...;base64,...` URL, checked to be a PNG, JPEG, GIF or WebP by their
 * signature (the declared media type is not trusted: vLLM reads the bytes too).
 */
export function imageFromUrl(url: string, number: number, param: string): Uint8Array {
  const match = DATA_URL.exec(url);
  if (!match) {
    const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0] ?? 'a relative URL';
    throw new RequestError(
      `image ${number}: only base64 data: URLs are accepted, not ${scheme} (synthforge/local-vision downloads nothing)`,
      param,
    );
  }
  const [, mediaType = '', parameters = '', payload = ''] = match;
  if (!parameters.split(';').includes('base64')) {
    throw new RequestError(`image ${number}: the data: URL must be base64 (";base64,")`, param);
  }
  if (mediaType !== '' && !mediaType.toLowerCase().startsWith('image/')) {
    throw new RequestError(
      `image ${number}: the data: URL's media type is ${mediaType}, not an image`,
      param,
    );
  }
  const base64 = payload.replace(/\s+/g, '');
  if (base64.length % 4 === 1 || !BASE64.test(base64)) {
    throw new RequestError(`image ${number}: the data: URL's payload is not valid base64`, param);
  }
  const bytes = new Uint8Array(Buffer.from(base64, 'base64'));
  if (!detectImageFormat(bytes)) {
    throw new RequestError(`image ${number} ${NOT_AN_IMAGE}`, param);
  }
  return bytes;
}

function positiveInteger(body: Record<string, unknown>, name: string): number | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RequestError(`"${name}" must be an integer of at least 1, got ${JSON.stringify(value)}`, name);
  }
  return value;
}

function optionalNumber(
  body: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new RequestError(
      `"${name}" must be a number from ${min} to ${max}, got ${JSON.stringify(value)}`,
      name,
    );
  }
  return value;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export type FinishReason = 'stop' | 'length';

/** A whole answer: `chat.completion`. */
export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: [
    {
      index: 0;
      message: { role: 'assistant'; content: string };
      finish_reason: FinishReason;
      logprobs: null;
    },
  ];
  usage: Usage;
}

/** One line of a streamed answer: `chat.completion.chunk`; the last one has the finish reason and usage. */
export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: [
    {
      index: 0;
      delta: { role?: 'assistant'; content?: string };
      finish_reason: FinishReason | null;
      logprobs: null;
    },
  ];
  usage?: Usage;
}

/** OpenAI's error body. */
export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: number | null };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
