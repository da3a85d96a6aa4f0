/**
 * A local Bedrock Runtime: one HTTP/2 server that the real `BedrockRuntimeClient` (default request
 * handler, dummy credentials) reaches through an `endpoint` override, answering `Converse` and
 * `ConverseStream`. It emulates the service only and knows nothing of models: each model id it
 * serves is a `BedrockModelBackend` its owner plugs in (chat-completions.ts forwards to a local model
 * server), and every answer names the model that really answered in
 * `additionalModelResponseFields: { served_by, emulated: true }`. wire-protocol.ts speaks the protocol
 * (converse-request.ts validates and decodes the requests, errors.ts names the errors); this file runs
 * the models, with the faults tests inject.
 *
 * - A model id it does not serve is ResourceNotFoundException 404. Ids are matched as callers send
 *   them (`us.amazon.nova-lite-v1:0`, an inference-profile ARN), once decoded from the path.
 * - `inferenceConfig.maxTokens` is enforced here: a model that yields more is stopped there, and the
 *   answer's `stopReason` is `max_tokens`. The other settings are the backend's to honour.
 * - Usage the backend does not report is estimated: output tokens are the tokens it yielded; input
 *   tokens are the words and punctuation marks of the system and message texts plus a fixed
 *   MEDIA_INPUT_TOKENS per image or video (no tokenizer of the emulated models is at hand).
 * - Injected faults (`throttleNext`, `failNext`, `delayNext`, `failStreamAfter`) apply to the next
 *   requests to one model id, or to any model when it is undefined, in the order they were injected.
 *
 * Not emulated: SigV4 checks, quotas, provisioned throughput, cross-region routing.
 */
import type { Http2Server, ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { listen } from '../support/http.ts';
import type { EmulatedConverseRequest } from './converse-request.ts';
import { BedrockError, type BedrockErrorType, type StreamExceptionType } from './errors.ts';
import {
  type AnswerEnd,
  createBedrockServer,
  HOST,
  type ModelAnswer,
  type StopReason,
} from './wire-protocol.ts';

export type {
  EmulatedContentBlock,
  EmulatedConverseRequest,
  EmulatedMessage,
  ImageFormat,
  VideoFormat,
} from './converse-request.ts';
export { BedrockError, type BedrockErrorType, type StreamExceptionType } from './errors.ts';
export type { StopReason } from './wire-protocol.ts';

/** The input tokens counted for an image or a video when the backend does not count them. */
export const MEDIA_INPUT_TOKENS = 256;

/** What a backend may report once its last token is out; the emulator fills in what it leaves out. */
export interface ModelCompletion {
  inputTokens?: number;
  outputTokens?: number;
  stopReason?: StopReason;
}

/** A model the emulator serves under a model id. */
export interface BedrockModelBackend {
  /** The model that really answers (e.g. `synthforge/local-vision`), named in every answer. */
  readonly servedBy: string;
  /**
   * Yields the answer's text tokens as they are produced, then returns what it counted (or nothing).
   * It stops when `signal` aborts (the caller went away, the emulator stopped). To answer with a
   * Bedrock error it throws a BedrockError (a ThrottlingException when the model is busy); anything
   * else it throws is the model's failure: ModelErrorException, or in a stream
   * modelStreamErrorException.
   */
  converse(
    request: EmulatedConverseRequest,
    signal: AbortSignal,
    // biome-ignore lint/suspicious/noConfusingVoidType: an `async function*` that returns nothing returns void.
  ): AsyncIterable<string, ModelCompletion | void>;
}

export interface BedrockRuntimeOptions {
  /** The model ids served, as callers name them, and what answers for each. */
  models: Record<string, BedrockModelBackend>;
  /** Absent or 0: a free port on 127.0.0.1. */
  port?: number;
  /** Diagnostics (failed requests, abandoned streams); default: none. */
  log?: (message: string, details?: Record<string, unknown>) => void;
}

/** How a `failNext` request fails: the error type, its status (Bedrock's for the type by default), its message. */
export interface InjectedFailure {
  type: BedrockErrorType | (string & {});
  status?: number;
  message?: string;
}

type Fault =
  | { kind: 'fail'; error: BedrockError }
  | { kind: 'delay'; ms: number }
  | { kind: 'failStream'; afterTokens: number; error: BedrockError };

interface PendingFault {
  /** Undefined: the next request to any model. */
  modelId: string | undefined;
  remaining: number;
  fault: Fault;
}

/** Starts the emulator on 127.0.0.1. */
export function startBedrockRuntime(options: BedrockRuntimeOptions): Promise<BedrockRuntime> {
  return BedrockRuntime.start(options);
}

export class BedrockRuntime {
  readonly #models: Map<string, BedrockModelBackend>;
  readonly #server: Http2Server;
  /** HTTP/2 sessions stay open between requests; stop() ends them so the server can close. */
  readonly #sessions = new Set<ServerHttp2Session>();
  #faults: PendingFault[] = [];
  #url = '';
  /** Aborts every model still answering when the emulator stops. */
  readonly #stopped = new AbortController();

  private constructor(options: BedrockRuntimeOptions) {
    this.#models = new Map(Object.entries(options.models));
    this.#server = createBedrockServer(
      { start: (request, stream, signal) => this.#start(request, stream, signal) },
      (message, details) => options.log?.(message, details),
    );
    this.#server.on('session', (session) => {
      this.#sessions.add(session);
      session.once('close', () => this.#sessions.delete(session));
    });
  }

  static async start(options: BedrockRuntimeOptions): Promise<BedrockRuntime> {
    const runtime = new BedrockRuntime(options);
    await listen(runtime.#server, options.port ?? 0);
    runtime.#url = `http://${HOST}:${(runtime.#server.address() as AddressInfo).port}`;
    return runtime;
  }

  /** The URL to give BedrockRuntimeClient as `endpoint` (h2c: its default handler works as it is). */
  get endpoint(): string {
    return this.#url;
  }

  /** The next `count` requests are throttled: 429 ThrottlingException, which the SDK retries. */
  throttleNext(modelId?: string, count = 1): void {
    this.failNext(modelId, count, {
      type: 'ThrottlingException',
      message: 'Too many requests, please wait before trying again.',
    });
  }

  /** The next `count` requests fail with `failure` before the model runs. */
  failNext(
    modelId: string | undefined,
    count = 1,
    failure: InjectedFailure = { type: 'ServiceUnavailableException' },
  ): void {
    const message = failure.message ?? `Injected ${failure.type}.`;
    this.#inject(modelId, count, {
      kind: 'fail',
      error: new BedrockError(failure.type, message, failure.status),
    });
  }

  /** The model of the next `count` requests waits `ms` before it starts: a slow or cold model. */
  delayNext(modelId: string | undefined, ms: number, count = 1): void {
    this.#inject(modelId, count, { kind: 'delay', ms });
  }

  /**
   * The next ConverseStream's model fails after `tokens` tokens: the stream carries them, then the
   * exception `exceptionType`, which the client's iterator throws. Converse requests leave it pending.
   */
  failStreamAfter(
    modelId: string | undefined,
    tokens: number,
    exceptionType: StreamExceptionType = 'modelStreamErrorException',
  ): void {
    const type = exceptionType.charAt(0).toUpperCase() + exceptionType.slice(1);
    const error = new BedrockError(type, `Injected ${exceptionType} after ${tokens} tokens.`);
    this.#inject(modelId, 1, { kind: 'failStream', afterTokens: tokens, error });
  }

  /** Drops every fault injected and not yet used (a test that injected more than it needed). */
  clearFaults(): void {
    this.#faults.length = 0;
  }

  /** Stops the models still answering, ends every connection and closes the server. */
  async stop(): Promise<void> {
    if (this.#stopped.signal.aborted) return;
    this.#stopped.abort();
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const session of this.#sessions) session.destroy();
    await closed;
  }

  #start(request: EmulatedConverseRequest, stream: boolean, signal: AbortSignal): ModelAnswer {
    if (this.#stopped.signal.aborted) {
      throw new BedrockError('ServiceUnavailableException', 'The emulator is stopping.');
    }
    const backend = this.#models.get(request.modelId);
    if (!backend) {
      throw new BedrockError(
        'ResourceNotFoundException',
        `Model ${request.modelId} is not served by this emulator (it serves ${[...this.#models.keys()].join(', ')}).`,
      );
    }
    const failure = this.#take('fail', request.modelId);
    if (failure) throw failure.error;
    return answer(backend, request, {
      signal: AbortSignal.any([signal, this.#stopped.signal]),
      delayMs: this.#take('delay', request.modelId)?.ms ?? 0,
      streamFailure: stream ? this.#take('failStream', request.modelId) : undefined,
    });
  }

  #inject(modelId: string | undefined, count: number, fault: Fault): void {
    if (!Number.isInteger(count) || count < 1)
      throw new Error(`count must be a positive integer, got ${count}`);
    this.#faults.push({ modelId, remaining: count, fault });
  }

  /** The first pending fault of this kind for the model, counted as used. */
  #take<K extends Fault['kind']>(kind: K, modelId: string): Extract<Fault, { kind: K }> | undefined {
    const pending = this.#faults.find(
      (entry) => entry.fault.kind === kind && (entry.modelId === undefined || entry.modelId === modelId),
    );
    if (!pending) return undefined;
    pending.remaining--;
    if (pending.remaining === 0) this.#faults = this.#faults.filter((entry) => entry !== pending);
    return pending.fault as Extract<Fault, { kind: K }>;
  }
}

/**
 * Runs the backend: the injected delay first, then its tokens up to `maxTokens` (it is stopped when
 * it has more), then the answer's end with the usage it did not report estimated.
 */
async function* answer(
  backend: BedrockModelBackend,
  request: EmulatedConverseRequest,
  run: {
    signal: AbortSignal;
    delayMs: number;
    streamFailure: { afterTokens: number; error: BedrockError } | undefined;
  },
): ModelAnswer {
  const { maxTokens } = request.inferenceConfig;
  if (run.delayMs > 0) await sleep(run.delayMs, undefined, { signal: run.signal });
  const tokens = backend.converse(request, run.signal)[Symbol.asyncIterator]();
  let produced = 0;
  let finished = false;
  let completion: ModelCompletion | undefined;
  try {
    for (;;) {
      if (run.streamFailure && produced === run.streamFailure.afterTokens) throw run.streamFailure.error;
      const next = await tokens.next().catch((error: unknown) => {
        finished = true;
        throw modelFailure(backend, error, run.signal);
      });
      if (next.done) {
        finished = true;
        completion = next.value ?? undefined;
        break;
      }
      if (maxTokens !== undefined && produced === maxTokens) break;
      produced++;
      yield next.value;
    }
  } finally {
    // Stopped early (maxTokens, an injected failure, a caller gone): the backend is at a yield.
    if (!finished) await tokens.return?.().catch(() => undefined);
  }
  const outputTokens = finished ? (completion?.outputTokens ?? produced) : produced;
  const inputTokens = completion?.inputTokens ?? estimateInputTokens(request);
  const stopReason: StopReason = finished ? (completion?.stopReason ?? 'end_turn') : 'max_tokens';
  return {
    stopReason,
    usage: { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens },
    additionalModelResponseFields: { served_by: backend.servedBy, emulated: true },
  } satisfies AnswerEnd;
}

/** What a backend threw, as the emulator answers it. */
function modelFailure(backend: BedrockModelBackend, error: unknown, signal: AbortSignal): unknown {
  if (error instanceof BedrockError || signal.aborted) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new BedrockError('ModelErrorException', `The model ${backend.servedBy} failed: ${message}`);
}

function estimateInputTokens(request: EmulatedConverseRequest): number {
  const words = (text: string) => text.match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu)?.length ?? 0;
  let tokens = request.system.reduce((sum, text) => sum + words(text), 0);
  for (const message of request.messages) {
    for (const block of message.content)
      tokens += block.type === 'text' ? words(block.text) : MEDIA_INPUT_TOKENS;
  }
  return tokens;
}
