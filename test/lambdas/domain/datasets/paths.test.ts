/**
 * The reading of image paths and dataset names, over any input: whatever is given, a key or prefix
 * it yields is the tenant's (`<tenant>/` and safe segments); `..`, absolute paths and other tenants'
 * prefixes never yield one; a valid relative name comes back as the prefix it names.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  imageContentType,
  imageTypeOfName,
  isSafeRelativePath,
  parseDatasetDir,
  parseImagePath,
} from '../../../../lambdas/domain/datasets/paths.ts';

const BUCKET = 'synthforge-data';
const tenant = fc.stringMatching(/^[a-z0-9][a-z0-9-]{1,20}$/);
/** A segment S3 and the local store read alike: not empty, `.` or `..`, no slash, backslash or control character. */
const segment = fc
  .string({ minLength: 1, maxLength: 12, unit: 'grapheme' })
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it leaves out
  .filter((s) => !/[/\\\u0000-\u001f\u007f]/.test(s) && s !== '.' && s !== '..' && !/^[A-Za-z]:/.test(s));
const relativePath = fc.array(segment, { minLength: 1, maxLength: 5 }).map((segments) => segments.join('/'));
/** Any text, weighted toward the characters paths are made of. */
const anyPath = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc
    .array(fc.constantFrom('a', '/', '.', '..', 's3:', '', '\\', 'acme', 'x.png'), { maxLength: 8 })
    .map((parts) => parts.join('/')),
);

/** The key or prefix a parse yields, if any. */
function yielded(
  form: ReturnType<typeof parseImagePath> | ReturnType<typeof parseDatasetDir>,
): string | undefined {
  if (form.form === 's3') return form.key;
  if (form.form === 'prefix' || form.form === 'job') return 'prefix' in form ? form.prefix : undefined;
  return undefined;
}

describe('parseDatasetDir and parseImagePath', () => {
  it('yield only keys under the tenant, with safe segments, whatever the input', () => {
    fc.assert(
      fc.property(tenant, anyPath, fc.boolean(), (own, path, asUri) => {
        // Prepare
        const input = asUri ? `s3://${BUCKET}/${path}` : path;

        // Act
        const keys = [
          yielded(parseDatasetDir(own, BUCKET, input)),
          yielded(parseImagePath(own, BUCKET, input)),
        ];

        // Assess
        for (const key of keys) {
          if (key === undefined) continue;
          expect(key.startsWith(`${own}/`)).toBe(true);
          const rest = key.slice(own.length + 1).replace(/\/$/, '');
          expect(rest === '' || isSafeRelativePath(rest)).toBe(true);
        }
      }),
    );
  });

  it('never yield a key for a path with a `..` segment', () => {
    fc.assert(
      fc.property(
        tenant,
        fc.array(segment, { maxLength: 3 }),
        fc.array(segment, { maxLength: 3 }),
        (own, before, after) => {
          // Prepare
          const path = [...before, '..', ...after].join('/');

          // Act
          const forms = [
            parseDatasetDir(own, BUCKET, path),
            parseDatasetDir(own, BUCKET, `s3://${BUCKET}/${own}/${path}`),
            parseImagePath(own, BUCKET, `s3://${BUCKET}/${own}/${path}`),
          ];

          // Assess
          expect(forms.map(yielded)).toEqual([undefined, undefined, undefined]);
        },
      ),
    );
  });

  it('never yield a key for an absolute path', () => {
    fc.assert(
      fc.property(tenant, relativePath, (own, path) => {
        // Act
        const forms = [parseDatasetDir(own, BUCKET, `/${path}`), parseImagePath(own, BUCKET, `/${path}`)];

        // Assess
        expect(forms.map((form) => form.form)).toEqual(['unknown', 'unknown']);
      }),
    );
  });

  it('answer another tenant’s prefix, even one that starts with the tenant’s name, as foreign', () => {
    fc.assert(
      fc.property(tenant, tenant, fc.constantFrom('', '-x', 'x'), relativePath, (own, base, suffix, path) => {
        // Prepare: "acme-x" is not "acme"'s, though its keys start with "acme".
        const other = `${base}${suffix}`;
        fc.pre(other !== own);
        const uri = `s3://${BUCKET}/${other}/${path}`;

        // Act
        const forms = [parseDatasetDir(own, BUCKET, uri), parseImagePath(own, BUCKET, uri)];

        // Assess
        expect(forms.map((form) => form.form)).toEqual(['foreign', 'foreign']);
      }),
    );
  });

  it('answer another bucket as foreign', () => {
    fc.assert(
      fc.property(tenant, relativePath, (own, path) => {
        // Act
        const form = parseImagePath(own, BUCKET, `s3://other-bucket/${own}/${path}`);

        // Assess
        expect(form.form).toBe('foreign');
      }),
    );
  });

  it('give back the folder a valid relative name or the tenant’s s3:// URI names', () => {
    fc.assert(
      fc.property(tenant, relativePath, fc.boolean(), (own, path, slash) => {
        // Prepare
        const written = slash ? `${path}/` : path;

        // Act
        const relative = parseDatasetDir(own, BUCKET, written);
        const uri = parseDatasetDir(own, BUCKET, `s3://${BUCKET}/${own}/${written}`);
        const image = parseImagePath(own, BUCKET, `s3://${BUCKET}/${own}/${path}`);

        // Assess
        expect(yielded(relative)).toBe(`${own}/${path}/`);
        expect(yielded(uri)).toBe(`${own}/${path}/`);
        expect(image).toEqual({ form: 's3', key: `${own}/${path}` });
      }),
    );
  });

  it('read a job id, and a job id with an entry, as a job and a frame', () => {
    fc.assert(
      fc.property(
        tenant,
        fc.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/),
        relativePath,
        (own, jobId, entry) => {
          // Act
          const job = parseImagePath(own, BUCKET, jobId);
          const frame = parseImagePath(own, BUCKET, `${jobId}/${entry}`);
          const dataset = parseDatasetDir(own, BUCKET, jobId);

          // Assess
          expect(job).toEqual({ form: 'job', jobId });
          expect(frame).toEqual({ form: 'frame', jobId, entry });
          expect(dataset).toEqual({ form: 'job', jobId, prefix: `${own}/${jobId}/` });
        },
      ),
    );
  });

  it('take the tenant’s whole data for its bare s3:// URI', () => {
    // Act
    const forms = ['acme', 'acme/'].map((key) => parseDatasetDir('acme', BUCKET, `s3://${BUCKET}/${key}`));

    // Assess
    expect(forms).toEqual([
      { form: 'prefix', prefix: 'acme/' },
      { form: 'prefix', prefix: 'acme/' },
    ]);
  });
});

describe('image types', () => {
  it('come from the extension in any case, and from an image content type', () => {
    // Act
    const byName = ['a.PNG', 'b.jpeg', 'c.JPG', 'd.gif', 'e.webp', 'f.tiff', 'g', 'png'].map(imageTypeOfName);
    const byType = ['image/png; charset=binary', 'IMAGE/JPEG', 'image/svg+xml', undefined].map(
      imageContentType,
    );

    // Assess
    expect(byName).toEqual([
      'image/png',
      'image/jpeg',
      'image/jpeg',
      'image/gif',
      'image/webp',
      undefined,
      undefined,
      undefined,
    ]);
    expect(byType).toEqual(['image/png', 'image/jpeg', undefined, undefined]);
  });
});
