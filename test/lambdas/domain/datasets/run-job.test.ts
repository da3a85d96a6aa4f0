/**
 * The datasets machine's step, with the bucket in memory and the jobs engine over the real state
 * table (dynalite): a validation cut into slices wherever the clock says, which checks every image
 * exactly once and in order; the privacy gate it records; a profile written (and computed again)
 * or failed with the image it could not read; the exports; and the jobs it must not run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type {
  BatchValidationRequest,
  BatchValidationResult,
  ExportJsonlRequest,
} from '../../../../contracts/datasets.ts';
import type { ImageExportParams } from '../../../../lambdas/domain/datasets/job-record.ts';
import { datasetJobKeys } from '../../../../lambdas/domain/datasets/ports.ts';
import { ProfileStore, profileKey } from '../../../../lambdas/domain/datasets/profiles.ts';
import { type DatasetTaskDeps, runDatasetJob } from '../../../../lambdas/domain/datasets/run-job.ts';
import type { JobsEngine } from '../../../../lambdas/domain/jobs/engine.ts';
import type { JobRecord } from '../../../../lambdas/domain/jobs/model.ts';
import { useEmulators } from '../../../support/emulators.ts';
import { aJob, engineOver } from '../../../support/jobs.ts';
import { aWork, PngDecoder, someUploads } from './dataset-fakes.ts';
import { aWorld, type World } from './dataset-fixtures.ts';

const fixture = useEmulators();
const SEED = Number(process.env.FC_SEED ?? 15_001);

const T0 = Date.parse('2026-05-01T12:00:00.000Z');

/**
 * The step's ports over a world of its own. Its clock moves one millisecond per image decoded, so
 * that a step of `sliceMs` milliseconds checks `sliceMs` images (at least one) before it hands over.
 */
function aRunner(world: World = aWorld()) {
  const engine = engineOver(fixture);
  const clock = { at: T0 };
  const decoder = new PngDecoder(() => {
    clock.at += 1;
  });
  const { work, destination } = aWork(world);
  const profiles = new ProfileStore(world.blobs);
  const deps = (sliceMs?: number): DatasetTaskDeps => ({
    engine,
    blobs: world.blobs,
    work,
    decoder,
    profiles,
    clock: { now: () => new Date(clock.at) },
    ...(sliceMs === undefined ? {} : { sliceMs }),
  });
  const run = (job: JobRecord, sliceMs?: number) =>
    runDatasetJob(deps(sliceMs), { tenant: job.tenant, jobId: job.id });
  return { world, engine, clock, decoder, work, destination, profiles, deps, run };
}

/** A pending job of the world's tenant, stored. */
async function stored<J extends JobRecord>(engine: JobsEngine, job: J): Promise<J> {
  await engine.store.create([job]);
  return job;
}

const aValidation = (world: World, params: Partial<BatchValidationRequest> = {}) =>
  aJob({
    tenant: world.tenant,
    kind: 'image-validation',
    params: {
      dataset_dir: 'uploads/set/',
      quality: true,
      privacy: false,
      check_faces: true,
      check_text: true,
      ...params,
    },
  });

const anExport = (world: World, params: ImageExportParams) =>
  aJob({ tenant: world.tenant, kind: 'image-export', params });

const jsonlRequest: ExportJsonlRequest = {
  dataset_dir: 'uploads/set/',
  output_file: 'set.jsonl',
  include_metadata: true,
  include_annotations: true,
  require_privacy_validation: false,
};

/** Runs the job's step as the machine does, until it answers something other than `continue`. */
async function runToEnd(run: (sliceMs: number) => Promise<{ status: string }>, slices: readonly number[]) {
  const answers: string[] = [];
  for (let call = 0; call < 1000; call++) {
    const { status } = await run(slices[call % slices.length] ?? 0);
    answers.push(status);
    if (status !== 'continue') return answers;
  }
  throw new Error('the job never ended');
}

function resultOf<T>(world: World, job: JobRecord): T {
  return JSON.parse(world.blobs.text(datasetJobKeys(world.tenant, job.id).result) ?? 'null') as T;
}

const uriOf = (world: World, key: string) => `s3://${world.blobs.bucket}/${key}`;

describe('runDatasetJob', () => {
  describe('a validation', () => {
    it('answers `continue` after each slice and `completed` at the end, keeping its progress between', async () => {
      // Prepare: a slice of 0 ms checks one image.
      const { world, engine, run } = aRunner();
      const keys = await someUploads(world, 'uploads/set', 3);
      const job = await stored(engine, aValidation(world));

      // Act
      const first = await run(job, 0);
      const afterFirst = await engine.get(world.tenant, job.id);
      const rest = [await run(job, 0), await run(job, 0)];

      // Assess
      expect([first.status, ...rest.map((answer) => answer.status)]).toEqual([
        'continue',
        'continue',
        'completed',
      ]);
      expect(afterFirst).toMatchObject({ status: 'running', progress: 33, message: '1 of 3 images' });
      const done = await engine.get(world.tenant, job.id);
      const result = resultOf<BatchValidationResult>(world, job);
      expect(done).toMatchObject({
        status: 'completed',
        progress: 100,
        message: `${result.passed_count} of 3 images passed`,
        result: { key: datasetJobKeys(world.tenant, job.id).result, contentType: 'application/json' },
      });
      expect(result).toMatchObject({
        dataset_dir: uriOf(world, `${world.tenant}/uploads/set/`),
        image_count: 3,
      });
      expect(result.images.map((image) => image.image_path)).toEqual(keys.map((key) => uriOf(world, key)));
      expect(result.quality?.mean_quality_score).toBeGreaterThanOrEqual(0);
      expect(result.diversity?.pairs).toBe(3);
      expect(result.privacy).toBeUndefined();
    });

    it('checks every image exactly once, in order, wherever the slices cut', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 9 }),
          fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 4 }),
          async (count, slices) => {
            // Prepare
            const { world, engine, decoder, run } = aRunner();
            const keys = await someUploads(world, 'uploads/set', count);
            const job = await stored(engine, aValidation(world));

            // Act
            const answers = await runToEnd((sliceMs) => run(job, sliceMs), slices);

            // Assess: one slice per `continue`, each of max(1, sliceMs) images, and each image once.
            let left = count;
            const expected: string[] = [];
            for (let call = 0; left > 0; call++) {
              left -= Math.max(1, slices[call % slices.length] ?? 0);
              expected.push(left > 0 ? 'continue' : 'completed');
            }
            expect(answers).toEqual(expected);
            const result = resultOf<BatchValidationResult>(world, job);
            expect(result.images.map((image) => image.image_path)).toEqual(
              keys.map((key) => uriOf(world, key)),
            );
            expect(result.image_count).toBe(count);
            expect(decoder.decoded).toBe(count);
          },
        ),
        { seed: SEED, numRuns: 25 },
      );
    });

    it('fails an image it cannot read, naming why, and goes on with the others', async () => {
      // Prepare
      const { world, engine, run } = aRunner();
      await someUploads(world, 'uploads/set', 2);
      await world.anUpload('uploads/set/img-01.png', new TextEncoder().encode('not a png'), 'image/png');
      const job = await stored(engine, aValidation(world));

      // Act
      const answer = await run(job);

      // Assess
      expect(answer.status).toBe('completed');
      const result = resultOf<BatchValidationResult>(world, job);
      expect(result).toMatchObject({
        image_count: 2,
        passed_count: result.images[0]?.passed ? 1 : 0,
        passed: false,
      });
      expect(result.images[1]).toMatchObject({
        passed: false,
        error: expect.stringMatching(/cannot be decoded/),
      });
    });

    it('records the privacy gate only when it checked privacy, passed only when every image passed', async () => {
      // Prepare: one dataset without faces, one with; a quality-only validation of the first.
      const { world, engine, clock, work, run } = aRunner();
      await someUploads(world, 'uploads/set', 2);
      await someUploads(world, 'uploads/people', 1);
      await world.anUpload('uploads/people/face-1.png');
      const qualityOnly = await stored(engine, aValidation(world, { privacy: false }));
      const clean = await stored(engine, aValidation(world, { quality: false, privacy: true }));
      const faces = await stored(
        engine,
        aValidation(world, { dataset_dir: 'uploads/people', privacy: true }),
      );
      const setUri = uriOf(world, `${world.tenant}/uploads/set/`);
      const peopleUri = uriOf(world, `${world.tenant}/uploads/people/`);

      // Act and Assess: no gate after the quality-only validation.
      await run(qualityOnly);
      expect(await work.gate(world.tenant, setUri)).toBeUndefined();

      // The clean validation checks privacy only: no image is decoded, and its clock stands still.
      const validatedAt = new Date(clock.at).toISOString();
      await run(clean);
      await run(faces);
      expect(await work.gate(world.tenant, setUri)).toEqual({
        dataset: setUri,
        job_id: clean.id,
        passed: true,
        image_count: 2,
        // The two images it saw, by URI and size: a replaced one changes it.
        images_digest: expect.stringMatching(/^[0-9a-f]{64}$/),
        validated_at: validatedAt,
      });
      expect(await work.gate(world.tenant, peopleUri)).toMatchObject({
        job_id: faces.id,
        passed: false,
        image_count: 2,
      });
      expect(resultOf<BatchValidationResult>(world, faces).privacy).toEqual({
        passed_count: 1,
        faces_detected: 1,
        pii_images: 0,
        text_images: 0,
      });
      await expect(work.checkGate(world.tenant, 'uploads/set/', true)).resolves.toBeUndefined();
      await expect(work.checkGate(world.tenant, 'uploads/people/', true)).rejects.toMatchObject({
        status: 409,
      });
    });

    it('fails the job with the error’s code when its dataset is gone, at the start or between slices', async () => {
      // Prepare
      const { world, engine, run } = aRunner();
      const never = await stored(engine, aValidation(world, { dataset_dir: 'uploads/never/' }));
      const keys = await someUploads(world, 'uploads/set', 2);
      const emptied = await stored(engine, aValidation(world));

      // Act
      const atStart = await run(never);
      const firstSlice = await run(emptied, 0);
      for (const key of keys) await world.blobs.delete(key);
      const afterDeletion = await run(emptied, 0);

      // Assess
      expect([atStart.status, firstSlice.status, afterDeletion.status]).toEqual([
        'failed',
        'continue',
        'failed',
      ]);
      for (const job of [never, emptied]) {
        const failed = await engine.get(world.tenant, job.id);
        expect(failed).toMatchObject({ status: 'failed', error: { code: 'NOT_FOUND' } });
        expect(failed.error?.message).toContain('uploads/');
      }
    });
  });

  describe('a store that fails', () => {
    it('throws a connection reset for the machine to retry, and the retry completes the job', async () => {
      // Prepare: the second image of a profile cannot be read once, as a socket reset answers.
      const { world, engine, profiles, run } = aRunner();
      const keys = await someUploads(world, 'uploads/set', 3);
      const job = await stored(
        engine,
        aJob({
          tenant: world.tenant,
          kind: 'image-profile',
          params: { name: 'nature', source: { s3_prefix: 'uploads/set/' } },
        }),
      );
      const get = world.blobs.get.bind(world.blobs);
      let resets = 1;
      world.blobs.get = async (key) => {
        if (key === keys[1] && resets-- > 0) {
          throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' });
        }
        return get(key);
      };

      // Act
      const first = await run(job).catch((error: Error) => error);
      const afterFirst = await engine.get(world.tenant, job.id);
      const retry = await run(job);

      // Assess: the job was left running for the retry, which profiled every image.
      expect(first).toMatchObject({ message: 'read ECONNRESET' });
      expect(afterFirst.status).toBe('running');
      expect(retry.status).toBe('completed');
      expect((await profiles.get(world.tenant, 'nature')).sample_count).toBe(3);
    });
  });

  describe('a job it must not run', () => {
    it.each(['completed', 'failed', 'cancelled'] as const)(
      'answers a %s job’s status and writes nothing',
      async (status) => {
        // Prepare
        const { world, engine, run } = aRunner();
        await someUploads(world, 'uploads/set', 2);
        const job = await stored(engine, { ...aValidation(world), status });
        const before = await engine.get(world.tenant, job.id);

        // Act
        const answer = await run(job);

        // Assess
        expect(answer).toEqual({ status });
        expect(await engine.get(world.tenant, job.id)).toEqual(before);
        expect([...world.blobs.objects.keys()].filter((key) => key.includes('/dataset-jobs/'))).toEqual([]);
      },
    );

    it('refuses a job of another kind', async () => {
      // Prepare
      const { world, engine, run } = aRunner();
      const job = await stored(engine, aJob({ tenant: world.tenant, kind: 'generation' }));

      // Act and Assess
      await expect(run(job)).rejects.toThrow(`job ${job.id} is a generation job, not a dataset job`);
    });
  });

  describe('a profile', () => {
    const aProfileJob = (world: World, name = 'nature') =>
      aJob({
        tenant: world.tenant,
        kind: 'image-profile',
        params: { name, source: { s3_prefix: 'uploads/set/' } },
      });

    it('writes the profile, and keeps its created_at when it is computed again later', async () => {
      // Prepare
      const { world, engine, clock, profiles, run } = aRunner();
      await someUploads(world, 'uploads/set', 3);
      const first = await stored(engine, aProfileJob(world));

      // Act: the first over 3 images in slices of one; the second an hour later, over 4.
      const answers = await runToEnd((sliceMs) => run(first, sliceMs), [0]);
      const firstProfile = await profiles.get(world.tenant, 'nature');
      clock.at += 3_600_000;
      await someUploads(world, 'uploads/set', 1, 3);
      const second = await stored(engine, aProfileJob(world));
      await run(second);

      // Assess
      expect(answers).toEqual(['continue', 'continue', 'completed']);
      expect(firstProfile).toMatchObject({
        name: 'nature',
        sample_count: 3,
        source: { s3_prefix: 'uploads/set/' },
        statistics: { resolution: { width_mean: 8, height_mean: 6 } },
      });
      expect(firstProfile.created_at).toBe(firstProfile.updated_at);
      const recomputed = await profiles.get(world.tenant, 'nature');
      expect(recomputed.sample_count).toBe(4);
      expect(recomputed.created_at).toBe(firstProfile.created_at);
      expect(Date.parse(recomputed.updated_at)).toBeGreaterThan(Date.parse(firstProfile.updated_at));
      expect(await engine.get(world.tenant, first.id)).toMatchObject({
        status: 'completed',
        progress: 100,
        result: { key: profileKey(world.tenant, 'nature'), contentType: 'application/json' },
      });
    });

    it('fails the job, naming the image, when an image cannot be read, and writes no profile', async () => {
      // Prepare
      const { world, engine, profiles, run } = aRunner();
      await someUploads(world, 'uploads/set', 2);
      const broken = await world.anUpload(
        'uploads/set/img-01.png',
        new TextEncoder().encode('nope'),
        'image/png',
      );
      const job = await stored(engine, aProfileJob(world));

      // Act
      const answer = await run(job);

      // Assess
      expect(answer.status).toBe('failed');
      const failed = await engine.get(world.tenant, job.id);
      expect(failed.error).toMatchObject({ code: 'INVALID_PARAMETERS' });
      expect(failed.error?.message.startsWith(`${uriOf(world, broken)}: the image cannot be decoded`)).toBe(
        true,
      );
      expect(await profiles.find(world.tenant, 'nature')).toBeUndefined();
    });
  });

  describe('an export', () => {
    it('completes a JSONL export with the export’s answer as its result', async () => {
      // Prepare
      const { world, engine, run } = aRunner();
      await someUploads(world, 'uploads/set', 3);
      const job = await stored(engine, anExport(world, { format: 'jsonl', request: jsonlRequest }));

      // Act
      const answer = await run(job);

      // Assess
      const key = `${world.tenant}/exports/set.jsonl`;
      expect(answer.status).toBe('completed');
      expect(resultOf(world, job)).toEqual({
        status: 'success',
        exported_count: 3,
        output_file: uriOf(world, key),
        file_size_bytes: world.blobs.objects.get(key)?.body.byteLength,
      });
      expect(await engine.get(world.tenant, job.id)).toMatchObject({
        status: 'completed',
        message: `exported 3 images to ${uriOf(world, key)}`,
      });
    });

    it('completes an S3 export with the export’s answer as its result', async () => {
      // Prepare
      const { world, engine, destination, run } = aRunner();
      await someUploads(world, 'uploads/set', 2);
      const job = await stored(
        engine,
        anExport(world, {
          format: 's3',
          request: {
            dataset_dir: 'uploads/set/',
            bucket_name: 'team-exports',
            s3_prefix: 'sets',
            include_metadata: false,
            public_read: false,
            require_privacy_validation: false,
          },
        }),
      );

      // Act
      const answer = await run(job);

      // Assess
      expect(answer.status).toBe('completed');
      expect(resultOf(world, job)).toMatchObject({
        status: 'success',
        uploaded_count: 2,
        failed_count: 0,
        bucket_name: 'team-exports',
        manifest_url: 's3://team-exports/sets/manifest.json',
      });
      expect(destination.keys()).toEqual([
        'team-exports/sets/img-00.png',
        'team-exports/sets/img-01.png',
        'team-exports/sets/manifest.json',
      ]);
      expect((await engine.get(world.tenant, job.id)).message).toBe('uploaded 2 images, 0 failed');
    });
  });
});
