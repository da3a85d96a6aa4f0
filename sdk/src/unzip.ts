/**
 * A small ZIP reader for result archives (PKWARE APPNOTE 6.3: stored and deflated entries, no ZIP64,
 * no encryption). It follows the central directory, as standard extractors do, checks every size and
 * CRC, and refuses any name that could write outside the extraction folder. `readZip` and
 * `extractZip` take an archive in memory; `extractZipFile` streams one from disk, entry by entry,
 * so that its memory does not grow with the archive.
 */
import { createWriteStream } from 'node:fs';
import { type FileHandle, mkdir, open, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createInflateRaw, inflateRawSync } from 'node:zlib';
import { isUnsafeEntryName } from '../../lambdas/domain/archive/entry-names.ts';
import { ArchiveError } from './errors.ts';

/** One file of an archive, inflated and verified. */
export interface ZipFile {
  /** The relative path, with forward slashes. */
  name: string;
  data: Uint8Array;
}

/** One file written by `extractZipFile`, its size and CRC-32 verified. */
export interface ExtractedFile {
  /** The relative path, with forward slashes. */
  name: string;
  /** Bytes written. */
  size: number;
}

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_HEADER = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;
const END_RECORD_BYTES = 22;
const CENTRAL_HEADER_BYTES = 46;
const LOCAL_HEADER_BYTES = 30;
const MAX_COMMENT_BYTES = 0xffff;
const METHOD_STORED = 0;
const METHOD_DEFLATED = 8;
const FLAG_ENCRYPTED = 1;
/** Sizes and offsets at these values mean "look in the ZIP64 record", which this reader does not read. */
const ZIP64_MARKER_16 = 0xffff;
const ZIP64_MARKER_32 = 0xffffffff;
/**
 * The central directory is read whole. A result archive's takes about 80 bytes per file (a few KB);
 * the cap keeps a hostile end record from making the reader allocate gigabytes.
 */
const MAX_DIRECTORY_BYTES = 16 * 1024 * 1024;
/** Large enough that copying a stored PNG is not dominated by system calls. */
const COPY_BUFFER_BYTES = 256 * 1024;

/** An entry of the central directory: where its data is and what it must inflate to. */
interface CentralEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

interface EndRecord {
  count: number;
  directoryOffset: number;
  directoryBytes: number;
}

/** Every file of `archive` (directory entries are left out), in central-directory order. */
export function readZip(archive: Uint8Array): ZipFile[] {
  const end = readEndRecord(archive, 0);
  const directory = archive.subarray(end.directoryOffset, end.directoryOffset + end.directoryBytes);
  return readCentralDirectory(directory, end.count).map((entry) => ({
    name: entry.name,
    data: readEntryData(archive, entry),
  }));
}

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
 * The end record, found in `tail`: the last bytes of the archive (all of it, in memory), which start
 * `tailOffset` bytes into it. The record is the last thing in the file, followed only by a comment of
 * up to 64 KiB.
 */
function readEndRecord(tail: Uint8Array, tailOffset: number): EndRecord {
  const view = viewOf(tail);
  const end = findEndOfCentralDirectory(view);
  const record = {
    count: view.getUint16(end + 10, true),
    directoryBytes: view.getUint32(end + 12, true),
    directoryOffset: view.getUint32(end + 16, true),
  };
  if (record.count === ZIP64_MARKER_16 || record.directoryOffset === ZIP64_MARKER_32) {
    throw new ArchiveError('ZIP64 archives are not supported');
  }
  if (record.directoryOffset + record.directoryBytes > tailOffset + end) {
    throw new ArchiveError('the central directory runs past the end record');
  }
  return record;
}

function findEndOfCentralDirectory(view: DataView): number {
  const last = view.byteLength - END_RECORD_BYTES;
  const first = Math.max(0, last - MAX_COMMENT_BYTES);
  for (let offset = last; offset >= first; offset--) {
    if (view.getUint32(offset, true) === END_OF_CENTRAL_DIRECTORY) return offset;
  }
  throw new ArchiveError('not a ZIP archive: no end-of-central-directory record');
}

/**
 * The file entries of a central directory, in order. Everything that can be checked without the
 * data is checked here, before anything is written: names, duplicates, encryption, ZIP64 and method.
 */
function readCentralDirectory(directory: Uint8Array, count: number): CentralEntry[] {
  const view = viewOf(directory);
  const entries: CentralEntry[] = [];
  const names = new Set<string>();
  let offset = 0;
  for (let index = 0; index < count; index++) {
    need(view, offset, CENTRAL_HEADER_BYTES, 'central header');
    if (view.getUint32(offset, true) !== CENTRAL_HEADER) {
      throw new ArchiveError(`entry ${index}: bad central header`);
    }
    const flags = view.getUint16(offset + 8, true);
    const nameLength = view.getUint16(offset + 28, true);
    const extraLength = view.getUint16(offset + 30, true);
    const commentLength = view.getUint16(offset + 32, true);
    need(view, offset + CENTRAL_HEADER_BYTES, nameLength, 'entry name');
    const nameStart = offset + CENTRAL_HEADER_BYTES;
    const name = Buffer.from(directory.subarray(nameStart, nameStart + nameLength)).toString('utf8');
    const entry: CentralEntry = {
      name,
      method: view.getUint16(offset + 10, true),
      crc: view.getUint32(offset + 16, true),
      compressedSize: view.getUint32(offset + 20, true),
      size: view.getUint32(offset + 24, true),
      localOffset: view.getUint32(offset + 42, true),
    };
    offset = nameStart + nameLength + extraLength + commentLength;

    if (name.endsWith('/')) {
      checkEntryName(name.slice(0, -1));
      continue; // folders are made as their files need them
    }
    checkEntryName(name);
    if (names.has(name)) throw new ArchiveError(`duplicate entry ${JSON.stringify(name)}`);
    names.add(name);
    checkEntryFormat(entry, flags);
    entries.push(entry);
  }
  return entries;
}

function checkEntryFormat(entry: CentralEntry, flags: number): void {
  const label = JSON.stringify(entry.name);
  if (flags & FLAG_ENCRYPTED) throw new ArchiveError(`entry ${label} is encrypted`);
  if (entry.compressedSize === ZIP64_MARKER_32 || entry.size === ZIP64_MARKER_32) {
    throw new ArchiveError(`entry ${label} needs ZIP64`);
  }
  if (entry.method !== METHOD_STORED && entry.method !== METHOD_DEFLATED) {
    throw new ArchiveError(
      `entry ${label} uses compression method ${entry.method}; only stored and deflate are read`,
    );
  }
}

/**
 * Where an entry's data starts, after its local header, whose name and extra field may differ in
 * length from the central header's. `header` holds the local header's fixed part.
 */
function dataStartOf(header: Uint8Array, entry: CentralEntry): number {
  const view = viewOf(header);
  if (view.getUint32(0, true) !== LOCAL_HEADER) {
    throw new ArchiveError(`entry ${JSON.stringify(entry.name)}: bad local header`);
  }
  return entry.localOffset + LOCAL_HEADER_BYTES + view.getUint16(26, true) + view.getUint16(28, true);
}

function readEntryData(archive: Uint8Array, entry: CentralEntry): Uint8Array {
  const label = JSON.stringify(entry.name);
  const view = viewOf(archive);
  need(view, entry.localOffset, LOCAL_HEADER_BYTES, `local header of ${label}`);
  const dataStart = dataStartOf(archive.subarray(entry.localOffset), entry);
  need(view, dataStart, entry.compressedSize, `data of ${label}`);
  const raw = archive.subarray(dataStart, dataStart + entry.compressedSize);

  let data = raw;
  if (entry.method === METHOD_DEFLATED) {
    try {
      // The declared size bounds the output: a deflate bomb stops there instead of filling memory.
      data = inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) });
    } catch (error) {
      throw new ArchiveError(`entry ${label} does not inflate: ${(error as Error).message}`);
    }
  }
  checkData(entry, data.length, crc32(data));
  return data;
}

/** An entry's inflated size and CRC-32 against what the central directory says. */
function checkData(entry: CentralEntry, size: number, crc: number): void {
  const label = JSON.stringify(entry.name);
  if (size !== entry.size) {
    throw new ArchiveError(`entry ${label} is ${size} bytes; the directory says ${entry.size}`);
  }
  if (crc !== entry.crc) throw new ArchiveError(`entry ${label} fails its CRC-32 check`);
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

/**
 * Names that would write outside the folder, or that different systems read differently, are
 * refused: absolute paths, drive letters, `..`, backslashes, NUL and empty segments.
 */
function checkEntryName(name: string): void {
  if (isUnsafeEntryName(name)) throw new ArchiveError(`unsafe entry name ${JSON.stringify(name)}`);
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

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function need(view: DataView, offset: number, bytes: number, what: string): void {
  if (offset < 0 || offset + bytes > view.byteLength) throw new ArchiveError(`truncated archive: ${what}`);
}
