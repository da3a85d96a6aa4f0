/**
 * What makes a table unfit for the avatar method, found before anything runs, with messages that
 * tell a user what to change in their file.
 */
import { type Column, isCategorical, type Table } from './table.ts';

export type TableErrorCode =
  | 'non_utf8'
  | 'empty_file'
  | 'bad_option'
  | 'unknown_delimiter'
  | 'bad_quote'
  | 'ragged_rows'
  | 'empty_column_name'
  | 'duplicate_column_name'
  | 'unknown_column'
  | 'too_many_columns'
  | 'too_few_rows'
  | 'bad_value'
  | 'empty_column'
  | 'constant_column'
  | 'too_many_levels';

/** Where a problem is: a line of the file (1 is the header), or a row given in memory (1 is the first). */
export interface TableErrorPlace {
  readonly column?: string;
  readonly line?: number;
  readonly row?: number;
}

export class TableError extends Error {
  readonly code: TableErrorCode;
  readonly column?: string;
  readonly line?: number;
  readonly row?: number;
  constructor(code: TableErrorCode, message: string, place: TableErrorPlace = {}) {
    super(message);
    this.name = 'TableError';
    this.code = code;
    if (place.column !== undefined) this.column = place.column;
    if (place.line !== undefined) this.line = place.line;
    if (place.row !== undefined) this.row = place.row;
  }
}

export const DEFAULT_MAX_COLUMNS = 200;
/** One row has no neighbour to be an avatar of; fewer than two rows is not a table to protect. */
export const MIN_ROWS = 2;
/**
 * A category with more levels than this may still be a real category (a department, a postcode) as
 * long as its levels repeat; see `MAX_DISTINCT_SHARE`.
 */
export const FEW_LEVELS = 20;
/**
 * A category whose distinct values are more than half its non-missing rows (and more than
 * `FEW_LEVELS`) is an identifier or free text: its levels hardly repeat, so every row would be its
 * own dummy column in the projection, and its values would be copied through to the avatars.
 */
export const MAX_DISTINCT_SHARE = 0.5;

export interface ValidateOptions {
  /** Most columns a table may have (default 200). */
  readonly maxColumns?: number;
}

/** The header's names: none empty, none twice. */
export function checkHeader(names: readonly string[]): void {
  const seen = new Map<string, number>();
  names.forEach((name, index) => {
    if (name.trim() === '') {
      throw new TableError('empty_column_name', `column ${index + 1} has no name in the header`, { line: 1 });
    }
    const before = seen.get(name);
    if (before !== undefined) {
      throw new TableError(
        'duplicate_column_name',
        `the header names column ${JSON.stringify(name)} twice (columns ${before + 1} and ${index + 1})`,
        { column: name, line: 1 },
      );
    }
    seen.set(name, index);
  });
}

export function checkColumnCount(count: number, maxColumns = DEFAULT_MAX_COLUMNS): void {
  if (count > maxColumns) {
    throw new TableError(
      'too_many_columns',
      `the table has ${count} columns; at most ${maxColumns} are allowed`,
    );
  }
}

/** Non-missing cells of a column. */
export function presentCount(column: Column): number {
  let count = 0;
  if (isCategorical(column)) {
    for (const code of column.codes) if (code >= 0) count++;
  } else {
    for (const value of column.values) if (!Number.isNaN(value)) count++;
  }
  return count;
}

/** The column's value in its first non-missing row and whether another row differs from it. */
function firstAndVaries(column: Column): { first: string; varies: boolean } | undefined {
  if (isCategorical(column)) {
    if (column.levels.length === 0) return undefined;
    return { first: column.levels[0]!, varies: column.levels.length > 1 };
  }
  let first = Number.NaN;
  let varies = false;
  for (const value of column.values) {
    if (Number.isNaN(value)) continue;
    if (Number.isNaN(first)) first = value;
    else if (value !== first) {
      varies = true;
      break;
    }
  }
  if (Number.isNaN(first)) return undefined;
  // A datetime as a user wrote it, not as epoch seconds.
  const text = column.type === 'datetime' ? new Date(first * 1000).toISOString() : String(first);
  return { first: text, varies };
}

/**
 * Throws the first reason the table cannot be avatarized: too few rows, too many columns, an empty
 * column, a constant column (it carries nothing, and its zero spread breaks the projection's
 * scaling), or a category that is an identifier (see `MAX_DISTINCT_SHARE`).
 */
export function validateTable(table: Table, options: ValidateOptions = {}): void {
  checkColumnCount(table.columns.length, options.maxColumns);
  if (table.rowCount < MIN_ROWS) {
    throw new TableError(
      'too_few_rows',
      `the table has ${table.rowCount} row${table.rowCount === 1 ? '' : 's'}; at least ${MIN_ROWS} are needed`,
    );
  }
  for (const column of table.columns) {
    const place = { column: column.name };
    const seen = firstAndVaries(column);
    if (seen === undefined) {
      throw new TableError(
        'empty_column',
        `column ${JSON.stringify(column.name)} has no values: every row is missing`,
        place,
      );
    }
    if (!seen.varies) {
      const value =
        column.type === 'category' || column.type === 'datetime' ? JSON.stringify(seen.first) : seen.first;
      throw new TableError(
        'constant_column',
        `column ${JSON.stringify(column.name)} has the same value (${value}) in every row that has one: it carries nothing to avatarize; drop it, or leave it out with "identifier: true" in the schema`,
        place,
      );
    }
    if (isCategorical(column) && column.levels.length > FEW_LEVELS) {
      const present = presentCount(column);
      if (column.levels.length > MAX_DISTINCT_SHARE * present) {
        throw new TableError(
          'too_many_levels',
          `column ${JSON.stringify(column.name)} has ${column.levels.length} distinct values in ${present} rows: ` +
            'it looks like an identifier or free text, not a category; drop it, or give it a numeric type if it is a number',
          place,
        );
      }
    }
  }
}
