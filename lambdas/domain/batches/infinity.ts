/**
 * The views Infinity's real client (`infinity_core`, seed 000) reads on its own paths, built from the
 * same batches, jobs and usage as `/api/v1` (no second implementation): bare lists where the client
 * expects lists, a job run with its result link, usage per generator.
 */
import type { BatchListItem } from '../../../contracts/batches.ts';
import type { InfinityJobRun, InfinityUsage } from '../../../contracts/infinity.ts';
import type { z } from '../../../contracts/zod.ts';
import { notFound } from '../errors.ts';
import type { JobOfKind, JobRecord } from '../jobs/model.ts';
import { tallyJobs } from '../jobs/usage.ts';
import type { JobStore } from '../ports.ts';
import { type BatchService, presentBatchListItem, presentJobRun } from './service.ts';

/** Batches one list answers: the client takes a bare list, which has no next page to ask for. */
const MAX_BATCHES_LISTED = 1000;
/** Jobs one job-run list reads to find `limit` of one kind (standard or preview). */
const MAX_JOBS_SCANNED_FOR_RUNS = 5000;

const PAGE = 100;

type TimeRange = { start_time?: string | undefined; end_time?: string | undefined };

/**
 * A time as the client reads it: `2024-06-07T10:00:00.123+00:00`. It parses a batch's `created`
 * with `datetime.fromisoformat`, which reads a `Z` only from Python 3.11; the client supports 3.7.
 */
function pythonIsoTime(iso: string): string {
  return iso.endsWith('Z') ? `${iso.slice(0, -1)}+00:00` : iso;
}

/** A job run of a batch: a procedural generation, or a model's on an endpoint. */
type JobRun = JobOfKind<'generation' | 'image'>;

const isJobRun = (job: JobRecord): job is JobRun => job.kind === 'generation' || job.kind === 'image';

export class InfinityViews {
  constructor(private readonly deps: { batches: BatchService; store: JobStore }) {}

  /** Batches created in the range, newest first, at most MAX_BATCHES_LISTED. */
  async listBatches(tenant: string, range: TimeRange): Promise<z.infer<typeof BatchListItem>[]> {
    const listed: z.infer<typeof BatchListItem>[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.deps.batches.list(tenant, {
        limit: Math.min(PAGE, MAX_BATCHES_LISTED - listed.length),
        ...(range.start_time ? { start_time: range.start_time } : {}),
        ...(range.end_time ? { end_time: range.end_time } : {}),
        ...(cursor ? { cursor } : {}),
      });
      listed.push(
        ...page.items.map((batch) => {
          const item = presentBatchListItem(batch);
          return { ...item, created: pythonIsoTime(item.created) };
        }),
      );
      cursor = page.nextCursor;
    } while (cursor && listed.length < MAX_BATCHES_LISTED);
    return listed;
  }

  /**
   * Standard (`preview` false) or preview job runs created in the range, newest first, at most
   * `limit`; at most MAX_JOBS_SCANNED_FOR_RUNS jobs are read to find them.
   */
  async listJobRuns(
    tenant: string,
    preview: boolean,
    query: TimeRange & { limit: number },
  ): Promise<InfinityJobRun[]> {
    const found: JobRun[] = [];
    let scanned = 0;
    let cursor: string | undefined;
    do {
      const page = await this.deps.store.list(tenant, {
        limit: PAGE,
        ...(query.start_time ? { since: query.start_time } : {}),
        ...(query.end_time ? { until: query.end_time } : {}),
        ...(cursor ? { cursor } : {}),
      });
      scanned += page.items.length;
      found.push(...page.items.filter(isJobRun).filter((job) => (job.preview ?? false) === preview));
      cursor = page.nextCursor;
    } while (cursor && found.length < query.limit && scanned < MAX_JOBS_SCANNED_FOR_RUNS);
    return Promise.all(found.slice(0, query.limit).map((job) => this.present(job)));
  }

  /** One job run; a job that is not one of this kind (a batch, a preview asked as a standard job) is not found. */
  async jobRun(tenant: string, id: string, preview: boolean): Promise<InfinityJobRun> {
    const job = await this.deps.store.get(tenant, id);
    if (!job || !isJobRun(job) || (job.preview ?? false) !== preview) {
      throw notFound(preview ? 'preview job' : 'standard job', id);
    }
    return this.present(job);
  }

  private async present(job: JobRun): Promise<InfinityJobRun> {
    const { result_url, error } = await this.deps.batches.resultOf(job);
    return {
      ...presentJobRun(job),
      batch_id: job.batchId ?? '',
      created: pythonIsoTime(job.createdAt),
      updated: pythonIsoTime(job.updatedAt),
      result_url,
      ...(error ? { error } : {}),
    };
  }
}

/**
 * Usage per generator (the client's `get_usage_stats_last_n_days`: "the number of samples rendered
 * per unique generator"), from the jobs of a usage range.
 */
export function usageByGenerator(jobs: readonly JobRecord[]): InfinityUsage {
  const byGenerator = new Map<string, JobRun[]>();
  for (const job of jobs.filter(isJobRun)) {
    const runs = byGenerator.get(job.generator);
    if (runs) runs.push(job);
    else byGenerator.set(job.generator, [job]);
  }
  const usage: InfinityUsage = {};
  for (const [name, runs] of [...byGenerator].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const { frames, total, standard, preview, by_status } = tallyJobs(runs);
    usage[name] = { samples: frames, jobs: total, standard, preview, by_status };
  }
  return usage;
}
