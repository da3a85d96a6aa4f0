/**
 * Text formats of the CLI: tables, sizes, rates and durations printed, and durations and times read
 * from the command line.
 */
import { UsageError } from './exit-codes.ts';

/** `label:  value` lines, the values aligned; rows without a value are left out. */
export function fieldList(rows: readonly (readonly [string, string | undefined])[]): string {
  const present = rows.filter(
    (row): row is readonly [string, string] => row[1] !== undefined && row[1] !== '',
  );
  const width = Math.max(0, ...present.map(([label]) => label.length));
  return present.map(([label, value]) => `${`${label}:`.padEnd(width + 1)}  ${value}`).join('\n');
}

/** Columns padded to their widest cell; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${all.map(line).join('\n')}\n`;
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `1536` → `1.5 KiB`. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${BYTE_UNITS[unit]}`;
}

/** `90_000` → `1m30s`. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

const DAY_MS = 86_400_000;
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;

/**
 * Reads a duration: a number and a unit (`500ms`, `90s`, `30m`, `2h`, `7d`), or a bare number of
 * seconds. Returns milliseconds.
 */
export function parseDuration(text: string, option: string): number {
  const match = DURATION.exec(text.trim());
  if (!match) {
    throw new UsageError(`${option} takes a duration such as 90s, 30m or 2h, got ${JSON.stringify(text)}`);
  }
  const ms = Number(match[1]) * (DURATION_UNITS[match[2] ?? 's'] ?? 1000);
  if (!Number.isFinite(ms) || ms <= 0 || ms > 365 * DAY_MS) {
    throw new UsageError(`${option} must be more than 0 and at most a year, got ${JSON.stringify(text)}`);
  }
  return Math.round(ms);
}

/**
 * Reads a point in time: an ISO-8601 time with its zone (`2026-11-01T00:00:00Z`), a date
 * (`2026-11-01`, midnight UTC), or a duration before `now` (`2h` = two hours ago).
 */
export function parseTime(text: string, option: string, now = new Date()): string {
  const trimmed = text.trim();
  if (DURATION.test(trimmed)) return new Date(now.getTime() - parseDuration(trimmed, option)).toISOString();
  if (/^\d{4}-\d{2}-\d{2}$/.test(trimmed) && !Number.isNaN(Date.parse(`${trimmed}T00:00:00Z`))) {
    return `${trimmed}T00:00:00.000Z`;
  }
  if (/[zZ]|[+-]\d{2}:?\d{2}$/.test(trimmed) && !Number.isNaN(Date.parse(trimmed))) {
    return new Date(trimmed).toISOString();
  }
  throw new UsageError(
    `${option} takes an ISO-8601 time with its zone, a date, or a duration ago such as 2h, got ${JSON.stringify(text)}`,
  );
}

/** `--since` / `--until` as the API's `start_time` / `end_time`, only those given. */
export function timeRangeOf(
  values: { since?: string | undefined; until?: string | undefined },
  now = new Date(),
): { start_time?: string; end_time?: string } {
  return {
    ...(values.since === undefined ? {} : { start_time: parseTime(values.since, '--since', now) }),
    ...(values.until === undefined ? {} : { end_time: parseTime(values.until, '--until', now) }),
  };
}

/** Reads a whole number within bounds. */
export function parseCount(text: string, option: string, min: number, max: number): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`${option} takes a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** One of `allowed`, or undefined when the option was not given. */
export function parseChoice<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  option: string,
): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`${option} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

/** A time as `2026-11-22 14:03:07Z`, short enough for a table. */
export function shortTime(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** `3 jobs`, `1 job`. */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}
