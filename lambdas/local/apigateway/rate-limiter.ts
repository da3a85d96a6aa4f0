/**
 * Per-key token buckets with the headers of seed 001 (`X-RateLimit-Limit`, `-Remaining`, `-Reset`).
 * API Gateway's usage plan does the throttling in the cloud; the local platform does it here.
 */
export interface RateLimitDecision {
  allowed: boolean;
  headers: Record<string, string>;
  retryAfterSeconds?: number;
}

export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; updatedMs: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly nowMs: () => number = Date.now,
  ) {}

  take(key: string): RateLimitDecision {
    const now = this.nowMs();
    const bucket = this.#buckets.get(key) ?? { tokens: this.burst, updatedMs: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.updatedMs) / 1000) * this.perSecond);
    bucket.updatedMs = now;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    this.#buckets.set(key, bucket);
    const secondsToFull = Math.ceil((this.burst - bucket.tokens) / this.perSecond);
    const headers = {
      'x-ratelimit-limit': String(this.burst),
      'x-ratelimit-remaining': String(Math.floor(bucket.tokens)),
      'x-ratelimit-reset': String(Math.ceil(now / 1000) + secondsToFull),
    };
    if (allowed) return { allowed, headers };
    return {
      allowed,
      headers,
      retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond)),
    };
  }
}
