/**
 * A small ZIP reader for result archives (PKWARE APPNOTE 6.3: stored and deflated entries, no ZIP64,
 * no encryption), the one the domain and the SDK share. It follows the central directory, as
 * standard extractors do, checks every size and CRC, and refuses any name that could write outside
 * an extraction folder. `zipEntries` and `readZip` read an archive in memory (the datasets read a
 * job's frames this way); the parts below them (the end record, the central directory, where an
 * entry's data starts, the size and CRC check) are exported for the SDK's extractor, which streams
 * an archive from disk entry by entry (sdk/src/unzip.ts).
 */
import { crc32, inflateRawSync } from 'node:zlib';
import { isUnsafeEntryName } from './entry-names.ts';

/** An archive that cannot be read safely: malformed, corrupt, or naming a path outside its folder. */
export class ArchiveError extends Error {
  override readonly name = 'ArchiveError';
}

/** One file of an archive, inflated and verified. */
export interface ZipFile {
  /** The relative path, with forward slashes. */
  name: string;
  data: Uint8Array;
}

/** One file of an archive, read only when asked: a dataset reads one frame of a job, not all of them. */
export interface ZipEntryReader {
  /** The relative path, with forward slashes. */
  name: string;
  /** Bytes once inflated, as the central directory says (`read` checks it). */
  size: number;
  /** Inflates (or takes, when stored) and verifies the entry; throws ArchiveError when it is corrupt. */
  read(): Uint8Array;
}

/** An entry of the central directory: where its data is and what it must inflate to. */
export interface CentralEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

export interface EndRecord {
  count: number;
  directoryOffset: number;
  directoryBytes: number;
}

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_HEADER = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;
export const END_RECORD_BYTES = 22;
const CENTRAL_HEADER_BYTES = 46;
export const LOCAL_HEADER_BYTES = 30;
export const MAX_COMMENT_BYTES = 0xffff;
const METHOD_STORED = 0;
export const METHOD_DEFLATED = 8;
const FLAG_ENCRYPTED = 1;
/** Sizes and offsets at these values mean "look in the ZIP64 record", which this reader does not read. */
const ZIP64_MARKER_16 = 0xffff;
const ZIP64_MARKER_32 = 0xffffffff;

/** Every file of `archive` (directory entries are left out), in central-directory order. */
export function readZip(archive: Uint8Array): ZipFile[] {
  return zipEntries(archive).map((entry) => ({ name: entry.name, data: entry.read() }));
}

/**
 * Every file of `archive` (directory entries are left out), in central-directory order, each read on
 * demand. Names, duplicates and formats are checked here, before any entry is read.
 */
export function zipEntries(archive: Uint8Array): ZipEntryReader[] {
  const end = readEndRecord(archive, 0);
  const directory = archive.subarray(end.directoryOffset, end.directoryOffset + end.directoryBytes);
  return readCentralDirectory(directory, end.count).map((entry) => ({
    name: entry.name,
    size: entry.size,
    read: () => readEntryData(archive, entry),
  }));
}

/**
 * The end record, found in `tail`: the last bytes of the archive (all of it, in memory), which start
 * `tailOffset` bytes into it. The record is the last thing in the file, followed only by a comment of
 * up to 64 KiB.
 */
export function readEndRecord(tail: Uint8Array, tailOffset: number): EndRecord {
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
 * data is checked here, before anything is read or written: names, duplicates, encryption, ZIP64 and
 * method.
 */
export function readCentralDirectory(directory: Uint8Array, count: number): CentralEntry[] {
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
export function dataStartOf(header: Uint8Array, entry: CentralEntry): number {
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
export function checkData(entry: CentralEntry, size: number, crc: number): void {
  const label = JSON.stringify(entry.name);
  if (size !== entry.size) {
    throw new ArchiveError(`entry ${label} is ${size} bytes; the directory says ${entry.size}`);
  }
  if (crc !== entry.crc) throw new ArchiveError(`entry ${label} fails its CRC-32 check`);
}

/**
 * Names that would write outside the folder, or that different systems read differently, are
 * refused: absolute paths, drive letters, `..`, backslashes, NUL and empty segments.
 */
function checkEntryName(name: string): void {
  if (isUnsafeEntryName(name)) throw new ArchiveError(`unsafe entry name ${JSON.stringify(name)}`);
}

export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Throws ArchiveError unless `view` holds `bytes` bytes at `offset`. */
export function need(view: DataView, offset: number, bytes: number, what: string): void {
  if (offset < 0 || offset + bytes > view.byteLength) throw new ArchiveError(`truncated archive: ${what}`);
}
