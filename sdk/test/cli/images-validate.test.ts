/**
 * `synthforge images validate` against the local platform, in process: one image's quality and
 * privacy, a batch validated as a job, and what each says and exits with. The option parsers are
 * checked on their own with property tests.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { usePlatform } from '../../../test/support/platform.ts';
import { metricsOf, thresholdsOf } from '../../src/cli/commands/images-validate.ts';
import { EXIT, UsageError } from '../../src/cli/exit-codes.ts';
import { runInProcess } from '../support/cli.ts';
import { devClient, finishedImageBatch, greyPng } from '../support/datasets.ts';

const fixture = usePlatform();
let bucket: string;
let flatPath: string;
let batchId: string;

const cli = (argv: string[]) =>
  runInProcess(argv, {
    env: { SYNTHFORGE_API_URL: fixture.platform.url, SYNTHFORGE_API_KEY: fixture.platform.devKey },
  });

beforeAll(async () => {
  // Prepare: an upload of the dev tenant, one of another tenant, and a finished batch of two images.
  const { blobs } = fixture.platform.runtime;
  bucket = blobs.bucket;
  await blobs.put('dev/uploads/flat.png', greyPng(48, 32, 128), 'image/png');
  await blobs.put('acme/uploads/theirs.png', greyPng(48, 32, 128), 'image/png');
  flatPath = `s3://${bucket}/dev/uploads/flat.png`;
  batchId = await finishedImageBatch(devClient(fixture), ['amber stars', 'teal circles']);
});

describe('synthforge images validate PATH', () => {
  it('prints each metric against its threshold and exits 1 for an image that fails', async () => {
    // Act
    const run = await cli(['images', 'validate', flatPath]);

    // Assess
    expect(run.code, run.stderr).toBe(EXIT.jobsFailed);
    expect(run.stdout).toMatch(new RegExp(`^Quality of ${flatPath} \\(48×32\\): FAILED, score [0-9.]+\\n`));
    expect(run.stdout).toMatch(/\n {2}METRIC +VALUE +THRESHOLD +RESULT\n/);
    expect(run.stdout).toMatch(/\n {2}sharpness +0 +≥ 100 +FAIL\n/);
    expect(run.stdout).toMatch(/\n {2}brightness +0\.50\d* +≥ 0\.1, ≤ 0\.9 +ok\n/);
    expect(run.stderr).toBe('');
  });

  it('measures only the metrics named, against the thresholds given, and exits 0 when they pass', async () => {
    // Act
    const run = await cli([
      'images',
      'validate',
      flatPath,
      '--metrics',
      'brightness,contrast',
      '--threshold',
      'brightness_min=0.4',
      '--threshold',
      'contrast_min=0',
      '--json',
    ]);

    // Assess
    expect(run.code, run.stderr).toBe(EXIT.ok);
    const report = JSON.parse(run.stdout) as { passed: boolean; metrics: Record<string, number> };
    expect(report.passed).toBe(true);
    expect(Object.keys(report.metrics).sort()).toEqual(['brightness', 'contrast']);
  });

  it("measures a generated image by its job's id", async () => {
    // Prepare
    const batch = await cli(['images', 'status', batchId, '--json']);
    const jobId = (JSON.parse(batch.stdout) as { images: { job_id: string }[] }).images[0]?.job_id ?? '';

    // Act
    const run = await cli(['images', 'validate', jobId, '--json']);

    // Assess
    const report = JSON.parse(run.stdout) as { image_path: string; width: number; passed: boolean };
    expect(report).toMatchObject({ image_path: jobId, width: 64, height: 64 });
    expect(run.code).toBe(report.passed ? EXIT.ok : EXIT.jobsFailed);
  });

  it('checks privacy and quality together with --all', async () => {
    // Act
    const run = await cli(['images', 'validate', flatPath, '--all', '--no-text']);
    const json = await cli(['images', 'validate', flatPath, '--privacy', '--no-text', '--json']);

    // Assess: no face on a flat image, and text was not looked for.
    expect(run.code).toBe(EXIT.jobsFailed);
    expect(run.stdout).toContain(`\nPrivacy of ${flatPath}: passed, score 100/100 (bundled detectors)\n`);
    expect(run.stdout).toContain('  0 faces, text none, personal data none');
    expect(json.code, json.stderr).toBe(EXIT.ok);
    expect(JSON.parse(json.stdout)).toMatchObject({ faces_detected: 0, issues: [], passed: true });
  });

  it("exits 2 with the server's 404 for another tenant's image, as for a missing one", async () => {
    // Act
    const theirs = await cli(['images', 'validate', `s3://${bucket}/acme/uploads/theirs.png`]);
    const missing = await cli(['images', 'validate', `s3://${bucket}/dev/uploads/none.png`, '--json']);

    // Assess
    expect(theirs.code).toBe(EXIT.usage);
    expect(theirs.stdout).toBe('');
    expect(theirs.stderr).toContain(
      `error: image "s3://${bucket}/acme/uploads/theirs.png" was not found (HTTP 404, NOT_FOUND`,
    );
    expect(missing.code).toBe(EXIT.usage);
    expect(JSON.parse(missing.stderr)).toMatchObject({
      error: { code: 'NOT_FOUND', status: 404, exit_code: 2 },
    });
  });

  it('exits 2 without asking the server for a PATH and --batch together, or neither', async () => {
    // Act
    const both = await cli(['images', 'validate', flatPath, '--batch', batchId]);
    const neither = await cli(['images', 'validate']);
    const badThreshold = await cli(['images', 'validate', flatPath, '--threshold', 'sharpness']);

    // Assess
    for (const run of [both, neither, badThreshold]) expect(run.code).toBe(EXIT.usage);
    expect(both.stderr).toContain('error: give either an image PATH or --batch ID, not both and not neither');
    expect(badThreshold.stderr).toContain(
      'error: --threshold takes NAME=NUMBER, such as sharpness_min=50, got "sharpness"',
    );
  });
});

describe('synthforge images validate --batch', () => {
  /** `images validate --batch BATCH --quality` with the flags given, on the batch of two images. */
  const validateQuality = (...flags: string[]) =>
    cli(['images', 'validate', '--batch', batchId, '--quality', ...flags]);

  it("waits for the job, prints the report's summary and exits 1 when an image fails", async () => {
    // Act
    const run = await validateQuality('--threshold', 'sharpness_min=1e6');

    // Assess
    expect(run.code, run.stderr).toBe(EXIT.jobsFailed);
    expect(run.stdout).toMatch(new RegExp(`^Validation of ${batchId}: FAILED, 0 of 2 images passed\n`));
    expect(run.stdout).toMatch(
      /\n {2}quality: 0 passed, mean score [0-9.]+; means: sharpness [0-9.]+, contrast /,
    );
    expect(run.stdout).toMatch(/\n {2}diversity: [0-9.]+ \(mean pairwise SSIM [0-9.]+ over 1 pair\)\n/);
    expect(run.stdout).not.toContain('privacy:');
    const failed = run.stdout.split('Failed:\n')[1]?.trimEnd().split('\n') ?? [];
    expect(failed).toHaveLength(2);
    for (const line of failed) {
      expect(line).toMatch(
        new RegExp(`^ {2}s3://${bucket}/dev/jobs/[0-9A-Z]{26}/image\\.png: .*sharpness [0-9.]+ < 1000000`),
      );
    }
    expect(run.stderr).toMatch(/job [0-9A-Z]{26}: completed 100% \(0 of 2 images passed\)\n$/);
  });

  it('exits 0 when every image passes', async () => {
    // Act
    const run = await validateQuality(
      '--metrics',
      'brightness',
      '--threshold',
      'brightness_min=0',
      '--threshold',
      'quality_score_min=0',
    );

    // Assess
    expect(run.code, run.stderr).toBe(EXIT.ok);
    expect(run.stdout).toMatch(new RegExp(`^Validation of ${batchId}: passed, 2 of 2 images passed\n`));
    expect(run.stdout).not.toContain('Failed:');
  });

  it('prints the started job with --no-wait', async () => {
    // Act
    const run = await validateQuality('--no-wait', '--json');

    // Assess
    expect(run.code, run.stderr).toBe(EXIT.ok);
    const accepted = JSON.parse(run.stdout) as { job_id: string };
    expect(accepted).toMatchObject({ kind: 'image-validation', image_count: 2 });
    // The job goes on without the command; it ends before the platform stops.
    const client = devClient(fixture);
    await expect(client.waitForDatasetJob(accepted.job_id, { pollMs: 25 })).resolves.toMatchObject({
      image_count: 2,
    });
  });

  it("exits 2 for another tenant's prefix", async () => {
    const run = await cli(['images', 'validate', '--batch', `s3://${bucket}/acme/uploads/`]);
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toMatch(/^error: .*\(HTTP 404, NOT_FOUND/);
  });
});

describe('option parsers', () => {
  const name = fc.stringMatching(/^[a-z_]{1,20}$/);

  it('reads comma-separated and repeated --metrics in order, ignoring empty entries', () => {
    fc.assert(
      fc.property(fc.array(fc.array(name, { maxLength: 4 }), { maxLength: 4 }), (groups) => {
        const flags = groups.map((group) => group.join(','));
        const names = groups.flat();
        expect(metricsOf(flags)).toEqual(names.length === 0 ? undefined : names);
      }),
    );
  });

  it('keeps a threshold named __proto__ as a key, for the server to refuse, rather than dropping it', () => {
    // The case fast-check found: an assignment to `__proto__` on a plain object sets no key.
    expect(Object.keys(thresholdsOf(['__proto__=0']) ?? {})).toEqual(['__proto__']);
  });

  it('reads every NAME=NUMBER --threshold, and refuses anything else', () => {
    fc.assert(
      fc.property(
        name,
        fc.double({ noNaN: true, noDefaultInfinity: true }).filter((v) => !Object.is(v, -0)),
        (key, value) => {
          expect(thresholdsOf([`${key}=${value}`])).toEqual({ [key]: value });
        },
      ),
    );
    fc.assert(
      fc.property(
        fc.string().filter((text) => !/^[a-z_]+=.*[0-9]/.test(text.trim())),
        (text) => {
          expect(() => thresholdsOf([text])).toThrow(UsageError);
        },
      ),
    );
  });
});
