/**
 * The SDK's ZIP reader on archives made by the platform's own writer, and on archives altered to be
 * corrupt or hostile: every one of those is refused before anything is written.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createZip } from '../../lambdas/domain/archive/zip.ts';
import { ArchiveError } from '../src/errors.ts';
import { extractZip, readZip } from '../src/unzip.ts';

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

describe('readZip and extractZip', () => {
  it('reads stored and deflated entries and extracts them into nested folders', async () => {
    // Prepare
    const dir = await tempDir();
    const target = join(dir, 'job');

    // Act
    const files = await extractZip(sampleArchive(), target);

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

  it('finds the directory behind an archive comment', () => {
    // Prepare
    const archive = Buffer.from(sampleArchive());
    const comment = Buffer.from('made by a tool that comments its archives');
    archive.writeUInt16LE(comment.length, archive.length - 2);

    // Act
    const files = readZip(Buffer.concat([archive, comment]));

    // Assess
    expect(files).toHaveLength(3);
  });

  it.each([
    ['a parent segment', 'ab/evil.txt', '../evil.txt'],
    ['an absolute path', 'xtmp/evil.txt', '/tmp/evil.txt'],
    ['a drive letter', 'Cx/evil.txt', 'C:/evil.txt'],
    ['a backslash', 'ab/evil.txt', 'ab\\evil.txt'],
  ])('refuses a name with %s and writes nothing', async (_, safeName, hostileName) => {
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
    const attempt = extractZip(archive, join(dir, 'job'));

    // Assess
    await expect(attempt).rejects.toThrow(ArchiveError);
    await expect(attempt).rejects.toThrow(/unsafe entry name/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses an entry whose data fails its CRC-32', () => {
    // Prepare: one byte of the stored PNG flipped.
    const archive = Buffer.from(sampleArchive());
    const at = archive.indexOf(Buffer.from(incompressible.subarray(0, 16)));
    archive[at + 5] = (archive[at + 5] ?? 0) ^ 0xff;

    // Act
    const attempt = () => readZip(archive);

    // Assess
    expect(attempt).toThrow(ArchiveError);
    expect(attempt).toThrow(/CRC-32/);
  });

  it('stops inflating at the declared size, so a deflate bomb cannot fill memory', () => {
    // Prepare: the first entry (annotations.json, deflated) claims to be 10 bytes.
    const archive = Buffer.from(sampleArchive());
    archive.writeUInt32LE(10, centralDirectoryOffset(archive) + 24);

    // Act
    const attempt = () => readZip(archive);

    // Assess
    expect(attempt).toThrow(ArchiveError);
    expect(attempt).toThrow(/annotations\.json/);
  });

  it.each([
    ['not an archive', () => text('<html>an error page</html>')],
    ['a truncated archive', () => sampleArchive().subarray(40)],
  ])('refuses %s', (_, make) => {
    // Act
    const attempt = () => readZip(make());

    // Assess
    expect(attempt).toThrow(ArchiveError);
  });
});
