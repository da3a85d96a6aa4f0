import { describe, expect, it } from 'vitest';
import {
  chunkedWorkerSource,
  runChunkedWorkers,
  sharedCopy,
  threadCount,
} from '../../../../../lambdas/domain/avatars/engine/chunked-workers.ts';

describe('runChunkedWorkers', () => {
  it('hands every item to exactly one worker, in chunks, through the shared job', async () => {
    // Prepare: each worker adds its mark to every item of the chunks it takes.
    const seen = new Int32Array(new SharedArrayBuffer(1000 * 4));
    const source = chunkedWorkerSource(
      'const mark = (items, from, to) => { for (let i = from; i < to; i++) Atomics.add(items, i, 1); };',
      'mark(job.seen, from, to);',
    );

    // Act
    await runChunkedWorkers(3, { source, job: { seen }, total: 1000, chunk: 7, name: 'test' });

    // Assess
    expect(seen.every((count) => count === 1)).toBe(true);
  });

  it('rejects with the error a worker threw', async () => {
    const source = chunkedWorkerSource('', 'throw new Error("chunk " + from + " failed");');

    await expect(
      runChunkedWorkers(2, { source, job: {}, total: 10, chunk: 100, name: 'test' }),
    ).rejects.toThrow('chunk 0 failed');
  });

  it('rejects, naming the work, when a worker exits before it finished', async () => {
    const source = chunkedWorkerSource('', 'process.exit(3);');

    await expect(
      runChunkedWorkers(1, { source, job: {}, total: 10, chunk: 5, name: 'test' }),
    ).rejects.toThrow('a test worker stopped (exit code 3) before it finished');
  });
});

describe('threadCount and sharedCopy', () => {
  it('defaults the threads to the machine and refuses what is not a positive integer', () => {
    expect(threadCount(undefined)).toBeGreaterThanOrEqual(1);
    expect(threadCount(3)).toBe(3);
    expect(() => threadCount(1.5)).toThrow('threads must be a positive integer, not 1.5');
  });

  it('copies an array to shared memory once, and keeps one already there', () => {
    const copy = sharedCopy(Float64Array.of(1, 2, 3));

    expect(copy.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Array.from(copy)).toEqual([1, 2, 3]);
    expect(sharedCopy(copy)).toBe(copy);
  });
});
