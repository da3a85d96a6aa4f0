/**
 * The datasets machine's step (statemachines/datasets.asl.json): runs one dataset job, a slice at a
 * time. A validation or a profile goes through the dataset's images in their fixed order and, after
 * each slice, keeps what it has done in S3 (`progress.json`): the next call (the machine's Continue,
 * or a retry after a crash or a timeout) starts from there, so that a job of any size fits Lambda's
 * 15 minutes a call and a crash costs at most one slice. An export runs whole in one call: its
 * output is written once at the end, and a retry writes it again from the start.
 */
import { type BatchValidationResult, QUALITY_METRICS } from '../../../contracts/datasets.ts';
import { DomainError } from '../errors.ts';
import type { JobsEngine } from '../jobs/engine.ts';
import { isTerminal } from '../jobs/lifecycle.ts';
import type { BlobStore, Clock } from '../ports.ts';
import { qualityMetrics } from '../validation/quality.ts';
import { assessQuality } from '../validation/quality-score.ts';
import { meanPairwiseSsim, thumbnail } from '../validation/ssim.ts';
import {
  type AccumulatorState,
  imageStatistics,
  ProfileAccumulator,
  roundStatistics,
} from '../validation/statistics.ts';
import type {
  DatasetJobRecord,
  ImageExportJobRecord,
  ImageProfileJobRecord,
  ImageValidationJobRecord,
} from './job-record.ts';
import { datasetJobKeys, type PixelDecoder } from './ports.ts';
import { digestLine, imagesDigest } from './privacy-gate.ts';
import type { ProfileStore } from './profiles.ts';
import type { DatasetWork } from './work.ts';

export interface DatasetTaskDeps {
  engine: JobsEngine;
  blobs: Pick<BlobStore, 'get' | 'put'>;
  work: DatasetWork;
  decoder: PixelDecoder;
  profiles: ProfileStore;
  clock: Clock;
  /** How long one call works before it keeps its progress and hands over. Default 10 minutes. */
  sliceMs?: number;
}

export interface RunDatasetJobResult {
  /** `continue`: more images are left, and the machine calls again. Otherwise the job's status. */
  status: string;
}

const DEFAULT_SLICE_MS = 10 * 60 * 1000;
/** The images a validation keeps a thumbnail of, for the set's diversity: every pair of them is compared. */
const DIVERSITY_SAMPLE = 64;

type ImageOutcome = BatchValidationResult['images'][number];

/** What the slices of a job have done so far. */
interface Progress {
  done: number;
  /** Validation: each image's outcome, and the thumbnails of the sample (base64 grey). */
  images?: ImageOutcome[];
  thumbnails?: { index: number; side: number; data: string }[];
  /** Validation: each image's URI and size (privacy-gate.ts `digestLine`), for the gate's digest. */
  seen?: string[];
  /** Profile: the statistics folded so far. */
  accumulator?: AccumulatorState;
}

export async function runDatasetJob(
  deps: DatasetTaskDeps,
  input: { tenant: string; jobId: string },
): Promise<RunDatasetJobResult> {
  const { engine } = deps;
  const found = await engine.get(input.tenant, input.jobId);
  if (found.kind !== 'image-validation' && found.kind !== 'image-profile' && found.kind !== 'image-export') {
    throw new Error(`job ${found.id} is a ${found.kind} job, not a dataset job`);
  }
  const job: DatasetJobRecord = found;
  if (isTerminal(job.status)) return { status: job.status };
  if (job.status === 'pending') {
    const started = await engine.transition(job.tenant, job.id, 'running', { progress: 0 }, 'started');
    if (!started.applied) return { status: started.reason === 'illegal' ? started.job.status : 'missing' };
  }
  try {
    switch (job.kind) {
      case 'image-validation':
        return await runValidation(deps, job);
      case 'image-profile':
        return await runProfile(deps, job);
      case 'image-export':
        return await runExport(deps, job);
    }
  } catch (error) {
    // The caller's kind of error (a dataset emptied since, an export refused) ends the job with its message.
    // Anything else (a socket's ECONNRESET has a `code` too) is thrown for the machine to retry the slice.
    if (error instanceof DomainError && error.code !== 'INTERNAL') {
      return fail(deps, job, { code: error.code, message: error.message });
    }
    throw error;
  }
}

async function runValidation(
  deps: DatasetTaskDeps,
  job: ImageValidationJobRecord,
): Promise<RunDatasetJobResult> {
  const request = job.params;
  const dataset = await deps.work.sources.dataset(job.tenant, request.dataset_dir);
  const progress = (await readProgress(deps, job)) ?? { done: 0, images: [], thumbnails: [] };
  const images = progress.images ?? [];
  const thumbnails = progress.thumbnails ?? [];
  const seen = progress.seen ?? [];
  const sampled = sampleIndices(dataset.count);
  const deadline = deps.clock.now().getTime() + (deps.sliceMs ?? DEFAULT_SLICE_MS);
  let index = progress.done;
  for await (const image of dataset.images(progress.done)) {
    const outcome: ImageOutcome = { image_path: image.uri, passed: true };
    seen.push(digestLine(image));
    try {
      const bytes = await image.bytes();
      if (request.quality) {
        const pixels = await deps.decoder.decode(bytes);
        const assessment = assessQuality(qualityMetrics(pixels), request.metrics, request.thresholds);
        outcome.quality = { ...assessment, width: pixels.width, height: pixels.height };
        outcome.passed &&= assessment.passed;
        if (sampled.has(index)) {
          const small = thumbnail(pixels);
          thumbnails.push({ index, side: small.width, data: Buffer.from(small.data).toString('base64') });
        }
      }
      if (request.privacy) {
        const report = await deps.work.privacy(image, {
          checkFaces: request.check_faces,
          checkText: request.check_text,
        });
        outcome.privacy = report;
        outcome.passed &&= report.passed;
      }
    } catch (error) {
      // The image's own fault (no image, too large) fails the image; anything else (a store or a
      // detector service failing) fails the slice, which the machine retries from its progress.
      if (!(error instanceof DomainError) || error.code === 'UNAVAILABLE' || error.code === 'INTERNAL')
        throw error;
      outcome.passed = false;
      outcome.error = error.message;
    }
    images.push(outcome);
    index++;
    if (deps.clock.now().getTime() >= deadline && index < dataset.count) {
      await keepProgress(deps, job, { done: index, images, thumbnails, seen }, dataset.count);
      return { status: 'continue' };
    }
  }
  const result = validationResult(request, dataset.uri, images, thumbnails);
  if (request.privacy) {
    await deps.work.recordGate(job.tenant, {
      dataset: dataset.uri,
      job_id: job.id,
      passed: result.privacy?.passed_count === images.length,
      image_count: images.length,
      images_digest: imagesDigest(seen),
      validated_at: deps.clock.now().toISOString(),
    });
  }
  return complete(deps, job, result, `${result.passed_count} of ${result.image_count} images passed`);
}

function validationResult(
  request: ImageValidationJobRecord['params'],
  datasetDir: string,
  images: ImageOutcome[],
  thumbnails: NonNullable<Progress['thumbnails']>,
): BatchValidationResult {
  const passed = images.filter((image) => image.passed).length;
  const measured = images.filter((image) => image.quality);
  const mean = (values: number[]) =>
    values.length === 0 ? 0 : round(values.reduce((a, b) => a + b, 0) / values.length);
  const metricMeans: Record<string, number> = {};
  for (const name of QUALITY_METRICS) {
    const values = measured
      .map((image) => image.quality?.metrics[name])
      .filter((v): v is number => v !== undefined);
    if (values.length > 0) metricMeans[name] = mean(values);
  }
  const pixels = thumbnails.map(({ side, data }) => ({
    width: side,
    height: side,
    channels: 1 as const,
    data: new Uint8Array(Buffer.from(data, 'base64')),
  }));
  const ssim = pixels.length >= 2 ? meanPairwiseSsim(pixels, pixels[0]?.width) : undefined;
  const privacy = images.filter((image) => image.privacy);
  return {
    dataset_dir: datasetDir,
    image_count: images.length,
    passed_count: passed,
    failed_count: images.length - passed,
    passed: passed === images.length,
    ...(request.quality
      ? {
          quality: {
            mean_quality_score: mean(measured.map((image) => image.quality?.quality_score ?? 0)),
            means: metricMeans,
            passed_count: measured.filter((image) => image.quality?.passed).length,
          },
        }
      : {}),
    ...(ssim !== undefined
      ? {
          diversity: {
            mean_pairwise_ssim: round(ssim),
            diversity: round(1 - ssim),
            pairs: (pixels.length * (pixels.length - 1)) / 2,
          },
        }
      : {}),
    ...(request.privacy
      ? {
          privacy: {
            passed_count: privacy.filter((image) => image.privacy?.passed).length,
            faces_detected: privacy.reduce((sum, image) => sum + (image.privacy?.faces_detected ?? 0), 0),
            pii_images: privacy.filter((image) => image.privacy?.pii_detected).length,
            text_images: privacy.filter((image) => image.privacy?.text_detected).length,
          },
        }
      : {}),
    images,
  };
}

async function runProfile(deps: DatasetTaskDeps, job: ImageProfileJobRecord): Promise<RunDatasetJobResult> {
  const { name, source } = job.params;
  const dir = 'batch_id' in source ? source.batch_id : source.s3_prefix;
  const dataset = await deps.work.sources.dataset(job.tenant, dir);
  const progress = await readProgress(deps, job);
  const accumulator = progress?.accumulator
    ? ProfileAccumulator.fromState(progress.accumulator)
    : new ProfileAccumulator();
  const deadline = deps.clock.now().getTime() + (deps.sliceMs ?? DEFAULT_SLICE_MS);
  let index = progress?.done ?? 0;
  for await (const image of dataset.images(index)) {
    accumulator.add(imageStatistics(await decodedOrNamed(deps.decoder, image)));
    index++;
    if (deps.clock.now().getTime() >= deadline && index < dataset.count) {
      await keepProgress(deps, job, { done: index, accumulator: accumulator.toState() }, dataset.count);
      return { status: 'continue' };
    }
  }
  const saved = await deps.profiles.save(
    job.tenant,
    name,
    { statistics: roundStatistics(accumulator.statistics()), sample_count: accumulator.sampleCount, source },
    deps.clock.now(),
  );
  const done = await deps.engine.transition(
    job.tenant,
    job.id,
    'completed',
    {
      progress: 100,
      message: 'done',
      result: { key: saved.key, bytes: saved.bytes, contentType: 'application/json' },
    },
    `completed: profile ${name} of ${accumulator.sampleCount} images`,
  );
  return { status: done.applied ? 'completed' : done.reason === 'illegal' ? done.job.status : 'missing' };
}

async function runExport(deps: DatasetTaskDeps, job: ImageExportJobRecord): Promise<RunDatasetJobResult> {
  let reported = 0;
  const onProgress = async (done: number, total: number) => {
    const progress = Math.min(99, Math.floor((done / Math.max(1, total)) * 100));
    if (progress - reported < 10) return;
    reported = progress;
    await deps.engine.store.update(job.tenant, job.id, { progress, message: `${done} of ${total} images` });
  };
  const { params } = job;
  if (params.format === 'jsonl') {
    const result = await deps.work.exportJsonl(job.tenant, params.request, onProgress);
    return complete(deps, job, result, `exported ${result.exported_count} images to ${result.output_file}`);
  }
  const result = await deps.work.exportS3(job.tenant, params.request, onProgress);
  return complete(
    deps,
    job,
    result,
    `uploaded ${result.uploaded_count} images, ${result.failed_count} failed`,
  );
}

/** The image's pixels; an image that cannot be read fails the job with its name. */
async function decodedOrNamed(decoder: PixelDecoder, image: { uri: string; bytes(): Promise<Uint8Array> }) {
  try {
    return await decoder.decode(await image.bytes());
  } catch (error) {
    if (error instanceof DomainError) {
      throw new DomainError(error.code, `${image.uri}: ${error.message}`, {
        ...error.details,
        image_path: image.uri,
      });
    }
    throw error;
  }
}

/** Evenly spread indices of the images whose thumbnails the diversity compares. */
function sampleIndices(count: number): Set<number> {
  if (count <= DIVERSITY_SAMPLE) return new Set(Array.from({ length: count }, (_, i) => i));
  return new Set(
    Array.from({ length: DIVERSITY_SAMPLE }, (_, i) => Math.floor((i * count) / DIVERSITY_SAMPLE)),
  );
}

async function readProgress(deps: DatasetTaskDeps, job: DatasetJobRecord): Promise<Progress | undefined> {
  const bytes = await deps.blobs.get(datasetJobKeys(job.tenant, job.id).progress);
  return bytes ? (JSON.parse(new TextDecoder().decode(bytes)) as Progress) : undefined;
}

async function keepProgress(deps: DatasetTaskDeps, job: DatasetJobRecord, progress: Progress, total: number) {
  const key = datasetJobKeys(job.tenant, job.id).progress;
  await deps.blobs.put(key, new TextEncoder().encode(JSON.stringify(progress)), 'application/json');
  const percent = Math.min(99, Math.floor((progress.done / Math.max(1, total)) * 100));
  await deps.engine.store.update(job.tenant, job.id, {
    progress: percent,
    message: `${progress.done} of ${total} images`,
  });
}

/** Stores the route's answer as the job's result and completes the job. */
async function complete(deps: DatasetTaskDeps, job: DatasetJobRecord, result: object, summary: string) {
  const key = datasetJobKeys(job.tenant, job.id).result;
  const body = new TextEncoder().encode(JSON.stringify(result));
  await deps.blobs.put(key, body, 'application/json');
  const done = await deps.engine.transition(
    job.tenant,
    job.id,
    'completed',
    {
      progress: 100,
      message: summary,
      result: { key, bytes: body.byteLength, contentType: 'application/json' },
    },
    `completed: ${summary}`,
  );
  return { status: done.applied ? 'completed' : done.reason === 'illegal' ? done.job.status : 'missing' };
}

async function fail(deps: DatasetTaskDeps, job: DatasetJobRecord, error: { code: string; message: string }) {
  const done = await deps.engine.transition(
    job.tenant,
    job.id,
    'failed',
    { error, message: error.message },
    `failed: ${error.message}`,
  );
  return { status: done.applied ? 'failed' : done.reason === 'illegal' ? done.job.status : 'missing' };
}

const round = (value: number) => Math.round(value * 10_000) / 10_000;
