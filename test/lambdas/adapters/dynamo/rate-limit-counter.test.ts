/** Seed 001's rate-limit counters in the state table (dynalite): exact under concurrency, one per window. */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoRateLimitCounter } from '../../../../lambdas/adapters/dynamo/rate-limit-counter.ts';
import { TenantRateLimiter } from '../../../../lambdas/domain/rate-limits.ts';
import { useEmulators } from '../../../support/emulators.ts';
import { aTenant } from '../../../support/jobs.ts';

const fixture = useEmulators();
const counter = () =>
  new DynamoRateLimitCounter(fixture.clients.dynamo, { tableName: fixture.emulators.tableNames.state });

/** 2031-01-01T00:00:00Z in epoch seconds: a window start. */
const WINDOW = Date.UTC(2031, 0, 1) / 1000;

describe('DynamoRateLimitCounter', () => {
  it('lets exactly 10 of 50 concurrent requests through, counting 1 to 10 once each', async () => {
    // Prepare
    const rateLimits = counter();
    const tenant = aTenant();

    // Act
    const takes = await Promise.all(
      Array.from({ length: 50 }, () => rateLimits.take(tenant, 'generation', WINDOW, 10, WINDOW + 120)),
    );

    // Assess
    const allowed = takes.filter((take) => take.allowed);
    expect(allowed).toHaveLength(10);
    expect(allowed.map((take) => take.count).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(takes.filter((take) => !take.allowed)).toEqual(
      Array.from({ length: 40 }, () => ({ allowed: false, count: 10 })),
    );
    const item = await fixture.clients.dynamo.send(
      new GetCommand({
        TableName: fixture.emulators.tableNames.state,
        Key: { pk: `T#${tenant}`, sk: `RATE#generation#${WINDOW}` },
      }),
    );
    expect(item.Item).toEqual({
      pk: `T#${tenant}`,
      sk: `RATE#generation#${WINDOW}`,
      count: 10,
      ttl: WINDOW + 120,
    });
  });

  it('starts a new count in the next window, and keeps groups and tenants apart', async () => {
    // Prepare: the first window used up.
    const rateLimits = counter();
    const [tenant, other] = [aTenant(), aTenant()];
    for (let i = 0; i < 2; i++) await rateLimits.take(tenant, 'export', WINDOW, 2, WINDOW + 120);

    // Act
    const full = await rateLimits.take(tenant, 'export', WINDOW, 2, WINDOW + 120);
    const nextWindow = await rateLimits.take(tenant, 'export', WINDOW + 60, 2, WINDOW + 180);
    const otherGroup = await rateLimits.take(tenant, 'validation', WINDOW, 2, WINDOW + 120);
    const otherTenant = await rateLimits.take(other, 'export', WINDOW, 2, WINDOW + 120);

    // Assess
    expect(full).toEqual({ allowed: false, count: 2 });
    expect(nextWindow).toEqual({ allowed: true, count: 1 });
    expect(otherGroup).toEqual({ allowed: true, count: 1 });
    expect(otherTenant).toEqual({ allowed: true, count: 1 });
  });

  it('refuses a tenant that could name another tenant’s partition', async () => {
    await expect(counter().take('a#L#x', 'generation', WINDOW, 10, WINDOW + 120)).rejects.toThrow(RangeError);
  });

  it('behind the limiter, rolls over when the clock passes the minute', async () => {
    // Prepare
    let now = new Date((WINDOW + 59) * 1000);
    const limiter = new TenantRateLimiter(
      counter(),
      { generation: 1, validation: 1, export: 1 },
      {
        clock: { now: () => now },
      },
    );
    const tenant = aTenant();
    const first = await limiter.take(tenant, 'generation');
    const refused = await limiter.take(tenant, 'generation');

    // Act
    now = new Date((WINDOW + 60) * 1000);
    const rolled = await limiter.take(tenant, 'generation');

    // Assess
    expect(first).toMatchObject({ allowed: true, remaining: 0, resetEpochSeconds: WINDOW + 60 });
    expect(refused).toMatchObject({ allowed: false, retryAfterSeconds: 1, resetEpochSeconds: WINDOW + 60 });
    expect(rolled).toMatchObject({ allowed: true, remaining: 0, resetEpochSeconds: WINDOW + 120 });
  });
});
