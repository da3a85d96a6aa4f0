/**
 * An exact KD-tree for the projected space (2 to ~10 dimensions): every answer equals the brute
 * force's in `knn.ts` bit for bit, neighbours and order, ties included.
 *
 * Layout, for speed at a million points: a complete binary tree in heap order (node i has children
 * 2i+1 and 2i+2, every leaf at the same depth) held in typed arrays, the points copied into tree
 * order so that a leaf is one contiguous run, and each node's tight bounding box. The tree is plain
 * data (numbers and typed arrays), so worker threads can read it from a SharedArrayBuffer.
 *
 * Exactness: a squared distance is summed over the dimensions in order, from the differences
 * `query − point`, as the brute force sums it. The distance from a query to a node's box is summed
 * the same way from per-dimension gaps that are never larger than any point's difference, and
 * rounding is monotone, so the box distance is a true lower bound of every point's computed sum.
 * A node is skipped only when that bound is larger than the current k-th distance, or equal to it
 * with every index in the node larger than the k-th index (ties go to the lower index, as FAISS
 * orders them). Splits order equal coordinates by index, so runs of duplicate points split by
 * index and the lowest-index duplicates are found without visiting the others.
 */
import type { Neighbours, Points } from './table.ts';

/** The tree as plain data: typed arrays (shareable with worker threads) and numbers. */
export interface KdTree {
  readonly dims: number;
  /** Points in the tree. */
  readonly count: number;
  /** Nodes below this id are internal, the rest are leaves. */
  readonly firstLeaf: number;
  readonly nodeCount: number;
  /** The points in tree order, row-major. */
  readonly data: Float64Array;
  /** The original index of the point at each tree position. */
  readonly order: Int32Array;
  /** Each node's range of tree positions, `[start, end)`. */
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  /** Each node's box: `dims` lows then `dims` highs, `2·dims` numbers per node. */
  readonly bounds: Float64Array;
  /** The lowest and highest original index in each node. */
  readonly minIndex: Int32Array;
  readonly maxIndex: Int32Array;
}

export interface KdTreeOptions {
  /** Most points in a leaf; leaves hold between about half this and this many. Default 12. */
  readonly leafSize?: number;
  /** Allocate the arrays on SharedArrayBuffers, to hand the tree to worker threads. */
  readonly shared?: boolean;
}

export interface KdTreeKnnOptions {
  /** Query i leaves base index i out: all-kNN of the base set against itself. */
  readonly excludeSelf?: boolean;
}

const DEFAULT_LEAF_SIZE = 12;

function float64(length: number, shared: boolean): Float64Array {
  return shared ? new Float64Array(new SharedArrayBuffer(length * 8)) : new Float64Array(length);
}

function int32(length: number, shared: boolean): Int32Array {
  return shared ? new Int32Array(new SharedArrayBuffer(length * 4)) : new Int32Array(length);
}

/**
 * The build works on a copy of the points that it reorders in place (rows swapped with their
 * original indices), so each node's points are one contiguous run: at a million points, reading
 * them through an index array instead misses the cache on almost every row.
 */
interface Work {
  readonly rows: Float64Array;
  readonly indices: Int32Array;
  readonly dims: number;
}

function swapRows(work: Work, a: number, b: number): void {
  const { rows, indices, dims } = work;
  const index = indices[a]!;
  indices[a] = indices[b]!;
  indices[b] = index;
  for (let d = 0, ra = a * dims, rb = b * dims; d < dims; d++) {
    const value = rows[ra + d]!;
    rows[ra + d] = rows[rb + d]!;
    rows[rb + d] = value;
  }
}

/** Whether the row at position a comes before the row at b along `dim`: by coordinate, then index. */
function before(work: Work, dim: number, a: number, b: number): boolean {
  const va = work.rows[a * work.dims + dim]!;
  const vb = work.rows[b * work.dims + dim]!;
  return va < vb || (va === vb && work.indices[a]! < work.indices[b]!);
}

/**
 * Reorders rows `[start, end)` so that row `nth` is the one sorting along `dim` would put there,
 * with no later row before it and no earlier one after it (Hoare's quickselect). Equal coordinates
 * are ordered by original index, so every key is distinct and duplicates cannot degrade it.
 */
function select(work: Work, dim: number, start: number, end: number, nth: number): void {
  const { rows, indices, dims } = work;
  let lo = start;
  let hi = end - 1;
  while (hi > lo) {
    // Median of three as the pivot, moved to `mid`: sorted or clustered input stays O(n).
    const mid = (lo + hi) >>> 1;
    if (before(work, dim, mid, lo)) swapRows(work, mid, lo);
    if (before(work, dim, hi, lo)) swapRows(work, hi, lo);
    if (before(work, dim, hi, mid)) swapRows(work, hi, mid);
    const pivotValue = rows[mid * dims + dim]!;
    const pivotIndex = indices[mid]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      for (;;) {
        const value = rows[i * dims + dim]!;
        if (!(value < pivotValue || (value === pivotValue && indices[i]! < pivotIndex))) break;
        i++;
      }
      for (;;) {
        const value = rows[j * dims + dim]!;
        if (!(pivotValue < value || (pivotValue === value && pivotIndex < indices[j]!))) break;
        j--;
      }
      if (i <= j) {
        swapRows(work, i, j);
        i++;
        j--;
      }
    }
    if (nth <= j) hi = j;
    else if (nth >= i) lo = i;
    else return;
  }
}

/**
 * Throws on a NaN or infinite coordinate: it has no place in a box, so the bounds that make the
 * search exact would not hold (imputation runs before the projection, so none should reach here).
 */
export function checkFinite(points: Points): void {
  const { data, dims } = points;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new Error(
        `point ${Math.floor(i / dims)} has a coordinate that is not a finite number: ${data[i]}`,
      );
    }
  }
}

/** Builds the tree: O(n log n), each internal node split at its median along its widest side. */
export function buildKdTree(points: Points, options: KdTreeOptions = {}): KdTree {
  const { count, dims } = points;
  const leafSize = Math.max(2, Math.floor(options.leafSize ?? DEFAULT_LEAF_SIZE));
  const shared = options.shared ?? false;
  if (dims < 1) throw new Error(`points need at least one dimension, not ${dims}`);
  if (points.data.length !== count * dims) {
    throw new Error(`${points.data.length} coordinates do not make ${count} points of ${dims} dimensions`);
  }
  checkFinite(points);
  let depth = 0;
  while (count > leafSize * 2 ** depth) depth++;
  const firstLeaf = 2 ** depth - 1;
  const nodeCount = 2 * firstLeaf + 1;
  const data = float64(count * dims, shared);
  data.set(points.data);
  const order = int32(count, shared);
  for (let i = 0; i < count; i++) order[i] = i;
  const work: Work = { rows: data, indices: order, dims };
  const starts = int32(nodeCount, shared);
  const ends = int32(nodeCount, shared);
  const bounds = float64(nodeCount * 2 * dims, shared);
  starts[0] = 0;
  ends[0] = count;
  // Parents come before their children in heap order, so one pass splits every node.
  for (let node = 0; node < nodeCount; node++) {
    const start = starts[node]!;
    const end = ends[node]!;
    const box = node * 2 * dims;
    for (let d = 0; d < dims; d++) {
      bounds[box + d] = Number.POSITIVE_INFINITY;
      bounds[box + dims + d] = Number.NEGATIVE_INFINITY;
    }
    for (let row = start * dims; row < end * dims; row += dims) {
      for (let d = 0; d < dims; d++) {
        const value = data[row + d]!;
        if (value < bounds[box + d]!) bounds[box + d] = value;
        if (value > bounds[box + dims + d]!) bounds[box + dims + d] = value;
      }
    }
    if (node >= firstLeaf) continue;
    let dim = 0;
    let widest = -1;
    for (let d = 0; d < dims; d++) {
      const spread = bounds[box + dims + d]! - bounds[box + d]!;
      if (spread > widest) {
        widest = spread;
        dim = d;
      }
    }
    const mid = start + ((end - start) >>> 1);
    select(work, dim, start, end, mid);
    starts[2 * node + 1] = start;
    ends[2 * node + 1] = mid;
    starts[2 * node + 2] = mid;
    ends[2 * node + 2] = end;
  }
  const minIndex = int32(nodeCount, shared);
  const maxIndex = int32(nodeCount, shared);
  for (let node = nodeCount - 1; node >= 0; node--) {
    let low = 0x7fffffff;
    let high = -1;
    if (node >= firstLeaf) {
      for (let p = starts[node]!; p < ends[node]!; p++) {
        low = Math.min(low, order[p]!);
        high = Math.max(high, order[p]!);
      }
    } else {
      low = Math.min(minIndex[2 * node + 1]!, minIndex[2 * node + 2]!);
      high = Math.max(maxIndex[2 * node + 1]!, maxIndex[2 * node + 2]!);
    }
    minIndex[node] = low;
    maxIndex[node] = high;
  }
  return { dims, count, firstLeaf, nodeCount, data, order, starts, ends, bounds, minIndex, maxIndex };
}

/**
 * The k nearest tree points of queries `from..to-1` of `queryData` (row-major, `tree.dims` wide),
 * written to rows `queryRows[q]` (or q) of `outIndices`/`outDistances`, nearest first, ties by
 * lower original index, as Euclidean distances. With `excludeSelf`, a query leaves out the tree
 * point whose original index is its row.
 *
 * Worker threads run this very function from its source text (knn-parallel.ts), so it must stay
 * self-contained: no imports, no helpers, no closures, nothing from the module's scope.
 */
export function knnSearch(
  tree: KdTree,
  queryData: Float64Array,
  queryRows: Int32Array | null,
  from: number,
  to: number,
  k: number,
  excludeSelf: boolean,
  outIndices: Int32Array,
  outDistances: Float64Array,
): void {
  const dims = tree.dims;
  const data = tree.data;
  const order = tree.order;
  const starts = tree.starts;
  const ends = tree.ends;
  const bounds = tree.bounds;
  const minIndex = tree.minIndex;
  const firstLeaf = tree.firstLeaf;
  const bestD = new Float64Array(k);
  const bestI = new Int32Array(k);
  // A descent pushes at most one node per level.
  const stackNode = new Int32Array(64);
  const stackBound = new Float64Array(64);
  for (let q = from; q < to; q++) {
    const row = queryRows === null ? q : queryRows[q]!;
    const self = excludeSelf ? row : -1;
    const qo = q * dims;
    let filled = 0;
    let worstD = Number.POSITIVE_INFINITY;
    let worstI = 0x7fffffff;
    let top = 1;
    stackNode[0] = 0;
    stackBound[0] = 0;
    while (top > 0) {
      top--;
      let node = stackNode[top]!;
      const bound = stackBound[top]!;
      if (bound > worstD || (bound === worstD && minIndex[node]! > worstI)) continue;
      // Descend to a leaf, nearer child first; push the farther one to check once k are known.
      while (node < firstLeaf) {
        const left = 2 * node + 1;
        let leftBound = 0;
        let rightBound = 0;
        let box = left * 2 * dims;
        for (let d = 0; d < dims; d++) {
          const value = queryData[qo + d]!;
          const low = bounds[box + d]!;
          const high = bounds[box + dims + d]!;
          const gap = value < low ? low - value : value > high ? value - high : 0;
          leftBound += gap * gap;
        }
        box += 2 * dims;
        for (let d = 0; d < dims; d++) {
          const value = queryData[qo + d]!;
          const low = bounds[box + d]!;
          const high = bounds[box + dims + d]!;
          const gap = value < low ? low - value : value > high ? value - high : 0;
          rightBound += gap * gap;
        }
        let near = left;
        let far = left + 1;
        let nearBound = leftBound;
        let farBound = rightBound;
        if (rightBound < leftBound || (rightBound === leftBound && minIndex[far]! < minIndex[near]!)) {
          near = left + 1;
          far = left;
          nearBound = rightBound;
          farBound = leftBound;
        }
        if (farBound < worstD || (farBound === worstD && minIndex[far]! < worstI)) {
          stackNode[top] = far;
          stackBound[top] = farBound;
          top++;
        }
        if (nearBound > worstD || (nearBound === worstD && minIndex[near]! > worstI)) {
          node = -1;
          break;
        }
        node = near;
      }
      if (node < 0) continue;
      const end = ends[node]!;
      for (let p = starts[node]!; p < end; p++) {
        const index = order[p]!;
        if (index === self) continue;
        const po = p * dims;
        let sum = 0;
        for (let d = 0; d < dims; d++) {
          const delta = queryData[qo + d]! - data[po + d]!;
          sum += delta * delta;
        }
        if (sum > worstD || (sum === worstD && index > worstI)) continue;
        // Insertion into the sorted best list; the brute force's order: distance, then index.
        let position = filled < k ? filled : k - 1;
        while (position > 0) {
          const previous = bestD[position - 1]!;
          if (previous < sum || (previous === sum && bestI[position - 1]! < index)) break;
          bestD[position] = previous;
          bestI[position] = bestI[position - 1]!;
          position--;
        }
        bestD[position] = sum;
        bestI[position] = index;
        if (filled < k) filled++;
        if (filled === k) {
          worstD = bestD[k - 1]!;
          worstI = bestI[k - 1]!;
        }
      }
    }
    const out = row * k;
    for (let j = 0; j < k; j++) {
      outIndices[out + j] = j < filled ? bestI[j]! : -1;
      outDistances[out + j] = j < filled ? Math.sqrt(bestD[j]!) : Number.POSITIVE_INFINITY;
    }
  }
}

/** Throws unless k is a positive integer no larger than the points available to each query. */
export function checkK(k: number, available: number): void {
  if (!Number.isInteger(k) || k < 1) throw new Error(`k must be a positive integer, not ${k}`);
  if (k > available) throw new Error(`k = ${k} is more than the ${available} points there are`);
}

/** The k nearest tree points to each query, exactly as `bruteForceKnn` returns them. */
export function kdTreeKnn(
  tree: KdTree,
  queries: Points,
  k: number,
  options: KdTreeKnnOptions = {},
): Neighbours {
  if (queries.dims !== tree.dims) throw new Error(`dimension mismatch: ${tree.dims} and ${queries.dims}`);
  const excludeSelf = options.excludeSelf ?? false;
  checkK(k, tree.count - (excludeSelf ? 1 : 0));
  checkFinite(queries);
  const indices = new Int32Array(queries.count * k);
  const distances = new Float64Array(queries.count * k);
  knnSearch(tree, queries.data, null, 0, queries.count, k, excludeSelf, indices, distances);
  return { indices, distances, count: queries.count, k };
}

/**
 * Every tree point's k nearest other tree points, indexed by original index. Queries run in tree
 * order, so consecutive queries walk the same nodes while they are in cache.
 */
export function kdTreeAllKnn(tree: KdTree, k: number): Neighbours {
  checkK(k, tree.count - 1);
  const indices = new Int32Array(tree.count * k);
  const distances = new Float64Array(tree.count * k);
  knnSearch(tree, tree.data, tree.order, 0, tree.count, k, true, indices, distances);
  return { indices, distances, count: tree.count, k };
}
