import { ULID_LENGTH, ulidTimePrefix } from '../ids.ts';

const LOWEST_RANDOM = '0'.repeat(ULID_LENGTH - 10);
const HIGHEST_RANDOM = 'Z'.repeat(ULID_LENGTH - 10);
const LATEST_ULID_TIME_MS = 2 ** 48 - 1;

/**
 * The smallest and largest ULIDs minted in `[since, until)`, for a key condition on ids that are
 * ULIDs; undefined when no ULID can fall in the range. Either side may be open. Dates outside the
 * ULID epoch are clamped rather than rejected: a range cannot start before 1970 or end after 10889.
 */
export function ulidBoundsFor(range: {
  since?: Date;
  until?: Date;
}): { lowest: string; highest: string } | undefined {
  const sinceMs = range.since === undefined ? 0 : clamp(validTime(range.since));
  // `until` is exclusive: the last millisecond that belongs to the range is the one before it.
  const lastMs = range.until === undefined ? LATEST_ULID_TIME_MS : validTime(range.until) - 1;
  if (lastMs < sinceMs) return undefined;
  return {
    lowest: ulidTimePrefix(sinceMs) + LOWEST_RANDOM,
    highest: ulidTimePrefix(clamp(lastMs)) + HIGHEST_RANDOM,
  };
}

function validTime(date: Date): number {
  const timeMs = date.getTime();
  if (Number.isNaN(timeMs)) throw new RangeError('a time bound is not a valid date');
  return timeMs;
}

function clamp(timeMs: number): number {
  return Math.min(Math.max(timeMs, 0), LATEST_ULID_TIME_MS);
}
