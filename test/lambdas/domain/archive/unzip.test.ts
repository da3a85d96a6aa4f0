/**
 * The domain's in-memory ZIP reader, on archives of the platform's own writer: every entry comes back
 * as written, each read only when asked, and a corrupt entry fails only when it is read. The SDK's
 * extractors over the same reader are tested in sdk/test/unzip.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ArchiveError, readZip, zipEntries } from '../../../../lambdas/domain/archive/unzip.ts';
import { createZip } from '../../../../lambdas/domain/archive/zip.ts';
import { ArchiveError as SdkArchiveError } from '../../../../sdk/src/errors.ts';

const text = (value: string) => new TextEncoder().encode(value);

describe('readZip', () => {
  it('gives back every entry as written, stored or deflated, in name order', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.record({
            name: fc.stringMatching(/^[a-z0-9_]{1,8}(\/[a-z0-9_]{1,8}){0,2}\.(png|json)$/),
            data: fc.uint8Array({ maxLength: 300 }),
            store: fc.boolean(),
          }),
          { selector: (entry) => entry.name, maxLength: 6 },
        ),
        (entries) => {
          // Act
          const files = readZip(createZip(entries, { folder: 'JOB' }));

          // Assess
          const expected = [...entries]
            .sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)))
            .map((entry) => ({ name: `JOB/${entry.name}`, data: entry.data }));
          expect(files.map((file) => ({ name: file.name, data: new Uint8Array(file.data) }))).toEqual(
            expected,
          );
        },
      ),
    );
  });

  it('refuses what is no archive with the SDK’s ArchiveError', () => {
    // Act
    const attempt = () => readZip(text('not a zip at all, not even close'));

    // Assess
    expect(attempt).toThrow(ArchiveError);
    expect(attempt).toThrow(SdkArchiveError);
    expect(attempt).toThrow(/no end-of-central-directory record/);
  });
});

describe('zipEntries', () => {
  it('lists names and sizes without reading, and fails a corrupt entry only when it is read', () => {
    // Prepare: the second entry's stored bytes altered after the archive was made.
    const archive = Buffer.from(
      createZip([
        { name: 'a.txt', data: text('first entry'), store: true },
        { name: 'b.txt', data: text('second entry'), store: true },
      ]),
    );
    const at = archive.indexOf('second entry');
    archive[at] = 'S'.charCodeAt(0);

    // Act
    const entries = zipEntries(archive);

    // Assess
    expect(entries.map((entry) => [entry.name, entry.size])).toEqual([
      ['a.txt', 11],
      ['b.txt', 12],
    ]);
    expect(new TextDecoder().decode(entries[0]?.read())).toBe('first entry');
    expect(() => entries[1]?.read()).toThrow(/fails its CRC-32 check/);
  });
});
