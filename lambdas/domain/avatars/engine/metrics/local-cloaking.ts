/**
 * Local cloaking (octopize/avatar-paper `metrics/privacy_metrics/local_cloaking.py`), on the
 * records' and the (unshuffled) synthetic rows' coordinates; ./distance.ts has the other distance
 * metrics and the conventions they share (exact distances, ties to the lower index).
 */
import { buildKdTree } from '../kd-tree.ts';
import type { Points } from '../table.ts';
import { checkAligned } from './distance.ts';
import { radiusJob, radiusKernel, stackedPoints } from './local-cloaking-radius.ts';
import { walk } from './local-cloaking-walk.ts';
import { median } from './stats.ts';

/** The paper's neighbour count for local cloaking (`FaissKNeighbors(k=4000)`): counts stop there. */
export const LOCAL_CLOAKING_CAP = 4000;

export interface LocalCloaking {
  /** Median over records of the other synthetic rows met before the record's own: "local cloaking". */
  readonly avatarsMedian: number;
  /** Median over records of the other records met before the record's own synthetic row. */
  readonly recordsMedian: number;
  /** Share (0..1) of records with neither: nothing lies between them and their synthetic row. */
  readonly emptyRate: number;
  /** Per record: synthetic rows and records counted. */
  readonly avatarCounts: Int32Array;
  readonly recordCounts: Int32Array;
}

export interface LocalCloakingOptions {
  /** Neighbours looked at, the paper's 4000; a record with more points inside its radius is capped. */
  readonly cap?: number;
  /**
   * `radius` (the default): counts within the distance to the record's own synthetic row, and for a
   * record with more than `cap` points inside, a selection of its `cap` nearest. `walk`: the paper's
   * walk along each record's `cap` nearest points, as a check: the same counts, in O(cap²) a record.
   */
  readonly method?: 'radius' | 'walk';
}

/**
 * Local cloaking (`local_cloaking.py`). Over `both = [R; A]` (synthetic row j is point n+j), each
 * record walks its `cap` nearest points in order: itself is skipped; at its own synthetic row the
 * walk stops, unless the next point is at the same distance, in which case it is `duplicated` and
 * goes on; every other point is counted as a synthetic row (index ≥ n) or a record, and once
 * `duplicated`, the walk stops after the first counted point whose next distance is larger. The list
 * ending stops the walk too.
 *
 * Because the list is ordered by distance, that walk counts exactly the points (other than the
 * record and its own synthetic row) at a distance ≤ r, r the distance to its own synthetic row,
 * among the `cap` nearest. The `radius` method counts those directly; for a record with more than
 * `cap` points within r, every one of its `cap` nearest is within r and counted (the walk never
 * stops early there), so it selects those `cap` points, in the walk's order, and counts them.
 * The work is about the number of points within each record's radius (at most ~4·cap): a few
 * dozen for avatars, whose own synthetic row is among their nearest, thousands for a generator
 * whose rows are far from their originals. ./local-cloaking-radius.ts counts them, and
 * `localCloakingParallel` (./local-cloaking-parallel.ts) the same on worker threads.
 */
export function localCloaking(
  records: Points,
  synthetic: Points,
  options: LocalCloakingOptions = {},
): LocalCloaking {
  const cap = checkLocalCloaking(records, synthetic, options);
  if (options.method === 'walk') {
    const n = records.count;
    const avatarCounts = new Int32Array(n);
    const recordCounts = new Int32Array(n);
    const all = new Int32Array(n);
    for (let i = 0; i < n; i++) all[i] = i;
    walk(buildKdTree(stackedPoints(records, synthetic)), records, all, cap, avatarCounts, recordCounts);
    return summarize(avatarCounts, recordCounts);
  }
  const job = radiusJob(records, synthetic, cap, false);
  radiusKernel(job)(0, records.count);
  return summarize(job.avatarCounts, job.recordCounts);
}

/** Throws unless the point sets are row-aligned and the cap a positive integer; returns the cap. */
export function checkLocalCloaking(
  records: Points,
  synthetic: Points,
  options: LocalCloakingOptions,
): number {
  checkAligned(records, synthetic);
  const cap = options.cap ?? LOCAL_CLOAKING_CAP;
  if (!Number.isInteger(cap) || cap < 1) throw new Error(`cap must be a positive integer, not ${cap}`);
  return cap;
}

/** The result from the per-record counts. */
export function summarize(avatarCounts: Int32Array, recordCounts: Int32Array): LocalCloaking {
  const n = avatarCounts.length;
  let empty = 0;
  for (let i = 0; i < n; i++) if (avatarCounts[i] === 0 && recordCounts[i] === 0) empty++;
  return {
    avatarsMedian: median(avatarCounts),
    recordsMedian: median(recordCounts),
    emptyRate: empty / n,
    avatarCounts,
    recordCounts,
  };
}
