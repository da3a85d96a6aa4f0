/**
 * The SDK's ZIP reader on archives made by the platform's own writer, and on archives altered to be
 * corrupt or hostile, through both extractors: `extractZip` (in memory) and `extractZipFile`
 * (streamed from disk). Hostile and malformed archives are refused before anything is written; a
 * corrupt entry is refused by both.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createZip } from '../../lambdas/domain/archive/zip.ts';
import { ArchiveError } from '../src/errors.ts';
import { extractZip, extractZipFile } from '../src/unzip.ts';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'synthforge-unzip-'));
  dirs.push(dir);
  return dir;
}

const text = (value: string) => new TextEncoder().encode(value);
const compressible = text('annotation '.repeat(500));
const incompressible = Uint8Array.from({ length: 300 }, (_, i) => (i * 7919) % 251);

function sampleArchive(): Uint8Array {
  return createZip([
    { name: 'annotations.json', data: compressible },
    { name: 'frames/frame_0000.png', data: incompressible, store: true },
    { name: 'params.json', data: text('{"seed":1}') },
  ]);
}

/** Writes `archive` to a file of its own, outside any folder a test extracts into. */
async function archiveFile(archive: Uint8Array): Promise<string> {
  const path = join(await tempDir(), 'archive.zip');
  await writeFile(path, archive);
  return path;
}

type Extract = (archive: Uint8Array, folder: string) => Promise<{ name: string }[]>;

/** The two extractors, named for the test titles. */
const EXTRACTORS: [string, Extract][] = [
  ['extractZip', extractZip],
  ['extractZipFile', async (archive, folder) => extractZipFile(await archiveFile(archive), folder)],
];

/** Every case with each extractor: `[extractor name, ...case, extract]`, for `it.each`. */
function withEachExtractor<Case extends unknown[]>(cases: Case[]): [string, ...Case, Extract][] {
  return EXTRACTORS.flatMap(([name, extract]) =>
    cases.map((entry): [string, ...Case, Extract] => [name, ...entry, extract]),
  );
}

/** Replaces every occurrence of `from` with `to` (same length), as a hostile archive's author would. */
function patchBytes(archive: Uint8Array, from: string, to: string): Uint8Array {
  const patched = Buffer.from(archive);
  const needle = Buffer.from(from);
  expect(to.length).toBe(from.length);
  for (let at = patched.indexOf(needle); at !== -1; at = patched.indexOf(needle, at + 1)) {
    patched.write(to, at, 'latin1');
  }
  return patched;
}

/** Offset of the first central-directory header. */
function centralDirectoryOffset(archive: Uint8Array): number {
  const view = new DataView(archive.buffer, archive.byteOffset, archive.byteLength);
  return view.getUint32(archive.length - 22 + 16, true);
}

describe('readZip, extractZip and extractZipFile', () => {
  it.each(EXTRACTORS)('%s reads stored and deflated entries into nested folders', async (_, extract) => {
    // Prepare
    const dir = await tempDir();
    const target = join(dir, 'job');

    // Act
    const files = await extract(sampleArchive(), target);

    // Assess
    expect(files.map((file) => file.name)).toEqual([
      'annotations.json',
      'frames/frame_0000.png',
      'params.json',
    ]);
    expect(new Uint8Array(await readFile(join(target, 'annotations.json')))).toEqual(compressible);
    expect(new Uint8Array(await readFile(join(target, 'frames', 'frame_0000.png')))).toEqual(incompressible);
    expect(await readFile(join(target, 'params.json'), 'utf8')).toBe('{"seed":1}');
  });

  it.each(EXTRACTORS)('%s extracts an empty file', async (_, extract) => {
    // Prepare
    const target = join(await tempDir(), 'job');

    // Act
    await extract(createZip([{ name: 'logs/empty.txt', data: new Uint8Array() }]), target);

    // Assess
    expect((await stat(join(target, 'logs', 'empty.txt'))).size).toBe(0);
  });

  it('extractZipFile reports each file with its size', async () => {
    // Prepare
    const archive = await archiveFile(sampleArchive());

    // Act
    const files = await extractZipFile(archive, join(await tempDir(), 'job'));

    // Assess
    expect(files).toEqual([
      { name: 'annotations.json', size: compressible.length },
      { name: 'frames/frame_0000.png', size: incompressible.length },
      { name: 'params.json', size: 10 },
    ]);
  });

  it.each(EXTRACTORS)('%s finds the directory behind an archive comment', async (_, extract) => {
    // Prepare
    const archive = Buffer.from(sampleArchive());
    const comment = Buffer.from('made by a tool that comments its archives');
    archive.writeUInt16LE(comment.length, archive.length - 2);

    // Act
    const files = await extract(Buffer.concat([archive, comment]), join(await tempDir(), 'job'));

    // Assess
    expect(files).toHaveLength(3);
  });

  it.each(
    withEachExtractor<[string, string, string]>([
      ['a parent segment', 'ab/evil.txt', '../evil.txt'],
      ['an absolute path', 'xtmp/evil.txt', '/tmp/evil.txt'],
      ['a drive letter', 'Cx/evil.txt', 'C:/evil.txt'],
      ['a backslash', 'ab/evil.txt', 'ab\\evil.txt'],
    ]),
  )('%s refuses a name with %s and writes nothing', async (_, __, safeName, hostileName, extract) => {
    // Prepare
    const dir = await tempDir();
    const archive = patchBytes(
      createZip([
        { name: 'good.txt', data: text('fine') },
        { name: safeName, data: text('escaped') },
      ]),
      safeName,
      hostileName,
    );

    // Act
    const attempt = extract(archive, join(dir, 'job'));

    // Assess
    await expect(attempt).rejects.toThrow(ArchiveError);
    await expect(attempt).rejects.toThrow(/unsafe entry name/);
    expect(await readdir(dir)).toEqual([]);
  });

  it.each(EXTRACTORS)('%s refuses an entry whose data fails its CRC-32', async (_, extract) => {
    // Prepare: one byte of the stored PNG flipped.
    const archive = Buffer.from(sampleArchive());
    const at = archive.indexOf(Buffer.from(incompressible.subarray(0, 16)));
    archive[at + 5] = (archive[at + 5] ?? 0) ^ 0xff;

    // Act
    const attempt = extract(archive, join(await tempDir(), 'job'));

    // Assess
    await expect(attempt).rejects.toThrow(ArchiveError);
    await expect(attempt).rejects.toThrow(/frame_0000\.png.*CRC-32/);
  });

  it.each(EXTRACTORS)('%s refuses an entry whose deflate stream is cut short', async (_, extract) => {
    // Prepare: the deflated entry (annotations.json, first) loses its last bytes, and the archive
    // still adds up: its compressed size shrinks, and the bytes after it are kept where they were.
    const archive = Buffer.from(sampleArchive());
    const directory = centralDirectoryOffset(archive);
    const compressedSize = archive.readUInt32LE(directory + 20);
    archive.writeUInt32LE(compressedSize - 4, directory + 20);
    archive.writeUInt32LE(compressedSize - 4, 18);

    // Act
    const attempt = extract(archive, join(await tempDir(), 'job'));

    // Assess
    await expect(attempt).rejects.toThrow(ArchiveError);
    await expect(attempt).rejects.toThrow(/annotations\.json/);
  });

  it.each(EXTRACTORS)(
    '%s stops inflating at the declared size: a deflate bomb fills nothing',
    async (_, extract) => {
      // Prepare: the first entry (annotations.json, deflated) claims to be 10 bytes.
      const archive = Buffer.from(sampleArchive());
      archive.writeUInt32LE(10, centralDirectoryOffset(archive) + 24);
      const target = join(await tempDir(), 'job');

      // Act
      const attempt = extract(archive, target);

      // Assess
      await expect(attempt).rejects.toThrow(ArchiveError);
      await expect(attempt).rejects.toThrow(/annotations\.json/);
      const written = await stat(join(target, 'annotations.json')).catch(() => undefined);
      expect(written?.size ?? 0).toBeLessThanOrEqual(10);
    },
  );

  it.each(
    withEachExtractor<[string, () => Uint8Array]>([
      ['not an archive', () => text('<html>an error page</html>')],
      ['a truncated archive', () => sampleArchive().subarray(40)],
      ['an empty file', () => new Uint8Array()],
    ]),
  )('%s refuses %s', async (_, __, make, extract) => {
    // Prepare
    const dir = await tempDir();

    // Act
    const attempt = extract(make(), join(dir, 'job'));

    // Assess
    await expect(attempt).rejects.toThrow(ArchiveError);
    expect(await readdir(dir)).toEqual([]);
  });
});
