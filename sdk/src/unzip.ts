/**
 * A small ZIP reader for result archives (PKWARE APPNOTE 6.3: stored and deflated entries, no ZIP64,
 * no encryption). It follows the central directory, as standard extractors do, checks every CRC, and
 * refuses any name that could write outside the extraction folder.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';
import { ArchiveError } from './errors.ts';

/** One file of an archive, inflated and verified. */
export interface ZipFile {
  /** The relative path, with forward slashes. */
  name: string;
  data: Uint8Array;
}

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_HEADER = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;
const END_RECORD_BYTES = 22;
const MAX_COMMENT_BYTES = 0xffff;
const METHOD_STORED = 0;
const METHOD_DEFLATED = 8;
const FLAG_ENCRYPTED = 1;
/** Sizes and offsets at these values mean "look in the ZIP64 record", which this reader does not read. */
const ZIP64_MARKER_16 = 0xffff;
const ZIP64_MARKER_32 = 0xffffffff;

/** Every file of `archive` (directory entries are left out), in central-directory order. */
export function readZip(archive: Uint8Array): ZipFile[] {
  const view = new DataView(archive.buffer, archive.byteOffset, archive.byteLength);
  const end = findEndOfCentralDirectory(view);
  const count = view.getUint16(end + 10, true);
  const directoryBytes = view.getUint32(end + 12, true);
  const directoryOffset = view.getUint32(end + 16, true);
  if (count === ZIP64_MARKER_16 || directoryOffset === ZIP64_MARKER_32) {
    throw new ArchiveError('ZIP64 archives are not supported');
  }
  if (directoryOffset + directoryBytes > end) {
    throw new ArchiveError('the central directory runs past the end record');
  }

  const files: ZipFile[] = [];
  const names = new Set<string>();
  let offset = directoryOffset;
  for (let index = 0; index < count; index++) {
    need(view, offset, 46, 'central header');
    if (view.getUint32(offset, true) !== CENTRAL_HEADER)
      throw new ArchiveError(`entry ${index}: bad central header`);
    const entry = {
      flags: view.getUint16(offset + 8, true),
      method: view.getUint16(offset + 10, true),
      crc: view.getUint32(offset + 16, true),
      compressedSize: view.getUint32(offset + 20, true),
      size: view.getUint32(offset + 24, true),
      localOffset: view.getUint32(offset + 42, true),
    };
    const nameLength = view.getUint16(offset + 28, true);
    const extraLength = view.getUint16(offset + 30, true);
    const commentLength = view.getUint16(offset + 32, true);
    need(view, offset + 46, nameLength, 'entry name');
    const name = Buffer.from(archive.subarray(offset + 46, offset + 46 + nameLength)).toString('utf8');
    offset += 46 + nameLength + extraLength + commentLength;

    if (name.endsWith('/')) {
      checkEntryName(name.slice(0, -1));
      continue; // folders are made as their files need them
    }
    checkEntryName(name);
    if (names.has(name)) throw new ArchiveError(`duplicate entry ${JSON.stringify(name)}`);
    names.add(name);
    files.push({ name, data: readEntryData(archive, view, name, entry) });
  }
  return files;
}

/**
 * Extracts `archive` into `folder` (created if needed) and returns the files written, relative to
 * it. The whole archive is checked before the first file is written, so a corrupt or hostile archive
 * leaves nothing behind.
 */
export async function extractZip(archive: Uint8Array, folder: string): Promise<ZipFile[]> {
  const files = readZip(archive);
  const root = resolve(folder);
  await mkdir(root, { recursive: true });
  for (const file of files) {
    const target = resolve(root, ...file.name.split('/'));
    // The name checks already rule this out; the resolved path is checked again because it is what
    // the file system will see.
    const inside = relative(root, target);
    if (inside === '' || inside.startsWith(`..${sep}`) || inside === '..' || isAbsolute(inside)) {
      throw new ArchiveError(`entry ${JSON.stringify(file.name)} resolves outside the folder`);
    }
    await mkdir(dirname(target), { recursive: true });
    await writeFile(join(root, inside), file.data);
  }
  return files;
}

interface CentralEntry {
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

function readEntryData(archive: Uint8Array, view: DataView, name: string, entry: CentralEntry): Uint8Array {
  const label = JSON.stringify(name);
  if (entry.flags & FLAG_ENCRYPTED) throw new ArchiveError(`entry ${label} is encrypted`);
  if (entry.compressedSize === ZIP64_MARKER_32 || entry.size === ZIP64_MARKER_32) {
    throw new ArchiveError(`entry ${label} needs ZIP64`);
  }
  need(view, entry.localOffset, 30, `local header of ${label}`);
  if (view.getUint32(entry.localOffset, true) !== LOCAL_HEADER) {
    throw new ArchiveError(`entry ${label}: bad local header`);
  }
  const dataStart =
    entry.localOffset +
    30 +
    view.getUint16(entry.localOffset + 26, true) +
    view.getUint16(entry.localOffset + 28, true);
  need(view, dataStart, entry.compressedSize, `data of ${label}`);
  const raw = archive.subarray(dataStart, dataStart + entry.compressedSize);

  let data: Uint8Array;
  if (entry.method === METHOD_STORED) {
    data = raw;
  } else if (entry.method === METHOD_DEFLATED) {
    try {
      // The declared size bounds the output: a deflate bomb stops there instead of filling memory.
      data = inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) });
    } catch (error) {
      throw new ArchiveError(`entry ${label} does not inflate: ${(error as Error).message}`);
    }
  } else {
    throw new ArchiveError(
      `entry ${label} uses compression method ${entry.method}; only stored and deflate are read`,
    );
  }
  if (data.length !== entry.size) {
    throw new ArchiveError(`entry ${label} is ${data.length} bytes; the directory says ${entry.size}`);
  }
  if (crc32(data) !== entry.crc) throw new ArchiveError(`entry ${label} fails its CRC-32 check`);
  return data;
}

/** The end record is the last thing in the file, followed only by a comment of up to 64 KiB. */
function findEndOfCentralDirectory(view: DataView): number {
  const last = view.byteLength - END_RECORD_BYTES;
  const first = Math.max(0, last - MAX_COMMENT_BYTES);
  for (let offset = last; offset >= first; offset--) {
    if (view.getUint32(offset, true) === END_OF_CENTRAL_DIRECTORY) return offset;
  }
  throw new ArchiveError('not a ZIP archive: no end-of-central-directory record');
}

/**
 * Names that would write outside the folder, or that different systems read differently, are
 * refused: absolute paths, drive letters, `..`, backslashes, NUL and empty segments.
 */
function checkEntryName(name: string): void {
  const segments = name.split('/');
  const unsafe =
    name.length === 0 ||
    name.startsWith('/') ||
    name.includes('\\') ||
    name.includes('\0') ||
    /^[A-Za-z]:/.test(name) ||
    segments.some((segment) => segment === '' || segment === '.' || segment === '..');
  if (unsafe) throw new ArchiveError(`unsafe entry name ${JSON.stringify(name)}`);
}

function need(view: DataView, offset: number, bytes: number, what: string): void {
  if (offset < 0 || offset + bytes > view.byteLength) throw new ArchiveError(`truncated archive: ${what}`);
}
