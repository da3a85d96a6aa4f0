/**
 * Column typing, shared by files (`parseTable`) and rows given in memory (`tableFromRows`).
 *
 * The types follow the avatars client's pandas dtype map (float → `numeric`, int → `int`,
 * bool → `bool`, datetime → `datetime`, anything else → `category`) with one difference: an integer
 * column with missing values stays `int` (pandas would make it float), so that its avatars are
 * written back as integers.
 */
import type { CategoryColumn, Column, ColumnType, NumberColumn } from './table.ts';
import { TableError, type TableErrorPlace } from './validate.ts';

/** The texts read as a missing value (pandas' defaults that people write). */
export const MISSING_MARKERS: readonly string[] = ['', 'NA', 'NaN', 'nan', 'null', 'NULL', 'None', 'N/A'];

/** One column's cells as text, read one at a time so that a million rows are never a million strings at once. */
export interface RawColumn {
  readonly name: string;
  readonly rowCount: number;
  /** Row `row`'s cell as written (a quoted cell without its quotes). */
  text(row: number): string;
  /** Where row `row` came from, for an error message. */
  place(row: number): TableErrorPlace;
}

export function isMissingText(text: string): boolean {
  switch (text.length) {
    case 0:
      return true;
    case 2:
      return text === 'NA';
    case 3:
      return text === 'NaN' || text === 'nan' || text === 'N/A';
    case 4:
      return text === 'null' || text === 'NULL' || text === 'None';
    default:
      return false;
  }
}

const NOT_A_NUMBER = 0;
const INTEGER = 1;
const DECIMAL = 2;

const isDigit = (code: number): boolean => code >= 48 && code <= 57;
const isSpace = (code: number): boolean => code === 32 || code === 9;

/** Powers of ten a double holds exactly. */
const EXACT_POWERS_OF_TEN = Array.from({ length: 23 }, (_, power) => 10 ** power);

/** What the last `scanNumber` read: `NOT_A_NUMBER`, `INTEGER` (no point, no exponent) or `DECIMAL`. */
let scannedKind = NOT_A_NUMBER;

/**
 * A decimal number as pandas reads one: an optional sign, digits with at most one point, an
 * optional exponent, spaces around allowed; `NaN` for anything else. (`Number()` alone would also
 * take hex, binary and `Infinity`, which no CSV writer means as numbers.) Up to 15 significant
 * digits and a power of ten up to 22 it computes the value itself, which is exact: the digits and
 * the power are exact doubles and one multiplication or division rounds correctly (Clinger's fast
 * path); beyond that it asks `Number()`.
 */
function scanNumber(text: string): number {
  scannedKind = NOT_A_NUMBER;
  let i = 0;
  let end = text.length;
  while (i < end && isSpace(text.charCodeAt(i))) i++;
  while (end > i && isSpace(text.charCodeAt(end - 1))) end--;
  if (i === end) return Number.NaN;
  let code = text.charCodeAt(i);
  const negative = code === 45;
  if (code === 43 || code === 45) i++; // + -
  let mantissa = 0;
  let digits = 0;
  let significant = 0;
  let exponent = 0;
  let kind = INTEGER;
  for (; i < end; i++) {
    code = text.charCodeAt(i);
    if (!isDigit(code)) break;
    digits++;
    if (mantissa !== 0 || code !== 48) significant++;
    mantissa = mantissa * 10 + (code - 48);
  }
  if (i < end && text.charCodeAt(i) === 46) {
    kind = DECIMAL;
    for (i++; i < end; i++) {
      code = text.charCodeAt(i);
      if (!isDigit(code)) break;
      digits++;
      if (mantissa !== 0 || code !== 48) significant++;
      mantissa = mantissa * 10 + (code - 48);
      exponent--;
    }
  }
  if (digits === 0) return Number.NaN;
  if (i < end) {
    code = text.charCodeAt(i);
    if (code !== 101 && code !== 69) return Number.NaN; // e E
    kind = DECIMAL;
    i++;
    let exponentSign = 1;
    if (i < end) {
      code = text.charCodeAt(i);
      if (code === 43 || code === 45) {
        exponentSign = code === 45 ? -1 : 1;
        i++;
      }
    }
    const exponentStart = i;
    let written = 0;
    for (; i < end; i++) {
      code = text.charCodeAt(i);
      if (!isDigit(code)) return Number.NaN;
      if (written < 1e6) written = written * 10 + (code - 48);
    }
    if (i === exponentStart) return Number.NaN;
    exponent += exponentSign * written;
  }
  if (significant > 15 || exponent > 22 || exponent < -22) {
    const value = Number(text);
    // 1e400 is not a value the engine can use; pandas would read it as infinity.
    if (!Number.isFinite(value)) return Number.NaN;
    scannedKind = kind;
    return value === 0 ? 0 : value;
  }
  scannedKind = kind;
  const magnitude =
    exponent < 0 ? mantissa / EXACT_POWERS_OF_TEN[-exponent]! : mantissa * EXACT_POWERS_OF_TEN[exponent]!;
  // -0 is written 0: no column keeps a sign on zero.
  return negative && magnitude !== 0 ? -magnitude : magnitude;
}

/** The number a text means, or `NaN`. */
export function parseNumber(text: string): number {
  return scanNumber(text);
}

/** `true`/`false` in any case, else `undefined`. */
export function parseBool(text: string): boolean | undefined {
  if (text.length === 4 && text.toLowerCase() === 'true') return true;
  if (text.length === 5 && text.toLowerCase() === 'false') return false;
  return undefined;
}

const DATETIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:([T ])(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/;

/** Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's `days_from_civil`). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

/** The date of a day count since 1970-01-01 (Hinnant's `civil_from_days`). */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const dayOfEra = z - era * 146097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36524) - Math.floor(dayOfEra / 146096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shifted = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * shifted + 2) / 5) + 1;
  const month = shifted < 10 ? shifted + 3 : shifted - 9;
  return { year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

const daysInMonth = (year: number, month: number): number =>
  month === 2
    ? year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
      ? 29
      : 28
    : [4, 6, 9, 11].includes(month)
      ? 30
      : 31;

/**
 * An ISO 8601 date (`2024-03-01`) or timestamp (`2024-03-01T12:30:00`, a space for the `T`,
 * optional seconds, fraction and zone; no zone is UTC) as epoch seconds, with the form it was
 * written in; `undefined` when the text is neither or names a day that does not exist.
 */
export function parseDatetime(text: string): { seconds: number; format: 'date' | 'iso' } | undefined {
  if (text.length < 10 || text.length > 40) return undefined;
  const match = DATETIME.exec(text);
  if (match === null) return undefined;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  const days = daysFromCivil(year, month, day);
  if (match[4] === undefined) return { seconds: days * 86400, format: 'date' };
  const hours = Number(match[5]);
  const minutes = Number(match[6]);
  const seconds = match[7] === undefined ? 0 : Number(match[7]);
  if (hours > 23 || minutes > 59 || seconds > 59) return undefined;
  let offset = 0;
  const zone = match[9];
  if (zone !== undefined && zone !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const zoneHours = Number(digits.slice(0, 2));
    const zoneMinutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (zoneHours > 23 || zoneMinutes > 59) return undefined;
    offset = (zone[0] === '-' ? -1 : 1) * (zoneHours * 3600 + zoneMinutes * 60);
  }
  const whole = days * 86400 + hours * 3600 + minutes * 60 + seconds - offset;
  if (match[8] === undefined) return { seconds: whole, format: 'iso' };
  // In whole units of the fraction's last digit (at most microseconds), so that the milliseconds
  // `formatDatetime` writes read back to the very same double.
  const digits = Math.min(match[8].length - 1, 6);
  const scale = 10 ** digits;
  const fraction = Math.round(Number(match[8]) * scale);
  return { seconds: (whole * scale + fraction) / scale, format: 'iso' };
}

/**
 * Code point order (Python's `str` order, which pandas sorts levels by). JavaScript's `<` compares
 * UTF-16 units, which puts U+E000–U+FFFF above the characters beyond U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x += x >= 0xe000 ? -0x800 : 0x2000;
      y += y >= 0xe000 ? -0x800 : 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

/** Levels in the order table.ts fixes: numerically when every level is a number, else by code point. */
export function sortLevels(levels: readonly string[]): string[] {
  const numbers = levels.map(parseNumber);
  const order = levels.map((_, index) => index);
  if (numbers.every((value) => !Number.isNaN(value))) {
    order.sort((i, j) => numbers[i]! - numbers[j]! || compareCodePoints(levels[i]!, levels[j]!));
  } else {
    order.sort((i, j) => compareCodePoints(levels[i]!, levels[j]!));
  }
  return order.map((index) => levels[index]!);
}

function badValue(raw: RawColumn, row: number, text: string, expected: string): TableError {
  const place = raw.place(row);
  const where = place.line !== undefined ? `line ${place.line}` : `row ${place.row}`;
  return new TableError(
    'bad_value',
    `column ${JSON.stringify(raw.name)}, ${where}: ${JSON.stringify(text)} is not ${expected}`,
    { ...place, column: raw.name },
  );
}

/** The column's cells as numbers; `undefined` as soon as one is not a number. */
function readNumbers(raw: RawColumn): NumberColumn | undefined {
  const values = new Float64Array(raw.rowCount);
  let integers = true;
  for (let row = 0; row < raw.rowCount; row++) {
    const text = raw.text(row);
    if (isMissingText(text)) {
      values[row] = Number.NaN;
      continue;
    }
    const value = scanNumber(text);
    if (scannedKind === NOT_A_NUMBER) return undefined;
    if (scannedKind === DECIMAL || !Number.isSafeInteger(value)) integers = false;
    values[row] = value;
  }
  return { name: raw.name, type: integers ? 'int' : 'numeric', values };
}

function readBools(raw: RawColumn, strict: boolean): NumberColumn | undefined {
  const values = new Float64Array(raw.rowCount);
  for (let row = 0; row < raw.rowCount; row++) {
    const text = raw.text(row);
    if (isMissingText(text)) {
      values[row] = Number.NaN;
      continue;
    }
    let value = parseBool(text);
    // A column forced to bool may hold 0/1, as pandas' astype(bool) takes them.
    if (value === undefined && strict) {
      const number = parseNumber(text);
      if (number === 0 || number === 1) value = number === 1;
    }
    if (value === undefined) {
      if (strict) throw badValue(raw, row, text, 'true or false');
      return undefined;
    }
    values[row] = value ? 1 : 0;
  }
  return { name: raw.name, type: 'bool', values };
}

function readDatetimes(raw: RawColumn, strict: boolean): NumberColumn | undefined {
  const values = new Float64Array(raw.rowCount);
  let format: 'date' | 'iso' = 'date';
  for (let row = 0; row < raw.rowCount; row++) {
    const text = raw.text(row);
    if (isMissingText(text)) {
      values[row] = Number.NaN;
      continue;
    }
    const parsed = parseDatetime(text);
    if (parsed === undefined) {
      if (strict) throw badValue(raw, row, text, 'an ISO date (YYYY-MM-DD) or timestamp');
      return undefined;
    }
    if (parsed.format === 'iso') format = 'iso';
    values[row] = parsed.seconds;
  }
  return { name: raw.name, type: 'datetime', values, datetimeFormat: format };
}

/**
 * A string that holds its own characters. V8 may make a long `slice` a view that keeps the whole
 * string it was cut from alive (measured: a 30-character slice of a joined 56 MB string held all
 * 56 MB), and a level or a column name lives as long as the table.
 */
export function ownCopy(text: string): string {
  return ` ${text}`.slice(1);
}

function readCategories(raw: RawColumn): CategoryColumn {
  const codes = new Int32Array(raw.rowCount);
  const seen = new Map<string, number>();
  const firstSeen: string[] = [];
  for (let row = 0; row < raw.rowCount; row++) {
    const text = raw.text(row);
    if (isMissingText(text)) {
      codes[row] = -1;
      continue;
    }
    let code = seen.get(text);
    if (code === undefined) {
      code = firstSeen.length;
      const level = ownCopy(text);
      seen.set(level, code);
      firstSeen.push(level);
    }
    codes[row] = code;
  }
  const levels = sortLevels(firstSeen);
  const remap = new Int32Array(levels.length);
  levels.forEach((level, sorted) => {
    remap[seen.get(level)!] = sorted;
  });
  for (let row = 0; row < codes.length; row++) if (codes[row]! >= 0) codes[row] = remap[codes[row]!]!;
  return { name: raw.name, type: 'category', codes, levels };
}

function readForcedNumbers(raw: RawColumn, type: 'int' | 'numeric'): NumberColumn {
  const values = new Float64Array(raw.rowCount);
  for (let row = 0; row < raw.rowCount; row++) {
    const text = raw.text(row);
    if (isMissingText(text)) {
      values[row] = Number.NaN;
      continue;
    }
    const value = parseNumber(text);
    if (Number.isNaN(value)) throw badValue(raw, row, text, type === 'int' ? 'an integer' : 'a number');
    if (type === 'int' && !Number.isSafeInteger(value)) throw badValue(raw, row, text, 'an integer');
    values[row] = value;
  }
  return { name: raw.name, type, values };
}

/**
 * A column typed from its cells: `type` when given (a cell it cannot read is an error naming the
 * column, the line and the value), else inferred from the first non-missing cell and confirmed on
 * every other (integers → `int`, numbers → `numeric`, true/false → `bool`, ISO dates and
 * timestamps → `datetime`, anything else → `category`). A column with no value at all is `numeric`.
 */
export function typeColumn(raw: RawColumn, type?: ColumnType): Column {
  switch (type) {
    case 'int':
    case 'numeric':
      return readForcedNumbers(raw, type);
    case 'bool':
      return readBools(raw, true)!;
    case 'datetime':
      return readDatetimes(raw, true)!;
    case 'category':
      return readCategories(raw);
    case undefined:
      break;
  }
  let first = 0;
  while (first < raw.rowCount && isMissingText(raw.text(first))) first++;
  if (first === raw.rowCount) {
    return { name: raw.name, type: 'numeric', values: new Float64Array(raw.rowCount).fill(Number.NaN) };
  }
  const text = raw.text(first);
  const typed = !Number.isNaN(parseNumber(text))
    ? readNumbers(raw)
    : parseBool(text) !== undefined
      ? readBools(raw, false)
      : parseDatetime(text) !== undefined
        ? readDatetimes(raw, false)
        : undefined;
  return typed ?? readCategories(raw);
}
