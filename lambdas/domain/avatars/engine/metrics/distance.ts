/**
 * The avatar paper's distance-based privacy metrics (octopize/avatar-paper,
 * `metrics/privacy_metrics/`), on coordinates in the projected space: the originals' (records')
 * coordinates R and the synthetic rows' coordinates A, row-aligned, so that A's row i is the
 * synthetic row made from R's row i (the UNSHUFFLED avatars; shuffled rows make these numbers
 * meaningless, which is why every function here takes the pair of point sets and nothing else).
 *
 * Distances are Euclidean, computed as the KD-tree and the brute force compute them (the squared
 * differences query − point summed over the dimensions in order, then `Math.sqrt`), exactly, and
 * a tie between equal distances goes to the lower index, as FAISS orders them. The paper used FAISS
 * in float32; exact float64 distances are what the published reference values were computed with.
 */
import { buildKdTree, type KdTree, kdTreeAllKnn, kdTreeKnn } from '../kd-tree.ts';
import type { Points } from '../table.ts';
import { median, quantile } from './stats.ts';

/** The paper's neighbour count for local cloaking (`FaissKNeighbors(k=4000)`): counts stop there. */
export const LOCAL_CLOAKING_CAP = 4000;

/** Queries per block of the walk: `block × cap` neighbours are held at once. */
const WALK_BLOCK = 256;

function checkAligned(records: Points, synthetic: Points): void {
  if (records.count !== synthetic.count) {
    throw new Error(
      `${records.count} records and ${synthetic.count} synthetic rows: the metric pairs record i with synthetic row i`,
    );
  }
  if (records.dims !== synthetic.dims)
    throw new Error(`dimension mismatch: ${records.dims} and ${synthetic.dims}`);
  if (records.count === 0) throw new Error('no records');
}

/**
 * Hidden rate (`hidden_rate.py`, `avatars_are_k_hit.py`): the percentage of records whose nearest
 * synthetic row is not their own. `hit_i` = the nearest synthetic row to record i (lowest index on
 * ties) is row i; the rate is 100·(1 − mean(hit)).
 */
export function hiddenRate(records: Points, synthetic: Points): number {
  checkAligned(records, synthetic);
  const nearest = kdTreeKnn(buildKdTree(synthetic), records, 1);
  let hits = 0;
  for (let i = 0; i < records.count; i++) if (nearest.indices[i] === i) hits++;
  return 100 * (1 - hits / records.count);
}

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
 */
export function localCloaking(
  records: Points,
  synthetic: Points,
  options: LocalCloakingOptions = {},
): LocalCloaking {
  checkAligned(records, synthetic);
  const n = records.count;
  const dims = records.dims;
  const cap = options.cap ?? LOCAL_CLOAKING_CAP;
  if (!Number.isInteger(cap) || cap < 1) throw new Error(`cap must be a positive integer, not ${cap}`);
  const method = options.method ?? 'radius';
  const both = new Float64Array(2 * n * dims);
  both.set(records.data, 0);
  both.set(synthetic.data, n * dims);
  const tree = buildKdTree({ data: both, count: 2 * n, dims });
  const avatarCounts = new Int32Array(n);
  const recordCounts = new Int32Array(n);

  if (method === 'walk') {
    const all = new Int32Array(n);
    for (let i = 0; i < n; i++) all[i] = i;
    walk(tree, records, all, cap, avatarCounts, recordCounts);
  } else {
    const recordsIn = recordsPerNode(tree, n);
    const counts = new Int32Array(2);
    const nearest = new NearestSelection();
    // Records in tree order: consecutive queries then walk the same nodes while they are in cache.
    for (let p = 0; p < tree.count; p++) {
      const i = tree.order[p]!;
      if (i >= n) continue;
      const offset = i * dims;
      let sum = 0;
      for (let d = 0; d < dims; d++) {
        const delta = records.data[offset + d]! - synthetic.data[offset + d]!;
        sum += delta * delta;
      }
      const radius = Math.sqrt(sum);
      countWithin(tree, recordsIn, n, records.data, offset, radius, counts, cap);
      if (counts[0]! + counts[1]! > cap) {
        nearest.count(tree, recordsIn, n, records.data, offset, i, radius, cap, counts);
        recordCounts[i] = counts[0]!;
        avatarCounts[i] = counts[1]!;
        continue;
      }
      // The counts include the record itself (distance 0) and its own synthetic row (distance r).
      recordCounts[i] = counts[0]! - 1;
      avatarCounts[i] = counts[1]! - 1;
    }
  }

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

/** How many of each node's points are records (original index below n). */
function recordsPerNode(tree: KdTree, n: number): Int32Array {
  const counts = new Int32Array(tree.nodeCount);
  for (let node = tree.nodeCount - 1; node >= 0; node--) {
    if (node >= tree.firstLeaf) {
      let records = 0;
      for (let p = tree.starts[node]!; p < tree.ends[node]!; p++) if (tree.order[p]! < n) records++;
      counts[node] = records;
    } else {
      counts[node] = counts[2 * node + 1]! + counts[2 * node + 2]!;
    }
  }
  return counts;
}

/**
 * Writes to `out` the records (`out[0]`) and synthetic rows (`out[1]`) at distance ≤ radius of the
 * point at `point[offset ..]`: `kdTreeCountWithin`'s search (the same distances, the same bounds),
 * counting both kinds in one pass instead of two. Once more than `limit` are found it stops, the
 * counts then only telling that there are more: a crowded ball costs about `limit` points, not its size.
 */
function countWithin(
  tree: KdTree,
  recordsIn: Int32Array,
  n: number,
  point: Float64Array,
  offset: number,
  radius: number,
  out: Int32Array,
  limit: number,
): void {
  const { dims, bounds, data, order, starts, ends, firstLeaf } = tree;
  const stack = new Int32Array(64);
  let top = 1;
  stack[0] = 0;
  let records = 0;
  let total = 0;
  while (top > 0 && total <= limit) {
    const node = stack[--top]!;
    const box = node * 2 * dims;
    let near = 0;
    let far = 0;
    for (let d = 0; d < dims; d++) {
      const value = point[offset + d]!;
      const low = bounds[box + d]!;
      const high = bounds[box + dims + d]!;
      const gap = value < low ? low - value : value > high ? value - high : 0;
      near += gap * gap;
      // No point's difference exceeds the farthest corner's, and rounding is monotone.
      const reach = Math.max(value - low, high - value);
      far += reach * reach;
    }
    if (Math.sqrt(near) > radius) continue;
    if (Math.sqrt(far) <= radius) {
      total += ends[node]! - starts[node]!;
      records += recordsIn[node]!;
      continue;
    }
    if (node < firstLeaf) {
      stack[top++] = 2 * node + 1;
      stack[top++] = 2 * node + 2;
      continue;
    }
    for (let p = starts[node]!; p < ends[node]!; p++) {
      let sum = 0;
      for (let d = 0; d < dims; d++) {
        const delta = point[offset + d]! - data[p * dims + d]!;
        sum += delta * delta;
      }
      if (Math.sqrt(sum) <= radius) {
        total++;
        if (order[p]! < n) records++;
      }
    }
  }
  out[0] = records;
  out[1] = total - records;
}

/**
 * The records and synthetic rows among a crowded record's `cap` nearest points (more than `cap`
 * lie within its radius r), leaving out the record and its own synthetic row: what the walk counts
 * there. The `cap` nearest are those of a smaller ball holding at least `cap` points, found by
 * shrinking r (the number of points grows about as radius^dims) and checking by counting; its
 * points are gathered and the `cap` first in the walk's order (squared distance, then index) are
 * selected. Buffers are kept between records.
 */
class NearestSelection {
  private sums = new Float64Array(1024);
  private indices = new Int32Array(1024);
  private positions = new Int32Array(1024);
  private readonly probe = new Int32Array(2);

  count(
    tree: KdTree,
    recordsIn: Int32Array,
    n: number,
    point: Float64Array,
    offset: number,
    current: number,
    radius: number,
    cap: number,
    out: Int32Array,
  ): void {
    // Counts stop past 4·cap: a count above that is a lower bound, which only slows the shrinking.
    const limit = 4 * cap;
    countWithin(tree, recordsIn, n, point, offset, radius, this.probe, limit);
    let inner = 0;
    let outer = radius;
    let outerCount = this.probe[0]! + this.probe[1]!;
    for (let step = 0; step < 60 && outerCount > limit; step++) {
      let guess = outer * ((2 * cap) / outerCount) ** (1 / tree.dims);
      if (!(guess > inner && guess < outer)) guess = (inner + outer) / 2;
      if (!(guess > inner && guess < outer)) break;
      countWithin(tree, recordsIn, n, point, offset, guess, this.probe, limit);
      const found = this.probe[0]! + this.probe[1]!;
      if (found >= cap) {
        outer = guess;
        outerCount = found;
      } else {
        inner = guess;
      }
    }
    const m = this.gather(tree, point, offset, outer);
    const positions = this.positions;
    for (let j = 0; j < m; j++) positions[j] = j;
    this.select(m, cap - 1);
    let records = 0;
    let avatars = 0;
    for (let j = 0; j < cap; j++) {
      const index = this.indices[positions[j]!]!;
      if (index === current || index === current + n) continue;
      if (index < n) records++;
      else avatars++;
    }
    out[0] = records;
    out[1] = avatars;
  }

  /** Fills the buffers with the points at distance ≤ radius; returns how many. */
  private gather(tree: KdTree, point: Float64Array, offset: number, radius: number): number {
    const { dims, bounds, data, order, starts, ends, firstLeaf } = tree;
    const stack = new Int32Array(64);
    let top = 1;
    stack[0] = 0;
    let m = 0;
    while (top > 0) {
      const node = stack[--top]!;
      const box = node * 2 * dims;
      let near = 0;
      for (let d = 0; d < dims; d++) {
        const value = point[offset + d]!;
        const low = bounds[box + d]!;
        const high = bounds[box + dims + d]!;
        const gap = value < low ? low - value : value > high ? value - high : 0;
        near += gap * gap;
      }
      if (Math.sqrt(near) > radius) continue;
      if (node < firstLeaf) {
        stack[top++] = 2 * node + 1;
        stack[top++] = 2 * node + 2;
        continue;
      }
      for (let p = starts[node]!; p < ends[node]!; p++) {
        let sum = 0;
        for (let d = 0; d < dims; d++) {
          const delta = point[offset + d]! - data[p * dims + d]!;
          sum += delta * delta;
        }
        if (Math.sqrt(sum) <= radius) {
          if (m === this.sums.length) this.grow();
          this.sums[m] = sum;
          this.indices[m] = order[p]!;
          m++;
        }
      }
    }
    return m;
  }

  private grow(): void {
    const sums = new Float64Array(2 * this.sums.length);
    const indices = new Int32Array(2 * this.indices.length);
    sums.set(this.sums);
    indices.set(this.indices);
    this.sums = sums;
    this.indices = indices;
    this.positions = new Int32Array(sums.length);
  }

  /** Reorders `positions[0, m)` so that its first `nth + 1` are the smallest (sum, index) keys (quickselect). */
  private select(m: number, nth: number): void {
    const { sums, indices, positions } = this;
    const before = (a: number, b: number): boolean =>
      sums[a]! < sums[b]! || (sums[a] === sums[b] && indices[a]! < indices[b]!);
    let lo = 0;
    let hi = m - 1;
    while (hi > lo) {
      const mid = (lo + hi) >>> 1;
      if (before(positions[mid]!, positions[lo]!)) swap(positions, mid, lo);
      if (before(positions[hi]!, positions[lo]!)) swap(positions, hi, lo);
      if (before(positions[hi]!, positions[mid]!)) swap(positions, hi, mid);
      const pivot = positions[mid]!;
      let i = lo;
      let j = hi;
      while (i <= j) {
        while (before(positions[i]!, pivot)) i++;
        while (before(pivot, positions[j]!)) j--;
        if (i <= j) {
          swap(positions, i, j);
          i++;
          j--;
        }
      }
      if (nth <= j) hi = j;
      else if (nth >= i) lo = i;
      else return;
    }
  }
}

function swap(values: Int32Array, a: number, b: number): void {
  const held = values[a]!;
  values[a] = values[b]!;
  values[b] = held;
}

/** The paper's walk for the given records, in blocks, writing their counts. */
function walk(
  tree: KdTree,
  records: Points,
  rows: Int32Array,
  cap: number,
  avatarCounts: Int32Array,
  recordCounts: Int32Array,
): void {
  const n = records.count;
  const dims = records.dims;
  // FAISS pads a list shorter than k with index −1; a list of all 2n points ends the walk the same way.
  const k = Math.min(cap, 2 * n);
  for (let start = 0; start < rows.length; start += WALK_BLOCK) {
    const block = rows.subarray(start, Math.min(rows.length, start + WALK_BLOCK));
    const queries = new Float64Array(block.length * dims);
    for (let q = 0; q < block.length; q++) {
      queries.set(records.data.subarray(block[q]! * dims, (block[q]! + 1) * dims), q * dims);
    }
    const neighbours = kdTreeKnn(tree, { data: queries, count: block.length, dims }, k);
    for (let q = 0; q < block.length; q++) {
      const current = block[q]!;
      const offset = q * k;
      let avatars = 0;
      let others = 0;
      let duplicated = false;
      for (let j = 0; j < k; j++) {
        const index = neighbours.indices[offset + j]!;
        if (index === current) continue;
        if (index === current + n || index === -1) {
          if (index === -1 || j + 1 === k) break;
          if (neighbours.distances[offset + j] === neighbours.distances[offset + j + 1]) duplicated = true;
          else break;
        }
        if (index === current + n) continue;
        if (index >= n) avatars++;
        else others++;
        if (duplicated) {
          if (j + 1 === k) break;
          if (neighbours.distances[offset + j]! < neighbours.distances[offset + j + 1]!) break;
        }
      }
      avatarCounts[current] = avatars;
      recordCounts[current] = others;
    }
  }
}

export interface ClosestDistances {
  /** Per synthetic row: the distance to the closest original (DCR). */
  readonly dcr: Float64Array;
  /** Per synthetic row: closest / second-closest original distance (NNDR), 1 when the second is 0. */
  readonly nndr: Float64Array;
}

/** `dcr_nndr.py`'s floor under the second distance. */
const NNDR_SMOOTHING = 1e-8;

/**
 * DCR and NNDR (`dcr_nndr.py`): for each synthetic row, its closest and second-closest originals.
 * `nndr = d1 / max(d2, 1e-8)`, set to 1 where d2 = 0 (the row sits on duplicated originals).
 */
export function closestDistances(originals: Points, synthetic: Points): ClosestDistances {
  if (originals.dims !== synthetic.dims) {
    throw new Error(`dimension mismatch: ${originals.dims} and ${synthetic.dims}`);
  }
  if (originals.count < 2) throw new Error('DCR/NNDR need at least two originals');
  const nearest = kdTreeKnn(buildKdTree(originals), synthetic, 2);
  const dcr = new Float64Array(synthetic.count);
  const nndr = new Float64Array(synthetic.count);
  for (let i = 0; i < synthetic.count; i++) {
    const first = nearest.distances[2 * i]!;
    const second = nearest.distances[2 * i + 1]!;
    dcr[i] = first;
    nndr[i] = second === 0 ? 1 : first / Math.max(second, NNDR_SMOOTHING);
  }
  return { dcr, nndr };
}

export interface ClosestRateOptions {
  /** Quantile of the originals' own nearest-neighbour distances under which a DCR is "close". Default 0.3. */
  readonly percentageThreshold?: number;
  /** NNDR under which a close synthetic row singles out one original. Default 0.3. */
  readonly ratioThreshold?: number;
}

/**
 * Closest rate, a SynthForge definition (the client names the metric and its two thresholds,
 * `closest_rate_percentage_threshold` and `closest_rate_ratio_threshold`, 0.3 in its examples, but
 * Octopize's formula is not published): the percentage of synthetic rows that do NOT single out an
 * original. A synthetic row singles one out when it is both close, DCR ≤ t where t is the
 * `percentageThreshold` quantile of each original's distance to its nearest other original (how
 * close originals are to each other), and unambiguous, NNDR < `ratioThreshold`.
 */
export function closestRate(
  originals: Points,
  distances: ClosestDistances,
  options: ClosestRateOptions = {},
): number {
  const percentage = options.percentageThreshold ?? 0.3;
  const ratio = options.ratioThreshold ?? 0.3;
  if (originals.count < 2) throw new Error('closest rate needs at least two originals');
  const own = kdTreeAllKnn(buildKdTree(originals), 1).distances;
  const threshold = quantile(own, percentage);
  let singledOut = 0;
  for (let i = 0; i < distances.dcr.length; i++) {
    if (distances.dcr[i]! <= threshold && distances.nndr[i]! < ratio) singledOut++;
  }
  return distances.dcr.length === 0 ? 100 : 100 * (1 - singledOut / distances.dcr.length);
}
