/**
 * The SDK's extractors for result archives. The reader itself (PKWARE APPNOTE 6.3: stored and
 * deflated entries, no ZIP64, no encryption; every size and CRC checked, every name that could write
 * outside the extraction folder refused) is the platform's (lambdas/domain/archive/unzip.ts), so that
 * the server and its clients read archives by one piece of code. `readZip` and `extractZip` take an
 * archive in memory; `extractZipFile` streams one from disk, entry by entry, so that its memory does
 * not grow with the archive.
 */
import { createWriteStream } from 'node:fs';
import { type FileHandle, mkdir, open, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createInflateRaw } from 'node:zlib';
import {
  ArchiveError,
  type CentralEntry,
  checkData,
  dataStartOf,
  END_RECORD_BYTES,
  LOCAL_HEADER_BYTES,
  MAX_COMMENT_BYTES,
  METHOD_DEFLATED,
  need,
  readCentralDirectory,
  readEndRecord,
  readZip,
  viewOf,
  type ZipFile,
} from '../../lambdas/domain/archive/unzip.ts';

export { readZip, type ZipFile };

/** One file written by `extractZipFile`, its size and CRC-32 verified. */
export interface ExtractedFile {
  /** The relative path, with forward slashes. */
  name: string;
  /** Bytes written. */
  size: number;
}

/**
 * The central directory is read whole. A result archive's takes about 80 bytes per file (a few KB);
 * the cap keeps a hostile end record from making the reader allocate gigabytes.
 */
const MAX_DIRECTORY_BYTES = 16 * 1024 * 1024;
/** Large enough that copying a stored PNG is not dominated by system calls. */
const COPY_BUFFER_BYTES = 256 * 1024;

/**
 * Extracts `archive` into `folder` (created if needed) and returns the files written, relative to
 * it. The whole archive is checked before the first file is written, so a corrupt or hostile archive
 * leaves nothing behind. The archive and its inflated files are all in memory at once: for an
 * archive on disk, `extractZipFile` needs only a few buffers.
 */
export async function extractZip(archive: Uint8Array, folder: string): Promise<ZipFile[]> {
  const files = readZip(archive);
  const root = resolve(folder);
  const targets = files.map((file) => targetPath(root, file.name));
  const makeFolder = folderMaker();
  await makeFolder(root);
  for (const [index, file] of files.entries()) {
    const target = targets[index] as string;
    await makeFolder(dirname(target));
    await writeFile(target, file.data);
  }
  return files;
}

/**
 * Extracts the archive at `archivePath` into `folder` (created if needed) and returns the files
 * written, relative to it. Stored entries are copied through one reused buffer and deflated ones
 * stream through inflate, so memory stays at a few buffers whatever the archive's size. Names and the archive's structure are checked before
 * the first file is written; an entry's size and CRC-32 are checked as it is written, so a corrupt
 * entry is found after the files before it are on disk: extract into a folder of its own and
 * discard it on failure, as `Batch.download` does.
 */
export async function extractZipFile(archivePath: string, folder: string): Promise<ExtractedFile[]> {
  const file = await open(archivePath, 'r');
  try {
    const { size } = await file.stat();
    const tailBytes = Math.min(size, END_RECORD_BYTES + MAX_COMMENT_BYTES);
    const end = readEndRecord(await readAt(file, size - tailBytes, tailBytes), size - tailBytes);
    if (end.directoryBytes > MAX_DIRECTORY_BYTES) {
      throw new ArchiveError(
        `the central directory is ${end.directoryBytes} bytes; at most ${MAX_DIRECTORY_BYTES} are read`,
      );
    }
    const entries = readCentralDirectory(
      await readAt(file, end.directoryOffset, end.directoryBytes),
      end.count,
    );
    const root = resolve(folder);
    const targets = entries.map((entry) => targetPath(root, entry.name));
    const makeFolder = folderMaker();
    await makeFolder(root);

    const extracted: ExtractedFile[] = [];
    for (const [index, entry] of entries.entries()) {
      const target = targets[index] as string;
      const header = await readAt(file, entry.localOffset, LOCAL_HEADER_BYTES);
      need(viewOf(header), 0, LOCAL_HEADER_BYTES, `local header of ${JSON.stringify(entry.name)}`);
      const dataStart = dataStartOf(header, entry);
      if (dataStart + entry.compressedSize > size) {
        throw new ArchiveError(`truncated archive: data of ${JSON.stringify(entry.name)}`);
      }
      await makeFolder(dirname(target));
      const extract = entry.method === METHOD_DEFLATED ? inflateEntry : copyStoredEntry;
      await extract(file, dataStart, entry, target);
      extracted.push({ name: entry.name, size: entry.size });
    }
    return extracted;
  } finally {
    await file.close();
  }
}

/**
 * A stored entry (the PNG frames, most of an archive's bytes), copied to `target` through one reused
 * buffer: copying makes no garbage, so a large archive does not leave the collector tens of
 * megabytes of dead chunks to find.
 */
async function copyStoredEntry(file: FileHandle, dataStart: number, entry: CentralEntry, target: string) {
  if (entry.compressedSize !== entry.size) {
    throw new ArchiveError(
      `entry ${JSON.stringify(entry.name)} is stored in ${entry.compressedSize} bytes; the directory says ${entry.size}`,
    );
  }
  const buffer = Buffer.allocUnsafe(Math.max(1, Math.min(COPY_BUFFER_BYTES, entry.compressedSize)));
  const output = await open(target, 'w');
  let crc = 0;
  let copied = 0;
  try {
    while (copied < entry.compressedSize) {
      const wanted = Math.min(buffer.length, entry.compressedSize - copied);
      const { bytesRead } = await file.read(buffer, 0, wanted, dataStart + copied);
      if (bytesRead === 0) throw new ArchiveError(`truncated archive: data of ${JSON.stringify(entry.name)}`);
      crc = crc32(buffer.subarray(0, bytesRead), crc);
      for (let written = 0; written < bytesRead; ) {
        written += (await output.write(buffer, written, bytesRead - written, copied + written)).bytesWritten;
      }
      copied += bytesRead;
    }
  } finally {
    await output.close();
  }
  checkData(entry, copied, crc);
}

/** A deflated entry, streamed from the archive on disk through inflate to `target`, checked on the way. */
async function inflateEntry(file: FileHandle, dataStart: number, entry: CentralEntry, target: string) {
  const raw =
    entry.compressedSize === 0
      ? Readable.from([])
      : file.createReadStream({
          start: dataStart,
          end: dataStart + entry.compressedSize - 1,
          // The handle serves every entry; the caller closes it.
          autoClose: false,
        });
  try {
    await pipeline(raw, createInflateRaw(), new EntryCheck(entry), createWriteStream(target));
  } catch (error) {
    if (isZlibError(error)) {
      throw new ArchiveError(`entry ${JSON.stringify(entry.name)} does not inflate: ${error.message}`);
    }
    throw error;
  }
}

/**
 * Passes an entry's bytes on while counting them and computing their CRC-32. More bytes than the
 * directory declares stop it at once, so a deflate bomb fills neither memory nor the disk.
 */
class EntryCheck extends Transform {
  #size = 0;
  #crc = 0;

  constructor(private readonly entry: CentralEntry) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#size += chunk.length;
    if (this.#size > this.entry.size) {
      callback(
        new ArchiveError(
          `entry ${JSON.stringify(this.entry.name)} holds more than the ${this.entry.size} bytes the directory says`,
        ),
      );
      return;
    }
    this.#crc = crc32(chunk, this.#crc);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    try {
      checkData(this.entry, this.#size, this.#crc);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }
}

/**
 * Where entry `name` is written under `root`. The name checks already rule out escaping the folder;
 * the resolved path is checked again because it is what the file system will see.
 */
function targetPath(root: string, name: string): string {
  const inside = relative(root, resolve(root, ...name.split('/')));
  if (inside === '' || inside.startsWith(`..${sep}`) || inside === '..' || isAbsolute(inside)) {
    throw new ArchiveError(`entry ${JSON.stringify(name)} resolves outside the folder`);
  }
  return join(root, inside);
}

/** Makes folders (with their parents) as entries need them, each once: an archive has many files per folder. */
function folderMaker(): (folder: string) => Promise<void> {
  const made = new Set<string>();
  return async (folder) => {
    if (made.has(folder)) return;
    await mkdir(folder, { recursive: true });
    made.add(folder);
  };
}

/** `length` bytes at `position` of an open file (fewer at its end). */
async function readAt(file: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await file.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

/** zlib's own errors (a corrupt deflate stream) carry a `Z_…` code; file system errors do not. */
function isZlibError(error: unknown): error is Error {
  return error instanceof Error && /^Z_/.test(String((error as NodeJS.ErrnoException).code));
}
