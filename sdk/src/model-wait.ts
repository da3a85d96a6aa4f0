/**
 * Waiting for a model that scales to zero. An EMD model with no copies answers 503 with
 * `estimated_ready_at` (and `Retry-After`) while its inference component wakes; asked to, the client
 * waits what the server said (capped) and asks again, within an overall deadline. Off by default: a
 * program that would rather fail fast, or try another model, sees the 503 at once.
 */
import { SynthForgeError, TimeoutError } from './errors.ts';
import type { Timers } from './retry.ts';
import type { CallOptions } from './route-types.ts';

/** How long to wait for a waking model: `true` for the defaults. */
export type WaitForModel = boolean | WaitForModelOptions;

export interface WaitForModelOptions {
  /** The whole wait, every retry included. Default 15 minutes: a large model's cold start. */
  timeoutMs?: number;
  /** The longest single pause, whatever `Retry-After` says. Default 30 s. */
  maxDelayMs?: number;
  /** Called before each pause. */
  onProgress?: (progress: ModelWaitProgress) => void;
}

/** Options of a call to a model that may be scaled to zero (`ApiClient.emd`, `ApiClient.stream`). */
export interface ModelCallOptions extends CallOptions {
  /** Wait through the 503 of a model waking from zero. Default: off, the 503 is thrown at once. */
  waitForModel?: WaitForModel;
}

/** Where a wait for a model stands, before one of its pauses. */
export interface ModelWaitProgress {
  /** The model key waited for. */
  model: string;
  /** The requests answered 503 so far. */
  attempts: number;
  /** The pause about to be taken. */
  delayMs: number;
  /** Since the first request. */
  elapsedMs: number;
  /** When the server expects the model to answer, when it said. */
  estimatedReadyAt: string | undefined;
  /** The server's message (`model qwen2-vl-7b is scaled to zero and waking`). */
  message: string;
}

/** A waking model did not answer within `waitForModel.timeoutMs`; it may still wake. */
export class ModelWaitTimeoutError extends TimeoutError {
  override readonly name = 'ModelWaitTimeoutError';
  constructor(
    /** The model key waited for. */
    readonly model: string,
    timeoutMs: number,
    /** The last 503, with its `Retry-After` and `estimatedReadyAt`. */
    readonly lastError: SynthForgeError,
    attempts: number,
  ) {
    super(`model ${model} was not ready within ${timeoutMs} ms: ${lastError.message}`, timeoutMs, attempts);
  }
}

const DEFAULT_TIMEOUT_MS = 15 * 60_000;
const DEFAULT_MAX_DELAY_MS = 30_000;
/** A `Retry-After: 0` still gets a short pause, so that a confused server is not hammered. */
const MIN_DELAY_MS = 250;

/**
 * A 503 with `estimated_ready_at`: a model waking from zero. The gateway also answers 503 with
 * `Retry-After` for a model that timed out or is briefly unavailable; waiting on those would run a
 * failing model again for the whole wait, so they (and a model not deployed) are thrown as they are.
 */
export function isModelWaking(error: unknown): error is SynthForgeError & { estimatedReadyAt: string } {
  return error instanceof SynthForgeError && error.status === 503 && error.estimatedReadyAt !== undefined;
}

/**
 * Runs `attempt`, and while it fails with a waking model's 503, waits and runs it again, until it
 * succeeds, fails otherwise, or the deadline passes (`ModelWaitTimeoutError`). The last try is made
 * at the deadline rather than given up before it.
 */
export async function withModelWait<T>(
  model: string,
  option: WaitForModel | undefined,
  timers: Timers,
  signal: AbortSignal | undefined,
  attempt: () => Promise<T>,
): Promise<T> {
  if (!option) return attempt();
  const {
    timeoutMs = DEFAULT_TIMEOUT_MS,
    maxDelayMs = DEFAULT_MAX_DELAY_MS,
    onProgress,
  } = option === true ? {} : option;
  const started = timers.now();
  for (let attempts = 1; ; attempts++) {
    try {
      return await attempt();
    } catch (error) {
      if (!isModelWaking(error)) throw error;
      const elapsedMs = timers.now() - started;
      const remaining = timeoutMs - elapsedMs;
      if (remaining <= 0) throw new ModelWaitTimeoutError(model, timeoutMs, error, attempts);
      const untilReady = error.retryAfterMs ?? Date.parse(error.estimatedReadyAt) - timers.now();
      const delayMs = Math.min(Math.max(untilReady || 0, MIN_DELAY_MS), maxDelayMs, remaining);
      onProgress?.({
        model,
        attempts,
        delayMs,
        elapsedMs,
        estimatedReadyAt: error.estimatedReadyAt,
        message: error.message,
      });
      await timers.sleep(delayMs, signal);
    }
  }
}
