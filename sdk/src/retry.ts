/**
 * When a failed request is sent again, and after how long. Kept apart from the HTTP code so that the
 * rules read in one place.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { SynthForgeError } from './errors.ts';

/** How hard the client tries. */
export interface RetryPolicy {
  /** Requests sent at most, the first included (1: never retry). */
  maxAttempts: number;
  /** The backoff cap of the first retry; it doubles with each further one. */
  baseDelayMs: number;
  /**
   * The largest backoff. A `Retry-After` longer than this is not waited out: the error is thrown at
   * once (with `retryAfterMs`), so that a daily quota never blocks a program for an hour.
   */
  maxDelayMs: number;
}

/** Five requests, waits drawn from 0–200 ms, 0–400 ms, … up to 10 s. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 10_000 };

/**
 * Whether sending the request twice is harmless. GET, PUT and DELETE are idempotent by HTTP's
 * definition; a POST only when it carries an `Idempotency-Key`, which makes the server replay the
 * first answer instead of acting again.
 */
export function isRepeatable(method: string, hasIdempotencyKey: boolean): boolean {
  return method !== 'POST' || hasIdempotencyKey;
}

/** Whether an error answer is worth another attempt for a request that is (or is not) repeatable. */
export function shouldRetryAnswer(error: SynthForgeError, repeatable: boolean): boolean {
  // A 429 is a refusal: the API's throttle's, before any handler runs, or on a model route the
  // model's own, after the gateway's retries, with no answer made nor billed. Nothing was done, so
  // even a POST without a key is safe to send again.
  if (error.status === 429) return true;
  // A 409 REQUEST_IN_FLIGHT is the first attempt of this very key still running: wait for its answer.
  if (error.code === 'REQUEST_IN_FLIGHT') return repeatable;
  // 502, 503 and 504 may come after the handler acted (a gateway that lost the answer).
  return error.retryable && repeatable;
}

/**
 * The wait before retry number `retry` (1 for the first): exponential backoff with full jitter,
 * uniform in [0, min(maxDelay, base · 2^(retry-1))], so that clients that failed together do not
 * come back together.
 */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.floor(random() * cap);
}

/**
 * The SDK's sense of time: the pauses of the retry loop and the polls and deadline of
 * `Batch.awaitCompletion`. Real by default; a test (or a simulation) passes its own to see the waits
 * asked for without spending them.
 */
export interface Timers {
  /** Milliseconds since the epoch, as `Date.now()`. */
  now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock and timers. */
export const SYSTEM_TIMERS: Timers = { now: () => Date.now(), sleep: (ms, signal) => wait(ms, signal) };

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export async function wait(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) {
    signal?.throwIfAborted();
    return;
  }
  await sleep(ms, undefined, signal ? { signal } : {});
}
