/** Filling missing values before the projection (lambdas/domain/avatars/engine/impute.ts). */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTable, TableError, tableFromRows } from '../../../../../lambdas/domain/avatars/engine/csv.ts';
import {
  hasMissing,
  type ImputationMethod,
  impute,
  missingCount,
} from '../../../../../lambdas/domain/avatars/engine/impute.ts';
import { createRandom } from '../../../../../lambdas/domain/avatars/engine/rng.ts';
import type {
  CategoryColumn,
  Column,
  NumberColumn,
  Table,
} from '../../../../../lambdas/domain/avatars/engine/table.ts';
import { column, numbers, texts } from './support.ts';

const METHODS: readonly ImputationMethod[] = ['mean', 'median', 'mode', 'knn', 'fast_knn'];

/** Every cell of a table as a number (a category as its code), missing as NaN, for comparisons. */
const cellsOf = (c: Column): number[] =>
  c.type === 'category'
    ? Array.from(c.codes, (code) => (code < 0 ? Number.NaN : code))
    : Array.from(c.values);

describe('impute with one value per column', () => {
  const table = tableFromRows(
    ['x', 'n', 'flag', 'kind', 'day'],
    [
      [1, 1, true, 'b', '1970-01-01'],
      [null, 2, true, 'a', '1970-01-03'],
      [2, null, false, 'b', null],
      [6, 2, null, null, '1970-01-05'],
    ],
  );

  it.each([
    ['mean', 3, 2, '1970-01-03'],
    ['median', 2, 2, '1970-01-03'],
    ['mode', 1, 2, '1970-01-01'],
  ] as const)(
    '%s fills numbers, rounds integers and takes the most frequent bool and level',
    (method, x, n, day) => {
      // Act
      const filled = impute(table, method);

      // Assess
      expect(numbers(filled, 'x')).toEqual([1, x, 2, 6]);
      expect(numbers(filled, 'n')).toEqual([1, 2, n, 2]);
      expect(numbers(filled, 'flag')).toEqual([1, 1, 0, 1]);
      expect(texts(filled, 'kind')).toEqual(['b', 'a', 'b', 'b']);
      expect(numbers(filled, 'day')[2]).toBe(Date.parse(day) / 1000);
      expect(hasMissing(filled)).toBe(false);
    },
  );

  it('counts the missing cells and leaves the table it was given alone', () => {
    // Act
    const filled = impute(table, 'mean');

    // Assess
    expect(missingCount(table)).toBe(5);
    expect(hasMissing(table)).toBe(true);
    expect(missingCount(filled)).toBe(0);
    expect(numbers(table, 'x')[1]).toBeNaN();
  });
});

describe('impute with neighbours', () => {
  /** Two groups far apart; the last row of each lacks its z and its label. */
  function twoGroups(): Table {
    const rows: (number | string | null)[][] = [];
    for (let i = 0; i < 10; i++) rows.push([i % 3, (i * 7) % 4, 10 + (i % 2), 'low']);
    for (let i = 0; i < 10; i++) rows.push([100 + (i % 3), 100 + ((i * 7) % 4), 20 + (i % 2), 'high']);
    rows.push([1, 1, null, null], [101, 101, null, null]);
    return tableFromRows(['x', 'y', 'z', 'label'], rows);
  }

  it.each(['knn', 'fast_knn'] as const)('%s takes the values of the nearest complete rows', (method) => {
    // Act
    const filled = impute(twoGroups(), method, { k: 4 });

    // Assess
    const z = numbers(filled, 'z');
    expect(z[20]).toBeGreaterThanOrEqual(10);
    expect(z[20]).toBeLessThanOrEqual(11);
    expect(z[21]).toBeGreaterThanOrEqual(20);
    expect(z[21]).toBeLessThanOrEqual(21);
    expect(Number.isInteger(z[20]) && Number.isInteger(z[21])).toBe(true);
    expect(texts(filled, 'label').slice(20)).toEqual(['low', 'high']);
  });

  it('is the same for the same random generator when the rows searched are a sample', () => {
    // Act
    const first = impute(twoGroups(), 'knn', { k: 2, trainingFraction: 0.5, random: createRandom(7) });
    const again = impute(twoGroups(), 'knn', { k: 2, trainingFraction: 0.5, random: createRandom(7) });

    // Assess
    expect(again).toEqual(first);
    expect(hasMissing(first)).toBe(false);
  });

  it('falls back to mean and mode when no column is complete', () => {
    // Prepare
    const table = tableFromRows(
      ['x', 'kind'],
      [
        [1, null],
        [null, 'a'],
        [3, 'a'],
        [5, 'b'],
      ],
    );

    // Act
    const filled = impute(table, 'knn');

    // Assess
    expect(numbers(filled, 'x')).toEqual([1, 3, 3, 5]);
    expect(texts(filled, 'kind')).toEqual(['a', 'a', 'a', 'b']);
  });

  it('refuses a k or a training fraction it cannot use', () => {
    // Act and Assess
    expect(() => impute(twoGroups(), 'knn', { k: 0 })).toThrow(RangeError);
    expect(() => impute(twoGroups(), 'knn', { trainingFraction: 1.5 })).toThrow(RangeError);
  });

  it("fills AIDS's 797 missing cd496 values with integers in the observed range", () => {
    // Prepare
    const path = fileURLToPath(
      new URL('../../../../../../shared/data/avatars/aids_original_data.csv', import.meta.url),
    );
    expect(existsSync(path), `${path} holds the avatar paper's AIDS data set`).toBe(true);
    const aids = parseTable(readFileSync(path), { dropColumns: ['pidnum', 'zprior'] });
    const before = numbers(aids, 'cd496');
    const present = before.filter((value) => !Number.isNaN(value));

    // Act
    const filled = impute(aids, 'knn');

    // Assess
    expect(missingCount(aids)).toBe(797);
    expect(missingCount(filled)).toBe(0);
    const after = numbers(filled, 'cd496');
    before.forEach((value, row) => {
      if (!Number.isNaN(value)) expect(after[row]).toBe(value);
    });
    expect(after.every(Number.isInteger)).toBe(true);
    expect(Math.min(...after)).toBeGreaterThanOrEqual(Math.min(...present));
    expect(Math.max(...after)).toBeLessThanOrEqual(Math.max(...present));
    expect(filled.columns.filter((c) => c.name !== 'cd496').every((c) => c === column(aids, c.name))).toBe(
      true,
    );
  });
});

describe('impute on any table', () => {
  it('leaves no missing value, keeps every present value and keeps integers whole', () => {
    fc.assert(
      fc.property(
        aTableWithMissing,
        fc.constantFrom(...METHODS),
        fc.integer({ min: 1, max: 6 }),
        (table, method, k) => {
          // Act
          const filled = impute(table, method, { k });

          // Assess
          expect(filled.rowCount).toBe(table.rowCount);
          expect(hasMissing(filled)).toBe(false);
          table.columns.forEach((original, j) => {
            const before = cellsOf(original);
            const after = cellsOf(filled.columns[j]!);
            expect(filled.columns[j]!.type).toBe(original.type);
            before.forEach((value, row) => {
              if (!Number.isNaN(value)) expect(after[row]).toBe(value);
            });
            if (original.type === 'int' || original.type === 'bool' || original.type === 'category') {
              expect(after.every(Number.isInteger)).toBe(true);
            }
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses a column with nothing to impute from', () => {
    // Prepare
    const table = tableFromRows(
      ['x', 'y'],
      [
        [1, null],
        [2, null],
      ],
      { validate: false },
    );

    // Act and Assess
    for (const method of METHODS) {
      expect(() => impute(table, method)).toThrow(TableError);
    }
  });
});

/** Tables of every column type where each column has at least one present value. */
const aTableWithMissing: fc.Arbitrary<Table> = fc.integer({ min: 2, max: 30 }).chain((rowCount) => {
  const cells = <T>(value: fc.Arbitrary<T>) =>
    fc
      .array(fc.option(value, { freq: 3, nil: null }), { minLength: rowCount, maxLength: rowCount })
      .filter((values) => values.some((v) => v !== null));
  const numberColumn = (type: NumberColumn['type'], value: fc.Arbitrary<number>) =>
    cells(value).map((values) => ({ type, values: Float64Array.from(values, (v) => v ?? Number.NaN) }));
  const anyColumn = fc.oneof(
    numberColumn('int', fc.integer({ min: -50, max: 50 })),
    numberColumn('numeric', fc.double({ min: -1e3, max: 1e3, noNaN: true })),
    numberColumn('bool', fc.constantFrom(0, 1)),
    numberColumn('datetime', fc.integer({ min: 0, max: 1e9 })),
    cells(fc.integer({ min: 0, max: 3 })).map((codes) => ({
      type: 'category' as const,
      levels: ['a', 'b', 'c', 'd'],
      codes: Int32Array.from(codes, (code) => code ?? -1),
    })),
  );
  return fc.array(anyColumn, { minLength: 1, maxLength: 5 }).map((columns) => ({
    rowCount,
    columns: columns.map((c, j) => ({ name: `c${j}`, ...c }) as Column),
  }));
});
