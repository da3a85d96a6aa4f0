/** `synthforge profiles …` against the local platform, in process: create from a batch, read back, and the errors. */
import { beforeAll, describe, expect, it } from 'vitest';
import { usePlatform } from '../../../test/support/platform.ts';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { runInProcess } from '../support/cli.ts';
import { devClient, finishedImageBatch, greyPng } from '../support/datasets.ts';

const fixture = usePlatform();
let batchId: string;

const cli = (argv: string[]) =>
  runInProcess(argv, {
    env: { SYNTHFORGE_API_URL: fixture.platform.url, SYNTHFORGE_API_KEY: fixture.platform.devKey },
  });

beforeAll(async () => {
  // Prepare: a finished batch of two 64 × 72 images.
  batchId = await finishedImageBatch(devClient(fixture), ['amber stars', 'teal circles'], {
    width: 64,
    height: 72,
  });
});

describe('synthforge profiles', () => {
  it('says how to create one while there is none', async () => {
    const run = await cli(['profiles', 'list']);
    expect(run.code, run.stderr).toBe(EXIT.ok);
    expect(run.stdout).toBe('No profiles yet; create one with: synthforge profiles create NAME --batch ID\n');
  });

  it('creates a profile from a batch, waits for it, and reads it back', async () => {
    // Act
    const created = await cli(['profiles', 'create', 'two_shapes', '--batch', batchId]);
    const shown = await cli(['profiles', 'show', 'two_shapes', '--json']);
    const listed = await cli(['profiles', 'list']);

    // Assess
    expect(created.code, created.stderr).toBe(EXIT.ok);
    expect(created.stdout).toMatch(
      new RegExp(
        [
          '^name: {10}two_shapes',
          'images: {8}2',
          `source: {8}batch ${batchId}`,
          'colour means: {2}red [0-9.]+, green [0-9.]+, blue [0-9.]+',
          'brightness: {4}[0-9.]+ ± [0-9.]+',
          'contrast: {6}[0-9.]+ ± [0-9.]+',
          'resolution: {4}64×72 \\(mean\\)',
          '',
        ].join('\\n'),
      ),
    );
    expect(created.stderr).toMatch(/job [0-9A-Z]{26}: completed 100%/);
    const profile = JSON.parse(shown.stdout) as {
      sample_count: number;
      statistics: { brightness_mean: number };
    };
    expect(profile).toMatchObject({ name: 'two_shapes', sample_count: 2, source: { batch_id: batchId } });
    expect(created.stdout).toContain(
      `brightness:    ${Math.round(profile.statistics.brightness_mean * 1000) / 1000} ±`,
    );
    expect(listed.stdout).toMatch(
      /^NAME {8}IMAGES {2}CREATED {15}PATH\ntwo_shapes {2}2 {7}\d{4}-\d\d-\d\d [\d:]{8}Z {2}s3:\/\//,
    );
  });

  it('prints the started job with --no-wait', async () => {
    // Act
    const run = await cli(['profiles', 'create', 'later', '--batch', batchId, '--no-wait']);

    // Assess
    expect(run.code, run.stderr).toBe(EXIT.ok);
    expect(run.stdout).toMatch(
      /^Profile later \(2 images\) runs as job ([0-9A-Z]{26}): follow it with synthforge jobs show \1\n$/,
    );
    // The job goes on without the command; it ends before the platform stops.
    const jobId = /job ([0-9A-Z]{26})/.exec(run.stdout)?.[1] ?? '';
    const client = devClient(fixture);
    await expect(client.waitForDatasetJob(jobId, { pollMs: 25 })).resolves.toMatchObject({ name: 'later' });
  });

  it('exits 1 with the job error when the profile job fails', async () => {
    // Prepare: a dataset whose one "image" is not one.
    await fixture.platform.runtime.blobs.put(
      'dev/broken/one.png',
      new TextEncoder().encode('no png'),
      'image/png',
    );

    // Act
    const run = await cli(['profiles', 'create', 'broken', '--prefix', 'broken/']);

    // Assess
    expect(run.code).toBe(EXIT.jobsFailed);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      /error: the image-profile job ([0-9A-Z]{26}) ended failed: s3:\/\/\S+\/dev\/broken\/one\.png: the image is not a PNG, JPEG, GIF or WebP image\n {2}see the job with: synthforge jobs show \1\n$/,
    );
  });

  it("exits 2 for a profile that does not exist, and for another tenant's prefix", async () => {
    // Prepare
    const { blobs } = fixture.platform.runtime;
    await blobs.put('acme/uploads/theirs.png', greyPng(8, 8, 0), 'image/png');

    // Act
    const missing = await cli(['profiles', 'show', 'nothing_here']);
    const theirs = await cli([
      'profiles',
      'create',
      'stolen',
      '--prefix',
      `s3://${blobs.bucket}/acme/uploads/`,
      '--json',
    ]);

    // Assess
    expect(missing.code).toBe(EXIT.usage);
    expect(missing.stderr).toMatch(/^error: .*nothing_here.* \(HTTP 404, NOT_FOUND/);
    expect(theirs.code).toBe(EXIT.usage);
    expect(JSON.parse(theirs.stderr)).toMatchObject({
      error: { status: 404, code: 'NOT_FOUND', exit_code: 2 },
    });
  });

  it('exits 2 without asking the server unless exactly one of --batch and --prefix is given', async () => {
    // Act
    const neither = await cli(['profiles', 'create', 'x']);
    const both = await cli(['profiles', 'create', 'x', '--batch', batchId, '--prefix', 'uploads/']);

    // Assess
    for (const run of [neither, both]) {
      expect(run.code).toBe(EXIT.usage);
      expect(run.stderr).toContain('error: give the images with either --batch ID or --prefix PREFIX');
    }
  });
});
