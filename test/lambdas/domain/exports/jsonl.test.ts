/**
 * The JSONL export: where its file goes (only the tenant's exports folder, whatever output_file
 * says), and what the file holds: one line per readable image, in the dataset's order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../../lambdas/domain/errors.ts';
import { exportJsonl, jsonlOutputKey } from '../../../../lambdas/domain/exports/jsonl.ts';
import { aPng, aWorld } from '../datasets/dataset-fixtures.ts';

const tenant = fc.stringMatching(/^[a-z0-9][a-z0-9-]{1,20}$/);
const segment = fc
  .stringMatching(/^[A-Za-z0-9_][A-Za-z0-9 ._-]{0,15}$/)
  .filter((s) => s !== '.' && s !== '..');

function refusalOf(attempt: () => unknown): DomainError {
  try {
    attempt();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('jsonlOutputKey', () => {
  it('puts a valid relative name under the tenant’s exports folder, with or without a leading exports/', () => {
    fc.assert(
      fc.property(
        tenant,
        fc.array(segment, { maxLength: 3 }),
        segment,
        fc.boolean(),
        (own, folders, base, lead) => {
          // Prepare
          const name = [...folders, `${base}.jsonl`].join('/');

          // Act
          const key = jsonlOutputKey(own, lead ? `exports/${name}` : name);

          // Assess
          expect(key).toBe(`${own}/exports/${name}`);
        },
      ),
    );
  });

  it('refuses `..`, absolute paths, backslashes, a name not ending in .jsonl and one over 512 characters', () => {
    fc.assert(
      fc.property(
        tenant,
        fc.array(segment, { maxLength: 2 }),
        fc.constantFrom(
          (s: string) => `../${s}.jsonl`,
          (s: string) => `${s}/../../other-tenant/${s}.jsonl`,
          (s: string) => `/${s}.jsonl`,
          (s: string) => `${s}\\x.jsonl`,
          (s: string) => `${s}.json`,
          (s: string) => `${s}//x.jsonl`,
          (s: string) => `${'a/'.repeat(256)}${s}.jsonl`,
        ),
        (own, folders, make) => {
          // Prepare
          const name = make(folders.join('/') || 'set');

          // Act
          const error = refusalOf(() => jsonlOutputKey(own, name));

          // Assess
          expect(error.status).toBe(400);
          expect(error.details).toMatchObject({ parameter: 'output_file' });
        },
      ),
    );
  });
});

describe('exportJsonl', () => {
  it('writes one line per image of a generation batch, with metadata and COCO annotations', async () => {
    // Prepare
    const world = aWorld();
    const batch = world.aBatch();
    const job = await world.aGenerationJob({ batchId: batch.id, frames: 3 });

    // Act
    const result = await exportJsonl(world.deps, world.tenant, {
      dataset_dir: batch.id,
      output_file: 'exports/shapes.jsonl',
      include_metadata: true,
      include_annotations: true,
    });

    // Assess
    const key = `${world.tenant}/exports/shapes.jsonl`;
    const text = world.blobs.text(key) ?? '';
    const lines = text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(result).toEqual({
      status: 'success',
      exported_count: 3,
      output_file: `s3://${world.blobs.bucket}/${key}`,
      file_size_bytes: Buffer.byteLength(text),
    });
    expect(lines.map((line) => line.file_name)).toEqual(
      [0, 1, 2].map((i) => `${job.id}/frames/frame_000${i}.png`),
    );
    expect(lines[0]).toMatchObject({ width: 64, height: 64, content_type: 'image/png' });
    expect(lines[0].metadata).toMatchObject({ job_id: job.id, batch_id: batch.id, generator: 'shapes' });
    expect(lines[0].metadata.parameters).toMatchObject({ frames: 3, image_width: 64 });
    expect(lines.every((line) => Array.isArray(line.annotations.annotations))).toBe(true);
    expect(world.blobs.objects.get(key)?.contentType).toBe('application/x-ndjson');
  });

  it('leaves metadata and annotations out when not asked', async () => {
    // Prepare
    const world = aWorld();
    await world.anUpload('uploads/a.png');

    // Act
    await exportJsonl(world.deps, world.tenant, {
      dataset_dir: 'uploads/',
      output_file: 'a.jsonl',
      include_metadata: false,
      include_annotations: false,
    });

    // Assess
    const line = JSON.parse(world.blobs.text(`${world.tenant}/exports/a.jsonl`) ?? '');
    expect(Object.keys(line)).toEqual([
      'image_uri',
      'file_name',
      'size_bytes',
      'width',
      'height',
      'content_type',
      'sha256',
    ]);
  });

  it('skips an upload named .png that is no image, and names it', async () => {
    // Prepare
    const world = aWorld();
    await world.anUpload('uploads/good.png', aPng(8, 6));
    await world.anUpload('uploads/fake.png', new TextEncoder().encode('just text'), 'image/png');

    // Act
    const result = await exportJsonl(world.deps, world.tenant, {
      dataset_dir: 'uploads',
      output_file: 'mixed.jsonl',
      include_metadata: true,
      include_annotations: false,
    });

    // Assess
    expect(result.exported_count).toBe(1);
    expect(result.skipped).toEqual([
      { file_name: 'fake.png', error: 'fake.png is not a PNG, JPEG, GIF or WebP image' },
    ]);
  });

  it('refuses a file over its size limit with a 413 and writes nothing', async () => {
    // Prepare
    const world = aWorld();
    await world.anUpload('uploads/a.png');
    await world.anUpload('uploads/b.png');

    // Act
    const attempt = exportJsonl(
      world.deps,
      world.tenant,
      { dataset_dir: 'uploads', output_file: 'big.jsonl', include_metadata: true, include_annotations: true },
      { maxBytes: 300 },
    );

    // Assess
    await expect(attempt).rejects.toMatchObject({ status: 413 });
    expect(world.blobs.objects.has(`${world.tenant}/exports/big.jsonl`)).toBe(false);
  });

  it('checks output_file before reading the dataset', async () => {
    // Prepare
    const world = aWorld();

    // Act
    const attempt = exportJsonl(world.deps, world.tenant, {
      dataset_dir: 'uploads',
      output_file: '/data/exports/nature_set.jsonl',
      include_metadata: true,
      include_annotations: true,
    });

    // Assess
    await expect(attempt).rejects.toMatchObject({ status: 400 });
    expect(world.blobs.listings).toEqual([]);
  });

  it('reports its progress over the dataset’s images', async () => {
    // Prepare
    const world = aWorld();
    const batch = world.aBatch();
    await world.anImageJob({ batchId: batch.id });
    await world.anImageJob({ batchId: batch.id });
    const progress: [number, number][] = [];

    // Act
    await exportJsonl(
      world.deps,
      world.tenant,
      { dataset_dir: batch.id, output_file: 'p.jsonl', include_metadata: true, include_annotations: true },
      { onProgress: (done, total) => void progress.push([done, total]) },
    );

    // Assess
    expect(progress).toEqual([
      [1, 2],
      [2, 2],
    ]);
  });
});
