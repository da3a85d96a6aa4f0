/**
 * The KD-tree's exact kNN spread over worker threads: the same answer as `allKnn` / `kdTreeKnn`,
 * bit for bit, in about 1/threads of the time on large inputs.
 *
 * The tree and the queries sit in SharedArrayBuffers, so each worker reads the million points the
 * main thread holds rather than a copy, and writes its rows straight into the shared result. The
 * workers take chunks of consecutive queries from a shared counter, so a slow chunk (a dense
 * region) cannot leave one thread idle while another still has half its share.
 *
 * A worker runs `knnSearch` from its source text (`knnSearch.toString()`, evaluated with
 * `eval: true`), not from a file: the same code then runs under tsx, vitest and an esbuild bundle
 * (Lambda, container), where a worker file path would not survive bundling and a `.ts` worker
 * would need tsx's loader. That is why the kernel is self-contained. A coverage tool that rewrites
 * function bodies (istanbul) would break the worker; V8 coverage does not.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import {
  buildKdTree,
  checkFinite,
  checkK,
  type KdTree,
  kdTreeAllKnn,
  kdTreeKnn,
  knnSearch,
} from './kd-tree.ts';
import type { Neighbours, Points } from './table.ts';

export interface ParallelKnnOptions {
  /** Worker threads to use; default: the machine's available parallelism. 1 searches in this thread. */
  readonly threads?: number;
  /** Below this many queries the search stays in this thread (starting workers costs more). Default 20,000. */
  readonly minParallelCount?: number;
}

const MIN_PARALLEL_COUNT = 20_000;

/** Queries per chunk a worker takes at a time: small enough to balance, large enough to stay in cache. */
const CHUNK = 2048;

/** What each worker receives: typed arrays over SharedArrayBuffers, shared, not copied. */
interface WorkerJob {
  readonly tree: KdTree;
  readonly queryData: Float64Array;
  readonly queryRows: Int32Array | null;
  readonly total: number;
  readonly k: number;
  readonly excludeSelf: boolean;
  readonly indices: Int32Array;
  readonly distances: Float64Array;
  /** The next query a worker takes, advanced with `Atomics.add`. */
  readonly next: Int32Array;
  readonly chunk: number;
}

let workerSource: string | undefined;

function source(): string {
  // esbuild's keepNames (tsx uses it) may leave `__name(...)` calls in the kernel's text: define it.
  workerSource ??= `'use strict';
const { parentPort, workerData } = require('node:worker_threads');
var __name = (target) => target;
const knnSearch = (${knnSearch.toString()});
const job = workerData;
for (;;) {
  const from = Atomics.add(job.next, 0, job.chunk);
  if (from >= job.total) break;
  const to = Math.min(job.total, from + job.chunk);
  knnSearch(job.tree, job.queryData, job.queryRows, from, to, job.k, job.excludeSelf, job.indices, job.distances);
}
parentPort.postMessage('done');
`;
  return workerSource;
}

function threadCount(options: ParallelKnnOptions): number {
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1)
    throw new Error(`threads must be a positive integer, not ${threads}`);
  return threads;
}

function isShared(array: Float64Array | Int32Array): boolean {
  return array.buffer instanceof SharedArrayBuffer;
}

function sharedCopy<T extends Float64Array | Int32Array>(array: T): T {
  if (isShared(array)) return array;
  const copy = new (array.constructor as new (buffer: SharedArrayBuffer) => T)(
    new SharedArrayBuffer(array.byteLength),
  );
  copy.set(array);
  return copy;
}

/** The tree on SharedArrayBuffers (itself when it already is), so workers do not each get a copy. */
function sharedTree(tree: KdTree): KdTree {
  return {
    ...tree,
    data: sharedCopy(tree.data),
    order: sharedCopy(tree.order),
    starts: sharedCopy(tree.starts),
    ends: sharedCopy(tree.ends),
    bounds: sharedCopy(tree.bounds),
    minIndex: sharedCopy(tree.minIndex),
    maxIndex: sharedCopy(tree.maxIndex),
  };
}

/** Runs the job on `threads` workers; every worker is terminated when it ends, error or not. */
async function runWorkers(threads: number, job: WorkerJob): Promise<void> {
  const workers: Worker[] = [];
  try {
    const runs: Promise<void>[] = [];
    for (let t = 0; t < threads; t++) {
      // No execArgv: the kernel is plain JavaScript, so the worker needs no tsx loader.
      const worker = new Worker(source(), { eval: true, workerData: job, execArgv: [] });
      workers.push(worker);
      runs.push(
        new Promise<void>((resolve, reject) => {
          worker.once('message', () => resolve());
          worker.once('error', reject);
          worker.once('exit', (code) =>
            reject(new Error(`a kNN worker stopped (exit code ${code}) before it finished`)),
          );
        }),
      );
    }
    await Promise.all(runs);
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

function sharedNeighbours(count: number, k: number): Neighbours {
  return {
    indices: new Int32Array(new SharedArrayBuffer(count * k * 4)),
    distances: new Float64Array(new SharedArrayBuffer(count * k * 8)),
    count,
    k,
  };
}

/**
 * Every point's k nearest other points, as `allKnn` returns them, searched on worker threads.
 * Small inputs and `threads: 1` search in this thread. The arrays of a parallel result live on
 * SharedArrayBuffers (they read like any typed array, but cannot be transferred).
 */
export async function allKnnParallel(
  points: Points,
  k: number,
  options: ParallelKnnOptions = {},
): Promise<Neighbours> {
  const threads = threadCount(options);
  checkK(k, points.count - 1);
  if (threads === 1 || points.count < (options.minParallelCount ?? MIN_PARALLEL_COUNT)) {
    return kdTreeAllKnn(buildKdTree(points), k);
  }
  const tree = buildKdTree(points, { shared: true });
  const result = sharedNeighbours(points.count, k);
  await runWorkers(threads, {
    tree,
    // Queries in tree order: neighbouring queries share nodes, and each chunk is one region.
    queryData: tree.data,
    queryRows: tree.order,
    total: tree.count,
    k,
    excludeSelf: true,
    indices: result.indices,
    distances: result.distances,
    next: new Int32Array(new SharedArrayBuffer(4)),
    chunk: CHUNK,
  });
  return result;
}

/**
 * The k nearest tree points to each query, as `kdTreeKnn` returns them, searched on worker threads.
 * A tree built with `{ shared: true }` is used as it is; any other is copied once to shared memory.
 */
export async function kdTreeKnnParallel(
  tree: KdTree,
  queries: Points,
  k: number,
  options: ParallelKnnOptions & { readonly excludeSelf?: boolean } = {},
): Promise<Neighbours> {
  const threads = threadCount(options);
  const excludeSelf = options.excludeSelf ?? false;
  if (queries.dims !== tree.dims) throw new Error(`dimension mismatch: ${tree.dims} and ${queries.dims}`);
  checkK(k, tree.count - (excludeSelf ? 1 : 0));
  checkFinite(queries);
  if (threads === 1 || queries.count < (options.minParallelCount ?? MIN_PARALLEL_COUNT)) {
    return kdTreeKnn(tree, queries, k, { excludeSelf });
  }
  const result = sharedNeighbours(queries.count, k);
  await runWorkers(threads, {
    tree: sharedTree(tree),
    queryData: sharedCopy(queries.data),
    queryRows: null,
    total: queries.count,
    k,
    excludeSelf,
    indices: result.indices,
    distances: result.distances,
    next: new Int32Array(new SharedArrayBuffer(4)),
    chunk: CHUNK,
  });
  return result;
}
