import { getRandomValues } from 'node:crypto';

/**
 * ULIDs (https://github.com/ulid/spec): 10 characters of millisecond time, then 16 of randomness, in
 * Crockford base32. Job ids are ULIDs so that the state table's sort key orders jobs by creation time,
 * which is what lets `list` answer "newest first" and time ranges from the key alone.
 */
const CROCKFORD_BASE32 = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_CHARS = 10;
const RANDOM_CHARS = 16;
const MAX_TIME_MS = 2 ** 48 - 1;
const RANDOM_SPACE = 1n << 80n;

export const ULID_LENGTH = TIME_CHARS + RANDOM_CHARS;

/** The 10-character time prefix of every ULID minted in millisecond `timeMs`. */
export function ulidTimePrefix(timeMs: number): string {
  if (!Number.isInteger(timeMs) || timeMs < 0 || timeMs > MAX_TIME_MS) {
    throw new RangeError(`a ULID time must be an integer in [0, 2^48), got ${timeMs}`);
  }
  let remaining = timeMs;
  let prefix = '';
  for (let i = 0; i < TIME_CHARS; i++) {
    prefix = CROCKFORD_BASE32.charAt(remaining % 32) + prefix;
    remaining = Math.floor(remaining / 32);
  }
  return prefix;
}

/** The millisecond time a ULID was minted at. */
export function ulidTime(ulid: string): number {
  let timeMs = 0;
  for (const char of ulid.slice(0, TIME_CHARS)) {
    const digit = CROCKFORD_BASE32.indexOf(char);
    if (digit < 0) throw new RangeError(`not a ULID: ${JSON.stringify(ulid)}`);
    timeMs = timeMs * 32 + digit;
  }
  return timeMs;
}

function encodeRandom(value: bigint): string {
  let remaining = value;
  let encoded = '';
  for (let i = 0; i < RANDOM_CHARS; i++) {
    encoded = CROCKFORD_BASE32.charAt(Number(remaining & 31n)) + encoded;
    remaining >>= 5n;
  }
  return encoded;
}

function freshRandom(): bigint {
  const bytes = getRandomValues(new Uint8Array(10));
  return bytes.reduce((value, byte) => (value << 8n) | BigInt(byte), 0n);
}

let lastTimeMs = -1;
let lastRandom = 0n;

/**
 * A new ULID. Ids minted in the same millisecond by this process increase strictly (the spec's
 * monotonic mode), so two jobs created together still list in creation order.
 */
export function newUlid(now: Date = new Date()): string {
  const timeMs = now.getTime();
  const prefix = ulidTimePrefix(timeMs);
  if (timeMs === lastTimeMs) {
    lastRandom += 1n;
    // 2^80 increments within one millisecond cannot happen by accident; the spec says fail loudly.
    if (lastRandom >= RANDOM_SPACE) throw new RangeError('ULID randomness overflowed within one millisecond');
  } else {
    lastTimeMs = timeMs;
    lastRandom = freshRandom();
  }
  return prefix + encodeRandom(lastRandom);
}

/** A job id: a ULID minted at the job's creation time (`createdAt` and the id must come from one `now`). */
export function newJobId(now: Date = new Date()): string {
  return newUlid(now);
}
