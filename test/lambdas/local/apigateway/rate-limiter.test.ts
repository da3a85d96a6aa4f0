import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../../../lambdas/local/apigateway/rate-limiter.ts';

describe('RateLimiter', () => {
  it('allows a burst, then answers with Retry-After until tokens refill', () => {
    // Prepare
    let now = 1_000_000;
    const limiter = new RateLimiter(2, 3, () => now);

    // Act
    const burst = [limiter.take('k'), limiter.take('k'), limiter.take('k')];
    const limited = limiter.take('k');
    now += 500;
    const refilled = limiter.take('k');

    // Assess
    expect(burst.map((d) => d.allowed)).toEqual([true, true, true]);
    expect(burst.map((d) => d.headers['x-ratelimit-remaining'])).toEqual(['2', '1', '0']);
    expect(limited).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
    expect(limited.headers['x-ratelimit-limit']).toBe('3');
    expect(refilled.allowed).toBe(true);
  });

  it('keeps one bucket per key', () => {
    const limiter = new RateLimiter(1, 1, () => 0);

    expect([limiter.take('a').allowed, limiter.take('b').allowed, limiter.take('a').allowed]).toEqual([
      true,
      true,
      false,
    ]);
  });
});
