/**
 * Local cloaking's `radius` method (./local-cloaking.ts says what it counts, and why that is what
 * the paper's walk counts), over the points' distinct locations (./locations.ts), each weighed by
 * the records and synthetic rows it holds: a table whose rows share a few locations costs what those
 * locations cost, where a search over the points would meet every copy (quadratic in the size of a
 * group of identical rows). Records are visited in the tree's order of their locations, so that
 * consecutive searches walk the same nodes while they are in cache.
 *
 * The job is plain data, and the kernel one self-contained function (`radiusKernel`, its helpers
 * and class inside it), so that worker threads run it from its source text on the same shared
 * arrays (./local-cloaking-parallel.ts, ../chunked-workers.ts).
 */
import { sharedCopy } from '../chunked-workers.ts';
import { buildKdTree, type KdTree } from '../kd-tree.ts';
import type { Points } from '../table.ts';
import { locationsOf } from './locations.ts';

/** The records and synthetic rows at each location, and under each node of the locations' tree. */
export interface Weights {
  readonly recordsAt: Int32Array;
  readonly avatarsAt: Int32Array;
  readonly recordsIn: Int32Array;
  readonly avatarsIn: Int32Array;
}

/** Which points each location holds (./locations.ts `Locations`, less the coordinates the tree has). */
export interface Members {
  readonly locationOf: Int32Array;
  readonly memberStarts: Int32Array;
  readonly members: Int32Array;
}

/** What the kernel reads and writes; every typed array is on a SharedArrayBuffer in a shared job. */
export interface RadiusJob {
  /** `[R; A]`: record i is point i, its synthetic row point n+i. */
  readonly both: Float64Array;
  readonly dims: number;
  /** Records. */
  readonly n: number;
  readonly cap: number;
  /** The tree of the distinct locations of `both`. */
  readonly tree: KdTree;
  readonly weights: Weights;
  readonly members: Members;
  /** The records in the tree's order of their locations, each location's by index. */
  readonly visits: Int32Array;
  /** Per record, written by the kernel. */
  readonly avatarCounts: Int32Array;
  readonly recordCounts: Int32Array;
}

/** `[records; synthetic]` as one point set, on a SharedArrayBuffer if `shared`. */
export function stackedPoints(records: Points, synthetic: Points, shared = false): Points {
  const { count, dims } = records;
  const length = 2 * count * dims;
  const data = shared ? new Float64Array(new SharedArrayBuffer(length * 8)) : new Float64Array(length);
  data.set(records.data, 0);
  data.set(synthetic.data, count * dims);
  return { data, count: 2 * count, dims };
}

/** The `radius` method's job for row-aligned records and synthetic rows, its arrays shared if `shared`. */
export function radiusJob(records: Points, synthetic: Points, cap: number, shared: boolean): RadiusJob {
  const n = records.count;
  const both = stackedPoints(records, synthetic, shared);
  const int32 = (length: number) =>
    shared ? new Int32Array(new SharedArrayBuffer(length * 4)) : new Int32Array(length);
  const locations = locationsOf(both);
  const tree = buildKdTree(locations.points, { shared });
  const { locationOf, memberStarts, members } = locations;
  const visits = int32(n);
  let visited = 0;
  for (let p = 0; p < tree.count; p++) {
    const location = tree.order[p]!;
    // Members are by increasing index: the records come first.
    for (let m = memberStarts[location]!; m < memberStarts[location + 1]! && members[m]! < n; m++) {
      visits[visited++] = members[m]!;
    }
  }
  return {
    both: both.data,
    dims: records.dims,
    n,
    cap,
    tree,
    weights: weightsOf(tree, locationOf, n, int32),
    members: shared
      ? {
          locationOf: sharedCopy(locationOf),
          memberStarts: sharedCopy(memberStarts),
          members: sharedCopy(members),
        }
      : { locationOf, memberStarts, members },
    visits,
    avatarCounts: int32(n),
    recordCounts: int32(n),
  };
}

function weightsOf(
  tree: KdTree,
  locationOf: Int32Array,
  n: number,
  int32: (length: number) => Int32Array,
): Weights {
  const recordsAt = int32(tree.count);
  const avatarsAt = int32(tree.count);
  for (let i = 0; i < locationOf.length; i++) {
    const location = locationOf[i]!;
    if (i < n) recordsAt[location] = recordsAt[location]! + 1;
    else avatarsAt[location] = avatarsAt[location]! + 1;
  }
  const recordsIn = int32(tree.nodeCount);
  const avatarsIn = int32(tree.nodeCount);
  for (let node = tree.nodeCount - 1; node >= 0; node--) {
    if (node >= tree.firstLeaf) {
      let records = 0;
      let avatars = 0;
      for (let p = tree.starts[node]!; p < tree.ends[node]!; p++) {
        records += recordsAt[tree.order[p]!]!;
        avatars += avatarsAt[tree.order[p]!]!;
      }
      recordsIn[node] = records;
      avatarsIn[node] = avatars;
    } else {
      recordsIn[node] = recordsIn[2 * node + 1]! + recordsIn[2 * node + 2]!;
      avatarsIn[node] = avatarsIn[2 * node + 1]! + avatarsIn[2 * node + 2]!;
    }
  }
  return { recordsAt, avatarsAt, recordsIn, avatarsIn };
}

/**
 * The kernel over `job`: the returned function writes the counts of the records
 * `job.visits[from, to)`. Its scratch buffers are kept from one call to the next.
 *
 * Worker threads run this very function from its source text, so everything it uses is defined
 * inside it: a bundler may rename module-level names, and the worker would not know the new ones.
 */
export function radiusKernel(job: RadiusJob): (from: number, to: number) => void {
  /**
   * Writes to `out` the records (`out[0]`) and synthetic rows (`out[1]`) at distance ≤ radius of the
   * point at `point[offset ..]`, with the distances kNN computes (so a radius taken from a kNN result
   * compares exactly); whole nodes inside the radius are counted without visiting their locations.
   * Once more than `limit` are found it stops, the counts then only telling that there are more: a
   * crowded ball costs about `limit` locations, not its size.
   */
  function countWithin(
    tree: KdTree,
    weights: Weights,
    point: Float64Array,
    offset: number,
    radius: number,
    out: Int32Array,
    limit: number,
  ): void {
    const { dims, bounds, data, order, starts, ends, firstLeaf } = tree;
    const { recordsAt, avatarsAt, recordsIn, avatarsIn } = weights;
    const stack = new Int32Array(64);
    let top = 1;
    stack[0] = 0;
    let records = 0;
    let avatars = 0;
    while (top > 0 && records + avatars <= limit) {
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
        records += recordsIn[node]!;
        avatars += avatarsIn[node]!;
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
          records += recordsAt[order[p]!]!;
          avatars += avatarsAt[order[p]!]!;
        }
      }
    }
    out[0] = records;
    out[1] = avatars;
  }

  /**
   * The records and synthetic rows among a crowded record's `cap` nearest points (more than `cap`
   * lie within its radius r), leaving out the record and its own synthetic row: what the walk counts
   * there. The `cap` nearest are those of a smaller ball holding at least `cap` points, found by
   * shrinking r (the number of points grows about as radius^dims) and checking by counting; its
   * locations are gathered, and the walk's order (distance, then index) is followed by weight: the
   * locations nearer than the `cap`-th point are taken whole, and among those at its very distance
   * (ties), records come before synthetic rows, as their indices do, each kind by index. Buffers are
   * kept between records.
   */
  class NearestSelection {
    private sums = new Float64Array(1024);
    private found = new Int32Array(1024);
    private positions = new Int32Array(1024);
    private readonly probe = new Int32Array(2);

    constructor(
      private readonly tree: KdTree,
      private readonly weights: Weights,
      private readonly locations: Members,
      private readonly n: number,
    ) {}

    count(
      point: Float64Array,
      offset: number,
      current: number,
      radius: number,
      cap: number,
      out: Int32Array,
    ): void {
      // Counts stop past 4·cap: a count above that is a lower bound, which only slows the shrinking.
      const limit = 4 * cap;
      let gathered = this.gather(point, offset, radius, limit);
      if (gathered.weight <= limit) {
        this.countNearest(gathered.count, current, cap, out);
        return;
      }
      let inner = 0;
      let outer = radius;
      let outerCount = gathered.weight;
      for (let step = 0; step < 60 && outerCount > limit; step++) {
        let guess = outer * ((2 * cap) / outerCount) ** (1 / this.tree.dims);
        if (!(guess > inner && guess < outer)) guess = (inner + outer) / 2;
        if (!(guess > inner && guess < outer)) break;
        countWithin(this.tree, this.weights, point, offset, guess, this.probe, limit);
        const found = this.probe[0]! + this.probe[1]!;
        if (found >= cap) {
          outer = guess;
          outerCount = found;
        } else {
          inner = guess;
        }
      }
      gathered = this.gather(point, offset, outer, Number.POSITIVE_INFINITY);
      this.countNearest(gathered.count, current, cap, out);
    }

    /** Counts the records and synthetic rows among the `cap` nearest points of the `m` gathered locations. */
    private countNearest(m: number, current: number, cap: number, out: Int32Array): void {
      const { recordsAt, avatarsAt } = this.weights;
      const { found, positions } = this;
      const { locationOf } = this.locations;
      const n = this.n;
      const own = locationOf[current]!;
      const ownSynthetic = locationOf[current + n]!;
      for (let j = 0; j < m; j++) positions[j] = j;
      const [tieStart, tieEnd] = this.selectWeighted(m, cap);
      let records = 0;
      let avatars = 0;
      let selfTaken = false;
      let ownTaken = false;
      for (let j = 0; j < tieStart; j++) {
        const location = found[positions[j]!]!;
        records += recordsAt[location]!;
        avatars += avatarsAt[location]!;
        if (location === own) selfTaken = true;
        if (location === ownSynthetic) ownTaken = true;
      }
      // The ties at the cap-th point's distance: records first, then synthetic rows, each by index.
      const need = cap - records - avatars;
      let tieRecords = 0;
      let tieAvatars = 0;
      for (let j = tieStart; j < tieEnd; j++) {
        tieRecords += recordsAt[found[positions[j]!]!]!;
        tieAvatars += avatarsAt[found[positions[j]!]!]!;
      }
      const takenRecords = Math.min(need, tieRecords);
      const takenAvatars = Math.min(need - takenRecords, tieAvatars);
      let recordsBefore = 0;
      let avatarsBefore = 0;
      let selfTied = false;
      let ownTied = false;
      for (let j = tieStart; j < tieEnd; j++) {
        const location = found[positions[j]!]!;
        // Of the same kind at these locations, how many come before the record (or its row) by index.
        recordsBefore += this.membersBelow(location, 0, current);
        avatarsBefore += this.membersBelow(location, n, current + n);
        if (location === own) selfTied = true;
        if (location === ownSynthetic) ownTied = true;
      }
      if (selfTied && recordsBefore < takenRecords) selfTaken = true;
      if (ownTied && avatarsBefore < takenAvatars) ownTaken = true;
      out[0] = records + takenRecords - (selfTaken ? 1 : 0);
      out[1] = avatars + takenAvatars - (ownTaken ? 1 : 0);
    }

    /** How many points at `location` have an index in [from, below). */
    private membersBelow(location: number, from: number, below: number): number {
      const { memberStarts, members } = this.locations;
      const first = lowerBound(members, memberStarts[location]!, memberStarts[location + 1]!, from);
      const last = lowerBound(members, first, memberStarts[location + 1]!, below);
      return last - first;
    }

    /**
     * Reorders `positions[0, m)` around the distance of the `cap`-th point in the walk's order (the
     * locations weighed by their points): those before `[tieStart, tieEnd)` are nearer, those in it at
     * that very distance, those after farther. Weighted quickselect, three-way, expected O(m).
     */
    private selectWeighted(m: number, cap: number): [number, number] {
      const { sums, found, positions } = this;
      const { recordsAt, avatarsAt } = this.weights;
      const weight = (position: number) => recordsAt[found[position]!]! + avatarsAt[found[position]!]!;
      let lo = 0;
      let hi = m;
      let need = cap;
      while (hi - lo > 0) {
        const pivot = sums[positions[lo + ((hi - lo) >>> 1)]!]!;
        // Dutch flag: [lo, less) below the pivot, [less, more) equal, [more, hi) above.
        let less = lo;
        let scan = lo;
        let more = hi;
        while (scan < more) {
          const value = sums[positions[scan]!]!;
          if (value < pivot) swap(positions, less++, scan++);
          else if (value > pivot) swap(positions, scan, --more);
          else scan++;
        }
        let below = 0;
        for (let j = lo; j < less; j++) below += weight(positions[j]!);
        if (need <= below) {
          hi = less;
          continue;
        }
        let equal = 0;
        for (let j = less; j < more; j++) equal += weight(positions[j]!);
        if (need <= below + equal) return [less, more];
        need -= below + equal;
        lo = more;
      }
      // Fewer than `cap` points in all: every location is taken whole.
      return [m, m];
    }

    /** Fills the buffers with the locations at distance ≤ radius; stops once they hold more than `limit` points. */
    private gather(
      point: Float64Array,
      offset: number,
      radius: number,
      limit: number,
    ): { count: number; weight: number } {
      const { dims, bounds, data, order, starts, ends, firstLeaf } = this.tree;
      const { recordsAt, avatarsAt } = this.weights;
      const stack = new Int32Array(64);
      let top = 1;
      stack[0] = 0;
      let m = 0;
      let weight = 0;
      while (top > 0 && weight <= limit) {
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
            const location = order[p]!;
            this.sums[m] = sum;
            this.found[m] = location;
            weight += recordsAt[location]! + avatarsAt[location]!;
            m++;
          }
        }
      }
      return { count: m, weight };
    }

    private grow(): void {
      const sums = new Float64Array(2 * this.sums.length);
      const found = new Int32Array(2 * this.found.length);
      sums.set(this.sums);
      found.set(this.found);
      this.sums = sums;
      this.found = found;
      this.positions = new Int32Array(sums.length);
    }
  }

  /** The first position in the sorted `values[from, to)` holding at least `value`. */
  function lowerBound(values: Int32Array, from: number, to: number, value: number): number {
    let lo = from;
    let hi = to;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (values[mid]! < value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  function swap(values: Int32Array, a: number, b: number): void {
    const held = values[a]!;
    values[a] = values[b]!;
    values[b] = held;
  }

  const { both, dims, n, cap, tree, weights, visits, avatarCounts, recordCounts } = job;
  const counts = new Int32Array(2);
  const nearest = new NearestSelection(tree, weights, job.members, n);

  return function countRecords(from: number, to: number): void {
    for (let q = from; q < to; q++) {
      const i = visits[q]!;
      const offset = i * dims;
      const own = (n + i) * dims;
      let sum = 0;
      for (let d = 0; d < dims; d++) {
        const delta = both[offset + d]! - both[own + d]!;
        sum += delta * delta;
      }
      const radius = Math.sqrt(sum);
      countWithin(tree, weights, both, offset, radius, counts, cap);
      if (counts[0]! + counts[1]! > cap) {
        nearest.count(both, offset, i, radius, cap, counts);
        recordCounts[i] = counts[0]!;
        avatarCounts[i] = counts[1]!;
        continue;
      }
      // The counts include the record itself (distance 0) and its own synthetic row (distance r).
      recordCounts[i] = counts[0]! - 1;
      avatarCounts[i] = counts[1]! - 1;
    }
  };
}
