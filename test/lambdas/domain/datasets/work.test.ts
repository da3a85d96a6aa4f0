/**
 * The work behind the dataset routes, over a bucket and jobs in memory: one image's privacy with the
 * stage's detectors, the export requests refused before anything is read (the output name, the
 * bucket the stage does not export to), the privacy gate in each of its states, and the exports.
 */

import { describe, expect, it } from 'vitest';
import type { ExportS3Request } from '../../../../contracts/datasets.ts';
import { digestLine, imagesDigest } from '../../../../lambdas/domain/datasets/privacy-gate.ts';
import { type PrivacyGateRecord, privacyGateKey } from '../../../../lambdas/domain/datasets/work.ts';
import type { DomainError } from '../../../../lambdas/domain/errors.ts';
import { aWork, someUploads } from './dataset-fakes.ts';
import { aPng, aWorld, type World } from './dataset-fixtures.ts';

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('it did not fail');
    },
    (error: DomainError) => error,
  );

const thrown = (act: () => void): DomainError => {
  try {
    act();
  } catch (error) {
    return error as DomainError;
  }
  throw new Error('it did not throw');
};

const s3Request = (overrides: Partial<ExportS3Request> = {}): ExportS3Request => ({
  dataset_dir: 'uploads/set/',
  bucket_name: 'team-exports',
  s3_prefix: 'sets/2026',
  include_metadata: true,
  public_read: false,
  require_privacy_validation: false,
  ...overrides,
});

/** A gate record of the dataset under `uploads/set/`, as a validation job leaves it. */
const gateOf = (world: World, record: Partial<PrivacyGateRecord> = {}): PrivacyGateRecord => ({
  dataset: `s3://${world.blobs.bucket}/${world.tenant}/uploads/set/`,
  job_id: '01JD3X2K8Q7YV4N6B5M9T0RWZC',
  passed: true,
  image_count: 3,
  validated_at: '2026-05-01T12:00:00.000Z',
  ...record,
});

describe('DatasetWork', () => {
  describe('privacy', () => {
    it('answers the report with the detectors the stage chose, built on first use', async () => {
      // Prepare
      const world = aWorld();
      const key = await world.anUpload('people/face-1.png', aPng(8, 6));
      const { work, asked, detectorsBuilt } = aWork(world, { detectors: 'aws' });
      expect(detectorsBuilt()).toBe(0);
      const image = await work.sources.image(world.tenant, `s3://${world.blobs.bucket}/${key}`);

      // Act
      const report = await work.privacy(image, { checkFaces: true, checkText: true });

      // Assess: the face found fails the image; the detectors read the object where it is stored.
      expect(report).toMatchObject({
        detectors: 'aws',
        faces_detected: 1,
        text_detected: false,
        pii_detected: false,
        passed: false,
        privacy_score: 60,
      });
      expect(report.issues).toEqual([expect.objectContaining({ type: 'face', severity: 'high' })]);
      expect(asked.faces[0]?.stored).toEqual({ bucket: world.blobs.bucket, key });
      expect(detectorsBuilt()).toBe(1);
    });

    it('asks only the detectors the options name, and gives a frame of an archive no stored object', async () => {
      // Prepare
      const world = aWorld();
      const job = await world.aGenerationJob({ frames: 1 });
      const { work, asked } = aWork(world);
      const image = await work.sources.image(world.tenant, `${job.id}/frames/frame_0000.png`);

      // Act
      const report = await work.privacy(image, { checkFaces: false, checkText: true });

      // Assess
      expect(report).toMatchObject({
        detectors: 'bundled',
        faces_detected: 0,
        passed: true,
        privacy_score: 100,
      });
      expect(asked.faces).toHaveLength(0);
      expect(asked.lines).toHaveLength(1);
      expect(asked.lines[0]).not.toHaveProperty('stored');
    });
  });

  describe('checkJsonlRequest', () => {
    it.each(['../other/set.jsonl', '/set.jsonl', 'set.csv'])(
      'refuses output_file %j with a 400 before anything is read',
      (outputFile) => {
        // Prepare
        const world = aWorld();
        const { work } = aWork(world);

        // Act
        const error = thrown(() =>
          work.checkJsonlRequest({
            dataset_dir: 'uploads/set/',
            output_file: outputFile,
            include_metadata: true,
            include_annotations: true,
            require_privacy_validation: false,
          }),
        );

        // Assess
        expect(error).toMatchObject({ code: 'INVALID_PARAMETERS', status: 400 });
        expect(error.details).toMatchObject({ parameter: 'output_file' });
        expect(world.blobs.reads).toEqual([]);
      },
    );
  });

  describe('checkS3Request', () => {
    it('refuses a bucket the stage does not export to with a 403 that names its setting', () => {
      // Prepare
      const { work } = aWork(aWorld(), { exportBuckets: ['team-exports', 'partner-sets'] });

      // Act
      const error = thrown(() => work.checkS3Request(s3Request({ bucket_name: 'someone-elses' })));

      // Assess
      expect(error).toMatchObject({
        code: 'FORBIDDEN',
        status: 403,
        details: {
          parameter: 'bucket_name',
          value: 'someone-elses',
          allowed: ['team-exports', 'partner-sets'],
        },
      });
      expect(error.message).toContain('datasets.exportBuckets');
    });

    it("keeps a bucket the stage gives to some tenants out of every other tenant's exports", () => {
      // Prepare
      const { work } = aWork(aWorld(), {
        exportBuckets: ['acme-exports', 'shared-sets'],
        exportBucketTenants: { 'acme-exports': ['acme'] },
      });

      // Act
      const other = thrown(() => work.checkS3Request(s3Request({ bucket_name: 'acme-exports' }), 'globex'));

      // Assess
      expect(other).toMatchObject({ code: 'FORBIDDEN', status: 403, details: { value: 'acme-exports' } });
      expect(other.message).toContain('datasets.exportBucketTenants');
      expect(() => work.checkS3Request(s3Request({ bucket_name: 'acme-exports' }), 'acme')).not.toThrow();
      expect(() => work.checkS3Request(s3Request({ bucket_name: 'shared-sets' }), 'globex')).not.toThrow();
    });

    it('takes a bucket the stage lists, and any bucket where the stage says `any`', () => {
      // Prepare
      const listed = aWork(aWorld(), { exportBuckets: ['team-exports'] }).work;
      const open = aWork(aWorld(), { exportBuckets: 'any' }).work;

      // Act and Assess
      expect(() => listed.checkS3Request(s3Request({ bucket_name: 'team-exports' }))).not.toThrow();
      expect(() => open.checkS3Request(s3Request({ bucket_name: 'whatever-bucket' }))).not.toThrow();
      expect(() => listed.checkS3Request(s3Request({ bucket_name: 'Not_A_Bucket' }))).toThrow(
        'is not a valid S3 bucket name',
      );
    });

    it('refuses the platform’s own bucket and public objects even where the stage allows any bucket', () => {
      // Prepare
      const world = aWorld();
      const { work } = aWork(world, { exportBuckets: 'any', allowPublicRead: false });

      // Act
      const own = thrown(() => work.checkS3Request(s3Request({ bucket_name: world.blobs.bucket })));
      const publicRead = thrown(() => work.checkS3Request(s3Request({ public_read: true })));

      // Assess
      expect(own).toMatchObject({ code: 'FORBIDDEN', status: 403, details: { parameter: 'bucket_name' } });
      expect(publicRead).toMatchObject({
        code: 'FORBIDDEN',
        status: 403,
        details: { parameter: 'public_read' },
      });
      const allowing = aWork(world, { exportBuckets: 'any', allowPublicRead: true }).work;
      expect(() => allowing.checkS3Request(s3Request({ public_read: true }))).not.toThrow();
    });
  });

  describe('checkGate', () => {
    async function aGatedSet(settings: { requirePrivacyValidation?: boolean } = {}) {
      const world = aWorld();
      await someUploads(world, 'uploads/set', 3);
      return { world, ...aWork(world, settings) };
    }

    it('lets every export through, reading nothing, where neither the stage nor the request requires it', async () => {
      // Prepare
      const { world, work } = await aGatedSet();

      // Act
      await work.checkGate(world.tenant, 'uploads/set/', false);

      // Assess
      expect(world.blobs.reads).toEqual([]);
    });

    it('answers 409 for a dataset that has no privacy validation', async () => {
      // Prepare
      const { world, work } = await aGatedSet();

      // Act
      const error = await failure(work.checkGate(world.tenant, 'uploads/set/', true));

      // Assess
      expect(error).toMatchObject({
        code: 'ILLEGAL_STATE',
        status: 409,
        details: { dataset_dir: 'uploads/set/', privacy_gate: 'required' },
      });
      expect(error.message).toBe(
        'dataset uploads/set/ cannot be exported: it has not passed a privacy validation: validate it with POST /api/v1/validate/batch (privacy: true) first',
      );
    });

    it('answers 409, naming the job, after a privacy validation that failed', async () => {
      // Prepare
      const { world, work } = await aGatedSet();
      await work.recordGate(world.tenant, gateOf(world, { passed: false }));

      // Act
      const error = await failure(work.checkGate(world.tenant, 'uploads/set/', true));

      // Assess
      expect(error).toMatchObject({ code: 'ILLEGAL_STATE', status: 409 });
      expect(error.message).toContain('its privacy validation (job 01JD3X2K8Q7YV4N6B5M9T0RWZC) failed');
    });

    it('answers 409 once the dataset holds more images than its validation saw', async () => {
      // Prepare: validated with 3 images; a fourth is uploaded since.
      const { world, work } = await aGatedSet();
      await work.recordGate(world.tenant, gateOf(world));
      await someUploads(world, 'uploads/set', 1, 3);

      // Act
      const error = await failure(work.checkGate(world.tenant, 'uploads/set/', true));

      // Assess
      expect(error).toMatchObject({ code: 'ILLEGAL_STATE', status: 409 });
      expect(error.message).toContain('it holds 4 images, and its privacy validation (job');
      expect(error.message).toContain('saw 3');
    });

    it('answers 409 once an image the validation saw was replaced, the count unchanged', async () => {
      // Prepare: validated over the three images as they were; then one is replaced by a larger one.
      const { world, work } = await aGatedSet();
      const lines: string[] = [];
      for await (const image of (await work.sources.dataset(world.tenant, 'uploads/set/')).images()) {
        lines.push(digestLine(image));
      }
      await work.recordGate(world.tenant, gateOf(world, { images_digest: imagesDigest(lines) }));
      await work.checkGate(world.tenant, 'uploads/set/', true);
      await world.anUpload('uploads/set/img-01.png', aPng(16, 12, 9));

      // Act
      const error = await failure(work.checkGate(world.tenant, 'uploads/set/', true));

      // Assess
      expect(error).toMatchObject({ code: 'ILLEGAL_STATE', status: 409 });
      expect(error.message).toContain(
        'its images changed since its privacy validation (job 01JD3X2K8Q7YV4N6B5M9T0RWZC)',
      );
    });

    it('lets the export through with a passed validation over as many images, however the dataset is named', async () => {
      // Prepare
      const { world, work } = await aGatedSet();
      await work.recordGate(world.tenant, gateOf(world));

      // Act and Assess: the relative prefix and its s3:// URI are one dataset, and one gate.
      await work.checkGate(world.tenant, 'uploads/set/', true);
      await work.checkGate(world.tenant, 'uploads/set', true);
      await work.checkGate(world.tenant, `s3://${world.blobs.bucket}/${world.tenant}/uploads/set/`, true);
    });

    it('requires the gate on every export where the stage does, whatever the request says', async () => {
      // Prepare
      const { world, work } = await aGatedSet({ requirePrivacyValidation: true });

      // Act
      const closed = await failure(work.checkGate(world.tenant, 'uploads/set/', false));
      await work.recordGate(world.tenant, gateOf(world));

      // Assess
      expect(closed).toMatchObject({ code: 'ILLEGAL_STATE', status: 409 });
      await expect(work.checkGate(world.tenant, 'uploads/set/', false)).resolves.toBeUndefined();
    });

    it('keeps each tenant’s gate under its own key, read back as written', async () => {
      // Prepare
      const { world, work } = await aGatedSet();
      const record = gateOf(world);

      // Act
      await work.recordGate(world.tenant, record);

      // Assess
      const key = privacyGateKey(world.tenant, record.dataset);
      expect(key.startsWith(`${world.tenant}/dataset-jobs/privacy-gates/`)).toBe(true);
      expect(JSON.parse(world.blobs.text(key) ?? '')).toEqual(record);
      expect(await work.gate(world.tenant, record.dataset)).toEqual(record);
      expect(await work.gate(`${world.tenant}-other`, record.dataset)).toBeUndefined();
    });
  });

  describe('exports', () => {
    it('writes the JSONL of a dataset into the tenant’s exports folder, reporting its progress', async () => {
      // Prepare
      const world = aWorld();
      const keys = await someUploads(world, 'uploads/set', 3);
      const { work } = aWork(world);
      const progress: [number, number][] = [];

      // Act
      const result = await work.exportJsonl(
        world.tenant,
        {
          dataset_dir: 'uploads/set/',
          output_file: 'set.jsonl',
          include_metadata: true,
          include_annotations: true,
          require_privacy_validation: false,
        },
        async (done, total) => void progress.push([done, total]),
      );

      // Assess
      const key = `${world.tenant}/exports/set.jsonl`;
      expect(result).toEqual({
        status: 'success',
        exported_count: 3,
        output_file: `s3://${world.blobs.bucket}/${key}`,
        file_size_bytes: world.blobs.objects.get(key)?.body.byteLength,
      });
      const lines = (world.blobs.text(key) ?? '').trim().split('\n');
      expect(lines.map((line) => JSON.parse(line).image_uri)).toEqual(
        keys.map((k) => `s3://${world.blobs.bucket}/${k}`),
      );
      expect(progress.at(-1)).toEqual([3, 3]);
    });

    it('copies a dataset to the user’s bucket with its manifest', async () => {
      // Prepare
      const world = aWorld();
      await someUploads(world, 'uploads/set', 2);
      const { work, destination } = aWork(world);

      // Act
      const result = await work.exportS3(world.tenant, s3Request());

      // Assess
      expect(result).toMatchObject({
        status: 'success',
        uploaded_count: 2,
        failed_count: 0,
        bucket_name: 'team-exports',
        manifest_url: 's3://team-exports/sets/2026/manifest.json',
      });
      expect(destination.keys()).toEqual([
        'team-exports/sets/2026/img-00.png',
        'team-exports/sets/2026/img-01.png',
        'team-exports/sets/2026/manifest.json',
        'team-exports/sets/2026/metadata.jsonl',
      ]);
      expect([...destination.objects.values()].every(({ options }) => !options.publicRead)).toBe(true);
    });
  });
});
