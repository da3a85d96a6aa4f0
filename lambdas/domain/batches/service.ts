import type {
  Batch,
  BatchEstimate,
  BatchListItem,
  BatchRequest,
  BatchSummary,
} from '../../../contracts/batches.ts';
import type { ParamValues, ParamViolation } from '../../../contracts/generators.ts';
import type { z } from '../../../contracts/zod.ts';
import { ensureRoomForWork } from '../capacity.ts';
import { ProfileStore } from '../datasets/profiles.ts';
import { invalidParameters, notFound } from '../errors.ts';
import { getGenerator } from '../generators/catalogue.ts';
import type { Generator } from '../generators/generator.ts';
import { applyDefaults, validateParams } from '../generators/params.ts';
import { countByStatus, type JobsEngine } from '../jobs/engine.ts';
import type { JobRecord } from '../jobs/model.ts';
import { inProgress } from '../jobs/present.ts';
import type { BatchWorkflow, BlobStore, Clock, Page, StorageCapacity } from '../ports.ts';
import { BATCH_TRANSITIONS, PRICES, roundTo } from '../pricing.ts';
import { storeAndStartBatch } from './start.ts';

export interface BatchServiceDeps {
  engine: JobsEngine;
  workflow: BatchWorkflow;
  blobs: BlobStore;
  clock: Clock;
  newId: () => string;
  /** A seed for a job submitted without one. */
  newSeed: () => number;
  resultUrlTtlSeconds: number;
  /** Memory of the function that renders jobs; the estimate bills it. */
  workerMemoryMb: number;
  /** Days a result is kept; after that its link would only find a deleted object. */
  resultRetentionDays: number;
  /** Room for results (the local platform's disk); absent: always room. */
  capacity?: StorageCapacity;
}

/** Seconds one megapixel frame of `shapes` takes on one Lambda vCPU (measured by `npm run bench`). */
export const RENDER_SECONDS_PER_MEGAPIXEL = 0.6;

export interface PlannedJob {
  generator: Generator;
  preview: boolean;
  params: ParamValues;
  frames: number;
}

type JobRun = BatchRequest['job_runs'][number];

/** A job run that cannot run as given: where it is in the batch, and every problem with it. */
export interface RunProblem {
  index: number;
  generator: string;
  violations: ParamViolation[];
}

/** One 400 listing every problem of every job run, before anything is stored or started. */
export function rejectInvalidRuns(problems: readonly RunProblem[], total: number): void {
  const first = problems[0];
  if (!first) return;
  throw invalidParameters(
    `${problems.length} of ${total} jobs are invalid; job ${first.index}: ${first.violations[0]?.message}`,
    { job_runs: problems },
  );
}

/** The problem of a job run that names no generator of the catalogue. */
export function unknownGenerator(run: JobRun, index: number): RunProblem {
  return {
    index,
    generator: run.name,
    violations: [
      {
        parameter: 'name',
        kind: 'unsupported',
        value: run.name,
        constraint: 'a generator listed by GET /api/v1/generators',
        message: `no generator named ${JSON.stringify(run.name)}`,
      },
    ],
  };
}

/** The problem of a preview asked of a generator that has none. */
export function previewNotAllowed(run: JobRun, index: number): RunProblem {
  return {
    index,
    generator: run.name,
    violations: [
      {
        parameter: 'is_preview',
        kind: 'choice',
        value: true,
        constraint: 'this generator does not allow previews',
        message: `${run.name} does not allow previews`,
      },
    ],
  };
}

/**
 * Batches of procedural generation jobs (Lambda): planning, estimates, submission, and the views
 * the API and SDK poll. Batches of models on endpoints are planned by batches/submission.ts and run
 * by the image service; they are read here like any batch.
 */
export class BatchService {
  constructor(private readonly deps: BatchServiceDeps) {}

  /** Is this the name of a procedural generator? */
  has(name: string): boolean {
    return getGenerator(name) !== undefined;
  }

  /** One job run of a procedural generator, validated and completed with defaults and a seed. */
  planRun(run: JobRun, index: number): PlannedJob | RunProblem {
    const generator = getGenerator(run.name);
    if (!generator) return unknownGenerator(run, index);
    if (run.is_preview && !generator.allowsPreview) return previewNotAllowed(run, index);
    const violations = validateParams(generator, run.param_values);
    if (violations) return { index, generator: run.name, violations };
    // Jobs without a seed each get their own: a batch of defaults is N different scenes, not N copies.
    const seeded =
      run.param_values.seed === undefined && generator.parameters.some((p) => p.name === 'seed')
        ? { ...run.param_values, seed: this.deps.newSeed() }
        : run.param_values;
    const params = applyDefaults(generator, seeded);
    return {
      generator,
      preview: run.is_preview,
      params,
      frames: generator.estimateFrames(params, run.is_preview),
    };
  }

  /** Validates every job before anything is stored; one 400 lists every problem of every job. */
  plan(request: BatchRequest): PlannedJob[] {
    const outcomes = request.job_runs.map((run, index) => this.planRun(run, index));
    rejectInvalidRuns(outcomes.filter(isProblem), outcomes.length);
    return outcomes as PlannedJob[];
  }

  estimate(request: BatchRequest): BatchEstimate {
    return this.estimatePlanned(this.plan(request));
  }

  estimatePlanned(planned: readonly PlannedJob[]): BatchEstimate {
    const framesPerJob = planned.map((job) => job.frames);
    const megapixelFrames = planned.reduce(
      (sum, job) => sum + job.frames * megapixels(job.params, job.preview),
      0,
    );
    const gb = this.deps.workerMemoryMb / 1024;
    const computeUsd =
      megapixelFrames * RENDER_SECONDS_PER_MEGAPIXEL * gb * PRICES.lambdaArmPerGbSecond +
      (planned.length + 3) * PRICES.lambdaPerRequest;
    const orchestrationUsd =
      (BATCH_TRANSITIONS.perBatch + BATCH_TRANSITIONS.perJob * planned.length) *
      PRICES.stepFunctionsPerTransition;
    // A PNG of generated shapes compresses to about 0.25 bytes per pixel.
    const storageGb = (megapixelFrames * 1e6 * 0.25) / 1024 ** 3;
    return {
      items: planned.length,
      frames_per_job: framesPerJob,
      total_frames: framesPerJob.reduce((a, b) => a + b, 0),
      gpu_seconds: 0,
      estimated_cost_usd: round6(computeUsd + orchestrationUsd + planned.length * PRICES.s3PutPerRequest),
      cost_breakdown: {
        compute_usd: round6(computeUsd),
        orchestration_usd: round6(orchestrationUsd),
        storage_usd_per_month: round6(storageGb * PRICES.s3StandardPerGbMonth),
      },
      assumptions: {
        worker_memory_mb: this.deps.workerMemoryMb,
        render_seconds_per_megapixel: RENDER_SECONDS_PER_MEGAPIXEL,
        state_transitions: BATCH_TRANSITIONS.perBatch + BATCH_TRANSITIONS.perJob * planned.length,
        region: 'us-east-1',
      },
    };
  }

  async submit(tenant: string, request: BatchRequest): Promise<Batch> {
    return this.submitPlanned(tenant, request.name, this.plan(request));
  }

  async submitPlanned(
    tenant: string,
    name: string | undefined,
    planned: readonly PlannedJob[],
  ): Promise<Batch> {
    await ensureRoomForWork(this.deps.capacity);
    const resolved = await this.withProfiles(tenant, planned);
    const now = this.deps.clock.now().toISOString();
    const batchId = this.deps.newId();
    const batch: JobRecord = {
      tenant,
      id: batchId,
      kind: 'batch',
      status: 'pending',
      version: 1,
      name: name ?? `batch ${now}`,
      progress: 0,
      total: planned.length,
      createdAt: now,
      updatedAt: now,
    };
    const items: JobRecord[] = resolved.map((job) => ({
      tenant,
      id: this.deps.newId(),
      kind: 'generation',
      status: 'pending',
      version: 1,
      name: job.generator.name,
      batchId,
      generator: job.generator.name,
      preview: job.preview,
      params: job.params,
      progress: 0,
      createdAt: now,
      updatedAt: now,
    }));
    await storeAndStartBatch(this.deps, batch, items, `${items.length} jobs`);
    return presentBatch(batch, items);
  }

  /**
   * Each job's `profile` (seed 001's profiles), named in the request, replaced by the profile's
   * statistics: the job keeps what it was steered toward even if the profile is computed again, and
   * an unknown profile is a 404 before anything is stored.
   */
  private async withProfiles(tenant: string, planned: readonly PlannedJob[]): Promise<readonly PlannedJob[]> {
    const named = planned.some((job) => typeof job.params.profile === 'string' && job.params.profile !== '');
    if (!named) return planned;
    const profiles = new ProfileStore(this.deps.blobs);
    const cache = new Map<string, Promise<{ name: string; statistics: unknown }>>();
    return Promise.all(
      planned.map(async (job) => {
        const name = job.params.profile;
        if (typeof name !== 'string' || name === '') return job;
        let profile = cache.get(name);
        if (!profile) {
          profile = profiles.get(tenant, name).then((found) => ({ name, statistics: found.statistics }));
          cache.set(name, profile);
        }
        return { ...job, params: { ...job.params, profile: await profile } };
      }),
    );
  }

  async get(tenant: string, batchId: string): Promise<Batch> {
    const { batch, items } = await this.load(tenant, batchId);
    return presentBatch(batch, items);
  }

  async summary(tenant: string, batchId: string): Promise<BatchSummary> {
    const { batch, items } = await this.load(tenant, batchId);
    const jobRuns = await Promise.all(
      items.map(async (item) => {
        const { result_url, error } = await this.resultOf(item);
        return {
          id: item.id,
          name: item.generator ?? item.name ?? '',
          status: item.status,
          in_progress: inProgress(item),
          result_url,
          ...(error ? { error } : {}),
        };
      }),
    );
    return {
      id: batch.id,
      name: batch.name ?? '',
      status: batch.status,
      counts: countByStatus(items),
      total: items.length,
      result_url_expires_in: this.deps.resultUrlTtlSeconds,
      job_runs: jobRuns,
    };
  }

  /**
   * A job's short-lived result link: null while it runs, when it did not complete, or once its
   * result is past retention (then `error` says so); otherwise the job's own error, if any.
   */
  async resultOf(item: JobRecord): Promise<{ result_url: string | null; error?: JobRecord['error'] }> {
    const keptUntil =
      Date.parse(item.finishedAt ?? item.updatedAt) + this.deps.resultRetentionDays * 86_400_000;
    const expired = item.status === 'completed' && keptUntil <= this.deps.clock.now().getTime();
    if (expired) {
      const message = `results are kept ${this.deps.resultRetentionDays} days; this one was deleted`;
      return { result_url: null, error: { code: 'RESULT_EXPIRED', message } };
    }
    const result_url =
      item.status === 'completed' && item.result
        ? await this.deps.blobs.presignGet(
            item.result.key,
            this.deps.resultUrlTtlSeconds,
            `${item.id}${extensionOf(item.result.key)}`,
          )
        : null;
    return { result_url, ...(item.error ? { error: item.error } : {}) };
  }

  async list(
    tenant: string,
    query: { start_time?: string; end_time?: string; limit: number; cursor?: string },
  ): Promise<Page<JobRecord>> {
    return this.deps.engine.store.list(tenant, {
      kind: 'batch',
      limit: query.limit,
      ...(query.start_time ? { since: query.start_time } : {}),
      ...(query.end_time ? { until: query.end_time } : {}),
      ...(query.cursor ? { cursor: query.cursor } : {}),
    });
  }

  private async load(tenant: string, batchId: string) {
    const batch = await this.deps.engine.store.get(tenant, batchId);
    // A job id that is not a batch is "not found" here, exactly like another tenant's batch.
    if (batch?.kind !== 'batch') throw notFound('batch', batchId);
    const items = await this.deps.engine.store.listBatchItems(tenant, batchId);
    return { batch, items };
  }
}

/** A batch as the batch lists show it. */
export function presentBatchListItem(batch: JobRecord): z.infer<typeof BatchListItem> {
  return {
    id: batch.id,
    name: batch.name ?? '',
    status: batch.status,
    created: batch.createdAt,
    total: batch.total ?? 0,
  };
}

export function presentBatch(batch: JobRecord, items: JobRecord[]): Batch {
  return {
    id: batch.id,
    name: batch.name ?? '',
    status: batch.status,
    created: batch.createdAt,
    updated: batch.updatedAt,
    total: items.length,
    counts: countByStatus(items),
    job_runs: items.map(presentJobRun),
  };
}

/** A job of a batch as the batch shows it (and Infinity's client's job runs, with more fields). */
export function presentJobRun(item: JobRecord): Batch['job_runs'][number] {
  return {
    id: item.id,
    name: item.generator ?? '',
    is_preview: item.preview ?? false,
    param_values: item.params ?? {},
    status: item.status,
    in_progress: inProgress(item),
    progress: item.progress,
  };
}

/** Megapixels of one frame: a scene's image size, or one crop of an identity-crops job. */
function megapixels(params: ParamValues, preview: boolean): number {
  if (params.output === 'identity_crops') return Number(params.crop_size ?? 64) ** 2 / 1e6;
  const width = Number(params.image_width ?? 512);
  const height = Number(params.image_height ?? 512);
  const scale = preview ? Math.min(1, 256 / Math.max(width, height)) : 1;
  return (width * scale * height * scale) / 1e6;
}

const round6 = (value: number) => roundTo(value, 6);

export function isProblem(outcome: object): outcome is RunProblem {
  return 'violations' in outcome;
}

/** `.zip` of a procedural job's archive, `.png` of a model's image: the download keeps it. */
function extensionOf(key: string): string {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot) : '';
}
