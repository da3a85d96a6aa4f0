/**
 * `POST /api/stream/{model_name}` read as it arrives: the request is sent (a 429 retried, as for any
 * call), the answer's head checked, and its body parsed as Server-Sent Events chunk by chunk, so that
 * each token reaches the caller as soon as its event is whole, however the bytes were cut on the way.
 * The stream ends with `done`; an `error` event is thrown as a `SynthForgeError` once the events
 * before it have been handed out.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { StreamEvent } from '../../contracts/inference.ts';
import { NetworkError, requestIdOf, SynthForgeError, TimeoutError } from './errors.ts';
import type { FetchFunction } from './http.ts';
import { backoffDelay, type RetryPolicy, shouldRetryAnswer, type Timers, wait } from './retry.ts';

/** An event larger than this is a broken stream, not a token: the parser stops rather than buffer it. */
const MAX_EVENT_CHARS = 8 * 1024 * 1024;

const EVENT_NAMES: ReadonlySet<string> = new Set(['start', 'delta', 'done', 'error']);

/**
 * The SSE messages of a byte stream, each yielded as soon as the blank line that ends it has arrived:
 * an event split across chunks waits for its end, several events in one chunk come out one by one,
 * and a character cut between two chunks is decoded whole.
 */
export async function* serverSentEvents(
  chunks: AsyncIterable<Uint8Array>,
): AsyncGenerator<EventSourceMessage> {
  const ready: EventSourceMessage[] = [];
  let overflow: Error | undefined;
  const parser = createParser({
    onEvent: (message) => ready.push(message),
    // Unknown fields and bad `retry:` values are ignored, as the SSE standard asks; only an overflow ends it.
    onError: (error) => {
      if (error.type === 'max-buffer-size-exceeded') overflow = error;
    },
    maxBufferSize: MAX_EVENT_CHARS,
  });
  const decoder = new TextDecoder();
  const feed = function* (text: string) {
    parser.feed(text);
    if (overflow) throw overflow;
    yield* ready.splice(0);
  };
  for await (const chunk of chunks) yield* feed(decoder.decode(chunk, { stream: true }));
  // An event without its closing blank line when the body ends is dropped, as the standard says.
  yield* feed(decoder.decode());
}

/** Where a stream's events come from, for the errors it throws. */
export interface StreamSource {
  /** `streamInference qwen2-vl-7b`. */
  label: string;
  status: number;
  requestId: string | undefined;
}

/**
 * The stream route's events, typed: `start`, the `delta`s, then `done`, after which the body is let
 * go. An `error` event is thrown as a `SynthForgeError` (its status, code and `retry_after`); a body
 * that ends before `done` is a `NetworkError`. Events of names this SDK does not know are skipped: a
 * newer server may add some.
 */
export async function* inferenceEvents(
  messages: AsyncIterable<EventSourceMessage>,
  source: StreamSource,
): AsyncGenerator<StreamEvent> {
  for await (const message of messages) {
    if (message.event !== undefined && !EVENT_NAMES.has(message.event)) continue;
    const event = parseEvent(message, source);
    if (event.type === 'error') {
      throw new SynthForgeError({
        status: event.status,
        code: event.code.toUpperCase(),
        message: event.error,
        requestId: source.requestId,
        retryAfterMs: event.retry_after === undefined ? undefined : event.retry_after * 1000,
      });
    }
    yield event;
    if (event.type === 'done') return;
  }
  throw new NetworkError(`${source.label}: the stream ended before its done event`, 1);
}

function parseEvent(message: EventSourceMessage, source: StreamSource): StreamEvent {
  const invalid = (reason: string) =>
    new SynthForgeError({
      status: source.status,
      code: 'INVALID_RESPONSE',
      message: `${source.label}: an event does not match the API contract: ${reason}`,
      details: { event: message.event, data: message.data.slice(0, 200) },
      requestId: source.requestId,
    });
  let data: unknown;
  try {
    data = JSON.parse(message.data);
  } catch {
    throw invalid('its data is not JSON');
  }
  const parsed = StreamEvent.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalid(issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'schema mismatch');
  }
  if (message.event !== undefined && message.event !== parsed.data.type) {
    throw invalid(`an "${message.event}" event carries a ${parsed.data.type}`);
  }
  return parsed.data;
}

/** The stream request, as sent on every attempt. */
export interface EventStreamRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** `streamInference qwen2-vl-7b`, for messages. */
  label: string;
  /** For the answer's head, and then for each wait between two chunks of its body. */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

export interface EventStreamContext {
  fetch: FetchFunction;
  policy: RetryPolicy;
  sleep?: Timers['sleep'];
  random?: () => number;
}

/** A stream whose head said 200 `text/event-stream`; its body not read yet. */
export interface OpenedEventStream {
  source: StreamSource;
  /** The body's chunks, under the idle timeout; stopping early lets the connection go. */
  chunks: AsyncGenerator<Uint8Array>;
}

/**
 * Sends the stream request until its head comes back 200. A 429 is retried as any call's is (it is
 * refused before a model is called); any other error answer is thrown as a `SynthForgeError` at once,
 * as is a request that got no answer: a POST without an `Idempotency-Key` is never sent twice.
 */
export async function openEventStream(
  context: EventStreamContext,
  request: EventStreamRequest,
): Promise<OpenedEventStream> {
  const sleep = context.sleep ?? wait;
  for (let attempt = 1; ; attempt++) {
    const opened = await attemptOpen(context.fetch, request, attempt);
    if (!(opened instanceof SynthForgeError)) return opened;
    const delay = opened.retryAfterMs ?? backoffDelay(context.policy, attempt, context.random);
    const retry =
      attempt < context.policy.maxAttempts &&
      shouldRetryAnswer(opened, false) &&
      delay <= context.policy.maxDelayMs;
    if (!retry) throw opened;
    await sleep(delay, request.signal);
  }
}

async function attemptOpen(
  fetch: FetchFunction,
  request: EventStreamRequest,
  attempt: number,
): Promise<OpenedEventStream | SynthForgeError> {
  const guard = new IdleGuard(request, attempt);
  guard.arm();
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
      signal: guard.signal,
    });
    if (!response.ok) {
      return SynthForgeError.fromResponse(response.status, await response.text(), response.headers, attempt);
    }
  } catch (error) {
    throw guard.failure(error);
  } finally {
    guard.disarm();
  }
  const source = { label: request.label, status: response.status, requestId: requestIdOf(response.headers) };
  const contentType = response.headers.get('content-type') ?? '';
  if (!contentType.startsWith('text/event-stream') || response.body === null) {
    await response.body?.cancel().catch(() => {});
    throw new SynthForgeError({
      ...source,
      code: 'INVALID_RESPONSE',
      message: `${request.label}: the answer is not an event stream (content-type ${JSON.stringify(contentType)})`,
      attempts: attempt,
    });
  }
  return { source, chunks: guardedChunks(response.body, guard) };
}

/** The body's chunks, each read under the idle timeout; the reader is let go however the loop ends. */
async function* guardedChunks(
  body: ReadableStream<Uint8Array>,
  guard: IdleGuard,
): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      let next: Awaited<ReturnType<typeof reader.read>>;
      guard.arm();
      try {
        next = await reader.read();
      } catch (error) {
        throw guard.failure(error);
      } finally {
        // Only the wait for the server counts: a caller slow to take an event does not time the stream out.
        guard.disarm();
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/**
 * One attempt's deadline: armed while waiting for the server (the head, then each chunk), so that a
 * stream may last as long as its model speaks but a silent server is given up on after `timeoutMs`.
 */
class IdleGuard {
  readonly #controller = new AbortController();
  readonly #request: EventStreamRequest;
  readonly #attempt: number;
  readonly signal: AbortSignal;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timedOut = false;

  constructor(request: EventStreamRequest, attempt: number) {
    this.#request = request;
    this.#attempt = attempt;
    this.signal = request.signal
      ? AbortSignal.any([this.#controller.signal, request.signal])
      : this.#controller.signal;
  }

  arm(): void {
    this.disarm();
    this.#timer = setTimeout(() => {
      this.#timedOut = true;
      this.#controller.abort();
    }, this.#request.timeoutMs);
  }

  disarm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** What a failed read or fetch is: the caller's cancellation, this guard's timeout, or the network's. */
  failure(error: unknown): unknown {
    if (this.#request.signal?.aborted) return this.#request.signal.reason;
    if (this.#timedOut) {
      return new TimeoutError(
        `${this.#request.label}: the server sent nothing for ${this.#request.timeoutMs} ms`,
        this.#request.timeoutMs,
        this.#attempt,
      );
    }
    const reason = error instanceof Error ? error.message : String(error);
    return new NetworkError(`${this.#request.label} failed: ${reason}`, this.#attempt, { cause: error });
  }
}
