import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildKdTree,
  kdTreeAllKnn,
  kdTreeKnn,
} from '../../../../../lambdas/domain/avatars/engine/kd-tree.ts';
import { bruteForceAllKnn, bruteForceKnn } from '../../../../../lambdas/domain/avatars/engine/knn.ts';
import type { Points } from '../../../../../lambdas/domain/avatars/engine/table.ts';

function points(rows: readonly (readonly number[])[]): Points {
  const dims = rows[0]?.length ?? 1;
  return { data: Float64Array.from(rows.flat()), count: rows.length, dims };
}

/** A coordinate: mostly a half-integer (exact ties between distinct points), sometimes any double. */
const coordinate = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -3, max: 3 }).map((value) => value * 0.5) },
  { weight: 1, arbitrary: fc.double({ min: -5, max: 5, noNaN: true }) },
);

/**
 * Up to 300 points drawn from a small pool of distinct points, so most points have exact
 * duplicates and most distances tie: the order among ties is what FAISS's order decides.
 */
const cloud = fc.integer({ min: 1, max: 6 }).chain((dims) =>
  fc.record({
    pool: fc.array(fc.array(coordinate, { minLength: dims, maxLength: dims }), {
      minLength: 1,
      maxLength: 40,
      size: 'max',
    }),
    picks: fc.array(fc.nat(), { minLength: 2, maxLength: 300, size: 'max' }),
    kSeed: fc.nat(),
    leafSize: fc.integer({ min: 2, max: 16 }),
  }),
);

function draw({ pool, picks, kSeed }: { pool: number[][]; picks: number[]; kSeed: number }) {
  const cloudPoints = points(picks.map((pick) => pool[pick % pool.length]!));
  const k = 1 + (kSeed % Math.min(cloudPoints.count - 1, 25));
  return { cloudPoints, k };
}

describe('kdTreeAllKnn', () => {
  it('returns exactly the brute force: same neighbours, same order among ties, same distances', () => {
    fc.assert(
      fc.property(cloud, (drawn) => {
        // Prepare
        const { cloudPoints, k } = draw(drawn);
        const tree = buildKdTree(cloudPoints, { leafSize: drawn.leafSize });

        // Act
        const neighbours = kdTreeAllKnn(tree, k);

        // Assess
        const expected = bruteForceAllKnn(cloudPoints, k);
        expect(neighbours.indices).toEqual(expected.indices);
        expect(neighbours.distances).toEqual(expected.distances);
      }),
    );
  });

  it('breaks ties by the lower original index, wherever the duplicates sit', () => {
    // Prepare: ten copies of one point, then one point further away.
    const rows = [...Array.from({ length: 10 }, () => [1, 1]), [4, 5]];

    // Act
    const neighbours = kdTreeAllKnn(buildKdTree(points(rows), { leafSize: 2 }), 3);

    // Assess
    expect([...neighbours.indices.subarray(0, 3)]).toEqual([1, 2, 3]);
    expect([...neighbours.indices.subarray(7 * 3, 8 * 3)]).toEqual([0, 1, 2]);
    expect([...neighbours.indices.subarray(10 * 3, 11 * 3)]).toEqual([0, 1, 2]);
    expect([...neighbours.distances.subarray(10 * 3, 11 * 3)]).toEqual([5, 5, 5]);
  });

  it('refuses a k larger than the other points there are, or not a positive integer', () => {
    const tree = buildKdTree(points([[0], [1], [2]]));
    expect(() => kdTreeAllKnn(tree, 3)).toThrow('k = 3 is more than the 2 points there are');
    expect(() => kdTreeAllKnn(tree, 0)).toThrow('k must be a positive integer');
    expect(() => kdTreeAllKnn(tree, 1.5)).toThrow('k must be a positive integer');
  });
});

describe('buildKdTree', () => {
  it('refuses a coordinate that is not a finite number, naming the point', () => {
    expect(() =>
      buildKdTree(
        points([
          [0, 1],
          [2, Number.NaN],
        ]),
      ),
    ).toThrow('point 1 has a coordinate that is not a finite');
    expect(() => buildKdTree(points([[Number.POSITIVE_INFINITY, 1]]))).toThrow('point 0');
  });
});

describe('kdTreeKnn', () => {
  it('returns exactly the brute force for queries apart from the base set', () => {
    fc.assert(
      fc.property(cloud, fc.array(fc.nat(), { minLength: 1, maxLength: 50 }), (drawn, queryPicks) => {
        // Prepare: queries from the same pool, so they land on base points and ties.
        const { cloudPoints, k } = draw(drawn);
        const queries = points(queryPicks.map((pick) => drawn.pool[pick % drawn.pool.length]!));
        const tree = buildKdTree(cloudPoints, { leafSize: drawn.leafSize });

        // Act
        const neighbours = kdTreeKnn(tree, queries, k);

        // Assess
        const expected = bruteForceKnn(cloudPoints, queries, k);
        expect(neighbours.indices).toEqual(expected.indices);
        expect(neighbours.distances).toEqual(expected.distances);
      }),
    );
  });

  it('with excludeSelf leaves out only base index i for query i, not its duplicates', () => {
    // Prepare: points 0 and 2 are the same point.
    const base = points([
      [0, 0],
      [3, 4],
      [0, 0],
    ]);
    const tree = buildKdTree(base);

    // Act
    const withSelf = kdTreeKnn(tree, base, 1);
    const withoutSelf = kdTreeKnn(tree, base, 1, { excludeSelf: true });

    // Assess: with itself, point 2's nearest is point 0 (same place, lower index).
    expect([...withSelf.indices]).toEqual([0, 1, 0]);
    expect([...withoutSelf.indices]).toEqual([2, 0, 0]);
    expect([...withoutSelf.distances]).toEqual([0, 5, 0]);
  });

  it('refuses queries of another dimension', () => {
    const tree = buildKdTree(
      points([
        [0, 0],
        [1, 1],
      ]),
    );
    expect(() => kdTreeKnn(tree, points([[0, 0, 0]]), 1)).toThrow('dimension mismatch: 2 and 3');
  });

  it('answers the same from a tree on shared memory', () => {
    // Prepare
    const base = points([
      [0, 1],
      [2, 2],
      [5, 1],
      [0, 1],
      [3, 3],
    ]);

    // Act
    const tree = buildKdTree(base, { shared: true });

    // Assess
    expect(tree.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(kdTreeAllKnn(tree, 2)).toEqual(bruteForceAllKnn(base, 2));
  });
});
