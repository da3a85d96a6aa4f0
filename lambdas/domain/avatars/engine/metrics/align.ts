/**
 * Puts a synthetic table in its original's terms before any comparison: the same columns in the
 * same order, each with the original's kind (number or category), categories coded against the
 * original's levels. A synthetic file read on its own can type a column differently (a CSV of
 * avatars whose `Class` holds 2 and 4 reads as int where the original was declared a category),
 * so a column is converted when the conversion is exact and refused otherwise.
 */
import { type CategoryColumn, type Column, isCategorical, type NumberColumn, type Table } from '../table.ts';

export class MetricsInputError extends Error {
  override readonly name = 'MetricsInputError';
}

export interface AlignOptions {
  /** Refuse tables of different lengths (metrics that pair row i with row i). */
  readonly sameRowCount?: boolean;
}

/**
 * The synthetic table with the original's column order and kinds. A synthetic category column
 * gets the original's levels, followed by any levels only the synthetic has.
 */
export function alignSynthetic(original: Table, synthetic: Table, options: AlignOptions = {}): Table {
  if (options.sameRowCount && original.rowCount !== synthetic.rowCount) {
    throw new MetricsInputError(
      `the synthetic table has ${synthetic.rowCount} rows and the original ${original.rowCount}: ` +
        'privacy metrics pair each original row with its own synthetic row, so give the unshuffled synthetic table',
    );
  }
  const byName = new Map(synthetic.columns.map((column) => [column.name, column]));
  const missing = original.columns.filter((column) => !byName.has(column.name)).map((column) => column.name);
  const extra = synthetic.columns
    .filter((column) => !original.columns.some((o) => o.name === column.name))
    .map((column) => column.name);
  if (missing.length > 0 || extra.length > 0) {
    const parts = [
      missing.length > 0 ? `missing ${quoteList(missing)}` : '',
      extra.length > 0 ? `not in the original: ${quoteList(extra)}` : '',
    ].filter(Boolean);
    throw new MetricsInputError(
      `the synthetic table's columns differ from the original's (${parts.join('; ')})`,
    );
  }
  const columns = original.columns.map((column) => {
    const other = byName.get(column.name)!;
    return isCategorical(column) ? asCategory(column, other) : asNumber(column, other);
  });
  return { rowCount: synthetic.rowCount, columns };
}

function asCategory(original: CategoryColumn, column: Column): CategoryColumn {
  const levels = [...original.levels];
  const position = new Map(levels.map((level, code) => [level, code]));
  const codeOf = (level: string): number => {
    let code = position.get(level);
    if (code === undefined) {
      code = levels.length;
      levels.push(level);
      position.set(level, code);
    }
    return code;
  };
  const codes = new Int32Array(column.type === 'category' ? column.codes.length : column.values.length);
  if (column.type === 'category') {
    const remap = column.levels.map(codeOf);
    for (let r = 0; r < codes.length; r++) {
      const code = column.codes[r]!;
      codes[r] = code < 0 ? -1 : remap[code]!;
    }
  } else {
    // A number read where the original has a category: its level is the number as text ("2" for 2.0).
    const cache = new Map<number, number>();
    for (let r = 0; r < codes.length; r++) {
      const value = column.values[r]!;
      if (Number.isNaN(value)) {
        codes[r] = -1;
        continue;
      }
      let code = cache.get(value);
      if (code === undefined) {
        code = codeOf(column.type === 'bool' ? (value === 0 ? 'False' : 'True') : String(value));
        cache.set(value, code);
      }
      codes[r] = code;
    }
  }
  return { name: original.name, type: 'category', codes, levels };
}

function asNumber(original: NumberColumn, column: Column): NumberColumn {
  let values: Float64Array;
  if (column.type === 'category') {
    const parsed = column.levels.map((level) => levelAsNumber(level, original.type));
    const bad = column.levels.find((_, code) => Number.isNaN(parsed[code]!));
    if (bad !== undefined) {
      throw new MetricsInputError(
        `column "${original.name}" is a number in the original, but the synthetic table has the value "${bad}"`,
      );
    }
    values = new Float64Array(column.codes.length);
    for (let r = 0; r < values.length; r++) {
      const code = column.codes[r]!;
      values[r] = code < 0 ? Number.NaN : parsed[code]!;
    }
  } else {
    values = column.values;
  }
  return original.datetimeFormat
    ? { name: original.name, type: original.type, values, datetimeFormat: original.datetimeFormat }
    : { name: original.name, type: original.type, values };
}

function levelAsNumber(level: string, type: NumberColumn['type']): number {
  const text = level.trim();
  if (type === 'bool') {
    if (/^true$/i.test(text)) return 1;
    if (/^false$/i.test(text)) return 0;
  }
  return text === '' ? Number.NaN : Number(text);
}

function quoteList(names: readonly string[]): string {
  const shown = names.slice(0, 5).map((name) => `"${name}"`);
  return names.length > 5 ? `${shown.join(', ')} and ${names.length - 5} more` : shown.join(', ');
}

/** Whether any value of the table is missing (NaN, or a category code of −1). */
export function missingColumns(table: Table): string[] {
  const names: string[] = [];
  for (const column of table.columns) {
    const hasMissing = isCategorical(column) ? column.codes.includes(-1) : column.values.some(Number.isNaN);
    if (hasMissing) names.push(column.name);
  }
  return names;
}
