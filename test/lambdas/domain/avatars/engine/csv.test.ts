/** Reading and writing tables as CSV (lambdas/domain/avatars/engine/csv.ts). */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CSV_BLOCK_ROWS,
  encodeTable,
  formatDatetime,
  formatNumeric,
  formatTable,
  type ParseOptions,
  parseTable,
  TableError,
  tableFromRows,
} from '../../../../../lambdas/domain/avatars/engine/csv.ts';
import type {
  CategoryColumn,
  Column,
  ColumnType,
  NumberColumn,
  Table,
} from '../../../../../lambdas/domain/avatars/engine/table.ts';
import { isMissingText, sortLevels } from '../../../../../lambdas/domain/avatars/engine/typing.ts';
import { column, dataFile, numbers, texts, WBCD_COLUMNS } from './support.ts';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const read = (text: string, options: ParseOptions = {}): Table => parseTable(bytes(text), options);

/** The error `act` throws, for its code, message and place to be checked. */
function tableError(act: () => unknown): TableError {
  try {
    act();
  } catch (error) {
    if (error instanceof TableError) return error;
    throw error;
  }
  throw new Error('expected a TableError');
}

describe('parseTable on the avatar paper data sets', () => {
  it('reads WBCD as ten integer columns once the sample code is dropped', () => {
    // Act
    const table = parseTable(dataFile('breast_cancer_wisconsin.csv'), {
      dropColumns: ['Sample_code_number'],
    });

    // Assess
    expect(table.rowCount).toBe(683);
    expect(table.columns.map((c) => c.name)).toEqual([...WBCD_COLUMNS]);
    expect(table.columns.every((c) => c.type === 'int')).toBe(true);
    expect(table.columns.map((c) => (c as NumberColumn).values[0])).toEqual([5, 1, 1, 1, 2, 1, 3, 1, 1, 2]);
    expect(new Set(numbers(table, 'Class'))).toEqual(new Set([2, 4]));
  });

  it('reads AIDS with its ; delimiter, its quoted header and the 797 missing cd496 values', () => {
    // Act: zprior is 1 in every row, which the checks refuse (see below).
    const table = parseTable(dataFile('aids_original_data.csv'), { dropColumns: ['pidnum', 'zprior'] });

    // Assess
    expect(table.rowCount).toBe(2139);
    expect(table.columns).toHaveLength(25);
    expect(table.columns[0]!.name).toBe('age');
    const cd496 = numbers(table, 'cd496');
    expect(cd496.filter(Number.isNaN)).toHaveLength(797);
    expect(column(table, 'cd496').type).toBe('int');
    expect(column(table, 'wtkg').type).toBe('numeric');
    expect(numbers(table, 'wtkg').slice(0, 2)).toEqual([89.8128, 49.4424]);
    expect(numbers(table, 'cd496').slice(0, 2)).toEqual([660, Number.NaN]);
    expect(table.columns.filter((c) => c.name !== 'wtkg').every((c) => c.type === 'int')).toBe(true);
  });

  it("refuses AIDS's constant zprior column unless it is dropped, and reads it when the checks are off", () => {
    // Act
    const error = tableError(() =>
      parseTable(dataFile('aids_original_data.csv'), { dropColumns: ['pidnum'] }),
    );
    const unchecked = parseTable(dataFile('aids_original_data.csv'), { validate: false });

    // Assess
    expect(error.code).toBe('constant_column');
    expect(error.column).toBe('zprior');
    expect(error.message).toContain('"zprior"');
    expect(unchecked.columns).toHaveLength(27);
    expect(new Set(numbers(unchecked, 'zprior'))).toEqual(new Set([1]));
  });
});

describe('parseTable', () => {
  it.each([
    [',', 'a,b,c\n1,x,2.5\n2,y,3.5\n'],
    [';', 'a;b;c\n1;x;2.5\n2;y;3.5\n'],
    ['\t', 'a\tb\tc\n1\tx\t2.5\n2\ty\t3.5\n'],
    ['|', 'a|b|c\n1|x|2.5\n2|y|3.5\n'],
  ])('finds the %j delimiter from the header and the first lines', (_, text) => {
    // Act
    const table = read(text);

    // Assess
    expect(table.columns.map((c) => [c.name, c.type])).toEqual([
      ['a', 'int'],
      ['b', 'category'],
      ['c', 'numeric'],
    ]);
    expect(numbers(table, 'c')).toEqual([2.5, 3.5]);
  });

  it('prefers ; over the commas of decimal numbers written the European way', () => {
    // Act
    const table = read('weight;height\n1,5;2\n2,5;3\n3;4,25\n');

    // Assess: the header has no comma, so ; is the delimiter and "1,5" is text.
    expect(table.columns.map((c) => c.name)).toEqual(['weight', 'height']);
    expect(texts(table, 'weight')).toEqual(['1,5', '2,5', '3']);
  });

  it('takes the delimiter it is given over the one it would find', () => {
    // Act
    const table = read('a,b;c\n1,2;x\n3,4;y\n', { delimiter: ';' });

    // Assess
    expect(table.columns.map((c) => c.name)).toEqual(['a,b', 'c']);
    expect(texts(table, 'a,b')).toEqual(['1,2', '3,4']);
  });

  it('says the delimiter is unknown when no candidate splits the header, and reads one column when told', () => {
    // Act
    const error = tableError(() => read('value\n1\n2\n3\n'));
    const table = read('value\n1\n2\n3\n', { delimiter: ',' });

    // Assess
    expect(error.code).toBe('unknown_delimiter');
    expect(error.message).toMatch(/^unknown delimiter/);
    expect(numbers(table, 'value')).toEqual([1, 2, 3]);
  });

  it('reads quoted fields with delimiters, doubled quotes and line breaks inside, and CRLF line ends', () => {
    // Prepare
    const text = 'id,"note, long",kind\r\n1,"say ""hi""",a\r\n2,"two\r\nlines",b\r\n3,plain,a\r\n';

    // Act
    const table = read(text, { types: { 'note, long': 'category' } });

    // Assess
    expect(table.columns.map((c) => c.name)).toEqual(['id', 'note, long', 'kind']);
    expect(texts(table, 'note, long')).toEqual(['say "hi"', 'two\r\nlines', 'plain']);
    expect(texts(table, 'kind')).toEqual(['a', 'b', 'a']);
    expect(numbers(table, 'id')).toEqual([1, 2, 3]);
  });

  it('splits records as csv-parse does, for any fields a CSV writer quotes', () => {
    // Prepare: fields with the characters that matter, quoted when they must be or at random.
    const field = fc.string({
      unit: fc.constantFrom('a', 'b', ' ', ',', '"', '\n', '\r', 'é', '😀'),
      maxLength: 6,
    });
    const csv = fc.integer({ min: 2, max: 5 }).chain((width) =>
      fc.record({
        width: fc.constant(width),
        rows: fc.array(fc.array(fc.tuple(field, fc.boolean()), { minLength: width, maxLength: width }), {
          minLength: 2,
          maxLength: 12,
        }),
        lineEnd: fc.constantFrom('\n', '\r\n'),
      }),
    );

    fc.assert(
      fc.property(csv, ({ width, rows, lineEnd }) => {
        const header = Array.from({ length: width }, (_, j) => `c${j}`);
        const encode = ([text, quote]: [string, boolean]): string =>
          quote || /[,"\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
        const text =
          [header.join(','), ...rows.map((row) => row.map(encode).join(','))].join(lineEnd) + lineEnd;
        const types = Object.fromEntries(header.map((name) => [name, 'category' as ColumnType]));

        // Act
        const table = read(text, { delimiter: ',', types, validate: false });
        const reference = parse(text, { delimiter: ',', skip_empty_lines: true }) as string[][];

        // Assess
        expect(table.rowCount).toBe(reference.length - 1);
        header.forEach((name, j) => {
          expect(texts(table, name)).toEqual(
            reference.slice(1).map((row) => (isMissingText(row[j]!) ? null : row[j]!)),
          );
        });
      }),
      { numRuns: 300 },
    );
  });

  it('reads every missing marker as missing', () => {
    // Act
    const table = read('x,label\n1,a\n,b\nNA,c\nNaN,d\nnan,e\nnull,f\nNULL,g\nNone,h\nN/A,i\n2,NA\n');

    // Assess
    expect(numbers(table, 'x')).toEqual([1, ...Array(8).fill(Number.NaN), 2]);
    expect(column(table, 'x').type).toBe('int');
    expect(texts(table, 'label').at(-1)).toBeNull();
  });

  it('drops a byte order mark and skips empty lines, counting them in line numbers', () => {
    // Prepare
    const text = '\uFEFFa,b\n1,2\n\n\n3,4\n5\n';

    // Act
    const error = tableError(() => read(text));
    const table = read('\uFEFFa,b\n\n1,2\r\n\r\n3,4\n\n');

    // Assess
    expect(error.code).toBe('ragged_rows');
    expect(error.message).toBe('line 6 has 1 field; the header has 2');
    expect(error.line).toBe(6);
    expect(table.columns[0]!.name).toBe('a');
    expect(numbers(table, 'a')).toEqual([1, 3]);
  });

  it('refuses text that is not UTF-8, naming its line', () => {
    // Prepare: "café" in Latin-1 on line 3.
    const latin1 = Uint8Array.from([...bytes('name,n\nabc,1\ncaf'), 0xe9, ...bytes(',2\n')]);

    // Act
    const error = tableError(() => parseTable(latin1));

    // Assess
    expect(error.code).toBe('non_utf8');
    expect(error.line).toBe(3);
    expect(error.message).toContain('not UTF-8');
  });

  it('names the first ragged line and both field counts', () => {
    // Act
    const short = tableError(() => read('a,b,c\n1,2,3\n4,5\n6,7,8,9\n'));
    const long = tableError(() => read('a,b,c\n1,2,3\n4,5,6\n7,8,9\n1,2,3,4\n'));

    // Assess
    expect(short.code).toBe('ragged_rows');
    expect(short.message).toBe('line 3 has 2 fields; the header has 3');
    expect(long.message).toBe('line 5 has 4 fields; the header has 3');
    expect(long.line).toBe(5);
  });

  it('always refuses a table with one ragged row', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 6 }),
        fc.integer({ min: 2, max: 40 }),
        fc.nat(),
        fc.boolean(),
        (width, rowCount, pick, longer) => {
          // Prepare: a table of distinct integers with one row a field short or a field long.
          const ragged = pick % rowCount;
          const rows = Array.from({ length: rowCount }, (_, i) => {
            const fields = Array.from({ length: width }, (_, j) => String(i * width + j));
            if (i === ragged) return longer ? [...fields, '0'].join(',') : fields.slice(1).join(',');
            return fields.join(',');
          });
          const header = Array.from({ length: width }, (_, j) => `c${j}`).join(',');
          const text = [header, ...rows].join('\n');

          // Act
          const named = tableError(() => read(text, { delimiter: ',' }));
          const sniffed = tableError(() => read(text));

          // Assess
          expect(named.code).toBe('ragged_rows');
          expect(named.line).toBe(ragged + 2);
          expect(sniffed.code).toBe('ragged_rows');
          expect(sniffed.message).toBe(named.message);
        },
      ),
    );
  });

  it('refuses a quote that is never closed or is followed by text', () => {
    // Act
    const open = tableError(() => read('a,b\n1,"x\n2,y\n', { delimiter: ',' }));
    const trailing = tableError(() => read('a,b\n1,x\n2,"y"z\n', { delimiter: ',' }));

    // Assess
    expect(open.code).toBe('bad_quote');
    expect(open.message).toBe('line 2: a quoted field is never closed');
    expect(trailing.code).toBe('bad_quote');
    expect(trailing.line).toBe(3);
  });

  it('refuses an empty file and a delimiter that cannot be one', () => {
    // Act and Assess
    expect(tableError(() => read('')).code).toBe('empty_file');
    expect(tableError(() => read('\n\r\n')).code).toBe('empty_file');
    expect(tableError(() => read('a,b\n1,2\n', { delimiter: '"' })).code).toBe('bad_option');
    expect(tableError(() => read('a,b\n1,2\n', { delimiter: ',,' })).code).toBe('bad_option');
  });
});

describe('formatTable', () => {
  it('writes integers, floats without noise, bools, datetimes in their form, levels and missing values', () => {
    // Prepare
    const table = read(
      'n,x,flag,day,at,kind\n' +
        '1,0.1,true,2024-02-29,2024-02-29T10:30:00Z,"a, b"\n' +
        ',2,FALSE,,2024-03-01 00:00:00.250,c\n' +
        '3,,True,2023-12-31,,\n',
    );
    const x = column(table, 'x') as NumberColumn;
    x.values[0]! += 0.2;

    // Act
    const text = formatTable(table);

    // Assess
    expect(text).toBe(
      'n,x,flag,day,at,kind\n' +
        '1,0.3,True,2024-02-29,2024-02-29T10:30:00Z,"a, b"\n' +
        ',2.0,False,,2024-03-01T00:00:00.250Z,c\n' +
        '3,,True,2023-12-31,,\n',
    );
  });

  it('writes floats to 12 significant digits that read back as floats', () => {
    // Assess
    expect(formatNumeric(0.1 + 0.2)).toBe('0.3');
    expect(formatNumeric(5)).toBe('5.0');
    expect(formatNumeric(-1234.5)).toBe('-1234.5');
    expect(formatNumeric(123456789012345)).toBe('1.23456789012e+14');
    expect(formatNumeric(1e-7)).toBe('1e-7');
    expect(formatNumeric(2 / 3)).toBe('0.666666666667');
    expect(formatDatetime(86400 * 1.6, 'date')).toBe('1970-01-03');
  });

  it('uses the delimiter it is given and quotes what contains it', () => {
    // Prepare
    const table = read('a;b\n1;x;y\n2;z\n'.replace('x;y', '"x;y"'));

    // Act
    const text = formatTable(table, { delimiter: ';' });

    // Assess
    expect(text).toBe('a;b\n1;"x;y"\n2;z\n');
  });

  it('reads back to the same table', () => {
    fc.assert(
      fc.property(aTable, (table) => {
        // Prepare
        const types = Object.fromEntries(table.columns.map((c) => [c.name, c.type]));

        // Act
        const text = formatTable(table);
        const back = read(text, { delimiter: ',', types, validate: false });

        // Assess
        expect(back).toEqual(table);
        expect(formatTable(back)).toBe(text);
      }),
      { numRuns: 200 },
    );
  });

  it('encodes to the same UTF-8 bytes a block of rows at a time, across blocks', () => {
    // Prepare: more rows than one block holds, with text that takes several bytes.
    const rows = Array.from({ length: CSV_BLOCK_ROWS + 1234 }, (_, row) => `${row},${row % 3 ? 'é' : 'ü'}`);
    const table = read(`n,city\n${rows.join('\n')}\n`);

    // Act
    const bytes = encodeTable(table);

    // Assess
    expect(new TextDecoder().decode(bytes)).toBe(formatTable(table));
    expect(bytes.length).toBe(new TextEncoder().encode(formatTable(table)).length);
  });

  it('reads back to the same types without being told them, when the levels are words', () => {
    // Prepare
    const table = read('n,x,flag,day,kind\n1,0.5,True,2024-01-01,a\n2,1.0,False,2024-01-02,b\n,,,,\n');

    // Act
    const back = read(formatTable(table));

    // Assess
    expect(back).toEqual(table);
  });
});

describe('tableFromRows', () => {
  it('types rows in memory as a file would be typed', () => {
    // Act
    const table = tableFromRows(
      ['n', 'x', 'flag', 'day', 'kind'],
      [
        [1, 0.5, true, '2024-01-01', 'a'],
        [2, null, false, '2024-01-02', 'b'],
        [null, 1.25, true, null, 'NA'],
        [4, 3, false, '2024-01-04', 'a'],
      ],
    );

    // Assess
    expect(table.columns.map((c) => c.type)).toEqual(['int', 'numeric', 'bool', 'datetime', 'category']);
    expect(numbers(table, 'n')).toEqual([1, 2, Number.NaN, 4]);
    expect(numbers(table, 'x')).toEqual([0.5, Number.NaN, 1.25, 3]);
    expect(numbers(table, 'flag')).toEqual([1, 0, 1, 0]);
    expect(texts(table, 'kind')).toEqual(['a', 'b', null, 'a']);
  });

  it('names the row with the wrong number of values, and the row of a value of the wrong type', () => {
    // Act
    const ragged = tableError(() => tableFromRows(['a', 'b'], [[1, 2], [3]]));
    const wrong = tableError(() =>
      tableFromRows(
        ['a', 'b'],
        [
          [1, 2],
          [3, 'x'],
        ],
        { types: { b: 'int' } },
      ),
    );

    // Assess
    expect(ragged.code).toBe('ragged_rows');
    expect(ragged.message).toBe('row 2 has 1 value; the header has 2');
    expect(ragged.row).toBe(2);
    expect(wrong.code).toBe('bad_value');
    expect(wrong.message).toBe('column "b", row 2: "x" is not an integer');
  });
});

/** Tables of every column type, with missing cells, names and levels that need quoting. */
const aTable: fc.Arbitrary<Table> = fc.integer({ min: 1, max: 25 }).chain((rowCount) => {
  const cells = <T>(value: fc.Arbitrary<T>) =>
    fc.array(fc.option(value, { freq: 5, nil: null }), { minLength: rowCount, maxLength: rowCount });
  const numberColumn = (
    type: NumberColumn['type'],
    value: fc.Arbitrary<number>,
    datetimeFormat?: 'date' | 'iso',
  ) =>
    cells(value).map((values) => ({
      type,
      values: Float64Array.from(values, (v) => v ?? Number.NaN),
      // A column with no value reads back as dates: nothing says it held timestamps.
      ...(datetimeFormat
        ? { datetimeFormat: values.every((v) => v === null) ? 'date' : datetimeFormat }
        : {}),
    }));
  const level = fc
    .string({
      unit: fc.constantFrom('a', 'Z', ' ', ',', '"', '\n', '\r', '7', '.', 'é', '😀'),
      minLength: 1,
      maxLength: 5,
    })
    .filter((text) => !isMissingText(text));
  const anyColumn = fc.oneof(
    numberColumn('int', fc.integer({ min: -1e12, max: 1e12 })),
    numberColumn(
      'numeric',
      fc.double({ min: -1e18, max: 1e18, noNaN: true }).map((v) => Number(v.toPrecision(12)) || 0),
    ),
    numberColumn('bool', fc.constantFrom(0, 1)),
    numberColumn(
      'datetime',
      fc.integer({ min: -700_000, max: 2_900_000 }).map((days) => days * 86400),
      'date',
    ),
    numberColumn(
      'datetime',
      fc.integer({ min: -6e13, max: 2.5e14 }).map((ms) => ms / 1000),
      'iso',
    ),
    cells(level).map((values) => {
      const levels = sortLevels([...new Set(values.filter((v): v is string => v !== null))]);
      return {
        type: 'category' as const,
        levels,
        codes: Int32Array.from(values, (v) => (v === null ? -1 : levels.indexOf(v))),
      };
    }),
  );
  const name = fc.string({ minLength: 1, maxLength: 6 }).filter((text) => text.trim() !== '');
  return fc
    .uniqueArray(name, { minLength: 1, maxLength: 6 })
    .chain((names) => fc.tuple(...names.map(() => anyColumn)).map((columns) => ({ names, columns })))
    .map(({ names, columns }) => ({
      rowCount,
      columns: columns.map((c, j) => ({ name: names[j]!, ...c }) as Column),
    }));
});
