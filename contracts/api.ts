import { Cursor, IsoDateTime, Limit, orderedTimeRange, TimeRangeQuery } from './common.ts';
import { GeneratorInfo, GeneratorSummary, ParamValues, ParamViolation } from './generators.ts';
import { Job, JobId, JobKind, JobStatus, LogEntry, StatusCounts } from './jobs.ts';
import * as z from './zod.ts';

export const Root = z
  .object({ name: z.string(), version: z.string(), docs: z.string(), redoc: z.string(), openapi: z.string() })
  .openapi('Root');

export const Health = z
  .object({ status: z.literal('ok'), version: z.string(), stage: z.string(), time: IsoDateTime })
  .openapi('Health');

export const GeneratorList = z.object({ generators: z.array(GeneratorSummary) }).openapi('GeneratorList');
export { GeneratorInfo };

export const GeneratorNameParams = z.object({ name: z.string().min(1).max(100) });

export const ValidateRequest = z
  .object({ job_params: z.array(z.unknown()).min(1).max(1000) })
  .strict()
  .openapi('ValidateRequest');
export const ValidateResponse = z
  .object({
    valid: z.boolean(),
    results: z.array(z.array(ParamViolation).nullable()).describe('one entry per job: null when valid'),
  })
  .openapi('ValidateResponse');

export const RandomRequest = z
  .object({
    n: z.number().int().min(1).max(100).default(1),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .optional(),
    param_values: ParamValues.optional().describe('values to keep; every other parameter is randomised'),
  })
  .strict()
  .openapi('RandomRequest');
export const RandomResponse = z.object({ job_params: z.array(ParamValues) }).openapi('RandomResponse');

export const JobListQuery = TimeRangeQuery.extend({
  kind: JobKind.optional(),
  status: JobStatus.optional(),
  batch: JobId.optional(),
  limit: Limit,
  cursor: Cursor.optional(),
}).refine(...orderedTimeRange);
export const JobList = z
  .object({ jobs: z.array(Job), next_cursor: z.string().optional() })
  .openapi('JobList');

export const JobIdParams = z.object({ id: JobId });

export const LogsQuery = z.object({ tail: z.coerce.number().int().min(1).max(1000).default(100) });
export const JobLogs = z.object({ job_id: JobId, entries: z.array(LogEntry) }).openapi('JobLogs');

const InferenceFigures = {
  calls: z.number().int(),
  failed: z.number().int().describe('calls that failed (they count as calls, with no tokens)'),
  input_tokens: z.number().int(),
  output_tokens: z.number().int(),
  estimated_usd: z.number().describe("from the stage's price table: tokens × price, per model"),
};

/** Seed 003's model calls in the range, by whole UTC days, per model key. */
const InferenceUsage = z
  .object({
    ...InferenceFigures,
    by_model: z.record(z.string(), z.object({ ...InferenceFigures, mean_latency_ms: z.number().int() })),
  })
  .openapi('InferenceUsage');

export const Usage = z
  .object({
    start_time: IsoDateTime,
    end_time: IsoDateTime,
    batches: z.number().int(),
    jobs: z.object({
      total: z.number().int(),
      by_status: StatusCounts,
      standard: z.number().int(),
      preview: z.number().int(),
    }),
    frames: z.number().int().describe('frames rendered by completed jobs'),
    result_bytes: z.number().int(),
    inference: InferenceUsage,
    truncated: z
      .boolean()
      .describe(
        'true when the range holds more jobs than one report reads: narrow the range for exact figures',
      ),
  })
  .openapi('Usage');
