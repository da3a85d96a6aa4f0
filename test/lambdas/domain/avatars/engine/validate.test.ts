/** The checks that refuse a table before anything runs (lambdas/domain/avatars/engine/validate.ts). */
import { describe, expect, it } from 'vitest';
import {
  type ParseOptions,
  parseTable,
  TableError,
} from '../../../../../lambdas/domain/avatars/engine/csv.ts';
import { validateTable } from '../../../../../lambdas/domain/avatars/engine/validate.ts';

const read = (text: string, options: ParseOptions = {}) =>
  parseTable(new TextEncoder().encode(text), options);

function tableError(act: () => unknown): TableError {
  try {
    act();
  } catch (error) {
    if (error instanceof TableError) return error;
    throw error;
  }
  throw new Error('expected a TableError');
}

/** `count` rows of `a,b` where `a` counts and `b` is given per row. */
const rows = (count: number, b: (i: number) => string): string =>
  `a,b\n${Array.from({ length: count }, (_, i) => `${i},${b(i)}`).join('\n')}\n`;

describe('validateTable', () => {
  it.each([
    ['empty_column_name', 'a,,c\n1,2,3\n4,5,6\n', 'column 2 has no name in the header'],
    ['duplicate_column_name', 'a,b,a\n1,2,3\n4,5,6\n', 'the header names column "a" twice (columns 1 and 3)'],
    ['too_few_rows', 'a,b\n1,2\n', 'the table has 1 row; at least 2 are needed'],
    ['too_few_rows', 'a,b\n', 'the table has 0 rows; at least 2 are needed'],
    ['empty_column', 'a,b\n1,\n2,NA\n', 'column "b" has no values: every row is missing'],
    [
      'constant_column',
      'a,b\n1,x\n2,x\n3,\n',
      'column "b" has the same value ("x") in every row that has one: it carries nothing to avatarize; drop it, or leave it out with "identifier: true" in the schema',
    ],
    [
      'constant_column',
      'a,b\n1,7\n2,7\n',
      'column "b" has the same value (7) in every row that has one: it carries nothing to avatarize; drop it, or leave it out with "identifier: true" in the schema',
    ],
  ])('refuses with %s: %j', (code, text, message) => {
    // Act
    const error = tableError(() => read(text, { delimiter: ',' }));

    // Assess
    expect(error.code).toBe(code);
    expect(error.message).toBe(message);
  });

  it('names the column of a column error', () => {
    // Act
    const error = tableError(() => read('a,b\n1,x\n2,x\n'));

    // Assess
    expect(error.column).toBe('b');
  });

  it('refuses a category whose values hardly repeat, as an identifier or free text', () => {
    // Act
    const names = tableError(() => read(rows(100, (i) => `person ${i}`)));
    const halfDistinct = tableError(() => read(rows(100, (i) => `id${i % 51}`)));

    // Assess
    expect(names.code).toBe('too_many_levels');
    expect(names.column).toBe('b');
    expect(names.message).toMatch(
      /^column "b" has 100 distinct values in 100 rows: it looks like an identifier/,
    );
    expect(halfDistinct.code).toBe('too_many_levels');
  });

  it('takes a category with many levels that repeat, and one with few levels whatever the rows', () => {
    // Act
    const repeating = read(rows(100, (i) => `dept ${i % 50}`));
    const few = read(rows(20, (i) => `level ${i}`));

    // Assess
    expect(repeating.columns[1]!.type).toBe('category');
    expect(few.columns[1]!.type).toBe('category');
  });

  it('takes an identifier once it is dropped, and refuses a column option that names no column', () => {
    // Act
    const table = read(
      rows(30, (i) => `person ${i}`),
      { dropColumns: ['b'] },
    );
    const dropped = tableError(() => read(rows(3, String), { dropColumns: ['c'] }));
    const typed = tableError(() => read(rows(3, String), { types: { c: 'int' } }));
    const typedDropped = tableError(() => read(rows(3, String), { dropColumns: ['b'], types: { b: 'int' } }));

    // Assess
    expect(table.columns.map((c) => c.name)).toEqual(['a']);
    expect(dropped.code).toBe('unknown_column');
    expect(dropped.message).toBe('dropColumns names column "c", which the header does not have');
    expect(typed.code).toBe('unknown_column');
    expect(typedDropped.message).toBe('types names column "b", which the header does not have once dropped');
  });

  it('refuses more columns than allowed, before typing them', () => {
    // Prepare
    const header = Array.from({ length: 201 }, (_, j) => `c${j}`).join(',');
    const row = Array.from({ length: 201 }, (_, j) => `${j}`).join(',');

    // Act
    const tooMany = tableError(() => read(`${header}\n${row}\n${row}\n`));
    const allowed = tableError(() => read('a,b,c\n1,2,3\n4,5,6\n', { maxColumns: 2 }));
    const droppedToFit = read('a,b,c\n1,2,3\n4,5,6\n', { maxColumns: 2, dropColumns: ['c'] });

    // Assess
    expect(tooMany.code).toBe('too_many_columns');
    expect(tooMany.message).toBe('the table has 201 columns; at most 200 are allowed');
    expect(allowed.message).toBe('the table has 3 columns; at most 2 are allowed');
    expect(droppedToFit.columns).toHaveLength(2);
  });

  it('checks a table built in memory too', () => {
    // Prepare
    const table = read('a,b\n1,2\n3,4\n');
    const constant = {
      rowCount: 2,
      columns: [...table.columns, { name: 'c', type: 'int' as const, values: Float64Array.of(1, 1) }],
    };

    // Act
    const error = tableError(() => validateTable(constant));

    // Assess
    expect(() => validateTable(table)).not.toThrow();
    expect(error.code).toBe('constant_column');
    expect(error.column).toBe('c');
  });
});
