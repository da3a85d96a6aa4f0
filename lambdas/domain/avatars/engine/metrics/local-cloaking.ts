/**
 * Local cloaking (octopize/avatar-paper `metrics/privacy_metrics/local_cloaking.py`), on the
 * records' and the (unshuffled) synthetic rows' coordinates; ./distance.ts has the other distance
 * metrics and the conventions they share (exact distances, ties to the lower index).
 */
import { buildKdTree, type KdTree, kdTreeAllKnn, kdTreeKnn } from '../kd-tree.ts';
import type { Points } from '../table.ts';
import { checkAligned } from './distance.ts';
import { median } from './stats.ts';

/** The paper's neighbour count for local cloaking (`FaissKNeighbors(k=4000)`): counts stop there. */
export const LOCAL_CLOAKING_CAP = 4000;

/** Queries per block of the walk: `block × cap` neighbours are held at once. */
const WALK_BLOCK = 256;

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
 * whose rows are far from their originals.
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
 * point at `point[offset ..]`, with the distances kNN computes (so a radius taken from a kNN result
 * compares exactly), counting both kinds in one pass; whole nodes inside the radius are counted
 * without visiting their points. Once more than `limit` are found it stops, the
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
    let m = this.gather(tree, point, offset, radius, limit);
    if (m <= limit) {
      this.countNearest(m, current, n, cap, out);
      return;
    }
    let inner = 0;
    let outer = radius;
    let outerCount = m;
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
    m = this.gather(tree, point, offset, outer, Number.POSITIVE_INFINITY);
    this.countNearest(m, current, n, cap, out);
  }

  /** Counts the records and synthetic rows among the `cap` nearest of the `m` gathered points. */
  private countNearest(m: number, current: number, n: number, cap: number, out: Int32Array): void {
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

  /** Fills the buffers with the points at distance ≤ radius; returns how many, or stops past `limit`. */
  private gather(tree: KdTree, point: Float64Array, offset: number, radius: number, limit: number): number {
    const { dims, bounds, data, order, starts, ends, firstLeaf } = tree;
    const stack = new Int32Array(64);
    let top = 1;
    stack[0] = 0;
    let m = 0;
    while (top > 0 && m <= limit) {
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
