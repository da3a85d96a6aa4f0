/** An exact in-memory `RateLimitCounter`, for tests of what sits above the DynamoDB one. */
import type { RateLimitCounter, RateLimitGroup, RateLimitTake } from '../../lambdas/domain/rate-limits.ts';

export class InMemoryRateLimitCounter implements RateLimitCounter {
  readonly counts = new Map<string, number>();
  /** What each take was asked for, in order. */
  readonly takes: {
    tenant: string;
    group: RateLimitGroup;
    windowStartSeconds: number;
    expiresAtSeconds: number;
  }[] = [];
  /** Set to make every take fail, as a table that does not answer. */
  failure: Error | undefined;

  async take(
    tenant: string,
    group: RateLimitGroup,
    windowStartSeconds: number,
    limit: number,
    expiresAtSeconds: number,
  ): Promise<RateLimitTake> {
    if (this.failure) throw this.failure;
    this.takes.push({ tenant, group, windowStartSeconds, expiresAtSeconds });
    const key = `${tenant}/${group}/${windowStartSeconds}`;
    const count = this.counts.get(key) ?? 0;
    if (count >= limit) return { allowed: false, count: limit };
    this.counts.set(key, count + 1);
    return { allowed: true, count: count + 1 };
  }
}
