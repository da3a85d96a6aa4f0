/**
 * The S3 export over a destination in memory that fails as a test says: the objects, metadata.jsonl
 * and the manifest it writes; its retries of transient failures only; how quickly it stops on a
 * refusal every object would meet; and the checks of its request.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../../lambdas/domain/errors.ts';
import {
  DestinationError,
  type ExportDestination,
  type PutOptions,
} from '../../../../lambdas/domain/exports/ports.ts';
import {
  checkS3ExportRequest,
  exportToS3,
  isValidBucketName,
  normalizeS3Prefix,
} from '../../../../lambdas/domain/exports/s3-export.ts';
import { aWorld, type World } from '../datasets/dataset-fixtures.ts';

interface Put {
  bucket: string;
  key: string;
  bytes: Uint8Array;
  contentType: string;
  options: PutOptions;
}

/** A destination in memory; `failWith(key, attempt)` may throw for a write. */
class FakeDestination implements ExportDestination {
  readonly attempts: Put[] = [];
  readonly objects = new Map<string, Put>();

  constructor(
    private readonly failWith: (key: string, attempt: number) => DestinationError | undefined = () =>
      undefined,
  ) {}

  async put(
    bucket: string,
    key: string,
    bytes: Uint8Array,
    contentType: string,
    options: PutOptions,
  ): Promise<void> {
    const put = { bucket, key, bytes, contentType, options };
    this.attempts.push(put);
    const attempt = this.attempts.filter((earlier) => earlier.key === key).length;
    const error = this.failWith(key, attempt);
    if (error) throw error;
    this.objects.set(`${bucket}/${key}`, put);
  }

  json(key: string): unknown {
    const put = this.objects.get(key);
    return put ? JSON.parse(new TextDecoder().decode(put.bytes)) : undefined;
  }
}

const slowDown = () =>
  new DestinationError('throttled', 'SlowDown (503): Please reduce your request rate.', true);
const accessDenied = () =>
  new DestinationError('access_denied', 'AccessDenied (403): Access Denied [bucket b]', false);

function depsOf(world: World, destination: ExportDestination) {
  const sleeps: number[] = [];
  return {
    deps: {
      ...world.deps,
      destination,
      clock: { now: () => new Date('2026-05-01T12:00:00.000Z') },
      sleep: async (ms: number) => void sleeps.push(ms),
      random: () => 0.5,
    },
    sleeps,
  };
}

async function aBatchOfImages(world: World, count: number) {
  const batch = world.aBatch();
  const jobs = [];
  for (let i = 0; i < count; i++) jobs.push(await world.anImageJob({ batchId: batch.id }));
  return { batch, jobs };
}

const REQUEST = { s3_prefix: 'datasets/nature/v1', include_metadata: true, public_read: false };

describe('exportToS3', () => {
  it('writes each image with its SHA-256, then metadata.jsonl, then the manifest', async () => {
    // Prepare
    const world = aWorld();
    const { batch, jobs } = await aBatchOfImages(world, 3);
    const destination = new FakeDestination();
    const { deps } = depsOf(world, destination);

    // Act
    const result = await exportToS3(deps, world.tenant, {
      ...REQUEST,
      dataset_dir: batch.id,
      bucket_name: 'my-synthetic-data',
    });

    // Assess
    const imageKeys = jobs.map((job) => `datasets/nature/v1/${job.id}.png`);
    expect(destination.attempts.map((put) => put.key)).toEqual([
      ...imageKeys,
      'datasets/nature/v1/metadata.jsonl',
      'datasets/nature/v1/manifest.json',
    ]);
    const total = jobs.reduce((sum, job) => sum + (job.result?.bytes ?? 0), 0);
    expect(result).toEqual({
      status: 'success',
      uploaded_count: 3,
      failed_count: 0,
      total_size_bytes: total,
      bucket_name: 'my-synthetic-data',
      s3_prefix: 'datasets/nature/v1',
      manifest_url: 's3://my-synthetic-data/datasets/nature/v1/manifest.json',
      retries: 0,
    });
    const first = destination.objects.get(`my-synthetic-data/${imageKeys[0]}`);
    expect(first?.options).toEqual({
      publicRead: false,
      sha256Base64: createHash('sha256')
        .update(first?.bytes ?? new Uint8Array())
        .digest('base64'),
    });
    expect(destination.json('my-synthetic-data/datasets/nature/v1/manifest.json')).toEqual({
      created_at: '2026-05-01T12:00:00.000Z',
      source: batch.id,
      count: 3,
      total_size_bytes: total,
      objects: imageKeys.map((key, index) => ({
        key,
        size_bytes: jobs[index]?.result?.bytes,
        sha256: createHash('sha256')
          .update(destination.objects.get(`my-synthetic-data/${key}`)?.bytes ?? new Uint8Array())
          .digest('hex'),
        content_type: 'image/png',
      })),
      metadata_key: 'datasets/nature/v1/metadata.jsonl',
    });
  });

  it('points each metadata.jsonl line at the copy and says where it came from', async () => {
    // Prepare
    const world = aWorld();
    const { batch, jobs } = await aBatchOfImages(world, 1);
    const destination = new FakeDestination();

    // Act
    await exportToS3(depsOf(world, destination).deps, world.tenant, {
      ...REQUEST,
      dataset_dir: batch.id,
      bucket_name: 'my-synthetic-data',
    });

    // Assess
    const put = destination.objects.get('my-synthetic-data/datasets/nature/v1/metadata.jsonl');
    const line = JSON.parse(new TextDecoder().decode(put?.bytes).trimEnd());
    expect(line).toMatchObject({
      image_uri: `s3://my-synthetic-data/datasets/nature/v1/${jobs[0]?.id}.png`,
      source_uri: `s3://${world.blobs.bucket}/${jobs[0]?.result?.key}`,
      file_name: `${jobs[0]?.id}.png`,
      metadata: { job_id: jobs[0]?.id, batch_id: batch.id, parameters: { prompt: 'a red circle' } },
      annotations: null,
    });
  });

  it('retries a throttled write after a jittered backoff and counts the retries', async () => {
    // Prepare
    const world = aWorld();
    const { batch, jobs } = await aBatchOfImages(world, 2);
    const throttled = `out/${jobs[0]?.id}.png`;
    const destination = new FakeDestination((key, attempt) =>
      key === throttled && attempt < 3 ? slowDown() : undefined,
    );
    const { deps, sleeps } = depsOf(world, destination);

    // Act
    const result = await exportToS3(deps, world.tenant, {
      ...REQUEST,
      s3_prefix: 'out/',
      dataset_dir: batch.id,
      bucket_name: 'my-bucket',
    });

    // Assess: full jitter, half of 200 ms then of 400 ms (random() is 0.5).
    expect(result).toMatchObject({ status: 'success', uploaded_count: 2, retries: 2, s3_prefix: 'out' });
    expect(sleeps).toEqual([100, 200]);
  });

  it('gives up on an object after three attempts and answers partial', async () => {
    // Prepare
    const world = aWorld();
    const { batch, jobs } = await aBatchOfImages(world, 2);
    const broken = `out/${jobs[1]?.id}.png`;
    const destination = new FakeDestination((key) =>
      key === broken
        ? new DestinationError('server_error', 'InternalError (500): We encountered an internal error.', true)
        : undefined,
    );

    // Act
    const result = await exportToS3(depsOf(world, destination).deps, world.tenant, {
      ...REQUEST,
      s3_prefix: 'out',
      dataset_dir: batch.id,
      bucket_name: 'my-bucket',
    });

    // Assess
    expect(destination.attempts.filter((put) => put.key === broken)).toHaveLength(3);
    expect(result).toMatchObject({ status: 'partial', uploaded_count: 1, failed_count: 1, retries: 2 });
    expect(result.failures).toEqual([
      { file_name: `${jobs[1]?.id}.png`, error: 'InternalError (500): We encountered an internal error.' },
    ]);
    const manifest = destination.json('my-bucket/out/manifest.json') as { count: number };
    expect(manifest.count).toBe(1);
  });

  it('stops at once on access denied and answers 403 naming the bucket policy, not one failure per image', async () => {
    // Prepare
    const world = aWorld();
    const { batch } = await aBatchOfImages(world, 40);
    const destination = new FakeDestination(() => accessDenied());

    // Act
    const error = await exportToS3(
      depsOf(world, destination).deps,
      world.tenant,
      { ...REQUEST, dataset_dir: batch.id, bucket_name: 'their-bucket' },
      { concurrency: 4, writerPrincipal: 'arn:aws:iam::123456789012:role/synthforge-export' },
    ).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).status).toBe(403);
    expect((error as DomainError).message).toBe(
      'bucket their-bucket refused the export: its bucket policy must allow s3:PutObject on arn:aws:s3:::their-bucket/datasets/nature/v1/* to arn:aws:iam::123456789012:role/synthforge-export',
    );
    expect(destination.attempts.length).toBeLessThanOrEqual(4);
    expect(destination.attempts.every((put) => !put.key.endsWith('manifest.json'))).toBe(true);
  });

  it('answers 404 for a bucket that does not exist and 400 for one with ACLs disabled', async () => {
    // Prepare
    const world = aWorld();
    const { batch } = await aBatchOfImages(world, 2);
    const missing = new FakeDestination(
      () => new DestinationError('no_such_bucket', 'NoSuchBucket (404)', false),
    );
    const noAcls = new FakeDestination(
      () => new DestinationError('acl_not_supported', 'AccessControlListNotSupported (400)', false),
    );

    // Act
    const errors = await Promise.all([
      exportToS3(depsOf(world, missing).deps, world.tenant, {
        ...REQUEST,
        dataset_dir: batch.id,
        bucket_name: 'gone',
      }).catch((caught: DomainError) => caught),
      exportToS3(
        depsOf(world, noAcls).deps,
        world.tenant,
        { ...REQUEST, dataset_dir: batch.id, bucket_name: 'owner-enforced', public_read: true },
        { allowPublicRead: true },
      ).catch((caught: DomainError) => caught),
    ]);

    // Assess
    expect(errors.map((error) => (error as DomainError).status)).toEqual([404, 400]);
    expect((errors[1] as DomainError).message).toContain('export with public_read false');
  });

  it('refuses public_read unless the stage allows it, before reading anything', async () => {
    // Prepare
    const world = aWorld();
    const destination = new FakeDestination();

    // Act
    const attempt = exportToS3(depsOf(world, destination).deps, world.tenant, {
      ...REQUEST,
      dataset_dir: 'uploads',
      bucket_name: 'my-bucket',
      public_read: true,
    });

    // Assess
    await expect(attempt).rejects.toMatchObject({
      status: 403,
      code: 'FORBIDDEN',
      details: { reason: 'public_read_disabled' },
    });
    expect(world.blobs.listings).toEqual([]);
  });

  it('sends public_read to the destination when the stage allows it', async () => {
    // Prepare
    const world = aWorld();
    await world.anUpload('uploads/a.png');
    const destination = new FakeDestination();

    // Act
    await exportToS3(
      depsOf(world, destination).deps,
      world.tenant,
      { ...REQUEST, dataset_dir: 'uploads', bucket_name: 'my-bucket', public_read: true },
      { allowPublicRead: true },
    );

    // Assess
    expect(destination.attempts.every((put) => put.options.publicRead)).toBe(true);
  });

  it('refuses the platform’s own buckets', () => {
    // Act
    const attempts = [
      () =>
        checkS3ExportRequest(
          { bucket_name: 'synthforge-data', s3_prefix: '', public_read: false },
          { dataBucket: 'synthforge-data' },
        ),
      () =>
        checkS3ExportRequest(
          { bucket_name: 'models', s3_prefix: '', public_read: false },
          { protectedBuckets: ['models'] },
        ),
    ];

    // Assess
    for (const attempt of attempts) expect(attempt).toThrow(expect.objectContaining({ status: 403 }));
  });
});

describe('the request’s checks', () => {
  it('take S3’s valid bucket names and refuse invalid ones', () => {
    // Act
    const valid = ['my-synthetic-data', 'abc', 'a.b.c', `a${'b'.repeat(61)}c`].map(isValidBucketName);
    const invalid = [
      'ab',
      `a${'b'.repeat(62)}c`,
      'My-Bucket',
      'under_score',
      '-leading',
      'trailing-',
      'two..dots',
      '192.168.1.1',
      'xn--bucket',
      'sthree-bucket',
      'bucket-s3alias',
      'bucket--ol-s3',
      'bucket.mrap',
    ].map(isValidBucketName);

    // Assess
    expect(valid).toEqual([true, true, true, true]);
    expect(invalid.every((ok) => !ok)).toBe(true);
  });

  it('refuse any prefix with `..`, a leading /, an empty segment, or over 900 characters', () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z0-9_-]{1,10}$/), { maxLength: 4 }),
        fc.constantFrom(
          (p: string) => `${p}/../other`,
          (p: string) => `../${p}`,
          (p: string) => `/${p}`,
          (p: string) => `${p}//x`,
          (p: string) => `${p}/./x`,
          (p: string) => `${p}\\x`,
          (p: string) => `${p}/${'x'.repeat(901)}`,
        ),
        (segments, make) => {
          // Act
          const attempt = () => normalizeS3Prefix(make(segments.join('/') || 'p'));

          // Assess
          expect(attempt).toThrow(
            expect.objectContaining({
              status: 400,
              details: expect.objectContaining({ parameter: 's3_prefix' }),
            }),
          );
        },
      ),
    );
  });

  it('keep a valid prefix as it is, less a trailing /', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.stringMatching(/^[A-Za-z0-9 ._=-]{1,12}$/).filter((s) => s !== '.' && s !== '..'),
          { maxLength: 5 },
        ),
        fc.boolean(),
        (segments, slash) => {
          // Prepare
          const prefix = segments.join('/');

          // Act
          const normalized = normalizeS3Prefix(slash && prefix !== '' ? `${prefix}/` : prefix);

          // Assess
          expect(normalized).toBe(prefix);
        },
      ),
    );
  });
});
