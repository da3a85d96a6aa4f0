/**
 * What a restart does with the jobs the last run left open, however it ended (Ctrl-C, SIGKILL, a
 * crash, a full disk): every open job reaches a terminal state or is running again. A batch or a
 * training run that was open is resumed (its workflow skips what ended and re-runs what was cut
 * off); a job of a batch that had already ended (a crash between the two writes of a cancel) is
 * closed the way its batch ended; anything else no workflow resumes is failed with the reason.
 */
import type { JobsEngine } from './engine.ts';
import { isTerminal } from './lifecycle.ts';
import type { JobKind, JobRecord } from './model.ts';

/**
 * What runs an open job of one kind again: each family registers one per kind of job it owns (a
 * batch owns its items; a training run owns none).
 */
export interface Resumer {
  kind: JobKind;
  /** Whether this resumer runs `owner` (an image batch and a generation batch are both `batch`). Default: yes. */
  claims?(owner: JobRecord, items: readonly JobRecord[]): boolean;
  /** Starts it again with all its items, ended or not (its workflow skips those that ended). */
  resume(owner: JobRecord, items: readonly JobRecord[]): Promise<void>;
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

export async function recoverOpenJobs(
  engine: JobsEngine,
  open: readonly JobRecord[],
  resumers: readonly Resumer[],
): Promise<RecoveryReport> {
  const report: RecoveryReport = { resumed: [], closed: [] };
  // Owners run their own work again; a job of an open owner is left to it.
  const ownerKinds = new Set(resumers.map((resumer) => resumer.kind));
  const isOwner = (job: JobRecord) => ownerKinds.has(job.kind);
  const openOwners = new Set(open.filter(isOwner).map((job) => `${job.tenant}/${job.id}`));
  const fail = async (job: JobRecord) => {
    const outcome = await engine.transition(
      job.tenant,
      job.id,
      'failed',
      { error: { ...INTERRUPTED } },
      `failed: ${INTERRUPTED.message}`,
    );
    if (outcome.applied) report.closed.push(job.id);
  };
  for (const job of open) {
    if (isTerminal(job.status)) continue;
    if (isOwner(job)) {
      const items = await engine.store.listBatchItems(job.tenant, job.id);
      const resumer = resumers.find(
        (candidate) => candidate.kind === job.kind && (candidate.claims?.(job, items) ?? true),
      );
      if (!resumer) {
        await fail(job);
        continue;
      }
      await resumer.resume(job, items);
      report.resumed.push(job.id);
    } else if (job.batchId) {
      // Its batch resumes it, when the batch is open too.
      if (openOwners.has(`${job.tenant}/${job.batchId}`)) continue;
      const closed = await engine.closeIfBatchEnded(job);
      if (closed) report.closed.push(job.id);
    } else {
      await fail(job);
    }
  }
  return report;
}
