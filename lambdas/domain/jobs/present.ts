import type { Job, StatusCounts } from '../../../contracts/jobs.ts';
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

/** Infinity's `in_progress`: true until the job has ended, whatever way it ended. */
export const inProgress = (job: Pick<JobRecord, 'status'>) => !isTerminal(job.status);
