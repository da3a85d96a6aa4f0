/**
 * The answers of the batch routes (/api/v1 and Infinity's paths) that take more than one call to
 * make: a single job as a batch of one, a page of batches, Infinity's usage by generator.
 */
import type { z } from 'zod';
import type {
  Batch,
  BatchList,
  BatchRequest,
  SingleJobRequest,
  SingleJobResponse,
} from '../../../contracts/batches.ts';
import type { InfinityUsage } from '../../../contracts/infinity.ts';
import type { JobsEngine } from '../jobs/engine.ts';
import { presentJob } from '../jobs/present.ts';
import { jobsInRange } from '../jobs/usage.ts';
import type { JobStore } from '../ports.ts';
import { usageByGenerator } from './infinity.ts';
import { type BatchService, presentBatchListItem } from './service.ts';

/** One job is a batch of one, as in Infinity: the batch `POST /jobs/standard` and `/jobs/preview` submit. */
export function batchOfOne(request: SingleJobRequest, preview: boolean): BatchRequest {
  return {
    ...(request.batch_name ? { name: request.batch_name } : {}),
    job_runs: [{ name: request.name, is_preview: preview, param_values: request.param_values }],
  };
}

/** The batch of one just submitted, and its one job as `GET /jobs/{id}` shows it. */
export async function singleJob(
  engine: JobsEngine,
  tenant: string,
  batch: Batch,
): Promise<z.infer<typeof SingleJobResponse>> {
  const jobId = batch.job_runs[0]?.id ?? '';
  return { batch_id: batch.id, job: presentJob(await engine.get(tenant, jobId)) };
}

/** `GET /batches`: one page of the tenant's batches, newest first. */
export async function batchList(
  batches: BatchService,
  tenant: string,
  query: Parameters<BatchService['list']>[1],
): Promise<z.infer<typeof BatchList>> {
  const page = await batches.list(tenant, query);
  return {
    batches: page.items.map(presentBatchListItem),
    ...(page.nextCursor ? { next_cursor: page.nextCursor } : {}),
  };
}

/** Infinity's usage: the tenant's jobs in the range (the last 30 days by default), per generator. */
export async function infinityUsage(
  store: JobStore,
  tenant: string,
  range: { start_time?: string; end_time?: string },
  now: Date,
): Promise<InfinityUsage> {
  const { jobs } = await jobsInRange(store, tenant, range, now);
  return usageByGenerator(jobs);
}
