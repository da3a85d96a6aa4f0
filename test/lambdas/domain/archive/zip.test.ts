import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createZip,
  MAX_ZIP32_ENTRIES,
  type ZipEntry,
  ZipLimitError,
} from '../../../../lambdas/domain/archive/zip.ts';
import { readZip, readZipFiles } from './read-zip.ts';

const text = (value: string) => new Uint8Array(Buffer.from(value, 'utf8'));

const SAMPLE: ZipEntry[] = [
  { name: 'params.json', data: text('{"seed":1}') },
  { name: 'frames/frame_0001.png', data: Uint8Array.from({ length: 300 }, (_, i) => (i * 31) % 256) },
  { name: 'annotations.json', data: text('{"images":[]}'.repeat(100)) },
  { name: 'frames/frame_0000.png', data: new Uint8Array(0) },
];

describe('createZip', () => {
  it('holds every entry with its exact contents, sorted by name', () => {
    // Act
    const archive = createZip(SAMPLE);

    // Assess
    const entries = readZip(archive);
    expect(entries.map((entry) => entry.name)).toEqual([
      'annotations.json',
      'frames/frame_0000.png',
      'frames/frame_0001.png',
      'params.json',
    ]);
    const files = readZipFiles(archive);
    for (const { name, data } of SAMPLE) expect(files.get(name)).toEqual(data);
  });

  it('gives the same bytes for the same files in any order', () => {
    // Act
    const forwards = createZip(SAMPLE);
    const backwards = createZip([...SAMPLE].reverse());

    // Assess
    expect(Buffer.from(backwards).equals(Buffer.from(forwards))).toBe(true);
  });

  it('stamps every entry 1980-01-01 00:00 as a regular rw-r--r-- file, so no clock leaks in', () => {
    // Act
    const entries = readZip(createZip(SAMPLE));

    // Assess
    for (const entry of entries) {
      expect(entry.dosDate).toBe((0 << 9) | (1 << 5) | 1);
      expect(entry.dosTime).toBe(0);
      expect(entry.externalAttributes >>> 16).toBe(0o100644);
    }
  });

  it('deflates compressible data and stores data that is already compressed', () => {
    // Prepare
    const repetitive = text('shape '.repeat(1000));
    const random = new Uint8Array(
      Buffer.concat(Array.from({ length: 16 }, (_, i) => createHash('sha512').update(String(i)).digest())),
    );

    // Act
    const archive = createZip([
      { name: 'repetitive.txt', data: repetitive },
      { name: 'random.bin', data: random },
      { name: 'hinted.png', data: repetitive, store: true },
    ]);

    // Assess
    const methods = Object.fromEntries(readZip(archive).map((entry) => [entry.name, entry.method]));
    expect(methods).toEqual({ 'repetitive.txt': 8, 'random.bin': 0, 'hinted.png': 0 });
    expect(archive.length).toBeLessThan(2 * repetitive.length + random.length);
  });

  it.each([
    ['an empty name', ''],
    ['a parent reference', '../escape.txt'],
    ['a nested parent reference', 'frames/../../escape.txt'],
    ['an absolute path', '/etc/passwd'],
    ['a backslash', 'frames\\frame.png'],
    ['an empty segment', 'frames//frame.png'],
    ['a directory name', 'frames/'],
    ['a drive letter', 'C:/escape.txt'],
  ])('rejects %s as an entry name', (_, name) => {
    // Act
    const act = () => createZip([{ name, data: text('x') }]);

    // Assess
    expect(act).toThrow(/unsafe ZIP entry name/);
  });

  it('puts every entry under the folder it is given, so that archives extract side by side', () => {
    // Act
    const first = readZipFiles(createZip(SAMPLE, { folder: '01JOBA' }));
    const second = readZipFiles(createZip(SAMPLE, { folder: '01JOBB' }));

    // Assess: no name of one archive is a name of the other.
    expect([...first.keys()].sort()).toEqual(SAMPLE.map((entry) => `01JOBA/${entry.name}`).sort());
    expect([...first.keys()].filter((name) => second.has(name))).toEqual([]);
    for (const { name, data } of SAMPLE) expect(first.get(`01JOBA/${name}`)).toEqual(data);
  });

  it.each([
    ['', 'an empty folder'],
    ['a/b', 'a nested folder'],
    ['..', 'a parent reference'],
    ['C:', 'a drive letter'],
  ])('rejects %j as the folder (%s)', (folder) => {
    // Act
    const act = () => createZip(SAMPLE, { folder });

    // Assess
    expect(act).toThrow(/unsafe ZIP folder name/);
  });

  it('rejects two entries with the same name', () => {
    // Act
    const act = () => createZip([SAMPLE[0] as ZipEntry, SAMPLE[0] as ZipEntry]);

    // Assess
    expect(act).toThrow(/duplicate ZIP entry name: params.json/);
  });

  it('rejects an entry of 4 GiB or more, which needs ZIP64', () => {
    // Prepare: only the length is read before the check, so no 4 GiB buffer is needed
    const huge = { length: 2 ** 32 } as unknown as Uint8Array;

    // Act
    const act = () => createZip([{ name: 'huge.bin', data: huge }]);

    // Assess
    expect(act).toThrow(ZipLimitError);
  });

  it('rejects more entries than a ZIP without ZIP64 can count', () => {
    // Prepare
    const entries = Array.from({ length: MAX_ZIP32_ENTRIES + 1 }, (_, i) => ({
      name: `f${i}`,
      data: new Uint8Array(0),
    }));

    // Act
    const act = () => createZip(entries);

    // Assess
    expect(act).toThrow(ZipLimitError);
  });

  it('round-trips any set of files', () => {
    const names = fc.uniqueArray(fc.stringMatching(/^[a-z0-9_]{1,8}(\/[a-z0-9_.]{1,8}){0,2}$/), {
      minLength: 1,
      maxLength: 8,
    });
    fc.assert(
      fc.property(
        names,
        fc.array(fc.uint8Array({ maxLength: 2000 }), { minLength: 8, maxLength: 8 }),
        (keys, blobs) => {
          // Prepare
          const entries = keys
            .filter((name) => !name.split('/').some((segment) => segment === '.' || segment === '..'))
            .map((name, i) => ({ name, data: blobs[i] ?? new Uint8Array(0) }));

          // Act
          const files = readZipFiles(createZip(entries));

          // Assess
          expect(files.size).toBe(entries.length);
          for (const { name, data } of entries) expect(files.get(name)).toEqual(data);
        },
      ),
      { numRuns: 50 },
    );
  });

  // Needs Info-ZIP's unzip, which `npm test` installs (scripts/setup-trainer.sh); a machine without
  // it fails here, saying so, rather than skipping the one check by an independent reader.
  it('is accepted by the system unzip, which extracts the same bytes dated 1980', () => {
    // Prepare
    const folder = mkdtempSync(join(tmpdir(), 'synthforge-zip-'));
    const path = join(folder, 'job.zip');
    writeFileSync(path, createZip(SAMPLE));

    try {
      // Act
      const test = spawnSync('unzip', ['-t', path], { encoding: 'utf8' });
      const extract = spawnSync('unzip', ['-q', path, '-d', join(folder, 'out')], { encoding: 'utf8' });

      // Assess
      expect(
        test.error,
        'unzip is not installed: run scripts/setup-trainer.sh, or on Debian: sudo apt-get install unzip',
      ).toBeUndefined();
      expect(test.status, test.stdout + test.stderr).toBe(0);
      expect(test.stdout).toContain('No errors detected');
      expect(extract.status, extract.stderr).toBe(0);
      for (const { name, data } of SAMPLE) {
        const extracted = join(folder, 'out', name);
        expect(new Uint8Array(readFileSync(extracted))).toEqual(data);
        expect(statSync(extracted).mtime.getFullYear()).toBe(1980);
      }
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
