import { JOB_ID_PATTERN, JOB_KINDS, JOB_STATUSES, TERMINAL_STATUSES } from './vocabulary.ts';
import * as z from './zod.ts';

export { JOB_KINDS, JOB_STATUSES, TERMINAL_STATUSES };

export const JobStatus = z.enum(JOB_STATUSES).openapi('JobStatus');
export type JobStatus = z.infer<typeof JobStatus>;

export const JobKind = z.enum(JOB_KINDS).openapi('JobKind');
export type JobKind = z.infer<typeof JobKind>;

/** Opaque, time-sortable identifier (a ULID). */
export const JobId = z
  .string()
  .regex(JOB_ID_PATTERN, 'a job id is 26 Crockford base32 characters')
  .openapi('JobId', { example: '01JD3X2K8Q7YV4N6B5M9T0RWZC' });

export const StatusCounts = z
  .object({
    pending: z.number().int(),
    running: z.number().int(),
    completed: z.number().int(),
    failed: z.number().int(),
    cancelled: z.number().int(),
  })
  .openapi('StatusCounts');
export type StatusCounts = z.infer<typeof StatusCounts>;

export const JobError = z.object({ code: z.string(), message: z.string() }).openapi('JobError');

/** A job as the API presents it. Internal fields (tenant, storage keys, execution handles) never appear. */
export const Job = z
  .object({
    id: JobId,
    kind: JobKind,
    status: JobStatus,
    name: z.string().optional(),
    batch_id: JobId.optional(),
    generator: z.string().optional(),
    is_preview: z.boolean().optional(),
    param_values: z.record(z.string(), z.unknown()).optional(),
    progress: z.number().min(0).max(100),
    message: z.string().optional(),
    counts: StatusCounts.optional().describe('batch jobs only: how many of its jobs are in each status'),
    total: z.number().int().optional().describe('batch jobs only: how many jobs it holds'),
    result: z
      .object({ bytes: z.number().int(), frames: z.number().int().optional(), content_type: z.string() })
      .optional(),
    result_url: z
      .string()
      .url()
      .optional()
      .describe(
        'once completed, a short-lived presigned link to the JSON answer of: an inference job (`"async": true`: the InferenceResponse the model route would have given), a dataset validation (BatchValidationResult), a profile (Profile) or an export (its route\'s answer)',
      ),
    error: JobError.optional(),
    created_at: z.string().datetime(),
    updated_at: z.string().datetime(),
    started_at: z.string().datetime().optional(),
    finished_at: z.string().datetime().optional(),
    version: z.number().int().describe('incremented by every change; useful for conditional polling'),
  })
  .openapi('Job');
export type Job = z.infer<typeof Job>;

export const LogEntry = z
  .object({ at: z.string().datetime(), level: z.enum(['info', 'warn', 'error']), message: z.string() })
  .openapi('LogEntry');
export type LogEntry = z.infer<typeof LogEntry>;
