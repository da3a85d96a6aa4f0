/**
 * The avatar engine's in-memory table: one typed array per column, so that a million rows of
 * twenty columns is a few hundred megabytes rather than millions of objects. Every engine step
 * (imputation, projection, avatar generation, metrics, the report) reads and writes this shape.
 */

/** The client's column types (`avatar_yaml` `ColumnType`), minus `datetime_tz`, read as `datetime`. */
export const COLUMN_TYPES = ['numeric', 'int', 'bool', 'category', 'datetime'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

/**
 * A column held as numbers: floats, integers, booleans (0/1) and datetimes (epoch seconds).
 * A missing value is `NaN`.
 */
export interface NumberColumn {
  readonly name: string;
  readonly type: 'numeric' | 'int' | 'bool' | 'datetime';
  readonly values: Float64Array;
  /**
   * How a datetime was written in the source, so that avatars are written back the same way:
   * `date` (YYYY-MM-DD) or `iso` (an ISO 8601 timestamp). Absent for other types.
   */
  readonly datetimeFormat?: 'date' | 'iso';
}

/**
 * A categorical column: one code per row into `levels`, `-1` when missing. Levels are sorted as
 * pandas' `get_dummies` sorts a category's levels (numbers numerically when every level is a
 * number, else by code point), which fixes the order of the projection's dummy columns.
 */
export interface CategoryColumn {
  readonly name: string;
  readonly type: 'category';
  readonly codes: Int32Array;
  readonly levels: readonly string[];
}

export type Column = NumberColumn | CategoryColumn;

export interface Table {
  readonly rowCount: number;
  readonly columns: readonly Column[];
}

/** Points in a d-dimensional space, row-major: point i is `data[i*dims .. i*dims+dims)`. */
export interface Points {
  readonly data: Float64Array;
  readonly count: number;
  readonly dims: number;
}

/**
 * k nearest neighbours of each query, nearest first; among equal distances the lower index comes
 * first (FAISS's order, which the paper's metrics rely on). Row-major `count × k`.
 */
export interface Neighbours {
  readonly indices: Int32Array;
  readonly distances: Float64Array;
  readonly count: number;
  readonly k: number;
}

export function isCategorical(column: Column): column is CategoryColumn {
  return column.type === 'category';
}

/**
 * Whether the projection treats a column as continuous. saiph treats numeric dtypes as
 * continuous and every other dtype as categorical; a boolean is not numeric in pandas.
 */
export function isContinuous(column: Column): column is NumberColumn {
  return column.type === 'numeric' || column.type === 'int' || column.type === 'datetime';
}

/** A bool column is projected as a two-level category: this is its level for a value. */
export function boolLevel(value: number): string {
  return value === 0 ? 'False' : 'True';
}
