/**
 * Missing values filled in before the projection, which needs every cell (the client's
 * `imputation.method`: `mean`, `median`, `mode`, `knn`, `fast_knn`).
 *
 * Only missing cells change; a column without missing values is handed back as it is (the same
 * object, not a copy). Integers stay integers (rounded); bools and categories, which the
 * projection treats as categorical, take the most frequent value under `mean` and `median` too.
 */
import { knn } from './knn.ts';
import { createRandom, permutation, type Random } from './rng.ts';
import {
  type CategoryColumn,
  type Column,
  isCategorical,
  type NumberColumn,
  type Points,
  type Table,
} from './table.ts';
import { TableError } from './validate.ts';

export type ImputationMethod = 'mean' | 'median' | 'mode' | 'knn' | 'fast_knn';

export interface ImputeOptions {
  /** Neighbours a missing value is taken from under `knn` and `fast_knn` (default 5). */
  readonly k?: number;
  /**
   * Share of the complete rows the neighbours are searched among (default: at most 20,000 rows
   * under `knn`, 2,000 under `fast_knn`). The search costs incomplete rows × searched rows.
   */
  readonly trainingFraction?: number;
  /** Draws the searched rows when they are a sample (default: seed 0). */
  readonly random?: Random;
}

export const DEFAULT_IMPUTATION_K = 5;
const KNN_TRAINING_ROWS = 20_000;
const FAST_KNN_TRAINING_ROWS = 2_000;

export function columnMissingCount(column: Column): number {
  let count = 0;
  if (isCategorical(column)) {
    for (const code of column.codes) if (code < 0) count++;
  } else {
    for (const value of column.values) if (Number.isNaN(value)) count++;
  }
  return count;
}

/** Missing cells in the whole table. */
export function missingCount(table: Table): number {
  let count = 0;
  for (const column of table.columns) count += columnMissingCount(column);
  return count;
}

export function hasMissing(table: Table): boolean {
  return table.columns.some((column) => {
    if (isCategorical(column)) return column.codes.includes(-1);
    return column.values.some(Number.isNaN);
  });
}

function isMissing(column: Column, row: number): boolean {
  return isCategorical(column) ? column.codes[row]! < 0 : Number.isNaN(column.values[row]!);
}

/** The projection's categorical columns: categories and bools. */
const takesMode = (column: Column): boolean => isCategorical(column) || column.type === 'bool';

function emptyColumnError(column: Column): TableError {
  return new TableError(
    'empty_column',
    `column ${JSON.stringify(column.name)} has no values to impute from: every row is missing`,
    { column: column.name },
  );
}

function present(column: NumberColumn): Float64Array {
  return column.values.filter((value) => !Number.isNaN(value));
}

function mean(values: Float64Array): number {
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}

function median(values: Float64Array): number {
  const sorted = values.slice().sort();
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The most frequent value; among equally frequent ones the smallest (as pandas' `mode()[0]`). */
function mostFrequentValue(values: Float64Array): number {
  const sorted = values.slice().sort();
  let best = sorted[0]!;
  let bestRun = 0;
  for (let start = 0; start < sorted.length; ) {
    let end = start + 1;
    while (end < sorted.length && sorted[end] === sorted[start]) end++;
    if (end - start > bestRun) {
      bestRun = end - start;
      best = sorted[start]!;
    }
    start = end;
  }
  return best;
}

/** The most frequent level; among equally frequent ones the first in level order. */
function mostFrequentCode(column: CategoryColumn): number {
  const counts = new Float64Array(column.levels.length);
  for (const code of column.codes) if (code >= 0) counts[code]!++;
  let best = 0;
  for (let code = 1; code < counts.length; code++) if (counts[code]! > counts[best]!) best = code;
  return best;
}

/** The column with its missing cells set to one value. */
function filledWith(column: Column, method: 'mean' | 'median' | 'mode'): Column {
  if (columnMissingCount(column) === 0) return column;
  if (isCategorical(column)) {
    if (column.levels.length === 0) throw emptyColumnError(column);
    const fill = mostFrequentCode(column);
    return { ...column, codes: column.codes.map((code) => (code < 0 ? fill : code)) };
  }
  const known = present(column);
  if (known.length === 0) throw emptyColumnError(column);
  let fill: number;
  if (method === 'mode' || takesMode(column)) fill = mostFrequentValue(known);
  else fill = method === 'mean' ? mean(known) : median(known);
  if (column.type === 'int') fill = Math.round(fill);
  return { ...column, values: column.values.map((value) => (Number.isNaN(value) ? fill : value)) };
}

/**
 * The space neighbours are searched in: the columns with no missing value, continuous ones
 * standardised, categories and bools one-hot with each dummy scaled by 1/√2 (two rows with
 * different levels are as far apart as one standard deviation).
 */
function featureSpace(table: Table, complete: readonly Column[]): (rows: Int32Array) => Points {
  const ONE_HOT = Math.SQRT1_2;
  const parts = complete.map((column) => {
    if (isCategorical(column)) return { column, width: column.levels.length, centre: 0, scale: 1 };
    if (column.type === 'bool') return { column, width: 2, centre: 0, scale: 1 };
    const values = column.values;
    const centre = mean(values);
    let squares = 0;
    for (const value of values) squares += (value - centre) ** 2;
    const spread = Math.sqrt(squares / table.rowCount);
    return { column, width: 1, centre, scale: spread > 0 ? 1 / spread : 1 };
  });
  const dims = parts.reduce((sum, part) => sum + part.width, 0);
  return (rows) => {
    const data = new Float64Array(rows.length * dims);
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      let offset = r * dims;
      for (const { column, width, centre, scale } of parts) {
        if (isCategorical(column)) data[offset + column.codes[row]!] = ONE_HOT;
        else if (column.type === 'bool') data[offset + column.values[row]!] = ONE_HOT;
        else data[offset] = (column.values[row]! - centre) * scale;
        offset += width;
      }
    }
    return { data, count: rows.length, dims };
  };
}

/**
 * k-nearest-neighbour imputation: each incomplete row takes, for each of its missing cells, the
 * mean (continuous; rounded for integers) or the most frequent value (categories, bools; a tie
 * goes to the nearer neighbour) of its k nearest complete rows, in the space of the columns that
 * have no missing value. The complete rows searched are a random sample when there are more than
 * the training size. With no complete column or no complete row it falls back to mean/mode
 * imputation, which is what neighbours in an empty space would give.
 *
 * The search is knn.ts's exact one (the KD-tree, whose answer is the brute force's). Its cost is
 * incomplete rows × searched rows: on a million rows of twenty columns with 97,500 incomplete
 * rows and 34 feature dimensions it took 15 s of CPU under `fast_knn` and 30 s under `knn`.
 */
function knnImpute(table: Table, method: 'knn' | 'fast_knn', options: ImputeOptions): Table {
  const n = table.rowCount;
  const { k: wantedK = DEFAULT_IMPUTATION_K, trainingFraction } = options;
  if (!Number.isInteger(wantedK) || wantedK < 1) {
    throw new RangeError(`imputation k must be a positive integer; got ${wantedK}`);
  }
  if (trainingFraction !== undefined && !(trainingFraction > 0 && trainingFraction <= 1)) {
    throw new RangeError(`imputation training fraction must be in (0, 1]; got ${trainingFraction}`);
  }
  const completeColumns = table.columns.filter((column) => columnMissingCount(column) === 0);
  const incompleteColumns = table.columns.filter((column) => columnMissingCount(column) > 0);
  if (incompleteColumns.length === 0) return table;
  const rowIsComplete = new Uint8Array(n).fill(1);
  for (const column of incompleteColumns)
    for (let row = 0; row < n; row++) if (isMissing(column, row)) rowIsComplete[row] = 0;
  const completeRows: number[] = [];
  const incompleteRows: number[] = [];
  for (let row = 0; row < n; row++) (rowIsComplete[row] ? completeRows : incompleteRows).push(row);
  if (completeColumns.length === 0 || completeRows.length === 0) {
    return { rowCount: n, columns: table.columns.map((column) => filledWith(column, 'mean')) };
  }

  const trainingSize =
    trainingFraction === undefined
      ? Math.min(completeRows.length, method === 'knn' ? KNN_TRAINING_ROWS : FAST_KNN_TRAINING_ROWS)
      : Math.max(1, Math.ceil(trainingFraction * completeRows.length));
  let training = Int32Array.from(completeRows);
  if (trainingSize < completeRows.length) {
    const order = permutation(completeRows.length, options.random ?? createRandom(0));
    training = order
      .subarray(0, trainingSize)
      .map((index) => completeRows[index]!)
      .sort();
  }
  const k = Math.min(wantedK, training.length);

  const points = featureSpace(table, completeColumns);
  const queries = Int32Array.from(incompleteRows);
  const neighbours = knn(points(training), points(queries), k);

  const columns = table.columns.map((column): Column => {
    if (columnMissingCount(column) === 0) return column;
    if (isCategorical(column)) {
      const codes = column.codes.slice();
      const counts = new Int32Array(column.levels.length);
      queries.forEach((row, q) => {
        if (codes[row]! >= 0) return;
        codes[row] = voteOf(q, (neighbour) => column.codes[neighbour]!, counts);
      });
      return { ...column, codes };
    }
    const values = column.values.slice();
    const votes = column.type === 'bool' ? new Int32Array(2) : undefined;
    queries.forEach((row, q) => {
      if (!Number.isNaN(values[row]!)) return;
      if (votes !== undefined) {
        values[row] = voteOf(q, (neighbour) => column.values[neighbour]!, votes);
        return;
      }
      let sum = 0;
      for (let j = 0; j < k; j++) sum += column.values[training[neighbours.indices[q * k + j]!]!]!;
      values[row] = column.type === 'int' ? Math.round(sum / k) : sum / k;
    });
    return { ...column, values };
  });

  /** The most frequent of a query's neighbours' codes; a tie goes to the code of the nearest of them. */
  function voteOf(q: number, codeOf: (row: number) => number, counts: Int32Array): number {
    counts.fill(0);
    let most = 0;
    for (let j = 0; j < k; j++) {
      const code = codeOf(training[neighbours.indices[q * k + j]!]!);
      most = Math.max(most, ++counts[code]!);
    }
    for (let j = 0; ; j++) {
      const code = codeOf(training[neighbours.indices[q * k + j]!]!);
      if (counts[code] === most) return code;
    }
  }

  return { rowCount: n, columns };
}

/** The table with every missing value filled by `method`; see the module comment. */
export function impute(table: Table, method: ImputationMethod, options: ImputeOptions = {}): Table {
  if (method === 'knn' || method === 'fast_knn') return knnImpute(table, method, options);
  return { rowCount: table.rowCount, columns: table.columns.map((column) => filledWith(column, method)) };
}
