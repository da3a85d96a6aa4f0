import { describe, expect, it } from 'vitest';
import { ulidBoundsFor } from '../../../../lambdas/adapters/dynamo/ulid-bounds.ts';
import { newJobId } from '../../../../lambdas/adapters/ids.ts';

const since = new Date('2031-06-01T00:00:00.000Z');
const until = new Date('2031-06-02T00:00:00.000Z');
const within = (id: string, bounds: { lowest: string; highest: string }) =>
  bounds.lowest <= id && id <= bounds.highest;

describe('ulidBoundsFor', () => {
  it('includes ids minted at since and just before until, and excludes ids at until', () => {
    // Act
    const bounds = ulidBoundsFor({ since, until });

    // Assess
    if (bounds === undefined) throw new Error('expected bounds');
    expect(within(newJobId(since), bounds)).toBe(true);
    expect(within(newJobId(new Date(until.getTime() - 1)), bounds)).toBe(true);
    expect(within(newJobId(until), bounds)).toBe(false);
    expect(within(newJobId(new Date(since.getTime() - 1)), bounds)).toBe(false);
  });

  it('leaves a missing side open', () => {
    // Act
    const fromSince = ulidBoundsFor({ since });
    const toUntil = ulidBoundsFor({ until });

    // Assess
    if (fromSince === undefined || toUntil === undefined) throw new Error('expected bounds');
    expect(within(newJobId(new Date('2999-01-01T00:00:00.000Z')), fromSince)).toBe(true);
    expect(within(newJobId(new Date(0)), toUntil)).toBe(true);
  });

  it('answers undefined for an empty range', () => {
    // Act
    const empty = ulidBoundsFor({ since: until, until: since });
    const sameInstant = ulidBoundsFor({ since, until: since });

    // Assess
    expect(empty).toBeUndefined();
    expect(sameInstant).toBeUndefined();
  });

  it('refuses an invalid date', () => {
    // Act
    const bounding = () => ulidBoundsFor({ since: new Date('not a date') });

    // Assess
    expect(bounding).toThrow(RangeError);
  });
});
