/**
 * Local cloaking's `walk` method (./local-cloaking.ts): local_cloaking.py's own walk along each
 * record's `cap` nearest points, kept as the check the `radius` method is tested against.
 */
import { type KdTree, kdTreeKnn } from '../kd-tree.ts';
import type { Points } from '../table.ts';

/** Queries per block of the walk: `block × cap` neighbours are held at once. */
const WALK_BLOCK = 256;

/** The paper's walk for the given records, in blocks, writing their counts. */
export function walk(
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
