/** Seed 001's per-minute limits, decided over an exact in-memory counter. */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_RATE_LIMITS,
  MAX_REQUESTS_PER_MINUTE,
  parseRateLimits,
  RATE_LIMIT_GROUPS,
  rateLimitHeaders,
  refusalOf,
  TenantRateLimiter,
  windowOf,
} from '../../../lambdas/domain/rate-limits.ts';
import { InMemoryRateLimitCounter } from '../../support/rate-limits.ts';

/** A window start: 2031-01-01T00:00:00Z, a multiple of 60 s. */
const WINDOW_START_MS = Date.UTC(2031, 0, 1);
const WINDOW_END_SECONDS = WINDOW_START_MS / 1000 + 60;

/** A limiter whose clock reads each moment of `moments` in turn (then stays on the last). */
function limiterAt(moments: number[], limits = DEFAULT_RATE_LIMITS) {
  const counter = new InMemoryRateLimitCounter();
  let index = 0;
  const clock = { now: () => new Date(moments[Math.min(index++, moments.length - 1)] as number) };
  return { counter, limiter: new TenantRateLimiter(counter, limits, { clock }) };
}

describe('TenantRateLimiter', () => {
  it('lets min(n, limit) of any n requests in one window through, and says so in its figures', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 30 }),
        fc.array(fc.integer({ min: 0, max: 59_999 }), { maxLength: 40 }),
        async (limit, offsets) => {
          // Prepare
          const moments = offsets.sort((a, b) => a - b).map((offset) => WINDOW_START_MS + offset);
          const { limiter } = limiterAt(moments, { ...DEFAULT_RATE_LIMITS, generation: limit });

          // Act
          const decisions = [];
          for (const _ of moments) decisions.push(await limiter.take('acme', 'generation'));

          // Assess
          expect(decisions.filter((d) => d.allowed)).toHaveLength(Math.min(moments.length, limit));
          decisions.forEach((decision, i) => {
            expect(decision.limit).toBe(limit);
            expect(decision.resetEpochSeconds).toBe(WINDOW_END_SECONDS);
            expect(decision.remaining).toBe(Math.max(0, limit - i - 1));
            if (decision.allowed) return;
            const untilEnd = Math.ceil(WINDOW_END_SECONDS - (moments[i] as number) / 1000);
            expect(decision.retryAfterSeconds).toBe(Math.max(1, untilEnd));
            expect(decision.retryAfterSeconds).toBeGreaterThanOrEqual(1);
            expect(decision.retryAfterSeconds).toBeLessThanOrEqual(60);
          });
        },
      ),
    );
  });

  it('starts counting again in the next minute, in a counter of its own that expires after it', async () => {
    // Prepare: the limit used up in the last second of one window.
    const end = WINDOW_START_MS + 59_500;
    const { counter, limiter } = limiterAt([end, end, end + 600]);
    await limiter.take('acme', 'export');
    await limiter.take('acme', 'export');

    // Act
    const next = await limiter.take('acme', 'export');

    // Assess
    expect(next).toMatchObject({ allowed: true, remaining: 4, resetEpochSeconds: WINDOW_END_SECONDS + 60 });
    expect(counter.takes.map((take) => take.windowStartSeconds)).toEqual([
      WINDOW_END_SECONDS - 60,
      WINDOW_END_SECONDS - 60,
      WINDOW_END_SECONDS,
    ]);
    expect(counter.takes[2]?.expiresAtSeconds).toBeGreaterThan(WINDOW_END_SECONDS + 60);
  });

  it('counts each tenant and each group apart', async () => {
    // Prepare
    const { limiter } = limiterAt([WINDOW_START_MS], { generation: 1, validation: 1, export: 1 });

    // Act
    const first = await limiter.take('acme', 'generation');
    const otherGroup = await limiter.take('acme', 'validation');
    const otherTenant = await limiter.take('globex', 'generation');
    const again = await limiter.take('acme', 'generation');

    // Assess
    expect([first, otherGroup, otherTenant, again].map((d) => d.allowed)).toEqual([true, true, true, false]);
  });

  it('answers 429 RATE_LIMITED past the limit, with Retry-After until the window ends', async () => {
    // Prepare: 45 s into the window, the export limit (5) used up.
    const { limiter } = limiterAt([WINDOW_START_MS + 45_000]);
    for (let i = 0; i < DEFAULT_RATE_LIMITS.export; i++) await limiter.take('acme', 'export');

    // Act
    const refused = await limiter.take('acme', 'export');

    // Assess
    const error = refusalOf(refused);
    expect(error).toMatchObject({ code: 'RATE_LIMITED', status: 429, retryAfter: 15 });
    expect(error?.message).toBe('rate limit exceeded: 5 export requests per minute; retry after 15 s');
    expect(error?.details).toEqual({
      group: 'export',
      limit: 5,
      reset: WINDOW_END_SECONDS,
      retry_after_seconds: 15,
    });
    expect(rateLimitHeaders(refused)).toEqual({
      'x-ratelimit-limit': '5',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': String(WINDOW_END_SECONDS),
    });
  });

  it('refuses every request of a group whose limit is 0, counting none', async () => {
    // Prepare
    const { counter, limiter } = limiterAt([WINDOW_START_MS + 10_000], {
      ...DEFAULT_RATE_LIMITS,
      validation: 0,
    });

    // Act
    const decision = await limiter.take('acme', 'validation');

    // Assess
    expect(decision).toMatchObject({ allowed: false, limit: 0, remaining: 0, refusal: 'closed' });
    expect(refusalOf(decision)).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 50 });
    expect(counter.takes).toEqual([]);
  });

  it('fails closed: a counter that fails refuses the request with 503 and reports it', async () => {
    // Prepare
    const counter = new InMemoryRateLimitCounter();
    counter.failure = new Error('ProvisionedThroughputExceededException');
    const report = vi.fn();
    const limiter = new TenantRateLimiter(counter, DEFAULT_RATE_LIMITS, {
      clock: { now: () => new Date(WINDOW_START_MS) },
      report,
    });

    // Act
    const decision = await limiter.take('acme', 'generation');

    // Assess
    expect(decision).toMatchObject({
      allowed: false,
      remaining: 0,
      refusal: 'unavailable',
      retryAfterSeconds: 1,
    });
    expect(refusalOf(decision)).toMatchObject({ code: 'UNAVAILABLE', status: 503, retryAfter: 1 });
    expect(report).toHaveBeenCalledWith(expect.stringContaining('rate limit counter failed'), {
      error: counter.failure,
      group: 'generation',
    });
  });

  it('lets an allowed request go on', async () => {
    const { limiter } = limiterAt([WINDOW_START_MS]);

    const decision = await limiter.take('acme', 'generation');

    expect(decision).toMatchObject({ allowed: true, limit: 10, remaining: 9 });
    expect(refusalOf(decision)).toBeUndefined();
  });
});

describe('windowOf', () => {
  it('aligns every moment to the minute that holds it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_102_444_800_000 }), (ms) => {
        const { startSeconds, endSeconds } = windowOf(new Date(ms));
        expect(startSeconds % 60).toBe(0);
        expect(endSeconds - startSeconds).toBe(60);
        expect(startSeconds * 1000).toBeLessThanOrEqual(ms);
        expect(endSeconds * 1000).toBeGreaterThan(ms);
      }),
    );
  });
});

describe('parseRateLimits', () => {
  it('keeps every integer from 0 to the maximum, and the seed’s number for a group left out', () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            generation: fc.integer({ min: 0, max: MAX_REQUESTS_PER_MINUTE }),
            validation: fc.integer({ min: 0, max: MAX_REQUESTS_PER_MINUTE }),
            export: fc.integer({ min: 0, max: MAX_REQUESTS_PER_MINUTE }),
          },
          { requiredKeys: [] },
        ),
        (given) => {
          expect(parseRateLimits(given)).toEqual({ ...DEFAULT_RATE_LIMITS, ...given });
        },
      ),
    );
  });

  it('refuses what is not a limit, naming the source and the group', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...RATE_LIMIT_GROUPS),
        fc.oneof(
          fc.integer({ max: -1 }),
          fc.integer({ min: MAX_REQUESTS_PER_MINUTE + 1 }),
          fc.double({ min: 0.1, max: 100, noInteger: true }),
          fc.string(),
          fc.constant(null),
        ),
        (group, value) => {
          expect(() => parseRateLimits({ [group]: value }, 'RATE_LIMITS')).toThrow(
            new RangeError(`RATE_LIMITS: ${group} must be an integer from 0 to ${MAX_REQUESTS_PER_MINUTE}`),
          );
        },
      ),
    );
    expect(() => parseRateLimits({ generations: 5 })).toThrow(/unknown group generations/);
    expect(() => parseRateLimits([10])).toThrow(/expected an object/);
  });
});
