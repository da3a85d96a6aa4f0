import { describe, expect, it } from 'vitest';
import {
  allKnn,
  bruteForceAllKnn,
  bruteForceKnn,
  knn,
} from '../../../../../lambdas/domain/avatars/engine/knn.ts';
import { createRandom } from '../../../../../lambdas/domain/avatars/engine/rng.ts';
import type { Points } from '../../../../../lambdas/domain/avatars/engine/table.ts';

const line = (values: number[]): Points => ({
  data: Float64Array.from(values),
  count: values.length,
  dims: 1,
});

describe('bruteForceAllKnn', () => {
  it('lists each point its nearest others, nearest first, lower index first among ties', () => {
    // Act
    const neighbours = bruteForceAllKnn(line([0, 1, 3, 3, 10]), 2);

    // Assess
    expect([...neighbours.indices]).toEqual([1, 2, 0, 2, 3, 1, 2, 1, 2, 3]);
    expect([...neighbours.distances]).toEqual([1, 3, 1, 2, 0, 2, 0, 2, 7, 7]);
  });
});

describe('allKnn and knn', () => {
  it('answer as the brute force does on a skewed 5-dimensional cloud', () => {
    // Prepare: 3,000 points, stretched like a projection's first components.
    const random = createRandom(11);
    const data = new Float64Array(3_000 * 5);
    for (let i = 0; i < data.length; i++) data[i] = random.normal() * [4, 2, 1, 0.5, 0.1][i % 5]!;
    const points: Points = { data, count: 3_000, dims: 5 };
    const queries: Points = { data: data.slice(0, 500 * 5), count: 500, dims: 5 };

    // Act
    const all = allKnn(points, 20);
    const some = knn(points, queries, 20);

    // Assess
    expect(all).toEqual(bruteForceAllKnn(points, 20));
    expect(some).toEqual(bruteForceKnn(points, queries, 20));
  });
});
