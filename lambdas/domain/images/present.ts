/**
 * Seed 001's answers on the generation routes, made from the image service's jobs: the image of a
 * job that has ended, where a job that has not stands, and a batch's images. The handler only
 * decides how each answer is sent (`ready: false` is the route's 202).
 */
import type { z } from 'zod';
import type {
  GenerateAccepted,
  GenerateBatchAccepted,
  GenerateBatchResult,
  GenerateResponse,
  ImageJobState,
} from '../../../contracts/images.ts';
import { DomainError } from '../errors.ts';
import { isTerminal } from '../jobs/lifecycle.ts';
import type { ImageJobRecord } from './job-record.ts';
import {
  estimateCost,
  type ImageService,
  type PlannedImageParams,
  PRIVACY_VALIDATION_REQUIRED,
} from './service.ts';

/** An image once its job has ended (`ready`); until then, where the job stands. */
export type ImageAnswer<Ready, Pending> = { ready: true; body: Ready } | { ready: false; body: Pending };

const ready = <T>(body: T) => ({ ready: true as const, body });
const pending = <T>(body: T) => ({ ready: false as const, body });

/** The parameters an image job was made with, as seed 001 answers them: the profile by its name. */
function parametersOf(job: ImageJobRecord) {
  const { prompt: _prompt, profile, ...parameters } = job.params;
  return { ...parameters, ...(profile ? { profile: profile.name } : {}) };
}

/** What the job's image costs at its model's price; nothing when the model is no longer listed. */
function costOf(images: ImageService, job: ImageJobRecord) {
  const model = images.deps.models.byName(job.generator);
  return model ? estimateCost(model, [job.params]) : { gpu_seconds: 0, usd: 0, instance_type: 'unknown' };
}

/** The image of an ended job with what it was made with and its cost (the errors of `image` otherwise). */
async function generatedImage(
  images: ImageService,
  job: ImageJobRecord,
): Promise<z.infer<typeof GenerateResponse>> {
  const cost = costOf(images, job);
  return {
    ...(await images.image(job)),
    prompt: job.params.prompt,
    parameters: parametersOf(job),
    job_id: job.id,
    batch_id: job.batchId ?? job.id,
    cost,
  };
}

/**
 * `POST /generate`: waits up to `waitMs` for the job the request started, then answers its image,
 * or where it stands with its parameters and cost.
 */
export async function awaitedImage(
  images: ImageService,
  tenant: string,
  jobId: string,
  waitMs: number,
): Promise<ImageAnswer<z.infer<typeof GenerateResponse>, z.infer<typeof GenerateAccepted>>> {
  const job = await images.waitForEnd(tenant, jobId, waitMs);
  const cost = costOf(images, job);
  if (isTerminal(job.status)) {
    try {
      return ready(await generatedImage(images, job));
    } catch (error) {
      // The image is made but withheld by the privacy gate: where the job stands, and why.
      if (!isGateClosed(error)) throw error;
      return pending({
        ...(await images.state(job)),
        message: error.message,
        parameters: parametersOf(job),
        cost,
      });
    }
  }
  return pending({ ...(await images.state(job)), parameters: parametersOf(job), cost });
}

/** `GET /generate/{job_id}`: the image of an ended job, else where the job stands. */
export async function imageOfJob(
  images: ImageService,
  tenant: string,
  jobId: string,
): Promise<ImageAnswer<z.infer<typeof GenerateResponse>, z.infer<typeof ImageJobState>>> {
  const job = await images.imageJob(tenant, jobId);
  if (!isTerminal(job.status)) return pending(await images.state(job));
  return ready(await generatedImage(images, job));
}

/** `POST /generate/batch`'s 202: the batch, one job per prompt, and the parameters they share. */
export function startedBatch({
  batch,
  items,
  perPrompt,
  cost,
}: Awaited<ReturnType<ImageService['generateBatch']>>): z.infer<typeof GenerateBatchAccepted> {
  const { seed: _seed, prompt: _prompt, ...shared } = perPrompt[0] as PlannedImageParams;
  return {
    batch_id: batch.id,
    status: batch.status,
    jobs: items.map((item, index) => ({ job_id: item.id, prompt: perPrompt[index]?.prompt ?? '' })),
    parameters: { ...shared, seeds: perPrompt.map((params) => params.seed) },
    cost,
  };
}

/** `GET /generate/batch/{batch_id}`: each job's status and, once completed, its image. */
export async function imagesOfBatch(
  images: ImageService,
  tenant: string,
  batchId: string,
): Promise<z.infer<typeof GenerateBatchResult>> {
  const { batch, items } = await images.imageBatch(tenant, batchId);
  const first = items[0] as ImageJobRecord;
  const { seed: _seed, ...shared } = parametersOf(first);
  return {
    batch_id: batch.id,
    status: batch.status,
    images: await Promise.all(
      items.map(async (item) => {
        return {
          job_id: item.id,
          status: item.status,
          prompt: item.params.prompt,
          seed: item.params.seed,
          ...(item.status === 'completed' ? await linkedImage(images, item) : {}),
          ...(item.error ? { error: item.error } : {}),
        };
      }),
    ),
    parameters: shared,
  };
}

const isGateClosed = (error: unknown): error is DomainError =>
  error instanceof DomainError && error.details?.code === PRIVACY_VALIDATION_REQUIRED;

/** A batch's completed image, or where it is and why the privacy gate withholds its link. */
async function linkedImage(images: ImageService, job: ImageJobRecord) {
  try {
    return await images.image(job);
  } catch (error) {
    if (!isGateClosed(error)) throw error;
    return {
      image_path: `s3://${images.deps.blobs.bucket}/${job.result?.key ?? ''}`,
      error: { code: PRIVACY_VALIDATION_REQUIRED, message: error.message },
    };
  }
}
