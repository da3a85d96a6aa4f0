/**
 * The one S3 helper (lambdas/local/support/s3.ts): `s3://` URIs parsed, formatted and joined, and
 * folders moved between disk and the S3 emulator as the local SageMaker moves them.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deleteObjectsUnder,
  downloadFolder,
  type Fingerprints,
  formatS3Uri,
  getObjectBytes,
  joinS3Uri,
  listKeys,
  parseS3Uri,
  putObjectBytes,
  s3Folder,
  tryParseS3Uri,
  uploadChangedFiles,
} from '../../../../lambdas/local/support/s3.ts';
import { useEmulators } from '../../../support/emulators.ts';

/** Bucket names as S3 allows them: lower-case letters, digits, dots and dashes. */
const bucketName = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/);
/** Any key, slashes, spaces and non-ASCII included. */
const objectKey = fc.string({ unit: 'grapheme', maxLength: 80 });

describe('parseS3Uri', () => {
  it('reads back the bucket and key of any URI it formats', () => {
    fc.assert(
      fc.property(bucketName, objectKey, (bucket, key) => {
        // Act
        const parsed = parseS3Uri(formatS3Uri({ bucket, key }));

        // Assess
        expect(parsed).toEqual({ bucket, key });
      }),
    );
  });

  it('reads back a key holding line breaks and line separators', () => {
    for (const key of ['a\nb', '\u2028', 'x/\r\n/y']) {
      expect(parseS3Uri(formatS3Uri({ bucket: 'b0', key }))).toEqual({ bucket: 'b0', key });
    }
  });

  it('refuses anything that is not an s3:// URI', () => {
    fc.assert(
      fc.property(
        fc.string().filter((text) => !text.startsWith('s3://')),
        (text) => {
          // Act & Assess
          expect(tryParseS3Uri(text)).toBeUndefined();
          expect(() => parseS3Uri(text)).toThrow(`not an S3 URI: ${text}`);
        },
      ),
    );
    expect(tryParseS3Uri('s3://')).toBeUndefined();
    expect(tryParseS3Uri('s3://bucket')).toEqual({ bucket: 'bucket', key: '' });
  });
});

describe('joinS3Uri and s3Folder', () => {
  it('joins a base and parts with single slashes, leaving out empty parts', () => {
    // Prepare
    const segment = fc.stringMatching(/^[a-z0-9-]{1,12}$/);
    fc.assert(
      fc.property(
        bucketName,
        fc.array(segment, { maxLength: 3 }),
        fc.constantFrom('', '/', '//'),
        fc.option(segment, { nil: undefined }),
        segment,
        (bucket, prefix, slashes, extension, file) => {
          // Act
          const base = `s3://${bucket}/${prefix.join('/')}${slashes}`;
          const joined = joinS3Uri(
            base,
            extension === undefined ? undefined : `/${extension}/`,
            `${file}.out`,
          );

          // Assess
          const expected = [...prefix, ...(extension === undefined ? [] : [extension]), `${file}.out`];
          expect(parseS3Uri(joined)).toEqual({ bucket, key: expected.join('/') });
        },
      ),
    );
  });

  it('reads a URI as a folder: its key ends with a slash, or is empty for the bucket', () => {
    expect(s3Folder('s3://bucket/runs/1/checkpoints')).toEqual({
      bucket: 'bucket',
      key: 'runs/1/checkpoints/',
    });
    expect(s3Folder('s3://bucket/runs/1/checkpoints/')).toEqual({
      bucket: 'bucket',
      key: 'runs/1/checkpoints/',
    });
    expect(s3Folder('s3://bucket')).toEqual({ bucket: 'bucket', key: '' });
  });
});

describe('folders between disk and S3', () => {
  const fixture = useEmulators();
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 's3-helper-test-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('uploads only what changed, skips what it is told to, and restores the folder elsewhere', async () => {
    // Prepare
    const s3 = fixture.clients.s3;
    const bucket = fixture.emulators.bucketName;
    const from = join(dir, 'from');
    await mkdir(join(from, 'nested'), { recursive: true });
    await writeFile(join(from, 'progress.json'), '{"epoch": 1}');
    await writeFile(join(from, 'nested', 'weights.pt'), 'weights-1');
    await writeFile(join(from, '.progress.json.tmp-1'), 'half-written');
    const folder = s3Folder(`s3://${bucket}/s3-helper/checkpoints`);
    const uploaded: string[] = [];
    const fingerprints: Fingerprints = new Map();
    const upload = () =>
      uploadChangedFiles(s3, from, folder, {
        fingerprints,
        skip: (path) => path.includes('.tmp'),
        onUploaded: (path) => uploaded.push(path),
      });

    // Act: upload, upload again unchanged, then change one file.
    await upload();
    const first = [...uploaded];
    await upload();
    const unchanged = uploaded.length;
    // A different size: changed, whatever the clock's resolution.
    await writeFile(join(from, 'progress.json'), '{"epoch": 22}');
    await upload();
    const into = join(dir, 'into');
    const restored: Fingerprints = new Map();
    const files = await downloadFolder(s3, folder, {
      targetOf: (object) => join(into, object.relativePath),
      fingerprints: restored,
    });

    // Assess
    expect(first.sort()).toEqual(['nested/weights.pt', 'progress.json']);
    expect(unchanged).toBe(2);
    expect(uploaded.slice(2)).toEqual(['progress.json']);
    expect(await listKeys(s3, folder)).toEqual([
      's3-helper/checkpoints/nested/weights.pt',
      's3-helper/checkpoints/progress.json',
    ]);
    expect(files).toBe(2);
    expect(await readFile(join(into, 'progress.json'), 'utf8')).toBe('{"epoch": 22}');
    expect(await readFile(join(into, 'nested', 'weights.pt'), 'utf8')).toBe('weights-1');
    expect([...restored.keys()].sort()).toEqual(['nested/weights.pt', 'progress.json']);
  });

  it('puts, gets and deletes objects under a prefix, and nothing outside it', async () => {
    // Prepare
    const s3 = fixture.clients.s3;
    const bucket = fixture.emulators.bucketName;
    await putObjectBytes(s3, { bucket, key: 'staging/out/1.out' }, Buffer.from('one'), 'text/plain');
    await putObjectBytes(s3, { bucket, key: 'staging/out/2.out' }, Buffer.from('two'), 'text/plain');
    await putObjectBytes(s3, { bucket, key: 'staging/kept.out' }, Buffer.from('kept'), 'text/plain');

    // Act
    const body = await getObjectBytes(s3, parseS3Uri(`s3://${bucket}/staging/out/2.out`));
    const removed = await deleteObjectsUnder(s3, { bucket, key: 'staging/out/' });

    // Assess
    expect(Buffer.from(body).toString('utf8')).toBe('two');
    expect(removed).toBe(2);
    expect(await listKeys(s3, { bucket, key: 'staging/' })).toEqual(['staging/kept.out']);
  });
});
