/**
 * The little CSV the Runner needs, RFC 4180 both ways: tables given as rows are written out to be
 * uploaded, a file's header is read to declare its columns, and result tables are read back. The
 * tables an SDK user holds in memory are small enough for strings; the server reads the large ones.
 * A file is read as the server reads it (its delimiter found by the server's own rule), so that the
 * columns the Runner checks are the columns the job will see.
 */
import { sniffDelimiter as sniffAsTheServerDoes } from '../../../lambdas/domain/avatars/engine/csv-tokenizer.ts';
import { TableError } from '../../../lambdas/domain/avatars/engine/validate.ts';

/** A cell as a caller may give it: empty for null and undefined, ISO 8601 for a date. */
export type CsvCell = string | number | bigint | boolean | Date | null | undefined;

/** Rows as objects (a header from their keys), or a header row followed by the rows. */
export type TableRows = readonly Readonly<Record<string, CsvCell>>[] | readonly (readonly CsvCell[])[];

function cellText(cell: CsvCell): string {
  if (cell === null || cell === undefined) return '';
  if (cell instanceof Date) return cell.toISOString();
  if (typeof cell === 'number' && !Number.isFinite(cell)) return Number.isNaN(cell) ? '' : String(cell);
  return String(cell);
}

/** A field, quoted when it holds a delimiter, a quote or a line break (RFC 4180). */
function field(cell: CsvCell, delimiter: string): string {
  const text = cellText(cell);
  return text.includes(delimiter) || /["\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * Rows as CSV text, one record per line, ending with a line break. A record of one empty cell is
 * written `""`: an empty line would be skipped by a reader.
 */
export function formatCsv(records: readonly (readonly CsvCell[])[], delimiter = ','): string {
  return records
    .map((record) => {
      const line = record.map((cell) => field(cell, delimiter)).join(delimiter);
      return `${record.length === 1 && line === '' ? '""' : line}\n`;
    })
    .join('');
}

/**
 * A table given as rows, as CSV text with its header. Objects give the header from their keys, in
 * the order they first appear; a key an object lacks is an empty cell. Arrays are the header row,
 * then rows of exactly its length.
 */
export function rowsToCsv(rows: TableRows): string {
  if (rows.length === 0) throw new TypeError('the table has no rows');
  const first = rows[0];
  if (Array.isArray(first)) {
    const [header, ...body] = rows as readonly (readonly CsvCell[])[];
    const width = header?.length ?? 0;
    body.forEach((row, index) => {
      if (!Array.isArray(row) || row.length !== width) {
        throw new TypeError(
          `row ${index + 1} has ${Array.isArray(row) ? row.length : 'no'} cells; the header has ${width}`,
        );
      }
    });
    if (body.length === 0) throw new TypeError('the table has a header and no rows');
    return formatCsv(rows as readonly (readonly CsvCell[])[]);
  }
  const objects = rows as readonly Readonly<Record<string, CsvCell>>[];
  const header = [...new Set(objects.flatMap((row) => Object.keys(row)))];
  return formatCsv([header, ...objects.map((row) => header.map((name) => row[name]))]);
}

/**
 * The delimiter of a table file, found as the server finds it (the same function): of `,` `;` tab
 * and `|`, the only one that splits the header into two fields or more, else the one that splits
 * most of the first lines into as many fields as the header. A `;` file whose column names hold
 * commas is thus read with `;`, as the job will read it. Throws a `SyntaxError` when none does
 * (a one-column file among them), as the job would fail.
 */
export function sniffDelimiter(text: string): string {
  try {
    return sniffAsTheServerDoes(text);
  } catch (error) {
    if (error instanceof TableError) throw new SyntaxError(error.message);
    throw error;
  }
}

const isLineBreak = (char: string | undefined) => char === '\n' || char === '\r';

/**
 * CSV text as records of strings, read as the server reads a table: a field is quoted only when it
 * starts with a quote (a quote elsewhere is a character like any other), doubled quotes, line
 * breaks inside quotes, CRLF, and empty lines skipped. A byte order mark is not data. `limit` stops
 * after that many records (the header alone is one). The delimiter is sniffed unless given (text
 * of one column needs it given, as no delimiter splits its header).
 */
export function parseCsv(text: string, options: { delimiter?: string; limit?: number } = {}): string[][] {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const delimiter = options.delimiter ?? sniffDelimiter(source);
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const records: string[][] = [];
  let record: string[] = [];
  let line = 1;
  let i = 0;
  while (i < source.length && records.length < limit) {
    if (record.length === 0 && isLineBreak(source[i])) {
      // An empty line is no record (pandas and the server skip it); `""` is one empty field.
      i += source[i] === '\r' && source[i + 1] === '\n' ? 2 : 1;
      line++;
      continue;
    }
    let value: string;
    if (source[i] === '"') {
      const start = i;
      value = '';
      let from = i + 1;
      for (;;) {
        const quote = source.indexOf('"', from);
        if (quote < 0) throw new SyntaxError(`line ${line}: a quoted field is never closed`);
        if (source[quote + 1] === '"') {
          value += source.slice(from, quote + 1);
          from = quote + 2;
          continue;
        }
        value += source.slice(from, quote);
        i = quote + 1;
        break;
      }
      line += lineBreaks(source, start, i);
      if (i < source.length && source[i] !== delimiter && !isLineBreak(source[i])) {
        throw new SyntaxError(
          `line ${line}: a quoted field is followed by ${JSON.stringify(source[i])}, not by the delimiter or the end of the line`,
        );
      }
    } else {
      const start = i;
      while (i < source.length && source[i] !== delimiter && !isLineBreak(source[i])) i++;
      value = source.slice(start, i);
    }
    record.push(value);
    if (i < source.length && source[i] === delimiter) {
      i++;
      if (i < source.length) continue;
      // A delimiter that ends the text leaves one empty field after it.
      record.push('');
    }
    records.push(record);
    record = [];
    if (i < source.length) {
      i += source[i] === '\r' && source[i + 1] === '\n' ? 2 : 1;
      line++;
    }
  }
  return records;
}

/** Line breaks (LF, CRLF or a lone CR) in `text[from, to)`. */
function lineBreaks(text: string, from: number, to: number): number {
  let count = 0;
  for (let i = from; i < to; i++) {
    if (text[i] === '\n' || (text[i] === '\r' && text[i + 1] !== '\n')) count++;
  }
  return count;
}
