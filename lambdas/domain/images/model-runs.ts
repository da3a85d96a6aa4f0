/**
 * Models as generators of seed 000's batches: a job run of `POST /api/v1/batches` whose `name` is a
 * model (`GET /api/v1/generators` lists them with `runs_on: endpoint`) becomes one image job, its
 * `param_values` checked by the same schema as `POST /generate`, and the batch's estimate bills
 * instance time at the configured price. The image service stores and starts it.
 */
import type { BatchEstimate, BatchRequest } from '../../../contracts/batches.ts';
import type { ParamViolation } from '../../../contracts/generators.ts';
import { ModelRunParams } from '../../../contracts/images.ts';
import { previewNotAllowed, type RunProblem } from '../batches/service.ts';
import { PRICES, roundTo } from '../pricing.ts';
import { paramViolations } from '../validation.ts';
import { type CostedImage, type ImageService, imageRunCosts, type PlannedModelRun } from './service.ts';

type JobRun = BatchRequest['job_runs'][number];

/**
 * A generated PNG keeps about 1.4 bytes per pixel (a 512×512 Stable Diffusion image is 350–400 KB):
 * photographic images compress far less than the flat shapes of the procedural generator.
 */
const PNG_BYTES_PER_PIXEL = 1.4;

/** Is this the name of a model the stage lists (deployed, or listed as unable to serve here)? */
export function isModelRun(images: ImageService, run: JobRun): boolean {
  return images.deps.models.byName(run.name) !== undefined;
}

/**
 * One job run of a model, validated and completed with the model's defaults and a seed. A model
 * that cannot serve here is a 503 with the reason, before anything is stored.
 */
export function planModelRun(images: ImageService, run: JobRun, index: number): PlannedModelRun | RunProblem {
  const listed = images.deps.models.byName(run.name);
  if (!listed) throw new Error(`${run.name} is not a model: check isModelRun first`);
  if (run.is_preview) return previewNotAllowed(run, index);
  const parsed = ModelRunParams.safeParse(run.param_values);
  if (!parsed.success) {
    return { index, generator: run.name, violations: paramViolations(parsed.error, run.param_values) };
  }
  const model = images.deps.models.resolve(listed.modelId);
  const { prompt, seed, ...parameters } = parsed.data;
  return { model, params: images.resolveParams(model, parameters, prompt, seed) };
}

/**
 * Every problem with one model's `param_values`, or null when they are valid: the check a batch
 * makes, for `POST /api/v1/generators/{model}/validate`.
 */
export function validateModelParams(values: unknown): ParamViolation[] | null {
  const parsed = ModelRunParams.safeParse(values);
  return parsed.success ? null : paramViolations(parsed.error, values);
}

/** What a batch of images costs: instance time on each model's endpoint, orchestration, storage. */
export function estimateModelRuns(runs: readonly CostedImage[]): BatchEstimate {
  const { gpuSeconds, gpuUsd, transitions, orchestrationUsd } = imageRunCosts(runs);
  const pixels = runs.reduce((sum, run) => sum + run.params.width * run.params.height, 0);
  const storageGb = (pixels * PNG_BYTES_PER_PIXEL) / 1024 ** 3;
  const models = [...new Map(runs.map((run) => [run.model.name, run.model])).values()];
  return {
    items: runs.length,
    frames_per_job: runs.map(() => 1),
    total_frames: runs.length,
    gpu_seconds: roundTo(gpuSeconds, 2),
    estimated_cost_usd: roundTo(gpuUsd + orchestrationUsd + runs.length * 2 * PRICES.s3PutPerRequest, 6),
    cost_breakdown: {
      compute_usd: roundTo(gpuUsd, 6),
      orchestration_usd: roundTo(orchestrationUsd, 6),
      storage_usd_per_month: roundTo(storageGb * PRICES.s3StandardPerGbMonth, 6),
    },
    assumptions: {
      instance_types: models.map((model) => model.instanceType).join(', '),
      usd_per_instance_hour: models.map((model) => model.usdPerHour).join(', '),
      seconds_per_image_512_50_steps: models.map((model) => model.secondsPerImage).join(', '),
      state_transitions: transitions,
      region: 'us-east-1',
      excludes:
        'a cold start when an endpoint is at zero instances, and the idle minutes before it scales in again',
    },
  };
}
