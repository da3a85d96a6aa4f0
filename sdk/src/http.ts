/**
 * One HTTP exchange with timeouts and retries, the part of the client that knows nothing of routes:
 * the API calls and the result downloads both go through `sendWithRetries`.
 */
import { NetworkError, SynthForgeError, TimeoutError } from './errors.ts';
import { backoffDelay, type RetryPolicy, shouldRetryAnswer, wait } from './retry.ts';

/** The `fetch` the client uses: the platform's, or one the caller supplies (a proxy agent, a test double). */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

/** One request, as sent on every attempt. */
export interface OutgoingRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** Whether sending it twice is harmless (see `isRepeatable`). */
  repeatable: boolean;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

/** A success answer with its whole body read. */
export interface ReceivedAnswer {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

/** Where the retry loop gets its clock and dice from; tests of the loop never need to replace them. */
export interface SendContext {
  fetch: FetchFunction;
  policy: RetryPolicy;
  random?: () => number;
}

/**
 * Sends `request` until it succeeds, fails for good, or the retry budget is spent. A success (2xx)
 * is returned with its body; an error answer is thrown as a `SynthForgeError`, no answer as a
 * `NetworkError` or `TimeoutError`, each with the number of requests sent.
 */
export async function sendWithRetries(
  context: SendContext,
  request: OutgoingRequest,
): Promise<ReceivedAnswer> {
  const { policy } = context;
  for (let attempt = 1; ; attempt++) {
    const outcome = await attemptOnce(context.fetch, request, attempt);
    if (!(outcome instanceof Error)) return outcome;

    const lastAttempt = attempt >= policy.maxAttempts;
    if (outcome instanceof SynthForgeError) {
      // The error already counts its attempts: each attempt builds its own.
      if (lastAttempt || !shouldRetryAnswer(outcome, request.repeatable)) throw outcome;
      const delay = outcome.retryAfterMs ?? backoffDelay(policy, attempt, context.random);
      // A server asking for a longer pause than the policy allows is answered by giving up now.
      if (delay > policy.maxDelayMs) throw outcome;
      await wait(delay, request.signal);
      continue;
    }
    if (lastAttempt || !request.repeatable) throw outcome;
    await wait(backoffDelay(policy, attempt, context.random), request.signal);
  }
}

/** One request; an answer that is not a success comes back as an error value rather than thrown. */
async function attemptOnce(
  fetch: FetchFunction,
  request: OutgoingRequest,
  attempt: number,
): Promise<ReceivedAnswer | SynthForgeError | NetworkError | TimeoutError> {
  const timeout = AbortSignal.timeout(request.timeoutMs);
  const signal = request.signal ? AbortSignal.any([timeout, request.signal]) : timeout;
  const label = describe(request);
  try {
    const response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: request.body }),
      signal,
      redirect: 'follow',
    });
    // The body is read under the same timeout: a server that stalls mid-answer is a timeout too.
    const body = new Uint8Array(await response.arrayBuffer());
    if (response.ok) return { status: response.status, headers: response.headers, body };
    return SynthForgeError.fromResponse(response.status, decodeText(body), response.headers, attempt);
  } catch (error) {
    // The caller's own cancellation is not a failure to retry or to wrap.
    if (request.signal?.aborted) throw request.signal.reason;
    if (timeout.aborted) {
      return new TimeoutError(
        `${label} got no answer within ${request.timeoutMs} ms`,
        request.timeoutMs,
        attempt,
      );
    }
    return new NetworkError(`${label} failed: ${reasonOf(error)}`, attempt, { cause: error });
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
