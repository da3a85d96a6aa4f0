import type { z } from 'zod';
import type { Usage } from '../../../contracts/api.ts';
import { invalidParameters } from '../errors.ts';
import type { InferenceUsagePort } from '../inference/ports.ts';
import { presentUsage } from '../inference/present.ts';
import type { JobStore } from '../ports.ts';
import { countByStatus } from './engine.ts';
import type { JobRecord } from './model.ts';

const DAY_MS = 24 * 3600 * 1000;
/** Usage reads at most this many jobs; a range holding more is answered with `truncated: true`. */
export const MAX_JOBS_SCANNED = 20_000;

export type UsageReport = z.output<typeof Usage>;

export async function usageReport(
  store: JobStore,
  inferenceUsage: InferenceUsagePort,
  tenant: string,
  range: { start_time?: string; end_time?: string },
  now: Date,
): Promise<UsageReport> {
  const { start, end, jobs, truncated } = await jobsInRange(store, tenant, range, now);
  // Model calls are kept per whole UTC day: the days the range touches are summed.
  const inference = presentUsage(await inferenceUsage.totals(tenant, start, end));
  const generation = jobs.filter((job) => job.kind === 'generation');
  const { frames, ...counts } = tallyJobs(generation);
  return {
    start_time: start.toISOString(),
    end_time: end.toISOString(),
    batches: jobs.filter((job) => job.kind === 'batch').length,
    jobs: counts,
    frames,
    result_bytes: generation.reduce((sum, job) => sum + (job.result?.bytes ?? 0), 0),
    inference,
    truncated,
  };
}

/**
 * What every usage report counts of a set of jobs (/api/v1/usage, and per generator for Infinity's
 * client): how many, by status and by kind, and the frames of those that completed.
 */
export function tallyJobs(jobs: readonly JobRecord[]) {
  return {
    total: jobs.length,
    by_status: countByStatus(jobs),
    standard: jobs.filter((job) => !job.preview).length,
    preview: jobs.filter((job) => job.preview).length,
    frames: jobs.reduce((sum, job) => sum + (job.status === 'completed' ? (job.result?.frames ?? 0) : 0), 0),
  };
}

/**
 * The jobs created in a usage range (default: the 30 days before `end_time`, which defaults to
 * now), newest first; at most MAX_JOBS_SCANNED, `truncated` when the range holds more.
 */
export async function jobsInRange(
  store: JobStore,
  tenant: string,
  range: { start_time?: string; end_time?: string },
  now: Date,
): Promise<{ start: Date; end: Date; jobs: JobRecord[]; truncated: boolean }> {
  const end = range.end_time ? new Date(range.end_time) : now;
  const start = range.start_time ? new Date(range.start_time) : new Date(end.getTime() - 30 * DAY_MS);
  if (start >= end) {
    throw invalidParameters('start_time must be before end_time (which defaults to now)', {
      start_time: start.toISOString(),
      end_time: end.toISOString(),
    });
  }
  const jobs: JobRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list(tenant, {
      since: start.toISOString(),
      until: end.toISOString(),
      limit: 100,
      ...(cursor ? { cursor } : {}),
    });
    jobs.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && jobs.length < MAX_JOBS_SCANNED);
  return { start, end, jobs, truncated: cursor !== undefined };
}
