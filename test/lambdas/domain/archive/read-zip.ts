/**
 * A small, strict ZIP reader for tests: it follows the central directory as standard extractors
 * do, checks that local and central headers agree, inflates and verifies every CRC.
 */
import { crc32, inflateRawSync } from 'node:zlib';

export interface ZipEntryInfo {
  name: string;
  method: number;
  dosTime: number;
  dosDate: number;
  flags: number;
  externalAttributes: number;
  data: Uint8Array;
}

export function readZip(archive: Uint8Array): ZipEntryInfo[] {
  const view = new DataView(archive.buffer, archive.byteOffset, archive.byteLength);
  const end = archive.length - 22;
  if (view.getUint32(end, true) !== 0x06054b50)
    throw new Error('no end-of-central-directory record (or a comment)');
  const count = view.getUint16(end + 10, true);
  const directorySize = view.getUint32(end + 12, true);
  let offset = view.getUint32(end + 16, true);
  if (offset + directorySize !== end)
    throw new Error('central directory does not end where the end record starts');

  const entries: ZipEntryInfo[] = [];
  for (let i = 0; i < count; i++) {
    if (view.getUint32(offset, true) !== 0x02014b50) throw new Error(`bad central header ${i}`);
    const method = view.getUint16(offset + 10, true);
    const crc = view.getUint32(offset + 16, true);
    const compressedSize = view.getUint32(offset + 20, true);
    const size = view.getUint32(offset + 24, true);
    const nameLength = view.getUint16(offset + 28, true);
    const extraLength = view.getUint16(offset + 30, true);
    const commentLength = view.getUint16(offset + 32, true);
    const localOffset = view.getUint32(offset + 42, true);
    const name = Buffer.from(archive.subarray(offset + 46, offset + 46 + nameLength)).toString('utf8');

    if (view.getUint32(localOffset, true) !== 0x04034b50) throw new Error(`bad local header for ${name}`);
    const localName = Buffer.from(
      archive.subarray(localOffset + 30, localOffset + 30 + view.getUint16(localOffset + 26, true)),
    ).toString('utf8');
    if (localName !== name || view.getUint32(localOffset + 14, true) !== crc) {
      throw new Error(`local header of ${name} disagrees with the central directory`);
    }
    const dataStart =
      localOffset + 30 + view.getUint16(localOffset + 26, true) + view.getUint16(localOffset + 28, true);
    const raw = archive.subarray(dataStart, dataStart + compressedSize);
    const data = method === 8 ? new Uint8Array(inflateRawSync(raw)) : method === 0 ? raw : undefined;
    if (!data) throw new Error(`unsupported method ${method} for ${name}`);
    if (data.length !== size || crc32(data) !== crc) throw new Error(`size or CRC mismatch for ${name}`);

    entries.push({
      name,
      method,
      flags: view.getUint16(offset + 8, true),
      dosTime: view.getUint16(offset + 12, true),
      dosDate: view.getUint16(offset + 14, true),
      externalAttributes: view.getUint32(offset + 38, true),
      data,
    });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** Entry name to contents. */
export function readZipFiles(archive: Uint8Array): Map<string, Uint8Array> {
  return new Map(readZip(archive).map((entry) => [entry.name, entry.data]));
}
