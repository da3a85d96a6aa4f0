/**
 * How the gateway calls a model: inside a deadline (API Gateway answers 504 at 29 s, so every call
 * ends before that), retrying what the service says is brief (throttling, a moment's unavailability)
 * with full-jitter exponential backoff, and turning every failure into the status the routes answer:
 * a throttled model is a 429 with Retry-After and a waking one a 503 with when it should be ready,
 * never a 500.
 */
import { DomainError, invalidParameters, unavailable } from '../errors.ts';
import type { Clock } from '../ports.ts';
import {
  type CallableModel,
  type ComponentStatusPort,
  ModelCallError,
  type ModelCallReason,
} from './ports.ts';

export interface RetryPolicy {
  clock: Clock;
  /** Waits; injectable so that tests do not wait. */
  sleep: (ms: number) => Promise<void>;
  /** In [0, 1): the jitter. */
  random: () => number;
  /** The first retry waits up to this long (full jitter: a uniform draw below it). Default 200 ms. */
  baseDelayMs?: number;
  /** No retry waits longer. Default 2 s. */
  maxDelayMs?: number;
  /** Attempts in all, the first included. Default 8. */
  maxAttempts?: number;
  /** A retry is only worth making with this much time left for it. Default 1 s. */
  minAttemptMs?: number;
  /**
   * The reasons retried. Default: throttling and a moment's unavailability. An asynchronous job adds
   * `no_capacity`: it has minutes to wait for a model waking from zero.
   */
  retried?: ReadonlySet<ModelCallReason>;
  onRetry?: (error: ModelCallError, attempt: number, delayMs: number) => void;
}

/** The reasons worth another attempt: the service said so (429, 503, 500). */
export const RETRIED: ReadonlySet<ModelCallReason> = new Set(['throttled', 'unavailable']);

/**
 * Runs `attempt` until it succeeds, fails for a reason not retried, or no retry fits before
 * `deadlineAt` (epoch ms): the last failure is thrown then. `attempt` gets the milliseconds left.
 * Never sleeps past the deadline.
 */
export async function withRetries<T>(
  attempt: (remainingMs: number) => Promise<T>,
  deadlineAt: number,
  policy: RetryPolicy,
): Promise<T> {
  const base = policy.baseDelayMs ?? 200;
  const cap = policy.maxDelayMs ?? 2000;
  const maxAttempts = policy.maxAttempts ?? 8;
  const minAttemptMs = policy.minAttemptMs ?? 1000;
  const retried = policy.retried ?? RETRIED;
  for (let made = 1; ; made++) {
    try {
      return await attempt(deadlineAt - policy.clock.now().getTime());
    } catch (error) {
      if (!(error instanceof ModelCallError) || !retried.has(error.reason) || made >= maxAttempts)
        throw error;
      const delay = Math.floor(policy.random() * Math.min(cap, base * 2 ** (made - 1)));
      if (policy.clock.now().getTime() + delay + minAttemptMs > deadlineAt) throw error;
      policy.onRetry?.(error, made, delay);
      await policy.sleep(delay);
    }
  }
}

/**
 * A call's deadline: a signal that fires after `ms` with a `timeout` ModelCallError as its reason.
 * `arm` sets it anew (a stream, once open, gets the longer deadline of its whole answer); `clear`
 * stops the timer once the call is over, so that nothing keeps the process alive.
 */
export class CallDeadline {
  readonly #controller = new AbortController();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(ms: number, message: string) {
    this.arm(ms, message);
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  arm(ms: number, message: string): void {
    this.clear();
    this.#timer = setTimeout(
      () => this.#controller.abort(new ModelCallError('timeout', message)),
      Math.max(0, ms),
    );
  }

  clear(): void {
    clearTimeout(this.#timer);
  }

  /** Ends the call now (the reader left, or it is over). */
  abort(): void {
    this.clear();
    this.#controller.abort();
  }
}

/**
 * The promise, or the signal's reason once it fires: a port that does not heed its signal still
 * cannot hold the gateway past the deadline. The abandoned promise's failure is swallowed.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(asTimeout(signal.reason));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(asTimeout(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(signal.aborted ? asTimeout(signal.reason) : error);
      },
    );
  });
}

const asTimeout = (reason: unknown) =>
  reason instanceof ModelCallError ? reason : new ModelCallError('timeout', 'the call was aborted');

/** Runs one call with a signal that fires after `ms`. */
export async function callWithin<T>(ms: number, what: string, call: (signal: AbortSignal) => Promise<T>) {
  const deadline = new CallDeadline(ms, `${what} did not answer within ${seconds(ms)} s`);
  try {
    return await raceAbort(call(deadline.signal), deadline.signal);
  } finally {
    deadline.clear();
  }
}

/** Seconds for a message: tenths below ten seconds (a test's short deadline reads as 0.3 s, not 0 s). */
export const seconds = (ms: number) =>
  ms < 10_000 ? Number((Math.max(0, ms) / 1000).toFixed(1)) : Math.round(ms / 1000);

/** Seconds a client waits before calling again, per reason (the wake-up has its own estimate). */
export const RETRY_AFTER_SECONDS = { throttled: 5, unavailable: 5, timeout: 10 } as const;

/** A model scaled to zero is expected at least this far ahead once its own estimate has passed. */
export const MIN_WAKE_SECONDS = 30;

export interface ExplainContext {
  clock: Clock;
  components: ComponentStatusPort;
  /** The deadline the call had, for the timeout's message. */
  deadlineMs: number;
  log: (message: string, details: Record<string, unknown>) => void;
}

/**
 * The DomainError a failed call is answered with. A DomainError passes unchanged; anything that is
 * not a ModelCallError is a bug and is thrown on (the routes' 500).
 */
export async function explain(
  model: CallableModel,
  error: unknown,
  context: ExplainContext,
): Promise<DomainError> {
  if (error instanceof DomainError) return error;
  if (!(error instanceof ModelCallError)) throw error;
  const where =
    model.provider === 'bedrock' ? 'Bedrock' : `SageMaker endpoint ${model.deployment.endpointName}`;
  const details = {
    model_key: model.key,
    model_id: model.modelId,
    provider: model.provider,
    reason: error.reason,
    ...(error.serviceError ? { service_error: error.serviceError } : {}),
  };
  switch (error.reason) {
    case 'throttled':
      return new DomainError(
        'RATE_LIMITED',
        `model ${model.key} is rate limited by ${where}; retry after ${RETRY_AFTER_SECONDS.throttled} s`,
        details,
        RETRY_AFTER_SECONDS.throttled,
      );
    case 'unavailable':
      return unavailable(
        `model ${model.key} is briefly unavailable (${where}: ${error.message}); retry after ` +
          `${RETRY_AFTER_SECONDS.unavailable} s`,
        details,
        RETRY_AFTER_SECONDS.unavailable,
      );
    case 'no_capacity':
      return waking(model, details, context);
    case 'model_error':
      return new DomainError(
        'MODEL_ERROR',
        `model ${model.key} failed on this request: ${error.message}`,
        details,
      );
    case 'rejected':
      return invalidParameters(`model ${model.key} refused the request: ${error.message}`, details);
    case 'denied':
      return unavailable(
        model.provider === 'bedrock'
          ? `this stage may not call model ${model.key} (${model.modelId}): enable access to it in Bedrock's ` +
              `model access page and check that the gateway's role allows it (${error.message})`
          : `this stage may not call model ${model.key} on ${where}: check the gateway's role (${error.message})`,
        details,
      );
    case 'not_found':
      return unavailable(
        model.provider === 'bedrock'
          ? `model ${model.key} (${model.modelId}) was not found in this account and region: check the stage's ` +
              `model id or inference profile (${error.message})`
          : `model ${model.key} is not deployed: ${where} or its component ${model.deployment.componentName} ` +
              'does not exist; deploy the stage (see the README)',
        details,
      );
    case 'timeout':
      return unavailable(
        `model ${model.key} did not answer within ${seconds(context.deadlineMs)} s`,
        details,
        RETRY_AFTER_SECONDS.timeout,
      );
  }
}

/**
 * A component with no copies: its scaling wakes it (the no-capacity alarm), which takes the
 * model's `wakeSeconds` from when its desired copies went up; a wake not started yet starts about now.
 */
async function waking(
  model: CallableModel,
  details: Record<string, unknown>,
  context: ExplainContext,
): Promise<DomainError> {
  if (model.provider !== 'sagemaker') {
    return unavailable(
      `model ${model.key} has no capacity now; retry later`,
      details,
      RETRY_AFTER_SECONDS.unavailable,
    );
  }
  const now = context.clock.now();
  const state = await context.components.describe(model.deployment).catch((error: unknown) => {
    context.log('could not describe a waking component', { model_key: model.key, error: String(error) });
    return undefined;
  });
  const readyAt = estimatedReadyAt(now, model.deployment.wakeSeconds, state);
  const retryAfter = Math.max(1, Math.ceil((readyAt.getTime() - now.getTime()) / 1000));
  return unavailable(
    `model ${model.key} is scaled to zero and waking up; retry after ${retryAfter} s`,
    {
      ...details,
      estimated_ready_at: readyAt.toISOString(),
      component_name: model.deployment.componentName,
      ...(state ? { copies: { desired: state.desiredCopies, current: state.currentCopies } } : {}),
    },
    retryAfter,
  );
}

/**
 * When a component waking from zero should answer: `wakeSeconds` after its desired copies went up
 * (the wake started), or from now when it has not started yet; never in the past.
 */
export function estimatedReadyAt(
  now: Date,
  wakeSeconds: number,
  state?: { desiredCopies: number; currentCopies: number; lastModified?: Date },
): Date {
  const started = state && state.desiredCopies > state.currentCopies ? (state.lastModified ?? now) : now;
  const readyAt = started.getTime() + wakeSeconds * 1000;
  return new Date(readyAt > now.getTime() ? readyAt : now.getTime() + MIN_WAKE_SECONDS * 1000);
}
