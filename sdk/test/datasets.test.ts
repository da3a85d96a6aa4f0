/**
 * Seed 001's dataset routes from TypeScript, over HTTP against the local platform: one image's
 * quality, a batch's validation and profile as jobs followed to their result, and JSONL exports
 * answered at once or as a job, read back through their links.
 */
import { deflateSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { usePlatform } from '../../test/support/platform.ts';
import type { ApiClient } from '../src/api-client.ts';
import { isDatasetJobAccepted } from '../src/dataset-jobs.ts';
import { SynthForgeError } from '../src/errors.ts';
import { devClient, finishedImageBatch, greyPng } from './support/datasets.ts';

// An export of more than one image runs as a job, so that both of its answers can be seen here.
const fixture = usePlatform({ datasets: { syncExportLimit: 1 } });
let client: ApiClient;
let batchId: string;

beforeAll(async () => {
  client = devClient(fixture);
  // Prepare: a batch of two generated images, the dataset of the profile and export tests.
  batchId = await finishedImageBatch(client, ['amber stars', 'teal circles']);
});

/** The lines of an exported file, read from the data bucket by the `s3://` URI the export answers. */
async function exportedLines(
  outputFile: string,
): Promise<{ size: number; lines: Record<string, unknown>[] }> {
  const { blobs } = fixture.platform.runtime;
  const key = outputFile.slice(`s3://${blobs.bucket}/`.length);
  const bytes = await blobs.get(key);
  if (!bytes) throw new Error(`${outputFile} was not written`);
  const text = new TextDecoder().decode(bytes);
  return {
    size: bytes.byteLength,
    lines: text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line)),
  };
}

async function failureOf(promise: Promise<unknown>): Promise<SynthForgeError> {
  const error = await promise.catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(SynthForgeError);
  return error as SynthForgeError;
}

describe('validateImageQuality', () => {
  it("measures a generated image by its path and by its job's id", async () => {
    // Prepare
    const image = await client.generateImage({ prompt: 'vivid stars', width: 96, height: 64, seed: 4 });
    if (!('image_url' in image)) throw new Error(`expected the image, got ${JSON.stringify(image)}`);

    // Act
    const byPath = await client.validateImageQuality({ image_path: image.image_path });
    const byJob = await client.validateImageQuality({
      image_path: image.job_id,
      metrics: ['sharpness', 'noise'],
    });

    // Assess
    expect(byPath).toMatchObject({ image_path: image.image_path, width: 96, height: 64 });
    expect(Object.keys(byPath.metrics).sort()).toEqual([
      'brightness',
      'colourfulness',
      'contrast',
      'noise_level',
      'sharpness',
    ]);
    expect(byPath.quality_score).toBeGreaterThanOrEqual(0);
    expect(byPath.quality_score).toBeLessThanOrEqual(1);
    expect(byPath.passed).toBe(byPath.checks.every((check) => check.passed));
    // The seed's `noise` is the answer's noise_level; only what was asked for is measured.
    expect(Object.keys(byJob.metrics).sort()).toEqual(['noise_level', 'sharpness']);
    expect(byJob.metrics.sharpness).toBe(byPath.metrics.sharpness);
  });

  it('fails a flat upload on sharpness, and applies the thresholds given', async () => {
    // Prepare: an upload under the tenant's prefix, as a presigned PUT leaves it.
    const { blobs } = fixture.platform.runtime;
    await blobs.put('dev/uploads/flat.png', greyPng(32, 32, 128), 'image/png');
    const imagePath = `s3://${blobs.bucket}/dev/uploads/flat.png`;

    // Act
    const strict = await client.validateImageQuality({ image_path: imagePath });
    const lenient = await client.validateImageQuality({
      image_path: imagePath,
      metrics: ['brightness'],
      thresholds: { brightness_min: 0.4, brightness_max: 0.6 },
    });

    // Assess
    expect(strict.metrics).toMatchObject({ sharpness: 0, contrast: 0, colourfulness: 0 });
    expect(strict.passed).toBe(false);
    expect(strict.checks.find((check) => check.metric === 'sharpness')).toMatchObject({
      comparison: 'min',
      passed: false,
    });
    expect(lenient.passed).toBe(true);
    expect(lenient.checks.map((check) => [check.metric, check.comparison, check.threshold])).toEqual(
      expect.arrayContaining([
        ['brightness', 'min', 0.4],
        ['brightness', 'max', 0.6],
      ]),
    );
  });

  it("answers 404 for another tenant's image, exactly as for a missing one", async () => {
    // Prepare
    const { blobs } = fixture.platform.runtime;
    await blobs.put('acme/uploads/theirs.png', greyPng(8, 8, 10), 'image/png');

    // Act
    const theirs = await failureOf(
      client.validateImageQuality({ image_path: `s3://${blobs.bucket}/acme/uploads/theirs.png` }),
    );
    const missing = await failureOf(
      client.validateImageQuality({ image_path: `s3://${blobs.bucket}/dev/uploads/nothing.png` }),
    );

    // Assess
    expect(theirs).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    expect(missing).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    expect(theirs.message.replace('acme/uploads/theirs', 'X')).toBe(
      missing.message.replace('dev/uploads/nothing', 'X'),
    );
  });
});

describe('dataset jobs', () => {
  it("validates a batch as a job and reads the report through the job's result_url", async () => {
    // Act
    const accepted = await client.validateImageBatch({ dataset_dir: batchId, privacy: false });
    const report = await client.waitForDatasetJob(accepted, { pollMs: 25 });

    // Assess
    expect(accepted).toMatchObject({ kind: 'image-validation', image_count: 2 });
    if (!('images' in report)) throw new Error(`expected a validation report, got ${JSON.stringify(report)}`);
    expect(report.image_count).toBe(2);
    expect(report.passed_count + report.failed_count).toBe(2);
    expect(report.images.map((image) => image.quality?.width)).toEqual([64, 64]);
    expect(report.diversity?.pairs).toBe(1);
    expect(report.privacy).toBeUndefined();
  });

  it('creates a profile from a batch and reads it back', async () => {
    // Act
    const accepted = await client.createProfile({ name: 'two_shapes', source: { batch_id: batchId } });
    const progress: string[] = [];
    const profile = await client.waitForDatasetJob(
      { job_id: accepted.job_id, kind: 'image-profile' },
      { pollMs: 25, onProgress: (job) => progress.push(job.status) },
    );
    const read = await client.getProfile('two_shapes');
    const list = await client.listProfiles();

    // Assess
    expect(accepted.kind).toBe('image-profile');
    expect(progress.at(-1)).toBe('completed');
    expect(profile).toMatchObject({ name: 'two_shapes', sample_count: 2, source: { batch_id: batchId } });
    expect(profile.statistics.resolution).toEqual({ width_mean: 64, height_mean: 64 });
    expect(read.statistics).toEqual(profile.statistics);
    expect(list.profiles).toContainEqual(
      expect.objectContaining({ name: 'two_shapes', sample_count: 2, path: profile.path }),
    );
  });

  it('answers 404 for a profile that does not exist', async () => {
    const error = await failureOf(client.getProfile('no_such_profile'));
    expect(error).toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });

  it('throws the job error of a profile job that failed', async () => {
    // Prepare: a dataset whose one "image" is no image.
    const { blobs } = fixture.platform.runtime;
    const broken = new Uint8Array([0x89, 0x50, 0x4e, 0x47, ...deflateSync(Buffer.from('not a png'))]);
    await blobs.put('dev/broken/one.png', broken, 'image/png');

    // Act
    const accepted = await client.createProfile({ name: 'broken', source: { s3_prefix: 'broken/' } });
    const error = await client.waitForDatasetJob(accepted, { pollMs: 25 }).catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({
      name: 'DatasetJobError',
      jobId: accepted.job_id,
      code: 'INVALID_PARAMETERS',
      job: { status: 'failed' },
    });
    expect((error as Error).message).toBe(
      `the image-profile job ${accepted.job_id} ended failed: s3://${blobs.bucket}/dev/broken/one.png: the image is not a PNG, JPEG, GIF or WebP image`,
    );
  });
});

describe('exportJsonl', () => {
  it('writes a one-image dataset within the request', async () => {
    // Prepare
    await fixture.platform.runtime.blobs.put('dev/single/grey.png', greyPng(16, 8, 90), 'image/png');

    // Act
    const answer = await client.exportJsonl({ dataset_dir: 'single/', output_file: 'single.jsonl' });

    // Assess
    if (isDatasetJobAccepted(answer)) throw new Error(`expected the export, got ${JSON.stringify(answer)}`);
    expect(answer).toMatchObject({ status: 'success', exported_count: 1 });
    expect(answer.output_file).toMatch(/\/dev\/exports\/single\.jsonl$/);
    const { size, lines } = await exportedLines(answer.output_file);
    expect(size).toBe(answer.file_size_bytes);
    expect(lines).toEqual([
      expect.objectContaining({ file_name: 'grey.png', width: 16, height: 8, content_type: 'image/png' }),
    ]);
  });

  it('runs a larger export as a job whose result is the export, without metadata when asked', async () => {
    // Act
    const answer = await client.exportJsonl({
      dataset_dir: batchId,
      output_file: 'batch.jsonl',
      include_metadata: false,
    });
    if (!isDatasetJobAccepted(answer)) throw new Error(`expected a job, got ${JSON.stringify(answer)}`);
    const result = await client.waitForDatasetJob(answer, { pollMs: 25 });

    // Assess
    expect(answer).toMatchObject({ kind: 'image-export', image_count: 2 });
    if (!('exported_count' in result))
      throw new Error(`expected a JSONL export, got ${JSON.stringify(result)}`);
    expect(result.exported_count).toBe(2);
    const { lines } = await exportedLines(result.output_file);
    expect(lines).toHaveLength(2);
    expect(lines.every((line) => line.metadata === undefined && typeof line.sha256 === 'string')).toBe(true);
  });
});
