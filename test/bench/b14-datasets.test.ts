/**
 * B14's references and request set-up, without its timings: the plain quality loops compute the
 * project's five numbers (so the ratio compares the same work), and the limiter's two handlers
 * serve the same route to the same tenants, one counting each request and the other none.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { qualityEvent, withoutLimit } from '../../bench/b14-datasets.ts';
import { plainQualityMetrics } from '../../bench/lib/quality-reference.ts';
import { routes } from '../../contracts/routes.ts';
import {
  DEFAULT_RATE_LIMITS,
  type RateLimitCounter,
  TenantRateLimiter,
} from '../../lambdas/domain/rate-limits.ts';
import { type Pixels, type QualityMetrics, qualityMetrics } from '../../lambdas/domain/validation/quality.ts';
import { bind, createApiHandler } from '../../lambdas/http/api-handler.ts';

const image = fc
  .record({
    width: fc.integer({ min: 3, max: 12 }),
    height: fc.integer({ min: 3, max: 12 }),
    channels: fc.constantFrom(1 as const, 3 as const, 4 as const),
  })
  .chain(({ width, height, channels }) =>
    fc
      .uint8Array({ minLength: width * height * channels, maxLength: width * height * channels })
      .map((data): Pixels => ({ width, height, channels, data })),
  );

/** Equal to 1e-9 of the value: one-pass and two-pass variances round differently. */
const closeTo = (actual: QualityMetrics, expected: QualityMetrics) => {
  for (const name of Object.keys(expected) as (keyof QualityMetrics)[]) {
    expect(Math.abs(actual[name] - expected[name]), name).toBeLessThanOrEqual(
      1e-9 * Math.max(1, Math.abs(expected[name])),
    );
  }
};

describe('the plain quality loops', () => {
  it('give the five numbers qualityMetrics gives, on any image of 1, 3 or 4 channels', () => {
    fc.assert(
      fc.property(image, (pixels) => {
        // Act
        const plain = plainQualityMetrics(pixels);

        // Assess
        closeTo(plain, qualityMetrics(pixels));
      }),
    );
  });

  it('read a flat colour as no sharpness, contrast or noise, and its grey level as brightness', () => {
    // Prepare: 4 × 3 pixels of rgb(200, 100, 50).
    const data = new Uint8Array(4 * 3 * 3);
    for (let p = 0; p < data.length; p += 3) data.set([200, 100, 50], p);

    // Act
    const metrics = plainQualityMetrics({ width: 4, height: 3, channels: 3, data });

    // Assess: luma 0.299·200 + 0.587·100 + 0.114·50; rg = 100, yb = 100, so M = 0.3·√(100² + 100²).
    expect(metrics.sharpness).toBeCloseTo(0, 12);
    expect(metrics.contrast).toBeCloseTo(0, 12);
    expect(metrics.noise_level).toBeCloseTo(0, 12);
    expect(metrics.brightness).toBeCloseTo((0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255, 12);
    expect(metrics.colourfulness).toBeCloseTo(0.3 * Math.SQRT2 * 100, 9);
  });
});

describe("the rate limiter's two handlers", () => {
  /** The quality route, answering with the tenant and image each request named. */
  const qualityRoute = (seen: { tenant: string; image: string }[]) =>
    bind(routes.validateImageQuality, async ({ tenant, body }) => {
      seen.push({ tenant, image: body.image_path });
      return {
        image_path: body.image_path,
        quality_score: 1,
        metrics: {},
        passed: true,
        checks: [],
        width: 3,
        height: 3,
      };
    });

  it('serve the same requests, the limited one counting each against its tenant and the other none', async () => {
    // Prepare
    const takes: string[] = [];
    const counter: RateLimitCounter = {
      take: async (tenant, group) => {
        takes.push(`${tenant} ${group}`);
        return { allowed: true, count: takes.length };
      },
    };
    const limiter = new TenantRateLimiter(counter, DEFAULT_RATE_LIMITS);
    const seenLimited: { tenant: string; image: string }[] = [];
    const seenUnlimited: { tenant: string; image: string }[] = [];
    const limited = createApiHandler([qualityRoute(seenLimited)], { rateLimiter: () => limiter });
    // No rate limiter at all: a route of a group would be refused with 500 here.
    const unlimited = createApiHandler([qualityRoute(seenUnlimited)].map(withoutLimit));
    const eventFor = qualityEvent('data-bucket', ['t0', 't1']);

    // Act
    const limitedAnswers = [await limited(eventFor(0)), await limited(eventFor(1))];
    const unlimitedAnswers = [await unlimited(eventFor(0)), await unlimited(eventFor(1))];

    // Assess
    expect([...limitedAnswers, ...unlimitedAnswers].map((answer) => answer.statusCode)).toEqual([
      200, 200, 200, 200,
    ]);
    expect(takes).toEqual(['t0 validation', 't1 validation']);
    expect(limitedAnswers[0]?.headers?.['x-ratelimit-limit']).toBe(String(DEFAULT_RATE_LIMITS.validation));
    expect(unlimitedAnswers[0]?.headers?.['x-ratelimit-limit']).toBeUndefined();
    const expected = [
      { tenant: 't0', image: 's3://data-bucket/t0/b14/limiter.png' },
      { tenant: 't1', image: 's3://data-bucket/t1/b14/limiter.png' },
    ];
    expect(seenLimited).toEqual(expected);
    expect(seenUnlimited).toEqual(expected);
  });
});
