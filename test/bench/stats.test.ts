import { describe, expect, it } from 'vitest';
import {
  bootstrapMedianCi,
  mean,
  median,
  pairedRatios,
  percentile,
  percentileOfSorted,
  summarize,
} from '../../bench/lib/stats.ts';

describe('percentile', () => {
  it('is NaN for an empty sample', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(percentileOfSorted([], 99)).toBeNaN();
  });

  it('is the only value of a sample of one, at every p', () => {
    for (const p of [0, 1, 50, 99, 100]) expect(percentile([7], p)).toBe(7);
  });

  it('gives the minimum at p = 0 and the maximum at p = 100', () => {
    const sample = [5, 1, 9, 3];
    expect(percentile(sample, 0)).toBe(1);
    expect(percentile(sample, 100)).toBe(9);
  });

  it('interpolates linearly between closest ranks (type 7, as numpy)', () => {
    // numpy.percentile([1, 2, 3, 4], [25, 50, 90]) == [1.75, 2.5, 3.7]
    expect(percentile([1, 2, 3, 4], 25)).toBeCloseTo(1.75, 12);
    expect(percentile([1, 2, 3, 4], 50)).toBeCloseTo(2.5, 12);
    expect(percentile([1, 2, 3, 4], 90)).toBeCloseTo(3.7, 12);
    // two values: p99 lies 99 % of the way from the first to the second
    expect(percentile([10, 20], 99)).toBeCloseTo(19.9, 12);
  });

  it('lands exactly on a value when the rank is whole', () => {
    expect(percentile([10, 20, 30, 40, 50], 25)).toBe(20);
    expect(percentile([10, 20, 30, 40, 50], 75)).toBe(40);
  });

  it('sorts numerically, not as strings, and leaves the input alone', () => {
    const sample = [100, 9, 20, 3];
    expect(percentile(sample, 100)).toBe(100);
    expect(percentile(sample, 0)).toBe(3);
    expect(sample).toEqual([100, 9, 20, 3]);
  });

  it('handles repeated values and negatives', () => {
    expect(percentile([2, 2, 2, 2], 73)).toBe(2);
    expect(percentile([-3, -1, -2], 50)).toBe(-2);
  });

  it('rejects p outside [0, 100] and NaN', () => {
    expect(() => percentile([1, 2], -1)).toThrow(RangeError);
    expect(() => percentile([1, 2], 100.5)).toThrow(RangeError);
    expect(() => percentile([1, 2], Number.NaN)).toThrow(RangeError);
  });
});

describe('median and mean', () => {
  it('takes the middle value of an odd sample and the mean of the middle two of an even one', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('is NaN for an empty sample', () => {
    expect(median([])).toBeNaN();
    expect(mean([])).toBeNaN();
  });

  it('averages', () => {
    expect(mean([1, 2, 3, 6])).toBe(3);
  });
});

describe('summarize', () => {
  it('reports n, min, max, mean and the percentiles of one sample', () => {
    const s = summarize([5, 1, 4, 2, 3]);
    expect(s).toMatchObject({ n: 5, min: 1, max: 5, mean: 3, p50: 3 });
    expect(s.p90).toBeCloseTo(4.6, 12);
    expect(s.p99).toBeCloseTo(4.96, 12);
  });

  it('is all NaN, n = 0, for an empty sample', () => {
    const s = summarize([]);
    expect(s.n).toBe(0);
    for (const value of [s.min, s.p50, s.p90, s.p99, s.max, s.mean]) expect(value).toBeNaN();
  });
});

describe('pairedRatios', () => {
  it('divides round by round', () => {
    expect(pairedRatios([1, 3], [2, 4])).toEqual([0.5, 0.75]);
  });

  it('refuses samples that do not pair up', () => {
    expect(() => pairedRatios([1, 2], [1])).toThrow(RangeError);
  });
});

describe('bootstrapMedianCi', () => {
  it('is NaN for an empty sample and zero-width for a constant one', () => {
    const empty = bootstrapMedianCi([]);
    expect(empty.low).toBeNaN();
    expect(empty.high).toBeNaN();
    expect(bootstrapMedianCi([0.4])).toEqual({ low: 0.4, high: 0.4 });
    expect(bootstrapMedianCi([2, 2, 2])).toEqual({ low: 2, high: 2 });
  });

  it('brackets the median, within the sample range, and repeats for the same seed', () => {
    const sample = [0.31, 0.35, 0.36, 0.38, 0.4, 0.41, 0.45, 0.52, 0.6];
    const ci = bootstrapMedianCi(sample, { seed: 42 });
    expect(ci.low).toBeLessThanOrEqual(median(sample));
    expect(ci.high).toBeGreaterThanOrEqual(median(sample));
    expect(ci.low).toBeGreaterThanOrEqual(0.31);
    expect(ci.high).toBeLessThanOrEqual(0.6);
    expect(bootstrapMedianCi(sample, { seed: 42 })).toEqual(ci);
  });

  it('narrows as the confidence drops', () => {
    const sample = Array.from({ length: 30 }, (_, i) => i);
    const wide = bootstrapMedianCi(sample, { confidence: 0.99 });
    const narrow = bootstrapMedianCi(sample, { confidence: 0.5 });
    expect(narrow.high - narrow.low).toBeLessThan(wide.high - wide.low);
  });
});
