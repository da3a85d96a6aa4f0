import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  closestDistances,
  closestRate,
  hiddenRate,
  localCloaking,
} from '../../../../../../lambdas/domain/avatars/engine/metrics/distance.ts';
import type { Points } from '../../../../../../lambdas/domain/avatars/engine/table.ts';

function points(rows: readonly (readonly number[])[]): Points {
  const dims = rows[0]?.length ?? 1;
  return { data: Float64Array.from(rows.flat()), count: rows.length, dims };
}

/**
 * `local_cloaking.py` transcribed as directly as possible: every point of [R; A] sorted by
 * (distance, index), cut to `cap`, padded with −1 as FAISS pads a short list, then `get_counts`.
 */
function referenceLocalCloaking(records: Points, avatars: Points, cap: number): [number, number][] {
  const n = records.count;
  const dims = records.dims;
  const both = [...records.data, ...avatars.data];
  const result: [number, number][] = [];
  for (let current = 0; current < n; current++) {
    const list = Array.from({ length: 2 * n }, (_, j) => {
      let sum = 0;
      for (let d = 0; d < dims; d++) sum += (records.data[current * dims + d]! - both[j * dims + d]!) ** 2;
      return { index: j, distance: Math.sqrt(sum), squared: sum };
    }).sort((a, b) => a.squared - b.squared || a.index - b.index);
    const indices = list.slice(0, cap).map((entry) => entry.index);
    const distances = list.slice(0, cap).map((entry) => entry.distance);
    while (indices.length < cap) {
      indices.push(-1);
      distances.push(Number.MAX_VALUE);
    }
    let avatarsCount = 0;
    let recordsCount = 0;
    let duplicated = false;
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k]!;
      if (i === current) continue;
      if (i === current + n || i === -1) {
        if (i === -1 || k + 1 === indices.length) break;
        if (distances[k] === distances[k + 1]) duplicated = true;
        else break;
      }
      if (i === current + n) continue;
      if (i >= n) avatarsCount++;
      else recordsCount++;
      if (duplicated) {
        if (k + 1 === indices.length) break;
        if (distances[k]! < distances[k + 1]!) break;
      }
    }
    result.push([avatarsCount, recordsCount]);
  }
  return result;
}

/** Pairs of row-aligned point sets on a small integer grid: duplicates and equal distances everywhere. */
const tiedPairs = fc
  .record({
    dims: fc.integer({ min: 1, max: 3 }),
    n: fc.integer({ min: 2, max: 40 }),
    spread: fc.integer({ min: 1, max: 3 }),
  })
  .chain(({ dims, n, spread }) =>
    fc
      .array(fc.integer({ min: 0, max: spread }), { minLength: 2 * n * dims, maxLength: 2 * n * dims })
      .map((values) => ({
        records: { data: Float64Array.from(values.slice(0, n * dims)), count: n, dims },
        avatars: { data: Float64Array.from(values.slice(n * dims)), count: n, dims },
      })),
  );

describe('hiddenRate', () => {
  it('is 0 for a copy of records that are all distinct: every nearest synthetic row is the own one', () => {
    // Prepare
    const records = points([
      [0, 0],
      [1, 0],
      [0, 2],
      [5, 5],
    ]);

    // Act
    const rate = hiddenRate(records, records);

    // Assess
    expect(rate).toBe(0);
  });

  it('for a copy, hides exactly the records that have an identical earlier record (the lowest index wins ties)', () => {
    fc.assert(
      fc.property(tiedPairs, ({ records }) => {
        // Prepare: record i's nearest synthetic row is the first copy of its point, row i only if none comes before.
        const dims = records.dims;
        let repeated = 0;
        for (let i = 0; i < records.count; i++) {
          const row = records.data.subarray(i * dims, (i + 1) * dims);
          for (let j = 0; j < i; j++) {
            if (row.every((value, d) => value === records.data[j * dims + d])) {
              repeated++;
              break;
            }
          }
        }

        // Act
        const rate = hiddenRate(records, records);

        // Assess
        expect(rate).toBeCloseTo((100 * repeated) / records.count, 10);
      }),
    );
  });

  it('counts a record hidden when another synthetic row is nearer than its own', () => {
    // Prepare: record 0's own synthetic row is far; record 1's is on it.
    const records = points([[0], [10]]);
    const synthetic = points([[9], [10]]);

    // Act
    const rate = hiddenRate(records, synthetic);

    // Assess: record 0's nearest synthetic row is row 0 (distance 9 against 10), record 1's is row 1.
    expect(rate).toBe(0);
    expect(hiddenRate(records, points([[11], [0]]))).toBe(100);
  });

  it('refuses point sets that are not row-aligned', () => {
    expect(() => hiddenRate(points([[0], [1]]), points([[0]]))).toThrow(
      /pairs record i with synthetic row i/,
    );
  });
});

describe('localCloaking', () => {
  it('counts the synthetic rows and records closer to a record than its own synthetic row', () => {
    // Prepare: on a line, record 0 at 0 with its avatar at 3; in between, record 1 (at 1) and avatar 1 (at 1.2).
    const records = points([[0], [1], [10]]);
    const avatars = points([[3], [1.2], [20]]);

    // Act
    const result = localCloaking(records, avatars);

    // Assess
    expect(Array.from(result.avatarCounts)).toEqual([1, 0, 2]);
    expect(Array.from(result.recordCounts)).toEqual([1, 0, 2]);
    expect(result.avatarsMedian).toBe(1);
    expect(result.recordsMedian).toBe(1);
    expect(result.emptyRate).toBeCloseTo(1 / 3, 12);
  });

  it('counts the points at exactly the distance of the own synthetic row (the `duplicated` walk)', () => {
    // Prepare: record 0's avatar is at 2; record 1 and avatar 1 are at the same distance, on both sides.
    const records = points([[0], [-2]]);
    const avatars = points([[2], [2]]);

    // Act
    const result = localCloaking(records, avatars);

    // Assess: record 0 counts record 1 (distance 2) and avatar 1 (distance 2, after its own in index order).
    expect(result.avatarCounts[0]).toBe(1);
    expect(result.recordCounts[0]).toBe(1);
  });

  it('walks exactly as local_cloaking.py, with ties, duplicates and short or truncated lists', () => {
    fc.assert(
      fc.property(tiedPairs, fc.integer({ min: 1, max: 90 }), ({ records, avatars }, cap) => {
        // Prepare
        const expected = referenceLocalCloaking(records, avatars, cap);

        // Act
        const walked = localCloaking(records, avatars, { cap, method: 'walk' });

        // Assess
        expect(Array.from(walked.avatarCounts)).toEqual(expected.map(([a]) => a));
        expect(Array.from(walked.recordCounts)).toEqual(expected.map(([, r]) => r));
      }),
      { numRuns: 200 },
    );
  });

  it('gives the same counts by radius as by the walk, caps included', () => {
    fc.assert(
      fc.property(tiedPairs, fc.integer({ min: 1, max: 90 }), ({ records, avatars }, cap) => {
        // Act
        const walked = localCloaking(records, avatars, { cap, method: 'walk' });
        const counted = localCloaking(records, avatars, { cap, method: 'radius' });

        // Assess
        expect(Array.from(counted.avatarCounts)).toEqual(Array.from(walked.avatarCounts));
        expect(Array.from(counted.recordCounts)).toEqual(Array.from(walked.recordCounts));
        expect(counted.emptyRate).toBe(walked.emptyRate);
      }),
      { numRuns: 200 },
    );
  });

  it('gives the same counts by radius as by the walk when most rows are copies of a few', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 20, max: 160 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 0, max: 1000 }),
        (n, distinct, cap, seed) => {
          // Prepare: every record and synthetic row is one of `distinct` points of a line.
          let state = seed + 1;
          const pick = () => {
            state = (state * 16807) % 2147483647;
            return state % distinct;
          };
          const records = { data: Float64Array.from({ length: n }, pick), count: n, dims: 1 };
          const avatars = { data: Float64Array.from({ length: n }, pick), count: n, dims: 1 };

          // Act
          const walked = localCloaking(records, avatars, { cap, method: 'walk' });
          const counted = localCloaking(records, avatars, { cap, method: 'radius' });

          // Assess
          expect(Array.from(counted.avatarCounts)).toEqual(Array.from(walked.avatarCounts));
          expect(Array.from(counted.recordCounts)).toEqual(Array.from(walked.recordCounts));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('gives the same counts by radius as by the walk on continuous data', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 300 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 1000 }),
        (n, dims, seed) => {
          // Prepare: a deterministic cloud and avatars displaced from it.
          let state = seed + 1;
          const next = () => {
            state = (state * 16807) % 2147483647;
            return state / 2147483647 - 0.5;
          };
          const records = { data: Float64Array.from({ length: n * dims }, next), count: n, dims };
          const avatars = {
            data: records.data.map((value) => value + 0.2 * next()),
            count: n,
            dims,
          };

          // Act
          const walked = localCloaking(records, avatars, { method: 'walk' });
          const counted = localCloaking(records, avatars, { method: 'radius', cap: 50 });
          const walkedCapped = localCloaking(records, avatars, { method: 'walk', cap: 50 });

          // Assess
          expect(localCloaking(records, avatars, { method: 'radius' }).avatarsMedian).toBe(
            walked.avatarsMedian,
          );
          expect(Array.from(counted.avatarCounts)).toEqual(Array.from(walkedCapped.avatarCounts));
          expect(Array.from(counted.recordCounts)).toEqual(Array.from(walkedCapped.recordCounts));
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('closestDistances', () => {
  it('gives each synthetic row its distance to the closest original and the ratio to the second', () => {
    // Prepare
    const originals = points([[0], [4], [10]]);
    const synthetic = points([[1], [4], [7], [20]]);

    // Act
    const { dcr, nndr } = closestDistances(originals, synthetic);

    // Assess
    expect(Array.from(dcr)).toEqual([1, 0, 3, 10]);
    expect(Array.from(nndr)).toEqual([1 / 3, 0, 1, 10 / 16]);
  });

  it('sets the ratio to 1 when the two closest originals are the same point as the synthetic row', () => {
    const { dcr, nndr } = closestDistances(points([[2], [2], [5]]), points([[2]]));

    expect(dcr[0]).toBe(0);
    expect(nndr[0]).toBe(1);
  });
});

describe('closestRate', () => {
  it('counts as singling out a synthetic row both close to an original and far from the others', () => {
    // Prepare: originals 1 apart; synthetic row 0 sits on original 0, row 1 halfway between two originals.
    const originals = points([[0], [1], [2], [3]]);
    const synthetic = points([[0], [1.5]]);
    const distances = closestDistances(originals, synthetic);

    // Act
    const rate = closestRate(originals, distances, { percentageThreshold: 0.3, ratioThreshold: 0.3 });

    // Assess: row 0 has DCR 0 ≤ 1 and NNDR 0 < 0.3; row 1 has NNDR 1.
    expect(rate).toBe(50);
  });
});
