/**
 * The shapes Infinity's real client (`infinity_core`, seed 000) reads and sends on its
 * own paths (`/api/jobs/`, `/api/batch/…`, `/api/job_runs/…`, `/api/job_previews/…`). Each is
 * derived from the `/api/v1` schema of the same thing, so that a change to one changes both:
 * mostly the client wants a bare list where `/api/v1` answers a page object.
 *
 * What the client reads (infinity_core 359828b): generators `[].name`, `params[]` and
 * `options.preview`; a submitted batch's `id` and `job_runs[].{id, param_values}`; a batch's `name`,
 * `job_runs[0].is_preview`; a summary's `job_runs[].{id, name, in_progress, result_url}`; a batch
 * list's `[].{id, created}` (`created` through Python's `datetime.fromisoformat`, which reads a `Z`
 * only from Python 3.11: the lists' times end in `+00:00`); the estimate as `List[int]`; usage as a
 * `dict`.
 */
import { Usage } from './api.ts';
import { BatchEstimate, BatchListItem, BatchRequest, BatchSummaryJob, JobRun } from './batches.ts';
import { IsoDateTime, orderedTimeRange, TimeRangeQuery } from './common.ts';
import { GeneratorSummary } from './generators.ts';
import { JobError, JobId } from './jobs.ts';
import * as z from './zod.ts';

export const InfinityGeneratorList = z
  .array(GeneratorSummary)
  .openapi('InfinityGeneratorList', { description: 'every generator; the client reads `[].name`' });

/**
 * `POST /api/batch/` and `/api/batch/estimate/`: `/api/v1`'s batch request, except that the name
 * may be empty. The client sends `""` when it is given no name; such a batch is named by the
 * platform, as one submitted without a name is.
 */
export const InfinityBatchRequest = BatchRequest.extend({
  name: z
    .string()
    .max(200)
    .optional()
    .transform((name) => (name === '' ? undefined : name))
    .describe('the batch name; empty or absent: named `batch <time of submission>`'),
}).openapi('InfinityBatchRequest');
export type InfinityBatchRequest = z.output<typeof InfinityBatchRequest>;

export const InfinityEstimate = BatchEstimate.shape.frames_per_job.openapi('InfinityEstimate', {
  description: 'frames (samples) per job, in request order',
});

export const InfinityBatchList = z.array(BatchListItem).openapi('InfinityBatchList', {
  description: 'batches created in the range, newest first (at most 1000: narrow the range for more)',
});

/** A job of a batch, as `/api/job_runs/{id}/` and `/api/job_previews/{id}/` answer it. */
export const InfinityJobRun = JobRun.extend({
  batch_id: JobId,
  created: IsoDateTime,
  updated: IsoDateTime,
  result_url: BatchSummaryJob.shape.result_url,
  error: JobError.optional(),
}).openapi('InfinityJobRun');
export type InfinityJobRun = z.infer<typeof InfinityJobRun>;

export const InfinityJobListQuery = TimeRangeQuery.extend({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
}).refine(...orderedTimeRange);
export const InfinityJobRunList = z
  .array(InfinityJobRun)
  .openapi('InfinityJobRunList', { description: 'newest first, at most `limit`' });

/** Per generator, /api/v1/usage's job counts (its `total` named `jobs`) and its frames (`samples`). */
const usageJobs = Usage.shape.jobs.shape;
export const InfinityUsage = z
  .record(
    z.string().describe('a generator'),
    z.object({
      samples: z.number().int().describe('frames (or images) rendered by its completed jobs'),
      jobs: usageJobs.total,
      standard: usageJobs.standard,
      preview: usageJobs.preview,
      by_status: usageJobs.by_status,
    }),
  )
  .openapi('InfinityUsage', {
    description:
      "usage per generator in the range (default: the last 30 days), the client's `get_usage_stats_last_n_days`; " +
      'like /api/v1/usage it reads at most 20,000 jobs of the range: narrow it for exact figures',
  });
export type InfinityUsage = z.infer<typeof InfinityUsage>;
