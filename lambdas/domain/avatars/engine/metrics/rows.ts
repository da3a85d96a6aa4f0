/**
 * Privacy metrics that compare rows' values rather than coordinates. Both tables must be aligned
 * (align.ts): the same columns in the same order, categories coded against the same levels, so
 * that equal codes mean equal values.
 */
import { isCategorical, type Table } from '../table.ts';
import { roundHalfEven } from './stats.ts';

/**
 * Groups a table's rows by their values in some columns: a hash table over typed arrays, with no
 * object per row. Numbers compare by value (NaN equal to NaN, 0 to −0), categories by code.
 */
class RowGroups {
  private readonly slots: Int32Array;
  private readonly mask: number;
  /** Per group: the first row in it and how many rows it has. */
  readonly firstRow: Int32Array;
  readonly size: Int32Array;
  readonly groupOfRow: Int32Array;
  groups = 0;

  constructor(
    private readonly table: Table,
    private readonly columns: readonly number[],
  ) {
    const n = table.rowCount;
    let capacity = 16;
    while (capacity < 2 * n) capacity *= 2;
    this.slots = new Int32Array(capacity).fill(-1);
    this.mask = capacity - 1;
    this.firstRow = new Int32Array(n);
    this.size = new Int32Array(n);
    this.groupOfRow = new Int32Array(n);
    for (let row = 0; row < n; row++) {
      let slot = rowHash(table, columns, row) & this.mask;
      for (;;) {
        const group = this.slots[slot]!;
        if (group === -1) {
          const created = this.groups++;
          this.slots[slot] = created;
          this.firstRow[created] = row;
          this.size[created] = 1;
          this.groupOfRow[row] = created;
          break;
        }
        if (rowsEqual(table, row, table, this.firstRow[group]!, columns)) {
          this.size[group]!++;
          this.groupOfRow[row] = group;
          break;
        }
        slot = (slot + 1) & this.mask;
      }
    }
  }

  /** The group holding the same values as row `row` of `other` (aligned with this table), or −1. */
  find(other: Table, row: number): number {
    let slot = rowHash(other, this.columns, row) & this.mask;
    for (;;) {
      const group = this.slots[slot]!;
      if (group === -1) return -1;
      if (rowsEqual(other, row, this.table, this.firstRow[group]!, this.columns)) return group;
      slot = (slot + 1) & this.mask;
    }
  }
}

const hashView = new Float64Array(1);
const hashWords = new Uint32Array(hashView.buffer);

function rowHash(table: Table, columns: readonly number[], row: number): number {
  let hash = 0x811c9dc5;
  for (const c of columns) {
    const column = table.columns[c]!;
    if (isCategorical(column)) {
      hash = Math.imul(hash ^ column.codes[row]!, 0x01000193);
    } else {
      const value = column.values[row]!;
      // One bit pattern for every NaN and for ±0, so that equal values hash alike.
      hashView[0] = Number.isNaN(value) ? Number.NaN : value === 0 ? 0 : value;
      hash = Math.imul(hash ^ hashWords[0]!, 0x01000193);
      hash = Math.imul(hash ^ hashWords[1]!, 0x01000193);
    }
  }
  return (hash ^ (hash >>> 15)) >>> 0;
}

function rowsEqual(a: Table, rowA: number, b: Table, rowB: number, columns: readonly number[]): boolean {
  for (const c of columns) {
    const columnA = a.columns[c]!;
    const columnB = b.columns[c]!;
    if (isCategorical(columnA)) {
      if (!isCategorical(columnB) || columnA.codes[rowA] !== columnB.codes[rowB]) return false;
    } else {
      if (isCategorical(columnB)) return false;
      const x = columnA.values[rowA]!;
      const y = columnB.values[rowB]!;
      if (x !== y && !(Number.isNaN(x) && Number.isNaN(y))) return false;
    }
  }
  return true;
}

function allColumns(table: Table): number[] {
  return table.columns.map((_, c) => c);
}

function columnIndices(table: Table, names: readonly string[], what: string): number[] {
  return names.map((name) => {
    const index = table.columns.findIndex((column) => column.name === name);
    if (index < 0) throw new Error(`${what}: the table has no column "${name}"`);
    return index;
  });
}

/**
 * Row direct match protection, a SynthForge definition: the percentage of original rows that no
 * synthetic row copies exactly (every value equal). Any synthetic row counts, not only the original's
 * own: a copy anywhere in the shared (shuffled) table exposes the row.
 */
export function rowDirectMatchProtection(original: Table, synthetic: Table): number {
  const columns = allColumns(original);
  const groups = new RowGroups(synthetic, columns);
  let copied = 0;
  for (let row = 0; row < original.rowCount; row++) if (groups.find(original, row) >= 0) copied++;
  return original.rowCount === 0 ? 100 : 100 * (1 - copied / original.rowCount);
}

/**
 * Column direct match protection, a SynthForge definition: the percentage of columns that copy no
 * identifying value. A value is identifying in a column when exactly one original row has it (it
 * points at one individual); a column copies it when some synthetic row has that value in the same
 * column. Categories and integers rarely have such values; continuous measurements often do.
 */
export function columnDirectMatchProtection(original: Table, synthetic: Table): number {
  if (original.columns.length === 0) return 100;
  let protectedColumns = 0;
  original.columns.forEach((_, c) => {
    const originals = new RowGroups(original, [c]);
    const synthetics = new RowGroups(synthetic, [c]);
    let copies = false;
    for (let group = 0; group < originals.groups && !copies; group++) {
      if (originals.size[group] === 1 && synthetics.find(original, originals.firstRow[group]!) >= 0)
        copies = true;
    }
    if (!copies) protectedColumns++;
  });
  return (100 * protectedColumns) / original.columns.length;
}

/**
 * Categorical hidden rate, a SynthForge definition: the hidden rate of an attacker who knows only
 * some categorical values of an individual (`variables`). A record is hit when its own synthetic
 * row has the same values in those variables and is the only synthetic row that has them, so that
 * those values single it out; the rate is 100·(1 − share hit). Row i of `synthetic` must be the
 * synthetic row made from original row i.
 */
export function categoricalHiddenRate(
  original: Table,
  synthetic: Table,
  variables: readonly string[],
): number {
  const columns = columnIndices(original, variables, 'categorical hidden rate');
  const groups = new RowGroups(synthetic, columns);
  let hits = 0;
  for (let row = 0; row < original.rowCount; row++) {
    const group = groups.groupOfRow[row]!;
    if (groups.size[group] === 1 && rowsEqual(original, row, synthetic, row, columns)) hits++;
  }
  return original.rowCount === 0 ? 100 : 100 * (1 - hits / original.rowCount);
}

/** `correlation_protection_rate.py`'s tolerance: values within 5 % of the column's mean are "the same". */
const CORRELATION_PROTECTION_BOUNDARY = 0.05;

/**
 * Correlation protection rate, as `correlation_protection_rate.py` of the avatar paper computes
 * it. An attacker knows some variables (`variables`) of an individual who is unique in the
 * original on those variables. Among the synthetic rows, those that match the individual
 * (categories equal, numbers strictly within ±5 % of the original column's mean) are looked for;
 * an individual matched by exactly one synthetic row is exposed, to the extent the hidden rate
 * says its nearest synthetic row is its own: `100·(1 − round(n2·(1 − HR/100)) / N)`, n2 the
 * individuals matched once, N the original's rows, `round` Python's (half to even).
 *
 * One deviation: the tolerance is 5 % of the mean's absolute value (the paper's code uses the mean,
 * which leaves no match at all for a column of negative mean).
 */
export function correlationProtectionRate(
  original: Table,
  synthetic: Table,
  variables: readonly string[],
  hiddenRatePercent: number,
): number {
  const columns = columnIndices(original, variables, 'correlation protection rate');
  const exact = columns.filter(
    (c) => original.columns[c]!.type === 'category' || original.columns[c]!.type === 'bool',
  );
  const near = columns.filter((c) => !exact.includes(c));
  const tolerance = near.map((c) => {
    const column = original.columns[c]!;
    if (isCategorical(column)) return 0;
    let sum = 0;
    for (const value of column.values) sum += value;
    return Math.abs(sum / original.rowCount) * CORRELATION_PROTECTION_BOUNDARY;
  });
  const originals = new RowGroups(original, columns);
  // Synthetic rows by their exact-match values, each group sorted on its first near-match column.
  const candidates = new RowGroups(synthetic, exact);
  const sortedRows = sortedByGroup(synthetic, candidates, near[0]);

  let matchedOnce = 0;
  for (let group = 0; group < originals.groups; group++) {
    if (originals.size[group] !== 1) continue;
    const row = originals.firstRow[group]!;
    const bucket = candidates.find(original, row);
    if (bucket < 0) continue;
    if (countMatches(original, row, synthetic, sortedRows, bucket, near, tolerance) === 1) matchedOnce++;
  }
  const exposed = roundHalfEven(matchedOnce * (1 - hiddenRatePercent / 100));
  return (1 - exposed / original.rowCount) * 100;
}

interface SortedGroups {
  /** Synthetic rows grouped (group g is `rows[start[g] .. start[g+1])`), sorted within on the key column. */
  readonly rows: Int32Array;
  readonly start: Int32Array;
  readonly key: Float64Array | null;
}

function sortedByGroup(table: Table, groups: RowGroups, keyColumn: number | undefined): SortedGroups {
  const start = new Int32Array(groups.groups + 1);
  for (let row = 0; row < table.rowCount; row++) start[groups.groupOfRow[row]! + 1]!++;
  for (let g = 0; g < groups.groups; g++) start[g + 1]! += start[g]!;
  const fill = start.slice(0, groups.groups);
  const rows = new Int32Array(table.rowCount);
  for (let row = 0; row < table.rowCount; row++) rows[fill[groups.groupOfRow[row]!]!++] = row;
  const column = keyColumn === undefined ? undefined : table.columns[keyColumn];
  const key = column && !isCategorical(column) ? column.values : null;
  if (key) {
    for (let g = 0; g < groups.groups; g++) {
      rows.subarray(start[g]!, start[g + 1]!).sort((a, b) => key[a]! - key[b]! || a - b);
    }
  }
  return { rows, start, key };
}

/** Synthetic rows of `bucket` within tolerance of the original row on every near column; stops at 2. */
function countMatches(
  original: Table,
  row: number,
  synthetic: Table,
  sorted: SortedGroups,
  bucket: number,
  near: readonly number[],
  tolerance: readonly number[],
): number {
  let from = sorted.start[bucket]!;
  let to = sorted.start[bucket + 1]!;
  if (sorted.key && near.length > 0) {
    const column = original.columns[near[0]!]!;
    const centre = isCategorical(column) ? 0 : column.values[row]!;
    const low = centre - tolerance[0]!;
    // The first row strictly above `low`: the window's rows are the candidates for the first column.
    let lo = from;
    let hi = to;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted.key[sorted.rows[mid]!]! > low) hi = mid;
      else lo = mid + 1;
    }
    from = lo;
    const high = centre + tolerance[0]!;
    lo = from;
    hi = to;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted.key[sorted.rows[mid]!]! < high) lo = mid + 1;
      else hi = mid;
    }
    to = lo;
  }
  let count = 0;
  for (let p = from; p < to; p++) {
    const candidate = sorted.rows[p]!;
    let inside = true;
    for (let j = 0; j < near.length && inside; j++) {
      const a = original.columns[near[j]!]!;
      const b = synthetic.columns[near[j]!]!;
      if (isCategorical(a) || isCategorical(b)) continue;
      const value = b.values[candidate]!;
      const centre = a.values[row]!;
      inside = value > centre - tolerance[j]! && value < centre + tolerance[j]!;
    }
    if (inside && ++count > 1) return count;
  }
  return count;
}
