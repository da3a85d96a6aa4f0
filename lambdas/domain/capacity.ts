/**
 * Admission by storage: work that starts jobs is refused up front while the place its state and
 * results go is nearly full, rather than accepted and failed one job at a time later.
 */
import { unavailable } from './errors.ts';
import type { StorageCapacity } from './ports.ts';

/** A full disk stays full until someone frees space: a client has no reason to retry within a minute. */
const RETRY_AFTER_SECONDS = 60;

/**
 * Throws 503 UNAVAILABLE, naming the folder and its free space, when `capacity` reports a shortage.
 * Call it before anything is written. Without a capacity (AWS) there is always room.
 */
export async function ensureRoomForWork(capacity: StorageCapacity | undefined): Promise<void> {
  const shortage = await capacity?.shortage();
  if (!shortage) return;
  const { folder, freeBytes, requiredBytes } = shortage;
  throw unavailable(
    `the disk holding ${folder} is nearly full: ${mebibytes(freeBytes)} free, new work needs at least ${mebibytes(requiredBytes)}; free some space there and retry`,
    { folder, free_bytes: freeBytes, required_free_bytes: requiredBytes },
    RETRY_AFTER_SECONDS,
  );
}

const mebibytes = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
