/**
 * The little CSV the Runner needs, RFC 4180 both ways: tables given as rows are written out to be
 * uploaded, a file's header is read to declare its columns, and result tables are read back. The
 * tables an SDK user holds in memory are small enough for strings; the server reads the large ones.
 */

/** A cell as a caller may give it: empty for null and undefined, ISO 8601 for a date. */
export type CsvCell = string | number | bigint | boolean | Date | null | undefined;

/** Rows as objects (a header from their keys), or a header row followed by the rows. */
export type TableRows = readonly Readonly<Record<string, CsvCell>>[] | readonly (readonly CsvCell[])[];

/** The delimiters a table file may use, as the server sniffs them. */
const DELIMITERS = [',', ';', '\t', '|'] as const;

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

/** Rows as CSV text, one record per line, ending with a line break. */
export function formatCsv(records: readonly (readonly CsvCell[])[], delimiter = ','): string {
  return records
    .map((record) => `${record.map((cell) => field(cell, delimiter)).join(delimiter)}\n`)
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
 * The delimiter of a table file: of `,` `;` tab and `|`, the one its first line holds most often
 * outside quotes (a comma when it holds none).
 */
export function sniffDelimiter(text: string): string {
  const counts = new Map<string, number>(DELIMITERS.map((delimiter) => [delimiter, 0]));
  let quoted = false;
  for (const char of text) {
    if (char === '"') quoted = !quoted;
    else if (!quoted && (char === '\n' || char === '\r')) break;
    else if (!quoted && counts.has(char)) counts.set(char, (counts.get(char) ?? 0) + 1);
  }
  let best = ',';
  for (const [delimiter, count] of counts) if (count > (counts.get(best) ?? 0)) best = delimiter;
  return best;
}

/**
 * CSV text as records of strings: quoted fields, doubled quotes, line breaks inside quotes, CRLF.
 * A byte order mark and a last line break are not data. `limit` stops after that many records
 * (the header alone is one).
 */
export function parseCsv(text: string, options: { delimiter?: string; limit?: number } = {}): string[][] {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const delimiter = options.delimiter ?? sniffDelimiter(source);
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const records: string[][] = [];
  let record: string[] = [];
  let value = '';
  let quoted = false;
  let i = 0;
  const endRecord = () => {
    record.push(value);
    records.push(record);
    record = [];
    value = '';
  };
  while (i < source.length && records.length < limit) {
    const char = source[i] as string;
    if (quoted) {
      if (char === '"' && source[i + 1] === '"') {
        value += '"';
        i += 2;
        continue;
      }
      if (char === '"') quoted = false;
      else value += char;
      i++;
      continue;
    }
    if (char === '"') quoted = true;
    else if (char === delimiter) {
      record.push(value);
      value = '';
    } else if (char === '\n' || char === '\r') {
      endRecord();
      if (char === '\r' && source[i + 1] === '\n') i++;
    } else value += char;
    i++;
  }
  if (quoted) throw new SyntaxError('the CSV ends inside a quoted field');
  // The last record, unless the text ended with its line break.
  if (records.length < limit && (value !== '' || record.length > 0)) endRecord();
  return records;
}
