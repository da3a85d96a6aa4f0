/**
 * The local platform keeps its state and results on one disk, which can fill up (S3 and DynamoDB
 * cannot). Here: how much room is left there, and how a full disk is recognised and described.
 */
import { statfs } from 'node:fs/promises';
import type { StorageCapacity, StorageShortage } from '../domain/ports.ts';

/** Below this much free space the platform refuses new work. */
export const DEFAULT_MIN_FREE_BYTES = 64 * 1024 ** 2;

/** Bytes an unprivileged process may still write on the file system holding `folder`. */
export type FreeSpaceProbe = (folder: string) => Promise<number>;

export const freeSpaceOf: FreeSpaceProbe = async (folder) => {
  const stats = await statfs(folder);
  return stats.bavail * stats.bsize;
};

/** The local platform's StorageCapacity: free space on the disk that holds its data folder. */
export class LocalDiskSpace implements StorageCapacity {
  constructor(
    readonly folder: string,
    readonly minFreeBytes: number = DEFAULT_MIN_FREE_BYTES,
    private readonly freeSpace: FreeSpaceProbe = freeSpaceOf,
  ) {}

  async shortage(): Promise<StorageShortage | undefined> {
    const freeBytes = await this.freeSpace(this.folder);
    return freeBytes < this.minFreeBytes
      ? { folder: this.folder, freeBytes, requiredBytes: this.minFreeBytes }
      : undefined;
  }
}

/**
 * The errno code when `error` (or its cause) is a write that found the disk full: Node's ENOSPC or
 * EDQUOT, or LevelDB's IO error, which carries only strerror's text.
 */
export function diskFullCode(error: unknown): 'ENOSPC' | 'EDQUOT' | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    const { code } = current as NodeJS.ErrnoException;
    if (code === 'ENOSPC' || code === 'EDQUOT') return code;
    if (/No space left on device/i.test(current.message)) return 'ENOSPC';
    if (/Disk quota exceeded/i.test(current.message)) return 'EDQUOT';
    current = current.cause;
  }
  return undefined;
}

const DISK_FULL = 'the disk holding';

/** What the platform says when the disk under `folder` is full: what failed, and what to do. */
export function diskFullMessage(folder: string, code: string, what: string): string {
  return `${DISK_FULL} ${folder} is full (${code}): ${what}; free some space there and retry`;
}

/**
 * `error`'s message, saying that the disk under `folder` is full when that is the cause. The
 * emulators' guards already say it (diskFullMessage); a plain ENOSPC, such as from a file written
 * in the folder, does not.
 */
export function failureMessage(error: unknown, folder: string | undefined): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = diskFullCode(error);
  return code && folder && !message.startsWith(DISK_FULL) ? diskFullMessage(folder, code, message) : message;
}
