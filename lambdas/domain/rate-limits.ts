/**
 * Seed 001's exact rate limits: per tenant, so many requests per minute for each group of routes
 * (contracts/rate-limits.ts), answered with `X-RateLimit-Limit`, `-Remaining` and `-Reset` and,
 * past the limit, 429 with `Retry-After`. API Gateway's usage plans throttle per second with a
 * token bucket, which cannot say "10 per minute" exactly, so the count lives behind a port
 * (`RateLimitCounter`): one atomic counter per tenant, group and window.
 *
 * Windows are fixed and aligned to the minute (`floor(epoch / 60)`): every container of every
 * function agrees on which window a request falls in without talking to the others, and one
 * counter per window is all the state there is. The price is the known edge of fixed windows: a
 * client may send `limit` requests at the end of one window and `limit` more at the start of the
 * next. `X-RateLimit-Reset` is the window's end (epoch seconds), and `Retry-After` the seconds
 * until it.
 *
 * A limit of 0 closes its group: every request is answered 429 and nothing is counted.
 */
import { RATE_LIMIT_GROUPS, type RateLimitGroup } from '../../contracts/rate-limits.ts';
import { DomainError } from './errors.ts';
import type { Clock } from './ports.ts';

export { RATE_LIMIT_GROUPS, type RateLimitGroup };

/** Requests per minute per tenant, for each group. */
export type RateLimits = Readonly<Record<RateLimitGroup, number>>;

/** Seed 001's numbers; a stage's configuration may change them. */
export const DEFAULT_RATE_LIMITS: RateLimits = { generation: 10, validation: 20, export: 5 };

/** The largest limit a stage may set: more than one counter item absorbs comfortably per minute. */
export const MAX_REQUESTS_PER_MINUTE = 10_000;

export const RATE_LIMIT_WINDOW_SECONDS = 60;

/**
 * Seconds a window's counter outlives the window before TTL may delete it: a container whose clock
 * runs a little behind still counts in that window, and must find its count rather than start a
 * fresh one.
 */
const COUNTER_GRACE_SECONDS = RATE_LIMIT_WINDOW_SECONDS;

/** A counter that failed is usually a blip of the table: a client may retry at once. */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 1;

/** What one take of a counter did. */
export interface RateLimitTake {
  /** True when this request was counted within the limit. */
  allowed: boolean;
  /**
   * Requests counted in the window: this one included when allowed; when refused, at least `limit`
   * (the counter does not count a refused request, so the exact figure above it is not known).
   */
  count: number;
}

/**
 * The port: one counter per tenant, group and window, that counts a request only while it is
 * below `limit`, atomically, so that concurrent takes from any number of containers let exactly
 * `limit` through. `expiresAtSeconds` (epoch seconds) is when the counter may be forgotten.
 */
export interface RateLimitCounter {
  take(
    tenant: string,
    group: RateLimitGroup,
    windowStartSeconds: number,
    limit: number,
    expiresAtSeconds: number,
  ): Promise<RateLimitTake>;
}

/** Why a request is refused: its window is used up, its group is closed, or the count is unknown. */
export type RateLimitRefusal = 'exhausted' | 'closed' | 'unavailable';

export interface RateLimitDecision {
  group: RateLimitGroup;
  allowed: boolean;
  limit: number;
  /** Requests left in the window after this one; never negative. */
  remaining: number;
  /** The end of the window, epoch seconds: when the count starts again from 0. */
  resetEpochSeconds: number;
  /** Refused requests only: seconds until the window ends (1 to 60), or to retry a failed count. */
  retryAfterSeconds?: number;
  refusal?: RateLimitRefusal;
}

/** The window a moment falls in: its start and end, epoch seconds. */
export function windowOf(now: Date): { startSeconds: number; endSeconds: number } {
  const startSeconds =
    Math.floor(now.getTime() / 1000 / RATE_LIMIT_WINDOW_SECONDS) * RATE_LIMIT_WINDOW_SECONDS;
  return { startSeconds, endSeconds: startSeconds + RATE_LIMIT_WINDOW_SECONDS };
}

/** Seed 001's headers for a decision (lower case, as every header this API sends). */
export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  return {
    'x-ratelimit-limit': String(decision.limit),
    'x-ratelimit-remaining': String(decision.remaining),
    'x-ratelimit-reset': String(decision.resetEpochSeconds),
  };
}

/**
 * The error a refused request is answered with (with its `Retry-After`), or undefined when the
 * request may go on: 429 RATE_LIMITED past the limit or in a closed group, 503 UNAVAILABLE when the
 * count could not be taken.
 */
export function refusalOf(decision: RateLimitDecision): DomainError | undefined {
  if (decision.allowed) return undefined;
  const { group, limit, resetEpochSeconds, retryAfterSeconds } = decision;
  switch (decision.refusal) {
    case 'unavailable':
      return new DomainError(
        'UNAVAILABLE',
        'the rate limit could not be checked; retry shortly',
        { group },
        retryAfterSeconds,
      );
    case 'closed':
      return new DomainError(
        'RATE_LIMITED',
        `${group} requests are closed in this stage (a limit of 0 per minute)`,
        { group, limit },
        retryAfterSeconds,
      );
    default:
      return new DomainError(
        'RATE_LIMITED',
        `rate limit exceeded: ${limit} ${group} requests per minute; retry after ${retryAfterSeconds} s`,
        { group, limit, reset: resetEpochSeconds, retry_after_seconds: retryAfterSeconds },
        retryAfterSeconds,
      );
  }
}

/**
 * Limits from configuration (the `RATE_LIMITS` variable's JSON, the local platform's options):
 * each group an integer from 0 to MAX_REQUESTS_PER_MINUTE; a group left out keeps seed 001's number.
 * Throws a RangeError naming `source` and the first wrong field.
 */
export function parseRateLimits(value: unknown, source = 'rate limits'): RateLimits {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new RangeError(`${source}: expected an object of requests per minute by group`);
  const given = value as Record<string, unknown>;
  const unknown = Object.keys(given).filter((key) => !(RATE_LIMIT_GROUPS as readonly string[]).includes(key));
  if (unknown.length > 0)
    throw new RangeError(
      `${source}: unknown group ${unknown.join(', ')}; the groups are ${RATE_LIMIT_GROUPS.join(', ')}`,
    );
  const limits = { ...DEFAULT_RATE_LIMITS };
  for (const group of RATE_LIMIT_GROUPS) {
    const limit = given[group];
    if (limit === undefined) continue;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0 || limit > MAX_REQUESTS_PER_MINUTE)
      throw new RangeError(`${source}: ${group} must be an integer from 0 to ${MAX_REQUESTS_PER_MINUTE}`);
    limits[group] = limit;
  }
  return limits;
}

export interface TenantRateLimiterOptions {
  clock?: Clock;
  /** Told when the counter fails (the request is refused with 503 all the same). */
  report?: (message: string, details: Record<string, unknown>) => void;
}

/** Decides, for one request of a tenant, whether its group's limit lets it through. */
export class TenantRateLimiter {
  readonly limits: RateLimits;
  readonly #clock: Clock;
  readonly #report: NonNullable<TenantRateLimiterOptions['report']>;

  constructor(
    private readonly counter: RateLimitCounter,
    limits: RateLimits = DEFAULT_RATE_LIMITS,
    options: TenantRateLimiterOptions = {},
  ) {
    this.limits = parseRateLimits(limits);
    this.#clock = options.clock ?? { now: () => new Date() };
    this.#report = options.report ?? (() => {});
  }

  /** Counts one request of `tenant` against `group`'s limit, and says whether it may go on. */
  async take(tenant: string, group: RateLimitGroup): Promise<RateLimitDecision> {
    const now = this.#clock.now();
    const limit = this.limits[group];
    const { startSeconds, endSeconds } = windowOf(now);
    const untilReset = Math.max(1, Math.ceil(endSeconds - now.getTime() / 1000));
    const base = { group, limit, resetEpochSeconds: endSeconds };
    if (limit === 0) {
      return { ...base, allowed: false, remaining: 0, retryAfterSeconds: untilReset, refusal: 'closed' };
    }
    let taken: RateLimitTake;
    try {
      taken = await this.counter.take(tenant, group, startSeconds, limit, endSeconds + COUNTER_GRACE_SECONDS);
    } catch (error) {
      // Fail closed: without a count nothing stops a tenant from sending any number of requests,
      // and these limits exist to bound what the GPUs and exports cost. The counter lives in the
      // same table as the jobs, so when it cannot answer, the request would most likely fail
      // anyway; a 503 with Retry-After says so plainly instead.
      this.#report('the rate limit counter failed; the request is refused', { error, group });
      return {
        ...base,
        allowed: false,
        remaining: 0,
        retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS,
        refusal: 'unavailable',
      };
    }
    if (taken.allowed) return { ...base, allowed: true, remaining: Math.max(0, limit - taken.count) };
    return { ...base, allowed: false, remaining: 0, retryAfterSeconds: untilReset, refusal: 'exhausted' };
  }
}
