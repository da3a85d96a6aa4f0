/** Small tables for the metrics' tests. */
import type {
  CategoryColumn,
  Column,
  NumberColumn,
  Table,
} from '../../../../../../lambdas/domain/avatars/engine/table.ts';

export function numbers(
  name: string,
  values: readonly number[],
  type: NumberColumn['type'] = 'numeric',
): NumberColumn {
  return { name, type, values: Float64Array.from(values) };
}

/** A category column from its values; levels sorted, `null` missing. */
export function category(name: string, values: readonly (string | null)[]): CategoryColumn {
  const levels = [...new Set(values.filter((value): value is string => value !== null))].sort();
  return {
    name,
    type: 'category',
    levels,
    codes: Int32Array.from(values, (value) => (value === null ? -1 : levels.indexOf(value))),
  };
}

export function table(...columns: Column[]): Table {
  return {
    rowCount: columns[0]
      ? columns[0].type === 'category'
        ? columns[0].codes.length
        : columns[0].values.length
      : 0,
    columns,
  };
}
