import type { JobStatus, StatusCounts } from '../../../contracts/jobs.ts';
import { illegalState, notFound } from '../errors.ts';
import type { Clock, EventPublisher, ExecutionStopper, JobStore, TransitionOutcome } from '../ports.ts';
import { isTerminal } from './lifecycle.ts';
import type { JobPatch, JobRecord, LogEntry } from './model.ts';

export interface JobsEngineDeps {
  store: JobStore;
  events: EventPublisher;
  /** Stops the execution of a cancelled job, whichever family's machine runs it. */
  executions: ExecutionStopper;
  clock: Clock;
  /** Where failures of best-effort follow-ups go (the event, the log line, a cancel's clean-up). */
  report?: (message: string, details: Record<string, unknown>) => void;
}

/**
 * The one jobs engine: every status change goes through `transition`, which is one conditional
 * write in the store and, when it applies, exactly one `Job State Change` event and one log line.
 * The write is the truth: once it has applied, a failing event or log line is reported, not thrown,
 * so that nothing built on the change (a cancel's clean-up, a job's completion) is cut short.
 */
export class JobsEngine {
  readonly #report: NonNullable<JobsEngineDeps['report']>;

  constructor(private readonly deps: JobsEngineDeps) {
    this.#report = deps.report ?? (() => undefined);
  }

  /** Runs a follow-up whose failure must not undo or interrupt what already happened. */
  async #bestEffort(
    what: string,
    details: Record<string, unknown>,
    work: () => Promise<unknown>,
  ): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.#report(`${what} failed`, {
        ...details,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  get store(): JobStore {
    return this.deps.store;
  }

  async get(tenant: string, id: string): Promise<JobRecord> {
    const job = await this.deps.store.get(tenant, id);
    if (!job) throw notFound('job', id);
    return job;
  }

  async transition(
    tenant: string,
    id: string,
    to: JobStatus,
    patch: JobPatch = {},
    logMessage?: string,
  ): Promise<TransitionOutcome> {
    const outcome = await this.deps.store.transition(tenant, id, to, patch);
    if (!outcome.applied) return outcome;
    const { job, previous } = outcome;
    const event = {
      tenant,
      jobId: job.id,
      kind: job.kind,
      ...(job.batchId ? { batchId: job.batchId } : {}),
      previousStatus: previous,
      status: job.status,
      version: job.version,
      at: job.updatedAt,
      ...(job.error ? { error: job.error } : {}),
    };
    // The full event goes with the report, so a lost event can be replayed from the logs.
    await this.#bestEffort('publishing a Job State Change', { event }, () =>
      this.deps.events.publishJobStateChanges([event]),
    );
    await this.#bestEffort('writing a job log line', { tenant, jobId: id }, () =>
      this.log(tenant, id, to === 'failed' ? 'error' : 'info', logMessage ?? `status: ${previous} -> ${to}`),
    );
    return outcome;
  }

  /**
   * Stores new jobs that nothing can reach yet, each with its first log line, in as few writes as
   * the store allows (`JobStore.createUnstarted` says when that is safe).
   */
  async createUnstarted(
    jobs: JobRecord[],
    lines: readonly { job: JobRecord; level: LogEntry['level']; message: string }[],
  ): Promise<void> {
    const at = this.deps.clock.now().toISOString();
    await this.deps.store.createUnstarted(
      jobs,
      lines.map(({ job, level, message }) => ({
        tenant: job.tenant,
        jobId: job.id,
        entry: { at, level, message },
      })),
    );
  }

  async log(tenant: string, id: string, level: LogEntry['level'], message: string): Promise<void> {
    await this.deps.store.appendLog(tenant, id, [
      { at: this.deps.clock.now().toISOString(), level, message },
    ]);
  }

  /**
   * Cancels a job. A batch is cancelled with its open jobs and its execution is stopped; a job of a
   * batch is cancelled alone (its worker finds it cancelled and its late result is a no-op).
   *
   * The order is what makes a crash at any point safe. The batch's own transition is the commit
   * point: from then on every worker that picks up one of its jobs, `finishBatch` and a restart's
   * recovery all read the batch as cancelled and close what is left. Its jobs are closed next, before
   * the execution is stopped, so that once this answers none of them can start: a job that is
   * `cancelled` never moves again. Stopping the execution only spares work that would be thrown away.
   */
  async cancel(tenant: string, id: string): Promise<JobRecord> {
    const job = await this.get(tenant, id);
    if (isTerminal(job.status)) {
      throw illegalState(
        `job ${id} is already ${job.status}; only pending or running jobs can be cancelled`,
        {
          job_id: id,
          status: job.status,
        },
      );
    }
    const reason = { code: 'CANCELLED', message: 'cancelled by the user' };
    const outcome = await this.transition(
      tenant,
      id,
      'cancelled',
      { message: reason.message },
      'cancelled by the user',
    );
    if (!outcome.applied) {
      if (outcome.reason === 'not_found') throw notFound('job', id);
      // It ended between our read and our write.
      throw illegalState(`job ${id} is already ${outcome.job.status}`, {
        job_id: id,
        status: outcome.job.status,
      });
    }
    // The job is cancelled from here on, whatever follows. Each clean-up step is attempted even if
    // an earlier one failed; what is left open, the reconciler (or a local restart) closes.
    let recorded: JobRecord | undefined;
    if (job.kind === 'batch') {
      await this.#bestEffort('cancelling the open jobs of a batch', { tenant, batchId: id }, () =>
        this.closeOpenItems(tenant, id, 'cancelled', undefined, 'cancelled with its batch'),
      );
      await this.#bestEffort("recording a cancelled batch's counts", { tenant, batchId: id }, async () => {
        const counts = await this.countItems(tenant, id);
        const updated = await this.deps.store.update(tenant, id, { counts }, { whenStatus: 'cancelled' });
        recorded = updated ?? (outcome.job.kind === 'batch' ? { ...outcome.job, counts } : outcome.job);
      });
    }
    // A job that owns an execution (a batch, a training run) has it stopped, which stops its work.
    const executionId = outcome.job.executionId;
    if (executionId) {
      await this.#bestEffort(`stopping a cancelled ${job.kind}`, { tenant, jobId: id, executionId }, () =>
        this.deps.executions.stop(executionId, reason.message),
      );
    }
    return recorded ?? outcome.job;
  }

  /** Moves every job of a batch that is not terminal to `to`. Returns how many moved. */
  async closeOpenItems(
    tenant: string,
    batchId: string,
    to: 'failed' | 'cancelled',
    error?: { code: string; message: string },
    logMessage?: string,
  ): Promise<number> {
    const items = await this.deps.store.listBatchItems(tenant, batchId);
    let moved = 0;
    for (const item of items) {
      if (isTerminal(item.status)) continue;
      const outcome = await this.transition(tenant, item.id, to, error ? { error } : {}, logMessage);
      if (outcome.applied) moved++;
    }
    return moved;
  }

  /**
   * Closes the open jobs of a batch that has ended, the way its end decides: with a cancelled batch
   * they are cancelled, with any other end they failed to report. Every path that can meet a job
   * outliving its batch (a crash between the two writes of a cancel, a worker that picks a job up
   * late, a restart's recovery) settles it through here, so they all agree. Returns how many moved.
   */
  async closeOpenItemsOfEndedBatch(batch: JobRecord): Promise<number> {
    const { to, error, logMessage } = settlementUnder(batch, batch.id);
    return this.closeOpenItems(batch.tenant, batch.id, to, error, logMessage);
  }

  /**
   * A worker's guard before it runs a job of a batch: when the batch has already ended (or is gone),
   * the job is closed as `closeOpenItemsOfEndedBatch` would and its current record is returned, so
   * the worker skips it. Undefined when the batch is still open and the job should run.
   */
  async closeIfBatchEnded(job: JobRecord): Promise<JobRecord | undefined> {
    if (!job.batchId || isTerminal(job.status)) return undefined;
    const batch = await this.deps.store.get(job.tenant, job.batchId);
    if (batch && !isTerminal(batch.status)) return undefined;
    const { to, error, logMessage } = settlementUnder(batch, job.batchId);
    const outcome = await this.transition(job.tenant, job.id, to, error ? { error } : {}, logMessage);
    if (outcome.applied || outcome.reason === 'illegal') return outcome.job;
    return { ...job, status: to };
  }

  async countItems(tenant: string, batchId: string): Promise<StatusCounts> {
    return countByStatus(await this.deps.store.listBatchItems(tenant, batchId));
  }
}

/** The job a batch's unfinished jobs end as, once the batch itself has ended. */
export const NOT_REPORTED = {
  code: 'NOT_REPORTED',
  message: 'the job did not report a result before its batch ended',
} as const;

/** How an open job ends under its batch `batch` (undefined: it no longer exists), which has ended. */
function settlementUnder(
  batch: Pick<JobRecord, 'status'> | undefined,
  batchId: string,
): { to: 'failed' | 'cancelled'; error?: { code: string; message: string }; logMessage: string } {
  if (batch?.status === 'cancelled') return { to: 'cancelled', logMessage: 'cancelled with its batch' };
  const error = batch
    ? { ...NOT_REPORTED }
    : { code: 'BATCH_MISSING', message: `its batch ${batchId} no longer exists` };
  return { to: 'failed', error, logMessage: `failed: ${error.message}` };
}

export function countByStatus(jobs: readonly Pick<JobRecord, 'status'>[]): StatusCounts {
  const counts: StatusCounts = { pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
  for (const job of jobs) counts[job.status]++;
  return counts;
}
