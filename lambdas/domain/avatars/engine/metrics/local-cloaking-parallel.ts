/**
 * Local cloaking's `radius` method spread over worker threads: the same counts as `localCloaking`,
 * bit for bit, in about 1/threads of the time on large inputs. The locations' tree, their weights
 * and the points sit in SharedArrayBuffers; the workers take chunks of records (in the tree's order
 * of their locations, as `localCloaking` visits them) from a shared counter and write each
 * record's counts into the shared result. Each record's counts depend on the job alone, never on
 * which worker counts it or when, which is why the answer is the same.
 */
import { chunkedWorkerSource, runChunkedWorkers, threadCount } from '../chunked-workers.ts';
import type { Points } from '../table.ts';
import {
  checkLocalCloaking,
  type LocalCloaking,
  type LocalCloakingOptions,
  localCloaking,
  summarize,
} from './local-cloaking.ts';
import { radiusJob, radiusKernel } from './local-cloaking-radius.ts';

export interface ParallelLocalCloakingOptions extends LocalCloakingOptions {
  /** Worker threads to use; default: the machine's available parallelism. 1 counts in this thread. */
  readonly threads?: number;
  /** Below this many records the counts stay in this thread (starting workers costs more). Default 2,000. */
  readonly minParallelCount?: number;
}

/**
 * Starting the workers costs about 0.1 s. A record costs from microseconds (an avatar, its own row
 * among its nearest) to a millisecond (a synthetic row far from its record): below 2,000 records the
 * workers gain little, above it a far generator's counts take seconds.
 */
const MIN_PARALLEL_COUNT = 2000;

/**
 * Records per chunk a worker takes at a time: one crowded record costs up to thousands of
 * locations, so chunks are small, for the workers to finish together.
 */
const CHUNK = 256;

let workerSource: string | undefined;

function source(): string {
  workerSource ??= chunkedWorkerSource(
    `const countRecords = (${radiusKernel.toString()})(job);`,
    'countRecords(from, to);',
  );
  return workerSource;
}

/**
 * `localCloaking` on worker threads. Small inputs, `threads: 1` and the `walk` method (a check)
 * count in this thread. The counts of a parallel result live on SharedArrayBuffers (they read like
 * any typed array, but cannot be transferred).
 */
export async function localCloakingParallel(
  records: Points,
  synthetic: Points,
  options: ParallelLocalCloakingOptions = {},
): Promise<LocalCloaking> {
  const threads = threadCount(options.threads);
  const cap = checkLocalCloaking(records, synthetic, options);
  if (
    options.method === 'walk' ||
    threads === 1 ||
    records.count < (options.minParallelCount ?? MIN_PARALLEL_COUNT)
  ) {
    return localCloaking(records, synthetic, options);
  }
  const job = radiusJob(records, synthetic, cap, true);
  await runChunkedWorkers(threads, {
    source: source(),
    job,
    total: records.count,
    chunk: CHUNK,
    name: 'local cloaking',
  });
  return summarize(job.avatarCounts, job.recordCounts);
}
