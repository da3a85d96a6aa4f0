/**
 * Worker threads that share out a loop over `total` items, for the engine's exact searches
 * (knn-parallel.ts, metrics/local-cloaking-parallel.ts): each worker evaluates a kernel from its
 * source text, reads the job's typed arrays on SharedArrayBuffers, takes chunks of consecutive items
 * from a shared counter and writes its results into shared arrays. Taking chunks as it goes, a
 * worker that meets a slow region (a dense cluster) cannot leave the others idle at the end.
 *
 * The kernel runs from its source text (`fn.toString()`, evaluated with `eval: true`), not from a
 * file: the same code then runs under tsx, vitest and an esbuild bundle (Lambda, container), where a
 * worker file path would not survive bundling and a `.ts` worker would need tsx's loader. That is
 * why a kernel must be self-contained: a bundler renames module-level names (minified or on a
 * collision), so a kernel that called another module-level function would call a name the worker
 * never defined. A coverage tool that rewrites function bodies (istanbul) would break the workers;
 * V8 coverage does not.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** What a worker loop shares out: `job` (plain data, typed arrays shared) over items `[0, total)`. */
export interface ChunkedWork {
  /** What the loop does: the kernels' definitions and the call that handles one chunk. */
  readonly source: string;
  readonly job: unknown;
  readonly total: number;
  /** Items a worker takes at a time: small enough to balance, large enough to stay in cache. */
  readonly chunk: number;
  /** Names the work in the error of a worker that stopped early. */
  readonly name: string;
}

/**
 * The source of a worker that runs `definitions` once, then `call` for each chunk it takes, with
 * `job` (the work's job), `from` and `to` (the chunk's items) in scope.
 */
export function chunkedWorkerSource(definitions: string, call: string): string {
  // esbuild's keepNames (tsx uses it) may leave `__name(...)` calls in a kernel's text: define it.
  return `'use strict';
const { parentPort, workerData } = require('node:worker_threads');
var __name = (target) => target;
const { job, next, total, chunk } = workerData;
${definitions}
for (;;) {
  const from = Atomics.add(next, 0, chunk);
  if (from >= total) break;
  const to = Math.min(total, from + chunk);
  ${call}
}
parentPort.postMessage('done');
`;
}

/** The worker count asked for (default: the machine's available parallelism), checked. */
export function threadCount(threads: number | undefined): number {
  const count = threads ?? availableParallelism();
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`threads must be a positive integer, not ${count}`);
  return count;
}

/** The array itself when it already lives on a SharedArrayBuffer, else a shared copy of it. */
export function sharedCopy<T extends Float64Array | Int32Array>(array: T): T {
  if (array.buffer instanceof SharedArrayBuffer) return array;
  const copy = new (array.constructor as new (buffer: SharedArrayBuffer) => T)(
    new SharedArrayBuffer(array.byteLength),
  );
  copy.set(array);
  return copy;
}

/** Runs the work on `threads` workers; every worker is terminated when it ends, error or not. */
export async function runChunkedWorkers(threads: number, work: ChunkedWork): Promise<void> {
  const workerData = {
    job: work.job,
    // The next item a worker takes, advanced with `Atomics.add`.
    next: new Int32Array(new SharedArrayBuffer(4)),
    total: work.total,
    chunk: work.chunk,
  };
  const workers: Worker[] = [];
  try {
    const runs: Promise<void>[] = [];
    for (let t = 0; t < threads; t++) {
      // No execArgv: the kernel is plain JavaScript, so the worker needs no tsx loader.
      const worker = new Worker(work.source, { eval: true, workerData, execArgv: [] });
      workers.push(worker);
      runs.push(
        new Promise<void>((resolve, reject) => {
          worker.once('message', () => resolve());
          worker.once('error', reject);
          worker.once('exit', (code) =>
            reject(new Error(`a ${work.name} worker stopped (exit code ${code}) before it finished`)),
          );
        }),
      );
    }
    await Promise.all(runs);
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}
