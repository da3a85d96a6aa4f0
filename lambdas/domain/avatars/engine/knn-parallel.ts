/**
 * The KD-tree's exact kNN spread over worker threads: the same answer as `allKnn` / `kdTreeKnn`,
 * bit for bit, in about 1/threads of the time on large inputs.
 *
 * The tree and the queries sit in SharedArrayBuffers, so each worker reads the million points the
 * main thread holds rather than a copy, and writes its rows straight into the shared result. The
 * workers take chunks of consecutive queries from a shared counter, so a slow chunk (a dense
 * region) cannot leave one thread idle while another still has half its share.
 *
 * A worker runs `knnSearch` from its source text (./chunked-workers.ts says why), so the kernel is
 * self-contained.
 */
import { chunkedWorkerSource, runChunkedWorkers, sharedCopy, threadCount } from './chunked-workers.ts';
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
interface KnnJob {
  readonly tree: KdTree;
  readonly queryData: Float64Array;
  readonly queryRows: Int32Array | null;
  readonly k: number;
  readonly excludeSelf: boolean;
  readonly indices: Int32Array;
  readonly distances: Float64Array;
}

let workerSource: string | undefined;

function source(): string {
  workerSource ??= chunkedWorkerSource(
    `const knnSearch = (${knnSearch.toString()});`,
    'knnSearch(job.tree, job.queryData, job.queryRows, from, to, job.k, job.excludeSelf, job.indices, job.distances);',
  );
  return workerSource;
}

/** Searches the job's queries `[0, total)` on `threads` workers. */
function runWorkers(threads: number, job: KnnJob, total: number): Promise<void> {
  return runChunkedWorkers(threads, { source: source(), job, total, chunk: CHUNK, name: 'kNN' });
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
  const threads = threadCount(options.threads);
  checkK(k, points.count - 1);
  if (threads === 1 || points.count < (options.minParallelCount ?? MIN_PARALLEL_COUNT)) {
    return kdTreeAllKnn(buildKdTree(points), k);
  }
  const tree = buildKdTree(points, { shared: true });
  const result = sharedNeighbours(points.count, k);
  await runWorkers(
    threads,
    {
      tree,
      // Queries in tree order: neighbouring queries share nodes, and each chunk is one region.
      queryData: tree.data,
      queryRows: tree.order,
      k,
      excludeSelf: true,
      indices: result.indices,
      distances: result.distances,
    },
    tree.count,
  );
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
  const threads = threadCount(options.threads);
  const excludeSelf = options.excludeSelf ?? false;
  if (queries.dims !== tree.dims) throw new Error(`dimension mismatch: ${tree.dims} and ${queries.dims}`);
  checkK(k, tree.count - (excludeSelf ? 1 : 0));
  checkFinite(queries);
  if (threads === 1 || queries.count < (options.minParallelCount ?? MIN_PARALLEL_COUNT)) {
    return kdTreeKnn(tree, queries, k, { excludeSelf });
  }
  const result = sharedNeighbours(queries.count, k);
  await runWorkers(
    threads,
    {
      tree: sharedTree(tree),
      queryData: sharedCopy(queries.data),
      queryRows: null,
      k,
      excludeSelf,
      indices: result.indices,
      distances: result.distances,
    },
    queries.count,
  );
  return result;
}
