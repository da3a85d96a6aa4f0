/**
 * One HTTP exchange with timeouts and retries, the part of the client that knows nothing of routes:
 * the API calls and the result downloads both go through `sendWithRetries`, which hands a success
 * answer's body to a `BodyReader` (whole in memory for an API answer, chunk by chunk to a file for an
 * archive). A body that breaks off is retried like a request that got no answer.
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { concatBytes } from '../../lambdas/domain/archive/bytes.ts';
import { NetworkError, SynthForgeError, TimeoutError } from './errors.ts';
import { backoffDelay, type RetryPolicy, shouldRetryAnswer, type Timers, wait } from './retry.ts';

/** The `fetch` the client uses: the platform's, or one the caller supplies (a proxy agent, a test double). */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

/** One request, as sent on every attempt. */
export interface OutgoingRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** Whether sending it twice is harmless (see `isRepeatable`). */
  repeatable: boolean;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

/** A success answer, its body as its `BodyReader` made it. */
export interface ReceivedAnswer<Body = Uint8Array> {
  status: number;
  headers: Headers;
  body: Body;
}

/**
 * Consumes a success answer's body. It is called once per attempt that gets a success answer, so a
 * retried request starts the body over: a reader that writes somewhere must start from scratch on
 * each call. An error from `chunks` (the connection broke, the attempt timed out) makes the attempt
 * fail and be retried; any other error the reader throws (a full disk) ends the call at once.
 */
export type BodyReader<Body> = (chunks: AsyncIterable<Uint8Array>) => Promise<Body>;

/** The whole body in memory: for API answers, which are small, and `ApiClient.fetchResult`. */
export const readWholeBody: BodyReader<Uint8Array> = async (chunks) => {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return concatBytes(parts);
};

/**
 * Writes the body to `path`, replacing whatever an earlier attempt (or an earlier run) left there,
 * and resolves with the bytes written. Chunks go to disk as they arrive, with backpressure, so memory
 * holds only the chunks in flight whatever the body's size.
 */
export function writeBodyToFile(path: string): BodyReader<number> {
  return async (chunks) => {
    const file = createWriteStream(path);
    await pipeline(chunks, file);
    return file.bytesWritten;
  };
}

/** `reader`, with `onBytes` told the length of each chunk as it arrives (a throw ends the call). */
export function reportingBytes<Body>(
  reader: BodyReader<Body>,
  onBytes: ((bytes: number) => void) | undefined,
): BodyReader<Body> {
  if (onBytes === undefined) return reader;
  return (chunks) =>
    reader(
      (async function* () {
        for await (const chunk of chunks) {
          onBytes(chunk.length);
          yield chunk;
        }
      })(),
    );
}

/** Where the retry loop gets its pauses and dice from: real timers and `Math.random` by default. */
export interface SendContext {
  fetch: FetchFunction;
  policy: RetryPolicy;
  random?: () => number;
  sleep?: Timers['sleep'];
}

/**
 * Sends `request` until it succeeds, fails for good, or the retry budget is spent. A success (2xx)
 * is returned with its body as `readBody` made it; an error answer is thrown as a `SynthForgeError`,
 * no answer (or a body cut short) as a `NetworkError` or `TimeoutError`, each with the number of
 * requests sent.
 */
export async function sendWithRetries<Body>(
  context: SendContext,
  request: OutgoingRequest,
  readBody: BodyReader<Body>,
): Promise<ReceivedAnswer<Body>> {
  const { policy } = context;
  const sleep = context.sleep ?? wait;
  for (let attempt = 1; ; attempt++) {
    const outcome = await attemptOnce(context.fetch, request, attempt, readBody);
    if (!(outcome instanceof Error)) return outcome;

    const lastAttempt = attempt >= policy.maxAttempts;
    if (outcome instanceof SynthForgeError) {
      // The error already counts its attempts: each attempt builds its own.
      if (lastAttempt || !shouldRetryAnswer(outcome, request.repeatable)) throw outcome;
      const delay = outcome.retryAfterMs ?? backoffDelay(policy, attempt, context.random);
      // A server asking for a longer pause than the policy allows is answered by giving up now.
      if (delay > policy.maxDelayMs) throw outcome;
      await sleep(delay, request.signal);
      continue;
    }
    if (lastAttempt || !request.repeatable) throw outcome;
    await sleep(backoffDelay(policy, attempt, context.random), request.signal);
  }
}

/**
 * One request; an answer that is not a success, and a failure of the transport, come back as an
 * error value rather than thrown. Errors of the body reader's own are thrown: they are not the
 * network's, and another attempt would meet them again.
 */
async function attemptOnce<Body>(
  fetch: FetchFunction,
  request: OutgoingRequest,
  attempt: number,
  readBody: BodyReader<Body>,
): Promise<ReceivedAnswer<Body> | SynthForgeError | NetworkError | TimeoutError> {
  const timeout = AbortSignal.timeout(request.timeoutMs);
  const signal = request.signal ? AbortSignal.any([timeout, request.signal]) : timeout;
  const transportFailure = (error: unknown) => {
    // The caller's own cancellation is not a failure to retry or to wrap.
    if (request.signal?.aborted) throw request.signal.reason;
    if (timeout.aborted) {
      return new TimeoutError(
        `${describe(request)} got no answer within ${request.timeoutMs} ms`,
        request.timeoutMs,
        attempt,
      );
    }
    return new NetworkError(`${describe(request)} failed: ${reasonOf(error)}`, attempt, { cause: error });
  };

  let response: Response;
  try {
    response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: request.body }),
      signal,
      redirect: 'follow',
    });
    if (!response.ok) {
      const text = decodeText(new Uint8Array(await response.arrayBuffer()));
      return SynthForgeError.fromResponse(response.status, text, response.headers, attempt);
    }
  } catch (error) {
    return transportFailure(error);
  }
  try {
    // The body is read under the same timeout: a server that stalls mid-answer is a timeout too.
    const body = await readBody(bodyChunks(response.body));
    return { status: response.status, headers: response.headers, body };
  } catch (error) {
    if (error instanceof BrokenBody) return transportFailure(error.cause);
    // A reader that failed before reading (a file it could not open) has not released the connection.
    await response.body?.cancel().catch(() => {});
    throw error;
  }
}

/** A failure to read the body off the connection, told apart from the body reader's own failures. */
class BrokenBody extends Error {}

/**
 * The body's chunks, with read failures marked as `BrokenBody`. Only the read is guarded, not the
 * `yield`: a consumer that fails (and is thrown into this generator by a stream pipeline) must not be
 * mistaken for a broken connection.
 */
async function* bodyChunks(body: ReadableStream<Uint8Array> | null): AsyncGenerator<Uint8Array> {
  if (body === null) return;
  const reader = body.getReader();
  try {
    for (;;) {
      let next: Awaited<ReturnType<typeof reader.read>>;
      try {
        next = await reader.read();
      } catch (error) {
        throw new BrokenBody('the answer broke off', { cause: error });
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    // A consumer that stopped early must not leave the connection half read; after the end it is a no-op.
    await reader.cancel().catch(() => {});
  }
}

/** Text of a body, replacing what is not UTF-8 rather than failing on it. */
export function decodeText(body: Uint8Array): string {
  return new TextDecoder().decode(body);
}

/** `GET https://host/path`: no query string, which may hold a presigned URL's signature. */
function describe(request: OutgoingRequest): string {
  const url = new URL(request.url);
  return `${request.method} ${url.origin}${url.pathname}`;
}

/** fetch reports every network failure as "fetch failed"; the reason is in its cause chain. */
function reasonOf(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    parts.push(typeof code === 'string' ? `${current.message} (${code})` : current.message);
    current = current.cause;
  }
  return parts.length > 0 ? parts.join(': ') : String(error);
}
