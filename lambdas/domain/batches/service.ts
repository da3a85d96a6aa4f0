import type { Batch, BatchEstimate, BatchRequest, BatchSummary } from '../../../contracts/batches.ts';
import type { ParamValues } from '../../../contracts/generators.ts';
import { invalidParameters, notFound } from '../errors.ts';
import { getGenerator } from '../generators/catalogue.ts';
import type { Generator } from '../generators/generator.ts';
import { applyDefaults, validateParams } from '../generators/params.ts';
import { countByStatus, type JobsEngine } from '../jobs/engine.ts';
import type { JobRecord } from '../jobs/model.ts';
import { inProgress } from '../jobs/present.ts';
import type { BatchWorkflow, BlobStore, Clock, Page } from '../ports.ts';
import { BATCH_TRANSITIONS, PRICES } from '../pricing.ts';
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
}

/** Seconds one megapixel frame of `shapes` takes on one Lambda vCPU (measured by `npm run bench`). */
export const RENDER_SECONDS_PER_MEGAPIXEL = 0.6;

interface PlannedJob {
  generator: Generator;
  preview: boolean;
  params: ParamValues;
  frames: number;
}

/** Batches of generation jobs: submission, estimates, and the views the API and SDK poll. */
export class BatchService {
  constructor(private readonly deps: BatchServiceDeps) {}

  /** Validates every job before anything is stored; one 400 lists every problem of every job. */
  plan(request: BatchRequest): PlannedJob[] {
    const problems: Record<string, unknown>[] = [];
    const planned: PlannedJob[] = [];
    request.job_runs.forEach((run, index) => {
      const generator = getGenerator(run.name);
      if (!generator) {
        problems.push({
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
        });
        return;
      }
      if (run.is_preview && !generator.allowsPreview) {
        problems.push({
          index,
          generator: run.name,
          violations: [
            {
              parameter: 'is_preview',
              kind: 'choice',
              value: true,
              constraint: 'this generator does not allow previews',
              message: `${generator.name} does not allow previews`,
            },
          ],
        });
        return;
      }
      const violations = validateParams(generator, run.param_values);
      if (violations) {
        problems.push({ index, generator: run.name, violations });
        return;
      }
      // Jobs without a seed each get their own: a batch of defaults is N different scenes, not N copies.
      const seeded =
        run.param_values.seed === undefined && generator.parameters.some((p) => p.name === 'seed')
          ? { ...run.param_values, seed: this.deps.newSeed() }
          : run.param_values;
      const params = applyDefaults(generator, seeded);
      planned.push({
        generator,
        preview: run.is_preview,
        params,
        frames: generator.estimateFrames(params, run.is_preview),
      });
    });
    if (problems.length > 0) {
      const first = problems[0] as { index: number; violations: { message: string }[] };
      throw invalidParameters(
        `${problems.length} of ${request.job_runs.length} jobs are invalid; job ${first.index}: ${first.violations[0]?.message}`,
        { job_runs: problems },
      );
    }
    return planned;
  }

  estimate(request: BatchRequest): BatchEstimate {
    const planned = this.plan(request);
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
    const planned = this.plan(request);
    const now = this.deps.clock.now().toISOString();
    const batchId = this.deps.newId();
    const batch: JobRecord = {
      tenant,
      id: batchId,
      kind: 'batch',
      status: 'pending',
      version: 1,
      name: request.name ?? `batch ${now}`,
      progress: 0,
      total: planned.length,
      createdAt: now,
      updatedAt: now,
    };
    const items: JobRecord[] = planned.map((job) => ({
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

  async get(tenant: string, batchId: string): Promise<Batch> {
    const { batch, items } = await this.load(tenant, batchId);
    return presentBatch(batch, items);
  }

  async summary(tenant: string, batchId: string): Promise<BatchSummary> {
    const { batch, items } = await this.load(tenant, batchId);
    const ttl = this.deps.resultUrlTtlSeconds;
    const keptUntil = (item: JobRecord) =>
      Date.parse(item.finishedAt ?? item.updatedAt) + this.deps.resultRetentionDays * 86_400_000;
    const now = this.deps.clock.now().getTime();
    const jobRuns = await Promise.all(
      items.map(async (item) => {
        const expired = item.status === 'completed' && keptUntil(item) <= now;
        const error = expired
          ? {
              code: 'RESULT_EXPIRED',
              message: `results are kept ${this.deps.resultRetentionDays} days; this one was deleted`,
            }
          : item.error;
        return {
          id: item.id,
          name: item.generator ?? item.name ?? '',
          status: item.status,
          in_progress: inProgress(item),
          result_url:
            item.status === 'completed' && item.result && !expired
              ? await this.deps.blobs.presignGet(item.result.key, ttl, `${item.id}.zip`)
              : null,
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
      result_url_expires_in: ttl,
      job_runs: jobRuns,
    };
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

export function presentBatch(batch: JobRecord, items: JobRecord[]): Batch {
  return {
    id: batch.id,
    name: batch.name ?? '',
    status: batch.status,
    created: batch.createdAt,
    updated: batch.updatedAt,
    total: items.length,
    counts: countByStatus(items),
    job_runs: items.map((item) => ({
      id: item.id,
      name: item.generator ?? '',
      is_preview: item.preview ?? false,
      param_values: item.params ?? {},
      status: item.status,
      in_progress: inProgress(item),
      progress: item.progress,
    })),
  };
}

function megapixels(params: ParamValues, preview: boolean): number {
  const width = Number(params.image_width ?? 512);
  const height = Number(params.image_height ?? 512);
  const scale = preview ? Math.min(1, 256 / Math.max(width, height)) : 1;
  return (width * scale * height * scale) / 1e6;
}

const round6 = (n: number) => Math.round(n * 1e6) / 1e6;
