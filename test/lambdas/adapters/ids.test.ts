import { describe, expect, it } from 'vitest';
import { JobId } from '../../../contracts/jobs.ts';
import { newJobId, ulidTime, ulidTimePrefix } from '../../../lambdas/adapters/ids.ts';

describe('newJobId', () => {
  it('mints ids the API contract accepts', () => {
    // Act
    const ids = Array.from({ length: 200 }, () => newJobId());

    // Assess
    for (const id of ids) expect(JobId.safeParse(id).success).toBe(true);
  });

  it('encodes the creation time in the first 10 characters, as the ULID spec does', () => {
    // Prepare
    const createdAt = new Date(1_469_918_176_385);

    // Act
    const id = newJobId(createdAt);

    // Assess: the spec's own example, 01ARYZ6S41TSV4RRFFQ69G5FAV, was minted at this millisecond.
    expect(id.slice(0, 10)).toBe('01ARYZ6S41');
    expect(ulidTime(id)).toBe(createdAt.getTime());
  });

  it('increases strictly within one millisecond, so ids sort in creation order', () => {
    // Prepare
    const sameMillisecond = new Date('2031-01-01T00:00:00.000Z');

    // Act
    const ids = Array.from({ length: 1_000 }, () => newJobId(sameMillisecond));

    // Assess
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('sorts ids of later milliseconds after earlier ones', () => {
    // Prepare
    const start = Date.parse('2031-01-01T00:00:00.000Z');

    // Act
    const ids = [0, 1, 31, 32, 1_000, 86_400_000].map((offset) => newJobId(new Date(start + offset)));

    // Assess
    expect([...ids].sort()).toEqual(ids);
  });

  it('refuses a time a ULID cannot hold', () => {
    // Act
    const beforeEpoch = () => ulidTimePrefix(-1);
    const beyond48Bits = () => ulidTimePrefix(2 ** 48);

    // Assess
    expect(beforeEpoch).toThrow(RangeError);
    expect(beyond48Bits).toThrow(RangeError);
  });
});
