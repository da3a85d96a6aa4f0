/**
 * The tenant's images as the validation and export routes name them: one image by its path, a
 * dataset by its batch, job or prefix. Another tenant's objects read exactly as missing ones.
 */
import { describe, expect, it } from 'vitest';
import { resolveDataset, resolveImage } from '../../../../lambdas/domain/datasets/sources.ts';
import { DomainError } from '../../../../lambdas/domain/errors.ts';
import { imageKeys } from '../../../../lambdas/domain/images/service.ts';
import { aPng, aWorld, collect } from './dataset-fixtures.ts';

/** The DomainError a promise rejects with. */
async function refusal(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof DomainError)) throw new Error(`expected a DomainError, got ${String(error)}`);
  return error;
}

describe('resolveImage', () => {
  it('reads an object of the tenant by its s3:// URI', async () => {
    // Prepare
    const world = aWorld();
    const png = aPng(10, 10, 3);
    const key = await world.anUpload('uploads/2026/cat.png', png);

    // Act
    const image = await resolveImage(world.deps, world.tenant, `s3://${world.blobs.bucket}/${key}`);

    // Assess
    expect(image).toMatchObject({
      uri: `s3://${world.blobs.bucket}/${key}`,
      name: 'cat.png',
      contentType: 'image/png',
      size: png.byteLength,
    });
    expect(await image.bytes()).toEqual(png);
  });

  it('answers another tenant’s object, another bucket, a `..` path and a missing object with the same 404', async () => {
    // Prepare
    const world = aWorld();
    const other = aWorld();
    await world.blobs.put(`${other.tenant}/uploads/secret.png`, aPng(), 'image/png');
    const bucket = world.blobs.bucket;
    const paths = [
      `s3://${bucket}/${other.tenant}/uploads/secret.png`,
      `s3://another-bucket/${world.tenant}/uploads/a.png`,
      `s3://${bucket}/${world.tenant}/uploads/../../${other.tenant}/uploads/secret.png`,
      `s3://${bucket}/${world.tenant}/uploads/missing.png`,
    ];

    // Act
    const errors = await Promise.all(
      paths.map((path) => refusal(resolveImage(world.deps, world.tenant, path))),
    );

    // Assess
    for (const [index, error] of errors.entries()) {
      expect(error.status).toBe(404);
      expect(error.message).toBe(`image ${JSON.stringify(paths[index])} was not found`);
    }
  });

  it('reads a completed image job’s image by the job’s id, with the prompt and parameters', async () => {
    // Prepare
    const world = aWorld();
    const job = await world.anImageJob();

    // Act
    const image = await resolveImage(world.deps, world.tenant, job.id);

    // Assess
    expect(image.uri).toBe(`s3://${world.blobs.bucket}/${imageKeys(world.tenant, job.id).image}`);
    expect(image.name).toBe(`${job.id}.png`);
    expect(image.jobId).toBe(job.id);
    expect(image.parameters).toMatchObject({ prompt: 'a red circle', seed: 1, width: 512 });
    expect(await image.bytes()).toEqual(world.blobs.objects.get(imageKeys(world.tenant, job.id).image)?.body);
  });

  it('answers 409 for an image job that has not completed, and 404 for another tenant’s job', async () => {
    // Prepare
    const world = aWorld();
    const other = aWorld();
    const running = await world.anImageJob({ status: 'running' });
    const theirs = await other.anImageJob();
    world.jobs.add(...other.jobs.jobs);

    // Act
    const notYet = await refusal(resolveImage(world.deps, world.tenant, running.id));
    const notOurs = await refusal(resolveImage(world.deps, world.tenant, theirs.id));

    // Assess
    expect(notYet.status).toBe(409);
    expect(notYet.message).toBe(`job ${running.id} is running: it has no image yet`);
    expect(notOurs.status).toBe(404);
  });

  it('reads a frame of a generation job’s archive by <job id>/<entry>', async () => {
    // Prepare
    const world = aWorld();
    const job = await world.aGenerationJob({ frames: 2 });

    // Act
    const image = await resolveImage(world.deps, world.tenant, `${job.id}/frames/frame_0001.png`);
    const bytes = await image.bytes();

    // Assess
    expect(image.uri).toBe(`${job.id}/frames/frame_0001.png`);
    expect(image.contentType).toBe('image/png');
    expect(image.parameters).toMatchObject({ image_width: 64, frames: 2 });
    expect(image.generator).toBe('shapes');
    expect(Buffer.from(bytes.subarray(1, 4)).toString('latin1')).toBe('PNG');
    expect(bytes.byteLength).toBe(image.size);
  });

  it('names the frames a job holds when the one asked for is not there', async () => {
    // Prepare
    const world = aWorld();
    const job = await world.aGenerationJob({ frames: 2 });

    // Act
    const error = await refusal(resolveImage(world.deps, world.tenant, `${job.id}/frames/frame_0009.png`));

    // Assess
    expect(error.status).toBe(404);
    expect(error.message).toContain('frames/frame_0000.png, frames/frame_0001.png');
  });

  it('tells a generation job’s id alone to name one of its frames', async () => {
    // Prepare
    const world = aWorld();
    const job = await world.aGenerationJob({ frames: 1 });

    // Act
    const error = await refusal(resolveImage(world.deps, world.tenant, job.id));

    // Assess
    expect(error.status).toBe(404);
    expect(error.message).toContain(`${job.id}/frames/frame_0000.png`);
  });

  it('lists the accepted forms for a path of none of them (the seed’s local paths included)', async () => {
    // Prepare
    const world = aWorld();

    // Act
    const error = await refusal(
      resolveImage(world.deps, world.tenant, '/data/generated/image_1234567890.png'),
    );

    // Assess
    expect(error.status).toBe(404);
    expect(error.message).toMatch(/s3:\/\/<data bucket>\/<tenant>\/<key>.*image job's id.*<job id>\/<frame>/);
  });
});

describe('resolveDataset', () => {
  it('yields each completed image job of a batch, oldest first, with its job and batch', async () => {
    // Prepare
    const world = aWorld();
    const batch = world.aBatch();
    const first = await world.anImageJob({ batchId: batch.id });
    await world.anImageJob({ batchId: batch.id, status: 'failed' });
    const third = await world.anImageJob({ batchId: batch.id });

    // Act
    const dataset = await resolveDataset(world.deps, world.tenant, batch.id);
    const images = await collect(dataset.images());

    // Assess
    expect(dataset).toMatchObject({ kind: 'batch', uri: batch.id, count: 2 });
    expect(images.map((image) => image.name)).toEqual([`${first.id}.png`, `${third.id}.png`]);
    expect(images[0]).toMatchObject({ jobId: first.id, batchId: batch.id, generator: 'sd15' });
  });

  it('yields every frame of a generation batch with its COCO annotations and the categories they use', async () => {
    // Prepare
    const world = aWorld();
    const batch = world.aBatch();
    const first = await world.aGenerationJob({ batchId: batch.id, frames: 2 });
    const second = await world.aGenerationJob({ batchId: batch.id, frames: 3 });

    // Act
    const dataset = await resolveDataset(world.deps, world.tenant, batch.id);
    const images = await collect(dataset.images());

    // Assess
    expect(dataset.count).toBe(5);
    expect(images.map((image) => image.name)).toEqual([
      `${first.id}/frames/frame_0000.png`,
      `${first.id}/frames/frame_0001.png`,
      `${second.id}/frames/frame_0000.png`,
      `${second.id}/frames/frame_0001.png`,
      `${second.id}/frames/frame_0002.png`,
    ]);
    for (const image of images) {
      const annotations = image.annotations?.annotations ?? [];
      const used = new Set(annotations.map((annotation) => annotation.category_id));
      expect(image.annotations?.categories.map((category) => category.id).sort()).toEqual([...used].sort());
      expect(annotations.every((annotation) => annotation.bbox.length === 4)).toBe(true);
    }
    expect(images.some((image) => (image.annotations?.annotations.length ?? 0) > 0)).toBe(true);
  });

  it('resumes from an index without reading the archives it skips', async () => {
    // Prepare
    const world = aWorld();
    const batch = world.aBatch();
    const first = await world.aGenerationJob({ batchId: batch.id, frames: 2 });
    const second = await world.aGenerationJob({ batchId: batch.id, frames: 2 });
    const dataset = await resolveDataset(world.deps, world.tenant, batch.id);
    world.blobs.reads.length = 0;

    // Act
    const images = await collect(dataset.images(3));

    // Assess
    expect(images.map((image) => image.name)).toEqual([`${second.id}/frames/frame_0001.png`]);
    expect(world.blobs.reads).toEqual([second.result?.key]);
    expect(world.blobs.reads).not.toContain(first.result?.key);
  });

  it('answers 409 for a batch with nothing completed yet, naming its jobs’ statuses', async () => {
    // Prepare
    const world = aWorld();
    const batch = world.aBatch();
    await world.aGenerationJob({ batchId: batch.id, status: 'running' });

    // Act
    const error = await refusal(resolveDataset(world.deps, world.tenant, batch.id));

    // Assess
    expect(error.status).toBe(409);
    expect(error.message).toBe(`batch ${batch.id} has no completed job yet: 1 running`);
  });

  it('takes one job’s id as a dataset of its frames, and answers 409 while it runs', async () => {
    // Prepare
    const world = aWorld();
    const done = await world.aGenerationJob({ frames: 2 });
    const running = await world.aGenerationJob({ status: 'running' });

    // Act
    const dataset = await resolveDataset(world.deps, world.tenant, done.id);
    const error = await refusal(resolveDataset(world.deps, world.tenant, running.id));

    // Assess
    expect(dataset).toMatchObject({ kind: 'job', uri: done.id, count: 2 });
    expect(error.status).toBe(409);
    expect(error.message).toBe(`job ${running.id} is running: it has no images yet`);
  });

  it('reads another tenant’s batch id as a folder of the tenant’s, which holds nothing', async () => {
    // Prepare
    const world = aWorld();
    const other = aWorld();
    const theirs = other.aBatch();
    await other.anImageJob({ batchId: theirs.id });
    world.jobs.add(...other.jobs.jobs);

    // Act
    const error = await refusal(resolveDataset(world.deps, world.tenant, theirs.id));

    // Assess
    expect(error.status).toBe(404);
    expect(error.message).toContain(`${world.tenant}/${theirs.id}/`);
  });

  it('lists the image objects of a relative prefix, as a folder, by key, named relative to it', async () => {
    // Prepare
    const world = aWorld();
    await world.anUpload('uploads/2026/b.JPG', aPng(), 'image/jpeg');
    await world.anUpload('uploads/2026/a.png');
    await world.anUpload('uploads/2026/deep/c.webp');
    await world.anUpload('uploads/2026/notes.txt', new TextEncoder().encode('no image'), 'text/plain');
    await world.anUpload('uploads/2026-old/d.png');

    // Act
    const dataset = await resolveDataset(world.deps, world.tenant, 'uploads/2026');
    const images = await collect(dataset.images());

    // Assess
    expect(dataset).toMatchObject({
      kind: 'prefix',
      uri: `s3://${world.blobs.bucket}/${world.tenant}/uploads/2026/`,
      count: 3,
    });
    expect(images.map((image) => [image.name, image.contentType])).toEqual([
      ['a.png', 'image/png'],
      ['b.JPG', 'image/jpeg'],
      ['deep/c.webp', 'image/webp'],
    ]);
  });

  it('lists a prefix given as an s3:// URI of the tenant, page after page', async () => {
    // Prepare
    const world = aWorld();
    for (let i = 0; i < 1005; i++) {
      await world.anUpload(`uploads/many/${String(i).padStart(4, '0')}.png`, aPng(2, 2));
    }

    // Act
    const dataset = await resolveDataset(
      world.deps,
      world.tenant,
      `s3://${world.blobs.bucket}/${world.tenant}/uploads/many/`,
    );

    // Assess
    expect(dataset.count).toBe(1005);
    expect(world.blobs.listings.map((listing) => listing.after?.slice(-8))).toEqual([undefined, '0999.png']);
  });

  it('answers an empty prefix, another tenant’s prefix and an unsafe one with 404', async () => {
    // Prepare
    const world = aWorld();
    const other = aWorld();
    await world.blobs.put(`${other.tenant}/uploads/x.png`, aPng(), 'image/png');
    const dirs = [
      'uploads/nothing-here/',
      `s3://${world.blobs.bucket}/${other.tenant}/uploads/`,
      `../${other.tenant}/uploads/`,
      '/data/generated/nature_set',
    ];

    // Act
    const errors = await Promise.all(
      dirs.map((dir) => refusal(resolveDataset(world.deps, world.tenant, dir))),
    );

    // Assess
    expect(errors.map((error) => error.status)).toEqual([404, 404, 404, 404]);
    expect(errors[0]?.message).toContain('no PNG, JPEG, GIF or WebP images are under');
  });

  it('refuses a dataset over its image limit with a 400', async () => {
    // Prepare
    const world = aWorld();
    await world.anUpload('uploads/x/1.png');
    await world.anUpload('uploads/x/2.png');

    // Act
    const error = await refusal(resolveDataset(world.deps, world.tenant, 'uploads/x/', { maxImages: 1 }));

    // Assess
    expect(error.status).toBe(400);
    expect(error.message).toContain('holds more than 1 images');
  });
});
