import { describe, expect, it } from 'vitest';
import {
  type LocalCloaking,
  localCloaking,
} from '../../../../../../lambdas/domain/avatars/engine/metrics/local-cloaking.ts';
import { localCloakingParallel } from '../../../../../../lambdas/domain/avatars/engine/metrics/local-cloaking-parallel.ts';
import type { Points } from '../../../../../../lambdas/domain/avatars/engine/table.ts';

/** Records in a cube and synthetic rows displaced from them by up to `noise` (a seeded generator). */
function displaced(n: number, dims: number, noise: number, seed: number): [Points, Points] {
  let state = seed;
  const next = () => {
    state = (state * 16807) % 2147483647;
    return state / 2147483647 - 0.5;
  };
  const records = Float64Array.from({ length: n * dims }, next);
  const synthetic = records.map((value) => value + noise * next());
  return [
    { data: records, count: n, dims },
    { data: synthetic, count: n, dims },
  ];
}

/** Records and synthetic rows on a coarse grid: many identical rows and tied distances. */
function onGrid(n: number, dims: number, steps: number, seed: number): [Points, Points] {
  let state = seed;
  const pick = () => {
    state = (state * 16807) % 2147483647;
    return (state % steps) * 0.5;
  };
  return [
    { data: Float64Array.from({ length: n * dims }, pick), count: n, dims },
    { data: Float64Array.from({ length: n * dims }, pick), count: n, dims },
  ];
}

/** Whether two results hold the same counts, bit for bit, and the same summaries. */
function expectSame(actual: LocalCloaking, expected: LocalCloaking): void {
  expect(Buffer.from(actual.avatarCounts.buffer).equals(Buffer.from(expected.avatarCounts.buffer))).toBe(
    true,
  );
  expect(Buffer.from(actual.recordCounts.buffer).equals(Buffer.from(expected.recordCounts.buffer))).toBe(
    true,
  );
  expect(actual.avatarsMedian).toBe(expected.avatarsMedian);
  expect(actual.recordsMedian).toBe(expected.recordsMedian);
  expect(actual.emptyRate).toBe(expected.emptyRate);
}

/** Records with more than `cap` points inside their radius: those the crowded selection counts. */
function crowded(result: LocalCloaking, cap: number): number {
  let count = 0;
  for (let i = 0; i < result.avatarCounts.length; i++) {
    if (result.avatarCounts[i]! + result.recordCounts[i]! >= cap - 2) count++;
  }
  return count;
}

const onWorkers = { threads: 2, minParallelCount: 0 } as const;

describe('localCloakingParallel', () => {
  it('counts exactly what localCloaking counts on continuous data, on two worker threads', async () => {
    // Prepare
    const [records, synthetic] = displaced(6000, 4, 0.3, 1);

    // Act
    const parallel = await localCloakingParallel(records, synthetic, onWorkers);

    // Assess: the workers really ran (shared counts) and agree bit for bit.
    expect(parallel.avatarCounts.buffer).toBeInstanceOf(SharedArrayBuffer);
    expectSame(parallel, localCloaking(records, synthetic));
    expect(parallel.avatarsMedian).toBeGreaterThan(0);
  });

  it('counts exactly what localCloaking counts when rows repeat and distances tie', async () => {
    // Prepare: 3 dimensions of 4 values, 64 locations for 8,000 points.
    const [records, synthetic] = onGrid(4000, 3, 4, 2);

    // Act
    const parallel = await localCloakingParallel(records, synthetic, { ...onWorkers, cap: 300 });

    // Assess: the small cap makes most records crowded, so workers ran the selection of the nearest.
    expect(parallel.recordCounts.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(crowded(parallel, 300)).toBeGreaterThan(1000);
    expectSame(parallel, localCloaking(records, synthetic, { cap: 300 }));
  });

  it('counts the crowded records of far synthetic rows exactly as localCloaking does', async () => {
    // Prepare: synthetic rows far from their records, so every radius holds more than the cap.
    const [records, synthetic] = displaced(3000, 3, 3, 3);

    // Act
    const parallel = await localCloakingParallel(records, synthetic, { ...onWorkers, cap: 40 });

    // Assess
    expect(crowded(parallel, 40)).toBeGreaterThan(2500);
    expectSame(parallel, localCloaking(records, synthetic, { cap: 40 }));
  });

  it('matches the paper’s walk on small caps, ties included', async () => {
    // Prepare
    const [records, synthetic] = onGrid(2500, 2, 6, 4);

    // Act
    const parallel = await localCloakingParallel(records, synthetic, { ...onWorkers, cap: 25 });

    // Assess
    expectSame(parallel, localCloaking(records, synthetic, { cap: 25, method: 'walk' }));
  });

  it('counts small inputs, a single thread and the walk in this thread, with the same answer', async () => {
    // Prepare
    const [records, synthetic] = displaced(500, 3, 0.2, 5);
    const expected = localCloaking(records, synthetic, { cap: 30 });

    // Act
    const small = await localCloakingParallel(records, synthetic, { threads: 2, cap: 30 });
    const oneThread = await localCloakingParallel(records, synthetic, {
      threads: 1,
      minParallelCount: 0,
      cap: 30,
    });
    const walked = await localCloakingParallel(records, synthetic, { ...onWorkers, cap: 30, method: 'walk' });

    // Assess
    expect(small.avatarCounts.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expect(oneThread.avatarCounts.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expect(walked.avatarCounts.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expect(small).toEqual(expected);
    expect(oneThread).toEqual(expected);
    expect(walked).toEqual(expected);
  });

  it('refuses a bad thread count, a bad cap or unaligned point sets before starting any worker', async () => {
    const [records, synthetic] = displaced(10, 2, 0.1, 6);
    const [fewer] = displaced(9, 2, 0.1, 6);

    await expect(localCloakingParallel(records, synthetic, { threads: 0 })).rejects.toThrow(
      'threads must be a positive integer',
    );
    await expect(localCloakingParallel(records, synthetic, { ...onWorkers, cap: 0 })).rejects.toThrow(
      'cap must be a positive integer',
    );
    await expect(localCloakingParallel(records, fewer, onWorkers)).rejects.toThrow(/pairs record i/);
  });
});
