import { Cursor, IsoDateTime, Limit, orderedTimeRange, TimeRangeQuery } from './common.ts';
import { ParamValues } from './generators.ts';
import { Job, JobId, JobStatus, StatusCounts } from './jobs.ts';
import * as z from './zod.ts';

export const MAX_JOBS_PER_BATCH = 1000;

/** One job of a batch, in Infinity's `job_runs` shape: `name` is the generator. */
export const JobRunRequest = z
  .object({
    name: z.string().min(1).max(100).describe('the generator'),
    is_preview: z.boolean().default(false),
    param_values: ParamValues.default({}),
  })
  .strict()
  .openapi('JobRunRequest');

export const BatchRequest = z
  .object({
    name: z.string().min(1).max(200).optional(),
    job_runs: z.array(JobRunRequest).min(1).max(MAX_JOBS_PER_BATCH),
  })
  .strict()
  .openapi('BatchRequest');
export type BatchRequest = z.infer<typeof BatchRequest>;

/** `POST /api/v1/jobs/standard` and `/jobs/preview`: one job, which is a batch of one. */
export const SingleJobRequest = z
  .object({
    name: z.string().min(1).max(100).describe('the generator'),
    param_values: ParamValues.default({}),
    batch_name: z.string().min(1).max(200).optional(),
  })
  .strict()
  .openapi('SingleJobRequest');
export type SingleJobRequest = z.infer<typeof SingleJobRequest>;

export const JobRun = z
  .object({
    id: JobId,
    name: z.string().describe('the generator'),
    is_preview: z.boolean(),
    param_values: ParamValues,
    status: JobStatus,
    in_progress: z.boolean(),
    progress: z.number(),
  })
  .openapi('JobRun');

export const Batch = z
  .object({
    id: JobId,
    name: z.string(),
    status: JobStatus,
    created: IsoDateTime,
    updated: IsoDateTime,
    total: z.number().int(),
    counts: StatusCounts,
    job_runs: z.array(JobRun),
  })
  .openapi('Batch');
export type Batch = z.infer<typeof Batch>;

export const SingleJobResponse = z.object({ batch_id: JobId, job: Job }).openapi('SingleJobResponse');

export const BatchSummaryJob = z
  .object({
    id: JobId,
    name: z.string().describe('the generator'),
    status: JobStatus,
    in_progress: z.boolean(),
    result_url: z
      .string()
      .url()
      .nullable()
      .describe(
        'short-lived presigned link to the result: a ZIP for a procedural generator, a PNG for a model; null while running or when the job did not complete',
      ),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
  })
  .openapi('BatchSummaryJob');

export const BatchSummary = z
  .object({
    id: JobId,
    name: z.string(),
    status: JobStatus,
    counts: StatusCounts,
    total: z.number().int(),
    result_url_expires_in: z.number().int().describe('seconds'),
    job_runs: z.array(BatchSummaryJob),
  })
  .openapi('BatchSummary');
export type BatchSummary = z.infer<typeof BatchSummary>;

export const BatchListQuery = TimeRangeQuery.extend({ limit: Limit, cursor: Cursor.optional() }).refine(
  ...orderedTimeRange,
);

export const BatchListItem = z
  .object({ id: JobId, name: z.string(), status: JobStatus, created: IsoDateTime, total: z.number().int() })
  .openapi('BatchListItem');

export const BatchList = z
  .object({ batches: z.array(BatchListItem), next_cursor: z.string().optional() })
  .openapi('BatchList');

export const BatchEstimate = z
  .object({
    items: z.number().int(),
    frames_per_job: z.array(z.number().int()),
    total_frames: z.number().int(),
    gpu_seconds: z
      .number()
      .describe(
        'instance seconds on model endpoints (GPU generators); 0 for a batch of procedural generators',
      ),
    estimated_cost_usd: z.number(),
    cost_breakdown: z.object({
      compute_usd: z.number(),
      orchestration_usd: z.number(),
      storage_usd_per_month: z.number(),
    }),
    assumptions: z.record(z.string(), z.union([z.number(), z.string()])),
  })
  .openapi('BatchEstimate');
export type BatchEstimate = z.infer<typeof BatchEstimate>;

export const BatchIdParams = z.object({ id: JobId });
