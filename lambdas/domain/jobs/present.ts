import type { z } from 'zod';
import type { JobList, JobListQuery, JobLogs } from '../../../contracts/api.ts';
import type { Job, StatusCounts } from '../../../contracts/jobs.ts';
import type { BlobStore, JobStore } from '../ports.ts';
import type { JobsEngine } from './engine.ts';
import { isTerminal } from './lifecycle.ts';
import type { JobRecord } from './model.ts';

/** A job as the API shows it: no tenant, no storage keys, no execution handles. */
export function presentJob(job: JobRecord, counts?: StatusCounts): Job {
  const shownCounts = counts ?? job.counts;
  return {
    id: job.id,
    kind: job.kind,
    status: job.status,
    ...(job.name !== undefined ? { name: job.name } : {}),
    ...(job.batchId ? { batch_id: job.batchId } : {}),
    ...(job.generator ? { generator: job.generator } : {}),
    ...(job.preview !== undefined ? { is_preview: job.preview } : {}),
    ...(job.params ? { param_values: job.params } : {}),
    progress: job.progress,
    ...(job.message ? { message: job.message } : {}),
    ...(shownCounts ? { counts: shownCounts } : {}),
    ...(job.total !== undefined ? { total: job.total } : {}),
    ...(job.result
      ? {
          result: {
            bytes: job.result.bytes,
            ...(job.result.frames !== undefined ? { frames: job.result.frames } : {}),
            content_type: job.result.contentType,
          },
        }
      : {}),
    ...(job.error ? { error: job.error } : {}),
    created_at: job.createdAt,
    updated_at: job.updatedAt,
    ...(job.startedAt ? { started_at: job.startedAt } : {}),
    ...(job.finishedAt ? { finished_at: job.finishedAt } : {}),
    version: job.version,
  };
}

/** What the job view signs result links with: the outputs bucket, and how long a link lives. */
export interface ResultLinks {
  blobs: Pick<BlobStore, 'presignGet'>;
  ttlSeconds: number;
}

/**
 * The kinds whose result is read from the job view, each a JSON answer: an inference job's
 * (`"async": true`), a dataset validation's report, an export's answer, a profile. The others link
 * theirs from their own routes (a batch's summary, `GET /generate/{job_id}`, a training run's status).
 */
const LINKED_RESULT_KINDS: ReadonlySet<JobRecord['kind']> = new Set([
  'inference',
  'image-validation',
  'image-profile',
  'image-export',
]);

/** The job's result link, once completed, for the kinds of LINKED_RESULT_KINDS. */
async function resultUrlOf(job: JobRecord, links: ResultLinks | undefined): Promise<string | undefined> {
  if (!links || !LINKED_RESULT_KINDS.has(job.kind) || job.status !== 'completed' || !job.result)
    return undefined;
  return links.blobs.presignGet(job.result.key, links.ttlSeconds, `${job.id}.json`);
}

/** Infinity's `in_progress`: true until the job has ended, whatever way it ended. */
export const inProgress = (job: Pick<JobRecord, 'status'>) => !isTerminal(job.status);

/**
 * `GET /jobs/{id}`: a batch shows live counts of its jobs while it runs; once ended, the counts it
 * recorded. A completed inference job links its answer (`links`).
 */
export async function jobView(
  engine: JobsEngine,
  tenant: string,
  id: string,
  links?: ResultLinks,
): Promise<Job> {
  const job = await engine.get(tenant, id);
  const counts = job.kind === 'batch' && !job.counts ? await engine.countItems(tenant, id) : undefined;
  const resultUrl = await resultUrlOf(job, links);
  return { ...presentJob(job, counts), ...(resultUrl ? { result_url: resultUrl } : {}) };
}

/** `DELETE /jobs/{id}`: the job as cancelling left it. */
export async function cancelledJob(engine: JobsEngine, tenant: string, id: string): Promise<Job> {
  return presentJob(await engine.cancel(tenant, id));
}

/** `GET /jobs`: one page of the tenant's jobs, filtered as the query asks. */
export async function jobList(
  store: JobStore,
  tenant: string,
  query: z.output<typeof JobListQuery>,
): Promise<z.infer<typeof JobList>> {
  const page = await store.list(tenant, {
    limit: query.limit,
    ...(query.kind ? { kind: query.kind } : {}),
    ...(query.status ? { status: query.status } : {}),
    ...(query.batch ? { batchId: query.batch } : {}),
    ...(query.start_time ? { since: query.start_time } : {}),
    ...(query.end_time ? { until: query.end_time } : {}),
    ...(query.cursor ? { cursor: query.cursor } : {}),
  });
  return {
    jobs: page.items.map((job) => presentJob(job)),
    ...(page.nextCursor ? { next_cursor: page.nextCursor } : {}),
  };
}

/** `GET /jobs/{id}/logs`: the last `tail` entries of a job of this tenant (a 404 for any other). */
export async function jobLogs(
  engine: JobsEngine,
  store: JobStore,
  tenant: string,
  id: string,
  tail: number,
): Promise<z.infer<typeof JobLogs>> {
  await engine.get(tenant, id);
  return { job_id: id, entries: await store.tailLog(tenant, id, tail) };
}
