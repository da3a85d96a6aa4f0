/**
 * The one tar writer (lambdas/local/support/tar.ts): what it writes, the system `tar` reads back,
 * names and contents as given; the same entries give the same bytes.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createTar,
  createTarGz,
  createTarGzSync,
  directoryEntries,
  type TarEntry,
} from '../../../../lambdas/local/support/tar.ts';

const scratch = mkdtempSync(join(tmpdir(), 'tar-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let archives = 0;
/** Writes the archive to a file and runs the system `tar` with `args` over it. */
function systemTar(archive: Buffer, ...args: string[]): { stdout: string; into: string } {
  const index = archives++;
  const path = join(scratch, `archive-${index}`);
  const into = join(scratch, `extracted-${index}`);
  writeFileSync(path, archive);
  mkdirSync(into);
  const run = spawnSync('tar', [...args, path, '-C', into], { encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  expect(run.stderr).toBe('');
  return { stdout: run.stdout, into };
}

describe('createTar', () => {
  it('writes an archive that tar extracts with its names, long nested ones included, and contents', () => {
    // Prepare
    const long = `${'nested-folder-'.repeat(8)}/weights/${'w'.repeat(90)}.bin`;
    const entries = [
      { name: 'model.json', data: Buffer.from('{"embedding_dim": 32}\n') },
      { name: long, data: Buffer.alloc(1_000, 7) },
      { name: 'empty.txt', data: Buffer.alloc(0) },
    ];

    // Act
    const { into } = systemTar(createTar(entries), '-xf');

    // Assess
    expect(readFileSync(join(into, 'model.json'), 'utf8')).toBe('{"embedding_dim": 32}\n');
    expect(readFileSync(join(into, long))).toEqual(Buffer.alloc(1_000, 7));
    expect(readFileSync(join(into, 'empty.txt')).length).toBe(0);
  });

  it('refuses a name that no ustar header can hold', () => {
    // Act & Assess
    expect(() => createTar([{ name: 'x'.repeat(101), data: Buffer.alloc(1) }])).toThrow(RangeError);
  });
});

describe('createTarGz', () => {
  it('round-trips any set of files through `tar -tzf` and `tar -xzf`', async () => {
    // Prepare: random trees; each archive is listed and extracted by the system tar.
    const trees = fc.sample(
      fc.dictionary(
        fc.stringMatching(/^[a-z0-9_]{1,20}(\/[a-z0-9_]{1,20}){0,2}\.(bin|json|pt)$/),
        fc.uint8Array({ maxLength: 3_000 }),
        { minKeys: 1, maxKeys: 6 },
      ),
      { numRuns: 15, seed: 17 },
    );
    for (const tree of trees) {
      // Folders have no dot in their names, so no file name is also a folder's.
      const names = Object.keys(tree).sort();
      const entries: TarEntry[] = names.map((name) => ({ name, data: tree[name] as Uint8Array }));

      // Act
      const archive = await createTarGz(entries, { level: 1 });
      const listing = systemTar(archive, '-tzf').stdout.split('\n').filter(Boolean).sort();
      const { into } = systemTar(archive, '-xzf');

      // Assess
      expect(listing).toEqual(names);
      for (const entry of entries)
        expect(readFileSync(join(into, entry.name))).toEqual(Buffer.from(entry.data));
    }
  });

  it('gives the same bytes for the same entries, synchronously or not, with no time or OS in the gzip header', async () => {
    // Prepare
    const entries = [{ name: 'a/b.py', data: Buffer.from('print(1)\n') }];

    // Act
    const first = createTarGzSync(entries);
    const second = await createTarGz(entries);

    // Assess
    expect(first.equals(second)).toBe(true);
    expect([...first.subarray(4, 8)]).toEqual([0, 0, 0, 0]);
    expect(first[9]).toBe(255);
  });
});

describe('directoryEntries', () => {
  it('names the files of a folder relative to it, at any depth, and none for a missing folder', async () => {
    // Prepare
    const dir = join(scratch, 'model');
    mkdirSync(join(dir, 'weights'), { recursive: true });
    writeFileSync(join(dir, 'model.pt'), 'weights');
    writeFileSync(join(dir, 'weights', 'layer1.bin'), 'layer');

    // Act
    const entries = await directoryEntries(dir);
    const missing = await directoryEntries(join(scratch, 'no-such-folder'));

    // Assess
    expect(entries.map((entry) => entry.name)).toEqual(['model.pt', 'weights/layer1.bin']);
    expect(entries.every((entry) => entry.mtime instanceof Date)).toBe(true);
    expect(missing).toEqual([]);
    const listing = systemTar(await createTarGz(missing), '-tzf').stdout;
    expect(listing).toBe('');
  });
});
