/**
 * Tables in and out of CSV, and from rows given in memory. The file is split into cells by
 * csv-tokenizer.ts, typed by typing.ts and checked by validate.ts.
 */
import { decode, fileColumn, skipEmptyLines, sniffDelimiter, tokenize } from './csv-tokenizer.ts';
import { type Column, type ColumnType, isCategorical, type Table } from './table.ts';
import { civilFromDays, type RawColumn, typeColumn } from './typing.ts';
import {
  checkColumnCount,
  checkHeader,
  DEFAULT_MAX_COLUMNS,
  TableError,
  type TableErrorPlace,
  validateTable,
} from './validate.ts';

export { TableError, type TableErrorCode } from './validate.ts';

export interface TypingOptions {
  /** Types forced per column (the YAML schema's `type`), instead of inferring them. */
  readonly types?: Readonly<Record<string, ColumnType>>;
  /** Columns left out, such as an identifier. */
  readonly dropColumns?: readonly string[];
  /** Most columns the table may keep (default 200). */
  readonly maxColumns?: number;
  /** Check the table is fit for avatarization (default true); see `validateTable`. */
  readonly validate?: boolean;
}

export interface ParseOptions extends TypingOptions {
  /** The field delimiter; found from the header and the first lines when absent. */
  readonly delimiter?: string;
}

function checkNamedColumns(header: readonly string[], options: TypingOptions): Set<string> {
  const known = new Set(header);
  const dropped = new Set(options.dropColumns ?? []);
  for (const name of dropped) {
    if (!known.has(name)) {
      throw new TableError(
        'unknown_column',
        `dropColumns names column ${JSON.stringify(name)}, which the header does not have`,
        {
          column: name,
        },
      );
    }
  }
  for (const name of Object.keys(options.types ?? {})) {
    if (!known.has(name) || dropped.has(name)) {
      throw new TableError(
        'unknown_column',
        `types names column ${JSON.stringify(name)}, which the header does not have${dropped.has(name) ? ' once dropped' : ''}`,
        { column: name },
      );
    }
  }
  return dropped;
}

/** Types every kept column, then checks the table is fit for avatarization unless told not to. */
function buildTable(
  header: readonly string[],
  rowCount: number,
  rawColumn: (index: number) => RawColumn,
  options: TypingOptions,
): Table {
  checkHeader(header);
  const dropped = checkNamedColumns(header, options);
  const kept = header.map((_, index) => index).filter((index) => !dropped.has(header[index]!));
  const validate = options.validate ?? true;
  const maxColumns = options.maxColumns ?? DEFAULT_MAX_COLUMNS;
  // Before the typing, which is the long part.
  if (validate) checkColumnCount(kept.length, maxColumns);
  const columns: Column[] = kept.map((index) =>
    typeColumn(rawColumn(index), options.types?.[header[index]!]),
  );
  const table: Table = { rowCount, columns };
  if (validate) validateTable(table, { maxColumns });
  return table;
}

/**
 * A table from a CSV file's bytes: UTF-8 (a byte order mark is dropped), the delimiter sniffed
 * unless given, the missing markers of `MISSING_MARKERS`, columns typed as typing.ts says. Throws
 * a `TableError` for a file that cannot be read or a table unfit for avatarization.
 */
export function parseTable(bytes: Uint8Array, options: ParseOptions = {}): Table {
  const text = decode(bytes);
  if (skipEmptyLines(text, 0, 1).position >= text.length) {
    throw new TableError('empty_file', 'the file is empty: it has no header');
  }
  const { delimiter } = options;
  if (delimiter !== undefined && (delimiter.length !== 1 || '"\r\n'.includes(delimiter))) {
    throw new TableError(
      'bad_option',
      `the delimiter must be one character other than a quote or a line break; got ${JSON.stringify(delimiter)}`,
    );
  }
  const cells = tokenize(text, delimiter ?? sniffDelimiter(text));
  return buildTable(cells.header, cells.rowCount, (index) => fileColumn(cells, index), options);
}

export type Cell = string | number | boolean | null | undefined;

/** A cell given in memory as the text a CSV file would hold for it. */
function cellText(value: Cell): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') return Number.isNaN(value) ? '' : String(value);
  return value;
}

/** A table from rows in memory (the SDK's `addTable(name, rows)`), typed and checked as `parseTable` does. */
export function tableFromRows(
  header: readonly string[],
  rows: readonly (readonly Cell[])[],
  options: TypingOptions = {},
): Table {
  rows.forEach((values, index) => {
    if (values.length !== header.length) {
      throw new TableError(
        'ragged_rows',
        `row ${index + 1} has ${values.length} value${values.length === 1 ? '' : 's'}; the header has ${header.length}`,
        { row: index + 1 },
      );
    }
  });
  return buildTable(
    header,
    rows.length,
    (column) => ({
      name: header[column]!,
      rowCount: rows.length,
      text: (row) => cellText(rows[row]![column]),
      place: (row): TableErrorPlace => ({ row: row + 1 }),
    }),
    options,
  );
}

/** A field quoted when it would otherwise read back differently. */
function quoted(text: string, delimiter: string): string {
  if (text.includes(delimiter) || text.includes('"') || text.includes('\n') || text.includes('\r')) {
    return `"${text.replaceAll('"', '""')}"`;
  }
  return text;
}

const pad = (value: number, width: number): string => String(value).padStart(width, '0');

/** Epoch seconds as `YYYY-MM-DD` (to the nearest day) or as an ISO timestamp in UTC. */
export function formatDatetime(seconds: number, format: 'date' | 'iso'): string {
  if (format === 'date') {
    const { year, month, day } = civilFromDays(Math.round(seconds / 86400));
    return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
  }
  const milliseconds = Math.round(seconds * 1000);
  const days = Math.floor(milliseconds / 86_400_000);
  const { year, month, day } = civilFromDays(days);
  let rest = milliseconds - days * 86_400_000;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const wholeSeconds = Math.floor(rest / 1000);
  const fraction = rest - wholeSeconds * 1000;
  const date = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
  const time = `${pad(hours, 2)}:${pad(minutes, 2)}:${pad(wholeSeconds, 2)}${fraction === 0 ? '' : `.${pad(fraction, 3)}`}`;
  return `${date}T${time}Z`;
}

/** Significant digits a float is written with. */
const SIGNIFICANT_DIGITS = 12;

/** A decimal's text without the zeros that end its fraction, keeping one digit after the point. */
function withoutTrailingZeros(text: string): string {
  if (!text.includes('.')) return `${text}.0`;
  let end = text.length;
  while (text.charCodeAt(end - 1) === 48) end--;
  if (text.charCodeAt(end - 1) === 46) end++;
  return text.slice(0, end);
}

/**
 * A float with at most 12 significant digits, so that arithmetic noise (`0.30000000000000004`)
 * is not written, and with a point (`5.0`) or an exponent so that the column reads back as
 * `numeric`. (`toPrecision` and a trim: a third of the time of `String` on floats with every digit
 * set, which is what avatars are.)
 */
export function formatNumeric(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const text = value.toPrecision(SIGNIFICANT_DIGITS);
  const exponent = text.indexOf('e');
  if (exponent < 0) return withoutTrailingZeros(text);
  return withoutTrailingZeros(text.slice(0, exponent)).replace(/\.0$/, '') + text.slice(exponent);
}

function formatter(column: Column, delimiter: string): (row: number) => string {
  if (isCategorical(column)) {
    const levels = column.levels.map((level) => quoted(level, delimiter));
    return (row) => {
      const code = column.codes[row]!;
      return code < 0 ? '' : levels[code]!;
    };
  }
  const { values } = column;
  switch (column.type) {
    case 'int':
      return (row) => (Number.isNaN(values[row]!) ? '' : String(Math.round(values[row]!)));
    case 'numeric':
      return (row) => (Number.isNaN(values[row]!) ? '' : formatNumeric(values[row]!));
    case 'bool':
      return (row) => (Number.isNaN(values[row]!) ? '' : values[row]! === 0 ? 'False' : 'True');
    case 'datetime': {
      const format = column.datetimeFormat ?? 'iso';
      return (row) => (Number.isNaN(values[row]!) ? '' : formatDatetime(values[row]!, format));
    }
  }
}

/**
 * The table as CSV with its header: integers as integers, floats to 12 significant digits, bools
 * as `True`/`False` (as pandas writes them), datetimes in the form they were read in, categories
 * as their level, a missing value as an empty field. `parseTable` reads it back to the same table.
 */
export function formatTable(table: Table, options: { delimiter?: string } = {}): string {
  return [...csvBlocks(table, options.delimiter ?? ',')].join('');
}

/**
 * The same CSV as UTF-8 bytes, encoded a block of rows at a time: no one string holds the whole
 * table, which V8 caps at 2²⁹ − 24 characters (a table of a few hundred MB would pass it).
 */
export function encodeTable(table: Table, options: { delimiter?: string } = {}): Uint8Array {
  return encodeBlocks(csvBlocks(table, options.delimiter ?? ','));
}

/** Text given a block at a time, as one UTF-8 byte array (no one string holds it all). */
export function encodeBlocks(blocks: Iterable<string>): Uint8Array {
  const encoder = new TextEncoder();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (const block of blocks) {
    const bytes = encoder.encode(block);
    chunks.push(bytes);
    length += bytes.length;
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** Rows per block of text: a few MB at a time. */
export const CSV_BLOCK_ROWS = 50_000;

/** The header line, then the rows a block at a time, each line ending in `\n`. */
function* csvBlocks(table: Table, delimiter: string): Generator<string> {
  const formatters = table.columns.map((column) => formatter(column, delimiter));
  yield `${table.columns.map((column) => quoted(column.name, delimiter)).join(delimiter)}\n`;
  const fields = new Array<string>(formatters.length);
  for (let start = 0; start < table.rowCount; start += CSV_BLOCK_ROWS) {
    const end = Math.min(table.rowCount, start + CSV_BLOCK_ROWS);
    const lines = new Array<string>(end - start);
    for (let row = start; row < end; row++) {
      for (let column = 0; column < formatters.length; column++) fields[column] = formatters[column]!(row);
      // A lone empty field would be an empty line, which readers skip: quote it.
      lines[row - start] = fields.length === 1 && fields[0] === '' ? '""' : fields.join(delimiter);
    }
    yield `${lines.join('\n')}\n`;
  }
}
