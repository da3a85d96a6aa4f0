/**
 * Exact k nearest neighbours in the projected space (2 to ~10 dimensions).
 *
 * `allKnn` / `knn` answer through the KD-tree of kd-tree.ts (knn-parallel.ts spreads the same
 * search over worker threads). `bruteForceAllKnn` / `bruteForceKnn` are the plain O(n²) reference:
 * the benchmark measures the KD-tree against them, and the tests check the tree returns exactly
 * what they return.
 */
import { buildKdTree, kdTreeAllKnn, kdTreeKnn } from './kd-tree.ts';
import type { Neighbours, Points } from './table.ts';

export interface KnnOptions {
  /** Leave each query's own index out (all-kNN of a set against itself). */
  readonly excludeSelf?: boolean;
}

/** Inserts (distance, index) into the sorted top-k lists of one query; ties keep the lower index. */
function insert(
  distances: Float64Array,
  indices: Int32Array,
  offset: number,
  k: number,
  filled: number,
  distance: number,
  index: number,
): number {
  let position = filled < k ? filled : k - 1;
  if (filled >= k) {
    const worst = distances[offset + k - 1]!;
    if (distance > worst || (distance === worst && index > indices[offset + k - 1]!)) return filled;
  }
  while (position > 0) {
    const before = distances[offset + position - 1]!;
    if (before < distance || (before === distance && indices[offset + position - 1]! < index)) break;
    distances[offset + position] = before;
    indices[offset + position] = indices[offset + position - 1]!;
    position--;
  }
  distances[offset + position] = distance;
  indices[offset + position] = index;
  return filled < k ? filled + 1 : filled;
}

/** The k nearest points of `base` to each point of `queries`, by brute force. */
export function bruteForceKnn(
  base: Points,
  queries: Points,
  k: number,
  options: KnnOptions = {},
): Neighbours {
  if (base.dims !== queries.dims) throw new Error(`dimension mismatch: ${base.dims} and ${queries.dims}`);
  const available = base.count - (options.excludeSelf ? 1 : 0);
  if (k > available) throw new Error(`k = ${k} is more than the ${available} points there are`);
  const dims = base.dims;
  const distances = new Float64Array(queries.count * k).fill(Number.POSITIVE_INFINITY);
  const indices = new Int32Array(queries.count * k).fill(-1);
  for (let q = 0; q < queries.count; q++) {
    const offset = q * k;
    let filled = 0;
    for (let b = 0; b < base.count; b++) {
      if (options.excludeSelf && b === q) continue;
      let sum = 0;
      for (let d = 0; d < dims; d++) {
        const delta = queries.data[q * dims + d]! - base.data[b * dims + d]!;
        sum += delta * delta;
      }
      filled = insert(distances, indices, offset, k, filled, sum, b);
    }
  }
  for (let i = 0; i < distances.length; i++) distances[i] = Math.sqrt(distances[i]!);
  return { indices, distances, count: queries.count, k };
}

/** Every point's k nearest other points, by brute force. */
export function bruteForceAllKnn(points: Points, k: number): Neighbours {
  return bruteForceKnn(points, points, k, { excludeSelf: true });
}

/** Every point's k nearest other points (self excluded), by KD-tree: the same answer as the brute force. */
export function allKnn(points: Points, k: number): Neighbours {
  return kdTreeAllKnn(buildKdTree(points), k);
}

/** The k nearest points of `base` to each point of `queries`, by KD-tree: as `bruteForceKnn`. */
export function knn(base: Points, queries: Points, k: number, options: KnnOptions = {}): Neighbours {
  return kdTreeKnn(buildKdTree(base), queries, k, options);
}
