import { describe, expect, it } from 'vitest';
import { buildKdTree, kdTreeKnn } from '../../../../../lambdas/domain/avatars/engine/kd-tree.ts';
import { allKnn } from '../../../../../lambdas/domain/avatars/engine/knn.ts';
import {
  allKnnParallel,
  kdTreeKnnParallel,
} from '../../../../../lambdas/domain/avatars/engine/knn-parallel.ts';
import { createRandom } from '../../../../../lambdas/domain/avatars/engine/rng.ts';
import type { Points } from '../../../../../lambdas/domain/avatars/engine/table.ts';

/** Points on a coarse grid in 3 dimensions: many exact duplicates and tied distances. */
function gridPoints(count: number, seed: number): Points {
  const random = createRandom(seed);
  const data = new Float64Array(count * 3);
  for (let i = 0; i < data.length; i++) data[i] = random.int(40) * 0.25;
  return { data, count, dims: 3 };
}

describe('allKnnParallel', () => {
  it('returns exactly what allKnn returns, searched on two worker threads', async () => {
    // Prepare
    const points = gridPoints(30_000, 1);

    // Act
    const parallel = await allKnnParallel(points, 8, { threads: 2 });

    // Assess: the workers really ran (shared result) and agree bit for bit.
    expect(parallel.indices.buffer).toBeInstanceOf(SharedArrayBuffer);
    const serial = allKnn(points, 8);
    expect(Buffer.from(parallel.indices.buffer).equals(Buffer.from(serial.indices.buffer))).toBe(true);
    expect(Buffer.from(parallel.distances.buffer).equals(Buffer.from(serial.distances.buffer))).toBe(true);
  });

  it('searches small inputs and a single thread in this thread, with the same answer', async () => {
    // Prepare
    const points = gridPoints(500, 2);

    // Act
    const small = await allKnnParallel(points, 5, { threads: 2 });
    const oneThread = await allKnnParallel(points, 5, { threads: 1, minParallelCount: 0 });

    // Assess
    expect(small.indices.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expect(small).toEqual(allKnn(points, 5));
    expect(oneThread).toEqual(allKnn(points, 5));
  });

  it('refuses a bad thread count or k before starting any worker', async () => {
    const points = gridPoints(10, 3);
    await expect(allKnnParallel(points, 2, { threads: 0 })).rejects.toThrow(
      'threads must be a positive integer',
    );
    await expect(allKnnParallel(points, 10)).rejects.toThrow('k = 10 is more than the 9 points there are');
  });
});

describe('kdTreeKnnParallel', () => {
  it('returns exactly what kdTreeKnn returns, from a tree not built on shared memory', async () => {
    // Prepare
    const base = gridPoints(5_000, 4);
    const queries = gridPoints(25_000, 5);
    const tree = buildKdTree(base);

    // Act
    const parallel = await kdTreeKnnParallel(tree, queries, 3, { threads: 2 });

    // Assess
    expect(parallel.indices.buffer).toBeInstanceOf(SharedArrayBuffer);
    const serial = kdTreeKnn(tree, queries, 3);
    expect(Buffer.from(parallel.indices.buffer).equals(Buffer.from(serial.indices.buffer))).toBe(true);
    expect(Buffer.from(parallel.distances.buffer).equals(Buffer.from(serial.distances.buffer))).toBe(true);
  });

  it('leaves each query its own base index out with excludeSelf', async () => {
    // Prepare
    const points = gridPoints(21_000, 6);
    const tree = buildKdTree(points, { shared: true });

    // Act
    const parallel = await kdTreeKnnParallel(tree, points, 4, { threads: 2, excludeSelf: true });

    // Assess
    const serial = allKnn(points, 4);
    expect(Buffer.from(parallel.indices.buffer).equals(Buffer.from(serial.indices.buffer))).toBe(true);
    expect(parallel.indices.some((index, slot) => index === Math.floor(slot / 4))).toBe(false);
  });
});
