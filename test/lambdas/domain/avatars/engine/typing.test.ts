/** Column typing shared by files and rows in memory (lambdas/domain/avatars/engine/typing.ts). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatDatetime,
  type ParseOptions,
  parseTable,
  TableError,
} from '../../../../../lambdas/domain/avatars/engine/csv.ts';
import type {
  CategoryColumn,
  Column,
  NumberColumn,
} from '../../../../../lambdas/domain/avatars/engine/table.ts';
import {
  compareCodePoints,
  parseDatetime,
  parseNumber,
  sortLevels,
} from '../../../../../lambdas/domain/avatars/engine/typing.ts';

/** The one column of a two-column table whose other column is a row counter. */
function typed(cells: string[], options: ParseOptions = {}): Column {
  const text = `n,value\n${cells.map((cell, i) => `${i},${cell}`).join('\n')}\n`;
  return parseTable(new TextEncoder().encode(text), { validate: false, ...options }).columns[1]!;
}

function tableError(act: () => unknown): TableError {
  try {
    act();
  } catch (error) {
    if (error instanceof TableError) return error;
    throw error;
  }
  throw new Error('expected a TableError');
}

describe('column typing', () => {
  it.each([
    [['1', '-2', '+3', '007'], 'int'],
    [['1', '', '3'], 'int'],
    [['1', '2.5', '3'], 'numeric'],
    [['5.0', '6.0'], 'numeric'],
    [['1e3', '2'], 'numeric'],
    [['.5', '1.', ' 2 '], 'numeric'],
    [['true', 'False', 'TRUE', 'NA'], 'bool'],
    [['2024-01-31', '1999-12-01'], 'datetime'],
    [['2024-01-31T10:00:00', '2024-01-31 11:00'], 'datetime'],
    [['0x1F', '10'], 'category'],
    [['Infinity', '1'], 'category'],
    [['1', 'a'], 'category'],
    [['true', '1'], 'category'],
    [['2024-01-31', '2024-02-30'], 'category'],
    [['1e400', '1'], 'category'],
  ])('types %j as %s', (cells, type) => {
    // Act
    const column = typed(cells);

    // Assess
    expect(column.type).toBe(type);
  });

  it('keeps what each cell means', () => {
    // Act
    const ints = typed(['1', '', '-3', '007']) as NumberColumn;
    const floats = typed(['0.1', '2.5e-3', '-0', '12345678901234567']) as NumberColumn;
    const bools = typed(['true', 'FALSE', 'null']) as NumberColumn;
    const dates = typed(['1970-01-02', '2000-02-29']) as NumberColumn;
    const stamps = typed([
      '1970-01-01T00:00:01Z',
      '1970-01-01 01:00:00+01:00',
      '1970-01-01T00:00:00.5',
    ]) as NumberColumn;

    // Assess
    expect(Array.from(ints.values)).toEqual([1, Number.NaN, -3, 7]);
    expect(Array.from(floats.values)).toEqual([0.1, 0.0025, 0, 12345678901234568]);
    expect(Array.from(bools.values)).toEqual([1, 0, Number.NaN]);
    expect(Array.from(dates.values)).toEqual([86400, 951782400]);
    expect(dates.datetimeFormat).toBe('date');
    expect(Array.from(stamps.values)).toEqual([1, 0, 0.5]);
    expect(stamps.datetimeFormat).toBe('iso');
  });

  it('sorts category levels numerically when all are numbers, else by code point', () => {
    // Act
    const numeric = typed(['10', '9', '1.5', '10'], { types: { value: 'category' } }) as CategoryColumn;
    const words = typed(['b', 'B', 'a', '😀', '\uE000', '10', '9']) as CategoryColumn;

    // Assess
    expect(numeric.levels).toEqual(['1.5', '9', '10']);
    expect(Array.from(numeric.codes)).toEqual([2, 1, 0, 2]);
    expect(words.levels).toEqual(['10', '9', 'B', 'a', 'b', '\uE000', '😀']);
    expect(words.levels.map((level) => words.levels.indexOf(level))).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('reads a column as the type it is given', () => {
    // Act
    const int = typed(['1', '2.0', '1e2'], { types: { value: 'int' } });
    const numeric = typed(['1', '2'], { types: { value: 'numeric' } });
    const bool = typed(['0', '1', 'True'], { types: { value: 'bool' } });
    const category = typed(['1', '2'], { types: { value: 'category' } }) as CategoryColumn;

    // Assess
    expect(int.type).toBe('int');
    expect(Array.from((int as NumberColumn).values)).toEqual([1, 2, 100]);
    expect(numeric.type).toBe('numeric');
    expect(Array.from((bool as NumberColumn).values)).toEqual([0, 1, 1]);
    expect(category.levels).toEqual(['1', '2']);
  });

  it.each([
    ['int', '1', '2.5', 'an integer'],
    ['int', '1', 'abc', 'an integer'],
    ['numeric', '1.5', 'abc', 'a number'],
    ['bool', 'true', 'yes', 'true or false'],
    ['datetime', '2024-01-31', '31/01/2024', 'an ISO date (YYYY-MM-DD) or timestamp'],
  ] as const)(
    'refuses a cell a %s column cannot read, naming the column, the line and the value',
    (type, good, bad, expected) => {
      // Act
      const error = tableError(() => typed([good, bad], { types: { value: type } }));

      // Assess
      expect(error.code).toBe('bad_value');
      expect(error.column).toBe('value');
      expect(error.line).toBe(3);
      expect(error.message).toBe(`column "value", line 3: ${JSON.stringify(bad)} is not ${expected}`);
    },
  );
});

describe('parseNumber', () => {
  it('reads every decimal text as Number() does', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
          fc
            .double({ noNaN: true, noDefaultInfinity: true })
            .map((v) => v.toPrecision(1 + Math.floor(Math.abs(v) % 17))),
          fc.integer().map(String),
          fc
            .tuple(fc.integer({ min: -1e6, max: 1e6 }), fc.nat(99999), fc.integer({ min: -30, max: 30 }))
            .map(([whole, fraction, exponent]) => `${whole}.${fraction}e${exponent}`),
        ),
        (text) => {
          // Act
          const value = parseNumber(text);

          // Assess: the same double; a -0 is read as 0, and what overflows to infinity is no number.
          const reference = Number(text);
          expect(value).toBe(!Number.isFinite(reference) ? Number.NaN : reference === 0 ? 0 : reference);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refuses what no CSV writer means as a number', () => {
    // Assess
    for (const text of [
      '',
      ' ',
      '-',
      '.',
      'e5',
      '1e',
      '1e+',
      '0x10',
      '0b1',
      'Infinity',
      '1_000',
      '1,5',
      '1.2.3',
      '--1',
    ]) {
      expect(parseNumber(text), text).toBeNaN();
    }
  });
});

describe('parseDatetime', () => {
  it('reads dates and timestamps with zones, and refuses days that do not exist', () => {
    // Assess
    expect(parseDatetime('2024-02-29')).toEqual({ seconds: 1709164800, format: 'date' });
    expect(parseDatetime('2024-02-29T00:00:00-02:30')).toEqual({ seconds: 1709164800 + 9000, format: 'iso' });
    expect(parseDatetime('2024-02-29T00:00+0100')).toEqual({ seconds: 1709164800 - 3600, format: 'iso' });
    expect(parseDatetime('1969-12-31T23:59:59.999Z')?.seconds).toBe(-0.001);
    for (const text of [
      '2023-02-29',
      '2024-13-01',
      '2024-00-10',
      '2024-01-32',
      '2024-01-01T24:00:00',
      '24-01-01',
      '2024-1-1',
    ]) {
      expect(parseDatetime(text), text).toBeUndefined();
    }
  });

  it('reads back what formatDatetime writes', () => {
    fc.assert(
      fc.property(fc.integer({ min: -6e13, max: 2.5e14 }), (milliseconds) => {
        // Prepare
        const seconds = milliseconds / 1000;
        const days = Math.floor(milliseconds / 86_400_000) * 86400;

        // Act and Assess
        expect(parseDatetime(formatDatetime(seconds, 'iso'))).toEqual({ seconds, format: 'iso' });
        expect(parseDatetime(formatDatetime(days, 'date'))).toEqual({ seconds: days, format: 'date' });
        expect(formatDatetime(seconds, 'iso')).toBe(
          new Date(milliseconds).toISOString().replace('.000Z', 'Z'),
        );
      }),
    );
  });
});

describe('level order', () => {
  it('compares strings by code point, as Python does', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        // Prepare: the code points, compared one by one.
        const x = Array.from(a, (c) => c.codePointAt(0)!);
        const y = Array.from(b, (c) => c.codePointAt(0)!);
        let expected = x.length - y.length;
        for (let i = 0; i < Math.min(x.length, y.length); i++) {
          if (x[i] !== y[i]) {
            expected = x[i]! - y[i]!;
            break;
          }
        }

        // Act and Assess
        expect(Math.sign(compareCodePoints(a, b))).toBe(Math.sign(expected));
      }),
    );
  });

  it('sorts levels that are all numbers by value', () => {
    // Assess
    expect(sortLevels(['10', '2', '-1', '2.0', '1e1'])).toEqual(['-1', '2', '2.0', '10', '1e1']);
    expect(sortLevels(['10', '2', 'x'])).toEqual(['10', '2', 'x']);
  });
});
