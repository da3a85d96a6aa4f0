/**
 * What a restart does with the jobs the last run left open, however it ended (Ctrl-C, SIGKILL, a
 * crash, a full disk): every open job reaches a terminal state or is running again. A batch or a
 * training run that was open is resumed (its workflow skips what ended and re-runs what was cut
 * off); a job of a batch that had already ended (a crash between the two writes of a cancel) is
 * closed the way its batch ended; anything else no workflow resumes is failed with the reason.
 */
import type { JobsEngine } from './engine.ts';
import { isTerminal } from './lifecycle.ts';
import type { JobRecord } from './model.ts';

/** What runs an open job again. */
export interface Resumers {
  /** A batch and its jobs (all of them, ended or not: the workflow skips those that ended). */
  batch(batch: JobRecord, items: JobRecord[]): Promise<void>;
  training(job: JobRecord): Promise<void>;
}

export interface RecoveryReport {
  /** Batches and training runs started again. */
  resumed: string[];
  /** Jobs closed because nothing could run them again. */
  closed: string[];
}

/** The reason a job is failed when nothing can resume it. */
const INTERRUPTED = {
  code: 'INTERRUPTED',
  message: 'the platform stopped while the job was open, and nothing resumes a job of this kind',
} as const;

/** Owners run their own work again; a job of an open owner is left to it. */
const isOwner = (job: JobRecord) => job.kind === 'batch' || job.kind === 'training';

export async function recoverOpenJobs(
  engine: JobsEngine,
  open: readonly JobRecord[],
  resume: Resumers,
): Promise<RecoveryReport> {
  const report: RecoveryReport = { resumed: [], closed: [] };
  const openOwners = new Set(open.filter(isOwner).map((job) => `${job.tenant}/${job.id}`));
  for (const job of open) {
    if (isTerminal(job.status)) continue;
    if (job.kind === 'training') {
      await resume.training(job);
      report.resumed.push(job.id);
    } else if (job.kind === 'batch') {
      await resume.batch(job, await engine.store.listBatchItems(job.tenant, job.id));
      report.resumed.push(job.id);
    } else if (job.batchId) {
      // Its batch resumes it, when the batch is open too.
      if (openOwners.has(`${job.tenant}/${job.batchId}`)) continue;
      const closed = await engine.closeIfBatchEnded(job);
      if (closed) report.closed.push(job.id);
    } else {
      const outcome = await engine.transition(
        job.tenant,
        job.id,
        'failed',
        { error: { ...INTERRUPTED } },
        `failed: ${INTERRUPTED.message}`,
      );
      if (outcome.applied) report.closed.push(job.id);
    }
  }
  return report;
}
