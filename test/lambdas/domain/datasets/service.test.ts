/**
 * The dataset routes' service, with the bucket in memory and the jobs engine over the real state
 * table (dynalite): one image's quality and privacy answers; a dataset job stored and started, and
 * nothing stored when there is nothing to run or its workflow cannot start; exports answered within
 * the request up to the stage's limit and as a job past it; and what the privacy gate and the
 * stage's export buckets refuse before anything is written.
 */
import { describe, expect, it } from 'vitest';
import type {
  BatchValidationRequest,
  ExportJsonlRequest,
  ExportS3Request,
} from '../../../../contracts/datasets.ts';
import { newJobId } from '../../../../lambdas/adapters/ids.ts';
import { ProfileStore } from '../../../../lambdas/domain/datasets/profiles.ts';
import { DatasetsService } from '../../../../lambdas/domain/datasets/service.ts';
import type { DatasetWorkSettings } from '../../../../lambdas/domain/datasets/work.ts';
import type { DomainError } from '../../../../lambdas/domain/errors.ts';
import { useEmulators } from '../../../support/emulators.ts';
import { aJob, engineOver } from '../../../support/jobs.ts';
import { aWork, PngDecoder, RecordingWorkflow, someUploads } from './dataset-fakes.ts';
import { aPng, aWorld, type World } from './dataset-fixtures.ts';

const fixture = useEmulators();

const NOW = new Date('2026-05-01T12:00:00.000Z');
const TTL_SECONDS = 900;

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('it did not fail');
    },
    (error: DomainError) => error,
  );

/** The service over a world of its own, exporting up to `syncExportLimit` images within the request. */
function aService(options: { syncExportLimit?: number; settings?: Partial<DatasetWorkSettings> } = {}) {
  const world = aWorld();
  const engine = engineOver(fixture);
  const workflow = new RecordingWorkflow();
  const { work, destination, asked } = aWork(world, options.settings);
  const presigned: { key: string; ttlSeconds: number; name: string | undefined }[] = [];
  const service = new DatasetsService({
    jobs: { engine, workflow },
    work,
    decoder: new PngDecoder(),
    profiles: new ProfileStore(world.blobs),
    clock: { now: () => NOW },
    newId: () => newJobId(),
    settings: { syncExportLimit: options.syncExportLimit ?? 3 },
    links: {
      blobs: {
        bucket: world.blobs.bucket,
        presignGet: async (key: string, ttlSeconds: number, name?: string) => {
          presigned.push({ key, ttlSeconds, name });
          return `https://${world.blobs.bucket}.s3.example/${key}?X-Amz-Expires=${ttlSeconds}`;
        },
      },
      ttlSeconds: TTL_SECONDS,
    },
  });
  /** The tenant's jobs in the store. */
  const storedJobs = async () => (await engine.store.list(world.tenant, { limit: 50 })).items;
  return { world, engine, workflow, work, destination, asked, presigned, service, storedJobs };
}

const validation = (dataset_dir: string): BatchValidationRequest => ({
  dataset_dir,
  quality: true,
  privacy: true,
  check_faces: true,
  check_text: true,
});

const jsonl = (overrides: Partial<ExportJsonlRequest> = {}): ExportJsonlRequest => ({
  dataset_dir: 'uploads/set/',
  output_file: 'set.jsonl',
  include_metadata: true,
  include_annotations: true,
  require_privacy_validation: false,
  ...overrides,
});

const toS3 = (overrides: Partial<ExportS3Request> = {}): ExportS3Request => ({
  dataset_dir: 'uploads/set/',
  bucket_name: 'team-exports',
  s3_prefix: 'sets',
  include_metadata: true,
  public_read: false,
  require_privacy_validation: false,
  ...overrides,
});

const uri = (world: World, key: string) => `s3://${world.blobs.bucket}/${key}`;

describe('DatasetsService', () => {
  describe('validateQuality', () => {
    it('answers the requested metrics, each threshold applied, the score and the image’s size', async () => {
      // Prepare
      const { world, service } = aService();
      const key = await world.anUpload('uploads/one.png', aPng(16, 12, 3));

      // Act
      const answer = await service.validateQuality(world.tenant, {
        image_path: uri(world, key),
        metrics: ['sharpness', 'contrast'],
      });

      // Assess
      expect(answer).toMatchObject({ image_path: uri(world, key), width: 16, height: 12 });
      expect(Object.keys(answer.metrics).sort()).toEqual(['contrast', 'sharpness']);
      expect(
        answer.checks.map(({ metric, threshold, comparison }) => ({ metric, threshold, comparison })),
      ).toEqual([
        { metric: 'sharpness', threshold: 100, comparison: 'min' },
        { metric: 'contrast', threshold: 0.15, comparison: 'min' },
      ]);
      expect(answer.quality_score).toBeGreaterThanOrEqual(0);
      expect(answer.quality_score).toBeLessThanOrEqual(1);
      expect(answer.passed).toBe(answer.checks.every((check) => check.passed) && answer.quality_score >= 0.5);
    });

    it('passes or fails the same image by the thresholds the request sets', async () => {
      // Prepare: the image's sharpness, measured once.
      const { world, service } = aService();
      const image_path = uri(world, await world.anUpload('uploads/one.png', aPng(16, 12, 3)));
      const measured = await service.validateQuality(world.tenant, { image_path, metrics: ['sharpness'] });
      const sharpness = measured.metrics.sharpness ?? 0;
      expect(sharpness).toBeGreaterThan(0);

      // Act
      const lenient = await service.validateQuality(world.tenant, {
        image_path,
        metrics: ['sharpness'],
        thresholds: { sharpness_min: sharpness / 2 },
      });
      const strict = await service.validateQuality(world.tenant, {
        image_path,
        metrics: ['sharpness'],
        thresholds: { sharpness_min: sharpness * 2 },
      });
      const demanding = await service.validateQuality(world.tenant, {
        image_path,
        metrics: ['sharpness'],
        thresholds: { sharpness_min: sharpness / 2, quality_score_min: 1.5 },
      });

      // Assess: twice the minimum scores 1, half of it 0.25; a score under its own minimum fails.
      expect(lenient).toMatchObject({ passed: true, quality_score: 1 });
      expect(lenient.checks[0]).toMatchObject({ threshold: sharpness / 2, passed: true });
      expect(strict).toMatchObject({ passed: false, quality_score: 0.25 });
      expect(strict.checks[0]).toMatchObject({ threshold: sharpness * 2, passed: false });
      expect(demanding).toMatchObject({ passed: false, quality_score: 1 });
    });

    it('answers 400 for an object that is no image, and 404 for another tenant’s image', async () => {
      // Prepare
      const { world, service } = aService();
      const text = await world.anUpload(
        'uploads/notes.png',
        new TextEncoder().encode('not a png'),
        'image/png',
      );
      const other = aWorld();
      const foreign = await other.anUpload('uploads/one.png');

      // Act
      const notImage = await failure(service.validateQuality(world.tenant, { image_path: uri(world, text) }));
      const notYours = await failure(
        service.validateQuality(world.tenant, { image_path: uri(other, foreign) }),
      );

      // Assess
      expect(notImage).toMatchObject({ code: 'INVALID_PARAMETERS', status: 400 });
      expect(notYours).toMatchObject({ code: 'NOT_FOUND', status: 404 });
    });
  });

  describe('validatePrivacy', () => {
    it('answers the findings with the detectors that made them, and the image path asked', async () => {
      // Prepare
      const { world, service, asked } = aService({ settings: { detectors: 'bundled' } });
      const image_path = uri(world, await world.anUpload('people/face.png', aPng(16, 12)));

      // Act
      const answer = await service.validatePrivacy(world.tenant, {
        image_path,
        check_faces: true,
        check_text: false,
      });

      // Assess
      expect(answer).toEqual({
        image_path,
        detectors: 'bundled',
        privacy_score: 60,
        faces_detected: 1,
        text_detected: false,
        pii_detected: false,
        passed: false,
        issues: [
          expect.objectContaining({
            type: 'face',
            severity: 'high',
            region: { x: 1, y: 1, width: 4, height: 4 },
          }),
        ],
      });
      expect(asked.lines).toHaveLength(0);
    });
  });

  describe('submitValidation', () => {
    it('stores the job with its request and starts its execution, answering the images it will check', async () => {
      // Prepare
      const { world, engine, workflow, service } = aService();
      await someUploads(world, 'uploads/set', 3);
      const request = validation('uploads/set/');

      // Act
      const accepted = await service.submitValidation(world.tenant, request);

      // Assess
      expect(accepted).toEqual({
        job_id: expect.any(String),
        kind: 'image-validation',
        status: 'pending',
        image_count: 3,
        created_at: NOW.toISOString(),
      });
      const job = await engine.get(world.tenant, accepted.job_id);
      expect(job).toMatchObject({
        kind: 'image-validation',
        status: 'pending',
        params: request,
        message: 'waiting to validate 3 images of uploads/set/',
        executionId: workflow.executionIdOf(accepted.job_id),
      });
      expect(workflow.started).toEqual([{ tenant: world.tenant, jobId: accepted.job_id }]);
      expect((await engine.store.tailLog(world.tenant, accepted.job_id, 5)).map((l) => l.message)).toEqual([
        'asked to validate 3 images of uploads/set/',
      ]);
    });

    it('answers 404 for an unknown dataset and for one of no images, storing and starting nothing', async () => {
      // Prepare: a completed generation job whose record says it made no frame.
      const { world, workflow, service, storedJobs } = aService();
      const empty = aJob({
        tenant: world.tenant,
        kind: 'generation',
        status: 'completed',
        result: {
          key: `${world.tenant}/jobs/x/result.zip`,
          bytes: 22,
          frames: 0,
          contentType: 'application/zip',
        },
      });
      world.jobs.add(empty);

      // Act
      const unknown = await failure(service.submitValidation(world.tenant, validation('uploads/nothing/')));
      const none = await failure(service.submitValidation(world.tenant, validation(empty.id)));

      // Assess
      expect(unknown).toMatchObject({ code: 'NOT_FOUND', status: 404 });
      expect(none).toMatchObject({ code: 'NOT_FOUND', status: 404, message: 'the dataset holds no images' });
      expect(await storedJobs()).toEqual([]);
      expect(workflow.started).toEqual([]);
    });

    it('answers 503 when the workflow cannot start, and fails the job it stored', async () => {
      // Prepare
      const { world, engine, workflow, service, storedJobs } = aService();
      await someUploads(world, 'uploads/set', 2);
      workflow.failStart = true;

      // Act
      const error = await failure(service.submitValidation(world.tenant, validation('uploads/set/')));

      // Assess: the job named in the answer is failed, not left pending with nothing to run it.
      expect(error).toMatchObject({ code: 'UNAVAILABLE', status: 503, retryAfter: 5 });
      const jobId = String(error.details?.job_id);
      expect(await engine.get(world.tenant, jobId)).toMatchObject({
        status: 'failed',
        error: { code: 'WORKFLOW_UNAVAILABLE', message: 'the datasets workflow could not be started' },
      });
      expect((await storedJobs()).map((job) => job.status)).toEqual(['failed']);
    });
  });

  describe('profiles', () => {
    it('starts a profile job over a prefix or a batch, and lists and reads what was saved', async () => {
      // Prepare
      const { world, engine, service } = aService();
      await someUploads(world, 'uploads/nature', 2);
      const batch = world.aBatch();
      for (let i = 0; i < 3; i++) await world.anImageJob({ batchId: batch.id });
      const profiles = new ProfileStore(world.blobs);
      await profiles.save(
        world.tenant,
        'saved',
        {
          statistics: {
            color_distribution: { red_mean: 0.5, green_mean: 0.5, blue_mean: 0.5 },
            brightness_mean: 0.5,
            contrast_mean: 0.2,
            resolution: { width_mean: 16, height_mean: 12 },
          },
          sample_count: 4,
          source: { batch_id: batch.id },
        },
        NOW,
      );

      // Act
      const byPrefix = await service.submitProfile(world.tenant, {
        name: 'nature',
        source: { s3_prefix: 'uploads/nature/' },
      });
      const byBatch = await service.submitProfile(world.tenant, {
        name: 'batch',
        source: { batch_id: batch.id },
      });
      const listed = await service.listProfiles(world.tenant);
      const missing = await failure(service.getProfile(world.tenant, 'nature'));

      // Assess: the jobs; the list's summaries; a profile not computed yet is a 404.
      expect(byPrefix).toMatchObject({ kind: 'image-profile', status: 'pending', image_count: 2 });
      expect(byBatch).toMatchObject({ kind: 'image-profile', status: 'pending', image_count: 3 });
      expect((await engine.get(world.tenant, byBatch.job_id)).message).toBe(
        `waiting to profile batch from 3 images of ${batch.id}`,
      );
      expect(listed).toEqual({
        profiles: [
          {
            name: 'saved',
            created_at: NOW.toISOString(),
            sample_count: 4,
            path: `s3://${world.blobs.bucket}/${world.tenant}/profiles/saved.json`,
          },
        ],
      });
      expect(await service.getProfile(world.tenant, 'saved')).toMatchObject({ sample_count: 4 });
      expect(missing).toMatchObject({ code: 'NOT_FOUND', status: 404 });
    });
  });

  describe('exportJsonl', () => {
    it('exports a dataset of up to syncExportLimit images within the request, with a link to the file', async () => {
      // Prepare
      const { world, workflow, service, presigned, storedJobs } = aService({ syncExportLimit: 3 });
      await someUploads(world, 'uploads/set', 3);

      // Act
      const answer = await service.exportJsonl(
        world.tenant,
        jsonl({ output_file: 'exports/2026/set.jsonl' }),
      );

      // Assess
      const key = `${world.tenant}/exports/2026/set.jsonl`;
      expect(answer).toEqual({
        status: 'success',
        exported_count: 3,
        output_file: uri(world, key),
        file_size_bytes: world.blobs.objects.get(key)?.body.byteLength,
        output_url: `https://${world.blobs.bucket}.s3.example/${key}?X-Amz-Expires=${TTL_SECONDS}`,
      });
      expect(presigned).toEqual([{ key, ttlSeconds: TTL_SECONDS, name: 'set.jsonl' }]);
      expect(await storedJobs()).toEqual([]);
      expect(workflow.started).toEqual([]);
    });

    it('runs an export of more than syncExportLimit images as a job (202), writing nothing yet', async () => {
      // Prepare
      const { world, engine, workflow, service } = aService({ syncExportLimit: 3 });
      await someUploads(world, 'uploads/set', 4);
      const request = jsonl();

      // Act
      const answer = await service.exportJsonl(world.tenant, request);

      // Assess
      if (!('accepted' in answer)) throw new Error('the export ran within the request');
      expect(answer.accepted).toMatchObject({ kind: 'image-export', status: 'pending', image_count: 4 });
      expect(await engine.get(world.tenant, answer.accepted.job_id)).toMatchObject({
        kind: 'image-export',
        params: { format: 'jsonl', request },
        message: 'waiting to export 4 images of uploads/set/ to JSONL',
      });
      expect(workflow.started).toHaveLength(1);
      expect(world.blobs.text(`${world.tenant}/exports/set.jsonl`)).toBeUndefined();
    });

    it('answers 400 for an output name outside the exports folder before reading the dataset', async () => {
      // Prepare
      const { world, service } = aService();

      // Act
      const error = await failure(service.exportJsonl(world.tenant, jsonl({ output_file: '../x.jsonl' })));

      // Assess
      expect(error).toMatchObject({ code: 'INVALID_PARAMETERS', status: 400 });
      expect(world.blobs.reads).toEqual([]);
    });
  });

  describe('the privacy gate', () => {
    it('refuses with 409 a request that requires it, before any job or file, however large the export', async () => {
      // Prepare: one dataset within the limit, one past it.
      const { world, workflow, service, storedJobs } = aService({ syncExportLimit: 2 });
      await someUploads(world, 'uploads/small', 2);
      await someUploads(world, 'uploads/large', 3);

      // Act
      const small = await failure(
        service.exportJsonl(
          world.tenant,
          jsonl({ dataset_dir: 'uploads/small/', require_privacy_validation: true }),
        ),
      );
      const large = await failure(
        service.exportS3(
          world.tenant,
          toS3({ dataset_dir: 'uploads/large/', require_privacy_validation: true }),
        ),
      );

      // Assess
      for (const error of [small, large]) {
        expect(error).toMatchObject({
          code: 'ILLEGAL_STATE',
          status: 409,
          details: { privacy_gate: 'required' },
        });
      }
      expect(await storedJobs()).toEqual([]);
      expect(workflow.started).toEqual([]);
      expect([...world.blobs.objects.keys()].filter((key) => key.includes('/exports/'))).toEqual([]);
    });

    it('exports once a passed validation saw every image, and refuses again after the dataset grew', async () => {
      // Prepare
      const { world, work, service } = aService({ settings: { requirePrivacyValidation: true } });
      await someUploads(world, 'uploads/set', 2);
      const dataset = await work.sources.dataset(world.tenant, 'uploads/set/');
      await work.recordGate(world.tenant, {
        dataset: dataset.uri,
        job_id: newJobId(),
        passed: true,
        image_count: 2,
        validated_at: NOW.toISOString(),
      });

      // Act
      const exported = await service.exportJsonl(world.tenant, jsonl());
      await someUploads(world, 'uploads/set', 1, 2);
      const grown = await failure(service.exportJsonl(world.tenant, jsonl({ output_file: 'again.jsonl' })));

      // Assess: the stage requires the gate, though neither request does.
      expect(exported).toMatchObject({ status: 'success', exported_count: 2 });
      expect(grown).toMatchObject({ code: 'ILLEGAL_STATE', status: 409 });
      expect(grown.message).toContain('it holds 3 images');
    });
  });

  describe('exportS3', () => {
    it('refuses with 403 a bucket the stage does not export to, reading and writing nothing', async () => {
      // Prepare
      const { world, destination, service, storedJobs } = aService({
        settings: { exportBuckets: ['team-exports'] },
      });
      await someUploads(world, 'uploads/set', 2);
      const reads = world.blobs.reads.length;

      // Act
      const error = await failure(service.exportS3(world.tenant, toS3({ bucket_name: 'someone-elses' })));

      // Assess
      expect(error).toMatchObject({ code: 'FORBIDDEN', status: 403, details: { parameter: 'bucket_name' } });
      expect(world.blobs.reads).toHaveLength(reads);
      expect(destination.objects.size).toBe(0);
      expect(await storedJobs()).toEqual([]);
    });

    it('exports to any bucket where the stage allows `any`, within the request or as a job', async () => {
      // Prepare
      const { world, engine, destination, service } = aService({
        syncExportLimit: 2,
        settings: { exportBuckets: 'any' },
      });
      await someUploads(world, 'uploads/small', 2);
      await someUploads(world, 'uploads/large', 3);

      // Act
      const now = await service.exportS3(
        world.tenant,
        toS3({ dataset_dir: 'uploads/small/', bucket_name: 'mine' }),
      );
      const later = await service.exportS3(
        world.tenant,
        toS3({ dataset_dir: 'uploads/large/', bucket_name: 'mine' }),
      );

      // Assess
      expect(now).toMatchObject({ status: 'success', uploaded_count: 2, bucket_name: 'mine' });
      expect(destination.keys()).toContain('mine/sets/manifest.json');
      if (!('accepted' in later)) throw new Error('the large export ran within the request');
      expect(later.accepted).toMatchObject({ kind: 'image-export', image_count: 3 });
      expect((await engine.get(world.tenant, later.accepted.job_id)).message).toBe(
        'waiting to export 3 images of uploads/large/ to s3://mine',
      );
    });
  });
});
