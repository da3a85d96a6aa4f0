/**
 * A minimal ZIP writer (PKWARE APPNOTE 6.3, no ZIP64). The archive depends only on the entries:
 * names are sorted, every timestamp is the DOS epoch (1980-01-01 00:00), permissions and the zlib
 * level are fixed, so the same files always give the same bytes.
 */
import { crc32, deflateRawSync } from 'node:zlib';
import { concatBytes } from './bytes.ts';
import { isUnsafeEntryName } from './entry-names.ts';

export interface ZipEntry {
  /** A relative path with forward slashes, e.g. `frames/frame_0000.png`. */
  name: string;
  data: Uint8Array;
  /** Data that is compressed already (PNG): stored as is, without spending time trying to deflate it. */
  store?: boolean;
}

export interface ZipOptions {
  /**
   * One folder every entry goes under (`<folder>/frames/frame_0000.png`). A job's archive holds its
   * job id, so that the archives of any number of jobs extract side by side into one folder, as
   * Infinity's client (seed 000) extracts every job of a batch.
   */
  folder?: string | undefined;
}

/** Without ZIP64 every size and offset is a 32-bit field, and the entry count a 16-bit one. */
export const MAX_ZIP32_BYTES = 0xffff_fffe;
export const MAX_ZIP32_ENTRIES = 0xffff;

const LOCAL_HEADER_SIGNATURE = 0x04034b50;
const CENTRAL_HEADER_SIGNATURE = 0x02014b50;
const END_OF_CENTRAL_DIRECTORY_SIGNATURE = 0x06054b50;
const METHOD_STORE = 0;
const METHOD_DEFLATE = 8;
const VERSION_NEEDED = 20;
/** Made by Unix (3) so that extractors apply the permissions below. */
const VERSION_MADE_BY = (3 << 8) | VERSION_NEEDED;
const FLAG_UTF8_NAMES = 1 << 11;
const DOS_TIME_MIDNIGHT = 0;
const DOS_DATE_1980_01_01 = (0 << 9) | (1 << 5) | 1;
/** A regular file, rw-r--r--. */
const UNIX_FILE_ATTRIBUTES = (0o100644 << 16) >>> 0;
const ZLIB_LEVEL = 6;

export class ZipLimitError extends RangeError {
  override name = 'ZipLimitError';
}

/**
 * Builds a ZIP archive holding `entries`, sorted by name, under `options.folder` when given. Each
 * entry is deflated unless it asks to be stored or deflating does not make it smaller.
 */
export function createZip(entries: readonly ZipEntry[], options: ZipOptions = {}): Uint8Array {
  const { folder } = options;
  if (folder !== undefined && (folder.includes('/') || isUnsafeEntryName(folder))) {
    throw new RangeError(`unsafe ZIP folder name: ${JSON.stringify(folder)}`);
  }
  const placed = folder === undefined ? entries : entries.map((e) => ({ ...e, name: `${folder}/${e.name}` }));
  checkEntries(placed);
  const sorted = [...placed].sort((a, b) => compareNames(a.name, b.name));

  const parts: Uint8Array[] = [];
  const centralHeaders: Uint8Array[] = [];
  let offset = 0;
  for (const entry of sorted) {
    const name = Buffer.from(entry.name, 'utf8');
    const deflated = entry.store ? entry.data : deflateRawSync(entry.data, { level: ZLIB_LEVEL });
    const stored = entry.store === true || deflated.length >= entry.data.length;
    const record: EntryRecord = {
      name,
      method: stored ? METHOD_STORE : METHOD_DEFLATE,
      crc: crc32(entry.data),
      compressedSize: stored ? entry.data.length : deflated.length,
      size: entry.data.length,
      offset,
    };
    const localHeader = writeLocalHeader(record);
    parts.push(localHeader, stored ? entry.data : deflated);
    centralHeaders.push(writeCentralHeader(record));
    offset += localHeader.length + record.compressedSize;
    assertFits(offset, 'archive');
  }
  const centralDirectory = concatBytes(centralHeaders);
  assertFits(offset + centralDirectory.length, 'archive');
  parts.push(centralDirectory, writeEndOfCentralDirectory(sorted.length, centralDirectory.length, offset));
  return concatBytes(parts);
}

interface EntryRecord {
  name: Uint8Array;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  offset: number;
}

function writeLocalHeader(entry: EntryRecord): Uint8Array {
  const header = new Uint8Array(30 + entry.name.length);
  const view = new DataView(header.buffer);
  view.setUint32(0, LOCAL_HEADER_SIGNATURE, true);
  view.setUint16(4, VERSION_NEEDED, true);
  view.setUint16(6, FLAG_UTF8_NAMES, true);
  view.setUint16(8, entry.method, true);
  view.setUint16(10, DOS_TIME_MIDNIGHT, true);
  view.setUint16(12, DOS_DATE_1980_01_01, true);
  view.setUint32(14, entry.crc, true);
  view.setUint32(18, entry.compressedSize, true);
  view.setUint32(22, entry.size, true);
  view.setUint16(26, entry.name.length, true);
  view.setUint16(28, 0, true); // no extra field: extra fields are where extended timestamps would go
  header.set(entry.name, 30);
  return header;
}

function writeCentralHeader(entry: EntryRecord): Uint8Array {
  const header = new Uint8Array(46 + entry.name.length);
  const view = new DataView(header.buffer);
  view.setUint32(0, CENTRAL_HEADER_SIGNATURE, true);
  view.setUint16(4, VERSION_MADE_BY, true);
  view.setUint16(6, VERSION_NEEDED, true);
  view.setUint16(8, FLAG_UTF8_NAMES, true);
  view.setUint16(10, entry.method, true);
  view.setUint16(12, DOS_TIME_MIDNIGHT, true);
  view.setUint16(14, DOS_DATE_1980_01_01, true);
  view.setUint32(16, entry.crc, true);
  view.setUint32(20, entry.compressedSize, true);
  view.setUint32(24, entry.size, true);
  view.setUint16(28, entry.name.length, true);
  // extra length (30), comment length (32), disk number (34), internal attributes (36): all zero
  view.setUint32(38, UNIX_FILE_ATTRIBUTES, true);
  view.setUint32(42, entry.offset, true);
  header.set(entry.name, 46);
  return header;
}

function writeEndOfCentralDirectory(count: number, size: number, offset: number): Uint8Array {
  const record = new Uint8Array(22);
  const view = new DataView(record.buffer);
  view.setUint32(0, END_OF_CENTRAL_DIRECTORY_SIGNATURE, true);
  // disk numbers (4, 6) are zero: a single-disk archive
  view.setUint16(8, count, true);
  view.setUint16(10, count, true);
  view.setUint32(12, size, true);
  view.setUint32(16, offset, true);
  // comment length (20) is zero
  return record;
}

function checkEntries(entries: readonly ZipEntry[]): void {
  if (entries.length > MAX_ZIP32_ENTRIES) {
    throw new ZipLimitError(
      `a ZIP without ZIP64 holds at most ${MAX_ZIP32_ENTRIES} entries, got ${entries.length}`,
    );
  }
  const seen = new Set<string>();
  for (const { name, data } of entries) {
    checkName(name);
    if (seen.has(name)) throw new RangeError(`duplicate ZIP entry name: ${name}`);
    seen.add(name);
    assertFits(data.length, `entry ${name}`);
  }
}

/** Extractors write these names to disk, so nothing may point outside the extraction folder. */
function checkName(name: string): void {
  if (isUnsafeEntryName(name)) throw new RangeError(`unsafe ZIP entry name: ${JSON.stringify(name)}`);
  if (Buffer.byteLength(name, 'utf8') > 0xffff)
    throw new ZipLimitError('a ZIP entry name is at most 65535 bytes');
}

function assertFits(bytes: number, what: string): void {
  if (bytes > MAX_ZIP32_BYTES) {
    throw new ZipLimitError(
      `${what} is ${bytes} bytes; a ZIP without ZIP64 holds at most ${MAX_ZIP32_BYTES}`,
    );
  }
}

/** Code-point order, independent of locale, so that the archive does not depend on the machine. */
function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
