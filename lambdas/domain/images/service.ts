/**
 * Text-to-image generation (seed 001) as jobs of the one engine: a request becomes a batch of image
 * jobs, each of which the image workflow sends to its model's endpoint and waits for with a task
 * token. This module validates, estimates, stores and starts; it also presents the jobs in seed
 * 001's shapes.
 */

import type { GenerateBatchRequest, GenerateRequest } from '../../../contracts/images.ts';
import type { DeployedModel } from '../../../contracts/models.ts';
import { storeAndStartBatch } from '../batches/start.ts';
import { ensureRoomForWork } from '../capacity.ts';
import { imageCleared } from '../datasets/privacy-gate.ts';
import { ProfileStore } from '../datasets/profiles.ts';
import { DomainError, notFound, unavailable } from '../errors.ts';
import type { JobsEngine } from '../jobs/engine.ts';
import { isTerminal } from '../jobs/lifecycle.ts';
import { type BatchJobRecord, isJobOfKind, type JobRecord } from '../jobs/model.ts';
import type {
  BatchWorkflow,
  BlobStore,
  Clock,
  ColdStartStore,
  ModelEndpoints,
  StorageCapacity,
} from '../ports.ts';
import { IMAGE_TRANSITIONS, PRICES, roundTo } from '../pricing.ts';
import type { ImageJobParams, ImageJobRecord, ImageProfile, PlannedImageParams } from './job-record.ts';
import type { ImageModels } from './models.ts';

export type { ImageJobParams, PlannedImageParams };

export interface ImageServiceDeps {
  engine: JobsEngine;
  workflow: BatchWorkflow;
  blobs: BlobStore;
  endpoints: ModelEndpoints;
  models: ImageModels;
  coldStarts: ColdStartStore;
  clock: Clock;
  newId: () => string;
  /** A seed for a request without one (0 … 2^32 − 1). */
  newSeed: () => number;
  resultUrlTtlSeconds: number;
  /** Room for requests and images (the local platform's disk); absent: always room. */
  capacity?: StorageCapacity;
  /**
   * The stage's privacy gate (`datasets.requirePrivacyValidation`): a batch's images are linked only
   * once the batch passed a privacy validation (POST /api/v1/validate/batch) made after them.
   */
  requirePrivacyValidation?: boolean;
}

/** The code of an image withheld by the privacy gate. */
export const PRIVACY_VALIDATION_REQUIRED = 'PRIVACY_VALIDATION_REQUIRED';

/**
 * The Hugging Face inference toolkit's text-to-image request, which the shapes container speaks too.
 * The profile is not the model's: the image is steered after it lands (profile.ts).
 */
export function endpointRequest(params: ImageJobParams): Record<string, unknown> {
  return {
    inputs: params.prompt,
    parameters: {
      ...(params.negative_prompt ? { negative_prompt: params.negative_prompt } : {}),
      width: params.width,
      height: params.height,
      num_inference_steps: params.num_inference_steps,
      guidance_scale: params.guidance_scale,
      seed: params.seed,
    },
  };
}

/** One image of a batch: the model that makes it and every parameter it is made with. */
export interface PlannedModelRun {
  model: DeployedModel;
  params: PlannedImageParams;
}

/** What an image's cost depends on: its model, its size and its steps. */
export interface CostedImage {
  model: DeployedModel;
  params: Pick<ImageJobParams, 'width' | 'height' | 'num_inference_steps'>;
}

/** Where an image job's request and image live: under its tenant, like every key. */
export const imageKeys = (tenant: string, jobId: string) => ({
  request: `${tenant}/jobs/${jobId}/request.json`,
  image: `${tenant}/jobs/${jobId}/image.png`,
});

/** Instance seconds of one image: the model's per-image figure, scaled by pixels and steps. */
export function gpuSecondsPerImage(
  model: DeployedModel,
  params: Pick<ImageJobParams, 'width' | 'height' | 'num_inference_steps'>,
): number {
  return (
    model.secondsPerImage * ((params.width * params.height) / (512 * 512)) * (params.num_inference_steps / 50)
  );
}

/**
 * What a batch of images costs to make: instance seconds on each image's model at its price, and
 * the image workflow's transitions. The one cost model of the generate routes and the batch estimate.
 */
export function imageRunCosts(runs: readonly CostedImage[]) {
  let gpuSeconds = 0;
  let gpuUsd = 0;
  for (const { model, params } of runs) {
    const seconds = gpuSecondsPerImage(model, params);
    gpuSeconds += seconds;
    gpuUsd += (seconds / 3600) * model.usdPerHour;
  }
  const transitions = IMAGE_TRANSITIONS.perBatch + IMAGE_TRANSITIONS.perImage * runs.length;
  return {
    gpuSeconds,
    gpuUsd,
    transitions,
    orchestrationUsd: transitions * PRICES.stepFunctionsPerTransition,
  };
}

/** The `cost` of a generate route's answer: one model's images. */
export function estimateCost(model: DeployedModel, perImage: readonly CostedImage['params'][]) {
  const costs = imageRunCosts(perImage.map((params) => ({ model, params })));
  return {
    gpu_seconds: roundTo(costs.gpuSeconds, 2),
    usd: roundTo(costs.gpuUsd + costs.orchestrationUsd, 6),
    instance_type: model.instanceType,
  };
}

export class ImageService {
  constructor(readonly deps: ImageServiceDeps) {}

  /** Validates against the model, stores one batch of one image job, and starts it. */
  async generate(tenant: string, request: GenerateRequest) {
    const model = this.deps.models.resolve(request.model_id);
    const params = this.resolveParams(model, request, request.prompt, request.seed);
    const { batch, items } = await this.submitRuns(tenant, request.prompt.slice(0, 80), [{ model, params }]);
    const job = items[0] as ImageJobRecord;
    return { batch, job, model, params, cost: estimateCost(model, [params]) };
  }

  /** One image job per prompt, in one batch; each prompt gets its own seed (the given one plus its index). */
  async generateBatch(tenant: string, request: GenerateBatchRequest) {
    const model = this.deps.models.resolve(request.model_id);
    const base = request.seed ?? this.deps.newSeed();
    const perPrompt = request.prompts.map((prompt, index) =>
      this.resolveParams(model, request, prompt, (base + index) % 4_294_967_296),
    );
    const name = request.name ?? `${request.prompts.length} images from ${model.modelId}`;
    const { batch, items } = await this.submitRuns(
      tenant,
      name,
      perPrompt.map((params) => ({ model, params })),
    );
    return { batch, items, model, perPrompt, cost: estimateCost(model, perPrompt) };
  }

  /** An image job of this tenant; anything else (another kind, another tenant) is a 404. */
  async imageJob(tenant: string, jobId: string): Promise<ImageJobRecord> {
    const job = await this.deps.engine.store.get(tenant, jobId);
    if (job?.kind !== 'image') throw notFound('job', jobId);
    return job;
  }

  /** A batch started by `/generate/batch` and its image jobs. */
  async imageBatch(
    tenant: string,
    batchId: string,
  ): Promise<{ batch: BatchJobRecord; items: ImageJobRecord[] }> {
    const batch = await this.deps.engine.store.get(tenant, batchId);
    if (batch?.kind !== 'batch') throw notFound('batch', batchId);
    const listed = await this.deps.engine.store.listBatchItems(tenant, batchId);
    const items = listed.filter((item) => isJobOfKind(item, 'image'));
    if (items.length === 0 || items.length < listed.length) throw notFound('batch', batchId);
    return { batch, items };
  }

  /**
   * Waits for a job to end, up to `ms` (the synchronous part of `POST /generate`). Reads the store,
   * the one place its outcome is written: every `firstIntervalMs` at first, when a warm endpoint's
   * answer is near, then half again as long each time up to two seconds, so that a job waiting on a
   * cold start costs a handful of reads rather than one every quarter second.
   */
  async waitForEnd(
    tenant: string,
    jobId: string,
    ms: number,
    firstIntervalMs = 250,
  ): Promise<ImageJobRecord> {
    const deadline = Date.now() + ms;
    for (let interval = firstIntervalMs; ; interval = Math.min(interval * 1.5, 2000)) {
      const job = await this.imageJob(tenant, jobId);
      if (isTerminal(job.status) || Date.now() >= deadline) return job;
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(interval, Math.max(0, deadline - Date.now()))),
      );
    }
  }

  /** The image of a completed job: where it is, and a short-lived link to it. */
  async image(job: JobRecord): Promise<{ image_path: string; image_url: string }> {
    return linkedImage(job, {
      blobs: this.deps.blobs,
      ttlSeconds: this.deps.resultUrlTtlSeconds,
      requirePrivacyValidation: this.deps.requirePrivacyValidation === true,
    });
  }

  /**
   * Where an unfinished job stands. `warming` while its endpoint has no instance: the estimate is
   * the invocation time plus the cold start this tenant has observed for the endpoint (the model's
   * configured `coldStartSeconds` until it has seen one).
   */
  async state(job: JobRecord) {
    const model = job.generator ? this.deps.models.byName(job.generator) : undefined;
    let phase: 'queued' | 'warming' | 'generating' | 'done' = isTerminal(job.status) ? 'done' : 'queued';
    let estimatedReadyAt: string | undefined;
    if (job.status === 'running' && job.inference && model) {
      const endpoint = await this.deps.endpoints.describe(job.inference.endpointName).catch(() => undefined);
      const warming = (endpoint?.instances ?? job.inference.instancesAtInvoke) === 0;
      phase = warming ? 'warming' : 'generating';
      if (warming) {
        // The tenant's observed cold starts of this endpoint, else the model's configured figure.
        const observed = await this.deps.coldStarts
          .estimate(job.tenant, job.inference.endpointName)
          .catch(() => undefined);
        const readyAt = Date.parse(job.inference.invokedAt) + (observed ?? model.coldStartSeconds) * 1000;
        estimatedReadyAt = new Date(Math.max(readyAt, this.deps.clock.now().getTime())).toISOString();
      }
    }
    return {
      job_id: job.id,
      batch_id: job.batchId ?? job.id,
      status: job.status,
      phase,
      progress: job.progress,
      ...(job.message ? { message: job.message } : {}),
      ...(estimatedReadyAt ? { estimated_ready_at: estimatedReadyAt } : {}),
      created_at: job.createdAt,
    };
  }

  /**
   * Every parameter an image is made with: the request's, the model's defaults, and a seed. The
   * profile stays a name (an empty one is none) until submitRuns reads it.
   */
  resolveParams(
    model: DeployedModel,
    request: Omit<GenerateRequest, 'prompt' | 'seed' | 'model_id'>,
    prompt: string,
    seed: number | undefined,
  ): PlannedImageParams {
    return {
      prompt,
      ...(request.negative_prompt ? { negative_prompt: request.negative_prompt } : {}),
      model_id: model.modelId,
      width: request.width,
      height: request.height,
      num_inference_steps: request.num_inference_steps ?? model.defaultSteps,
      guidance_scale: request.guidance_scale,
      seed: seed ?? this.deps.newSeed(),
      ...(request.profile ? { profile: request.profile } : {}),
    };
  }

  /**
   * Each run's parameters with its profile, named in the request, read into the profile's
   * statistics: the job keeps what its image is steered toward even if the profile is computed
   * again, and an unknown profile is a 404 before anything is stored. Each profile is read once.
   */
  async withProfiles(
    tenant: string,
    runs: readonly PlannedModelRun[],
  ): Promise<{ model: DeployedModel; params: ImageJobParams }[]> {
    const profiles = new ProfileStore(this.deps.blobs);
    const read = new Map<string, Promise<ImageProfile>>();
    const profileNamed = (name: string) => {
      let profile = read.get(name);
      if (!profile) {
        profile = profiles.get(tenant, name).then((found) => ({ name, statistics: found.statistics }));
        read.set(name, profile);
      }
      return profile;
    };
    return Promise.all(
      runs.map(async ({ model, params: { profile, ...params } }) => ({
        model,
        params: profile ? { ...params, profile: await profileNamed(profile) } : params,
      })),
    );
  }

  /**
   * A model of the stage's catalogue whose endpoint does not exist is a 503 naming it, before
   * anything is stored or started: its stack (`SynthForge-<stage>-Models`, deployed after the
   * platform's) is not deployed yet, or rolled back for want of instance quota. Any other answer,
   * an error included, lets the request through: the workflow deals with an endpoint that fails.
   */
  async ensureEndpointsExist(runs: readonly PlannedModelRun[]): Promise<void> {
    const models = new Map(runs.map((run) => [run.model.name, run.model]));
    await Promise.all(
      [...models.values()].map(async (model) => {
        const endpoint = await this.deps.endpoints.describe(model.endpointName).catch(() => 'unknown');
        if (endpoint !== undefined) return;
        throw unavailable(
          `model ${model.modelId} has no endpoint deployed: ${model.endpointName} does not exist. Deploy the stage's model endpoints (npm run deploy), which needs instance quota for ${model.instanceType}`,
          {
            model_id: model.modelId,
            endpoint_name: model.endpointName,
            instance_type: model.instanceType,
            reason: 'endpoint not deployed',
          },
        );
      }),
    );
  }

  /**
   * Stores one batch of image jobs and starts the image workflow. Each job names its own model, so
   * one batch (`POST /api/v1/batches`) may mix models; the workflow finds each job's endpoint.
   */
  async submitRuns(tenant: string, name: string, runs: readonly PlannedModelRun[]) {
    const { blobs, clock, newId } = this.deps;
    await ensureRoomForWork(this.deps.capacity);
    await this.ensureEndpointsExist(runs);
    const resolved = await this.withProfiles(tenant, runs);
    const models = new Set(runs.map((run) => run.model.name));
    const now = clock.now().toISOString();
    const batchId = newId();
    const batch: BatchJobRecord = {
      tenant,
      id: batchId,
      kind: 'batch',
      status: 'pending',
      version: 1,
      name,
      ...(models.size === 1 ? { generator: runs[0]?.model.name } : {}),
      progress: 0,
      total: runs.length,
      createdAt: now,
      updatedAt: now,
    };
    const items: ImageJobRecord[] = resolved.map(({ model, params }) => ({
      tenant,
      id: newId(),
      kind: 'image',
      status: 'pending',
      version: 1,
      name: params.prompt.slice(0, 80),
      batchId,
      generator: model.name,
      params,
      progress: 0,
      createdAt: now,
      updatedAt: now,
    }));
    // The requests go to S3 first: the endpoint reads its input from there, and a job must never be
    // stored, let alone started, without it.
    await Promise.all(
      items.map((item) =>
        blobs.put(
          imageKeys(tenant, item.id).request,
          new TextEncoder().encode(JSON.stringify(endpointRequest(item.params))),
          'application/json',
        ),
      ),
    );
    const to = [...new Set(runs.map((run) => run.model.modelId))].join(', ');
    await storeAndStartBatch(this.deps, batch, items, `${items.length} image jobs to ${to}`);
    return { batch, items };
  }
}

/**
 * The image of a completed job: where it is, and a short-lived link to it. A job that failed is
 * the model's error, one that was cancelled has no image: the errors `GET /generate/{id}` answers.
 */
export async function presentImage(
  job: JobRecord,
  blobs: BlobStore,
  ttlSeconds: number,
): Promise<{ image_path: string; image_url: string }> {
  if (job.status === 'failed') {
    throw new DomainError('MODEL_ERROR', job.error?.message ?? 'the model failed', {
      job_id: job.id,
      code: job.error?.code ?? 'MODEL_ERROR',
    });
  }
  if (job.status === 'cancelled' || !job.result) {
    throw new DomainError('ILLEGAL_STATE', `job ${job.id} is ${job.status}: it has no image`, {
      job_id: job.id,
      status: job.status,
    });
  }
  return {
    image_path: `s3://${blobs.bucket}/${job.result.key}`,
    image_url: await blobs.presignGet(job.result.key, ttlSeconds, `${job.id}.png`),
  };
}

/**
 * The image of a completed job and its link (presentImage), unless the stage's privacy gate
 * withholds it: then a 409 whose details carry PRIVACY_VALIDATION_REQUIRED. The routes and the
 * WebSocket's results use this one check.
 */
export async function linkedImage(
  job: JobRecord,
  options: { blobs: BlobStore; ttlSeconds: number; requirePrivacyValidation: boolean },
): Promise<{ image_path: string; image_url: string }> {
  const image = await presentImage(job, options.blobs, options.ttlSeconds);
  if (!options.requirePrivacyValidation) return image;
  const batchId = job.batchId ?? job.id;
  if (await imageCleared(options.blobs, job.tenant, batchId, job.finishedAt)) return image;
  throw new DomainError(
    'ILLEGAL_STATE',
    `the image is linked once its batch ${batchId} passed a privacy validation: POST /api/v1/validate/batch {"dataset_dir": "${batchId}"}`,
    { job_id: job.id, batch_id: batchId, privacy_gate: 'required', code: PRIVACY_VALIDATION_REQUIRED },
  );
}
