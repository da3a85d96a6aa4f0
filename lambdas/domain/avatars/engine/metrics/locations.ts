/**
 * The distinct locations of a point set: identical points (a categorical table's records often share
 * every coordinate) become one location with its multiplicity, so that searches over locations cost
 * what the distinct points cost, not their copies. Points are identical when every coordinate is
 * equal (−0 and 0 alike), which is when the distances kNN computes from them are equal too.
 */
import type { Points } from '../table.ts';

export interface Locations {
  /** The distinct points, in order of first appearance. */
  readonly points: Points;
  /** Each point's location. */
  readonly locationOf: Int32Array;
  /**
   * The points at each location, by increasing index: those of location `l` are
   * `members[memberStarts[l] .. memberStarts[l + 1])`.
   */
  readonly memberStarts: Int32Array;
  readonly members: Int32Array;
}

/** Groups identical points, in O(count · dims) (an open-addressing table on the coordinates' bits). */
export function locationsOf(points: Points): Locations {
  const { count, dims, data } = points;
  const bits = new Uint32Array(new Float64Array(dims).buffer);
  const scratch = new Float64Array(bits.buffer);
  let capacity = 16;
  while (capacity < 2 * count) capacity *= 2;
  const mask = capacity - 1;
  // Slot → location + 1 (0: empty).
  const slots = new Int32Array(capacity);
  const locationOf = new Int32Array(count);
  const firsts = new Int32Array(count);
  let distinct = 0;
  for (let i = 0; i < count; i++) {
    const offset = i * dims;
    let hash = 0x811c9dc5;
    for (let d = 0; d < dims; d++) {
      // +0 makes −0 into 0: they are the same coordinate.
      scratch[0] = data[offset + d]! + 0;
      hash = Math.imul(hash ^ bits[0]!, 0x01000193);
      hash = Math.imul(hash ^ bits[1]!, 0x01000193);
    }
    let slot = (hash ^ (hash >>> 15)) & mask;
    for (;;) {
      const held = slots[slot]!;
      if (held === 0) {
        slots[slot] = distinct + 1;
        firsts[distinct] = i;
        locationOf[i] = distinct++;
        break;
      }
      if (samePoint(data, firsts[held - 1]! * dims, offset, dims)) {
        locationOf[i] = held - 1;
        break;
      }
      slot = (slot + 1) & mask;
    }
  }
  const unique = new Float64Array(distinct * dims);
  for (let l = 0; l < distinct; l++) {
    unique.set(data.subarray(firsts[l]! * dims, (firsts[l]! + 1) * dims), l * dims);
  }
  const memberStarts = new Int32Array(distinct + 1);
  for (let i = 0; i < count; i++) memberStarts[locationOf[i]! + 1]!++;
  for (let l = 0; l < distinct; l++) memberStarts[l + 1]! += memberStarts[l]!;
  const filled = memberStarts.slice(0, distinct);
  const members = new Int32Array(count);
  for (let i = 0; i < count; i++) members[filled[locationOf[i]!]!++] = i;
  return { points: { data: unique, count: distinct, dims }, locationOf, memberStarts, members };
}

function samePoint(data: Float64Array, a: number, b: number, dims: number): boolean {
  for (let d = 0; d < dims; d++) if (data[a + d] !== data[b + d]) return false;
  return true;
}
