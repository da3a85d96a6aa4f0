/**
 * A submitted batch, as in seed 000 (Infinity's `Batch`): its state, a wait that always ends,
 * its completed and failed jobs, cancellation, and the download of its results.
 */
import { TERMINAL_STATUSES } from '../../contracts/vocabulary.ts';
import type { ApiClient } from './api-client.ts';
import { type DownloadOptions, type DownloadReport, downloadBatch } from './download.ts';
import { SynthForgeError, TimeoutError } from './errors.ts';
import type { BatchResource, BatchSummary, BatchSummaryJob, Job } from './resources.ts';
import type { CallOptions } from './route-types.ts';

/** Options of `Batch.awaitCompletion`. */
export interface AwaitCompletionOptions {
  /** Give up after this long with a `BatchTimeoutError`. Default 30 minutes: a wait never hangs forever. */
  timeoutMs?: number;
  /** Between two polls of the summary. Default 2 s. */
  pollIntervalMs?: number;
  /** Called with every summary polled, the last (finished) one included. */
  onProgress?: (summary: BatchSummary) => void | Promise<void>;
  signal?: AbortSignal;
}

/** `awaitCompletion` ran out of time; the batch goes on running on the server. */
export class BatchTimeoutError extends TimeoutError {
  override readonly name = 'BatchTimeoutError';
  constructor(
    readonly batchId: string,
    timeoutMs: number,
    /** The last summary polled. */
    readonly lastSummary: BatchSummary,
  ) {
    const { completed, failed, cancelled } = lastSummary.counts;
    super(
      `batch ${batchId} did not finish within ${timeoutMs} ms ` +
        `(${completed + failed + cancelled} of ${lastSummary.total} jobs ended)`,
      timeoutMs,
    );
  }
}

const DEFAULT_AWAIT_TIMEOUT_MS = 30 * 60_000;
const DEFAULT_POLL_INTERVAL_MS = 2_000;

/** Whether every job of the batch, and the batch itself, has ended. */
export function isBatchFinished(summary: BatchSummary): boolean {
  return TERMINAL_STATUSES.includes(summary.status) && summary.job_runs.every((job) => !job.in_progress);
}

/** A batch of jobs on the server. `Session.submit` returns one; `manager.batch(id)` finds one again. */
export class Batch {
  #latest: BatchResource | undefined;

  constructor(
    readonly client: ApiClient,
    /** The batch's id (also the id of its batch job in `/api/v1/jobs`). */
    readonly id: string,
    /** The batch as last read, when the caller has it (the submission's answer). */
    latest?: BatchResource,
  ) {
    this.#latest = latest;
  }

  /** The batch as last read by `refresh` (or as submitted); undefined before the first read. */
  get latest(): BatchResource | undefined {
    return this.#latest;
  }

  /** Reads the batch and its jobs again. */
  async refresh(options?: CallOptions): Promise<BatchResource> {
    this.#latest = await this.client.getBatch(this.id, options);
    return this.#latest;
  }

  /** Per job: status, in_progress, and a short-lived result_url once it completed. */
  summary(options?: CallOptions): Promise<BatchSummary> {
    return this.client.getBatchSummary(this.id, options);
  }

  /**
   * Polls until every job has ended and returns the last summary. Unlike seed 000's client it never
   * waits forever: after `timeoutMs` it throws a `BatchTimeoutError` holding the last summary.
   */
  async awaitCompletion(options: AwaitCompletionOptions = {}): Promise<BatchSummary> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_AWAIT_TIMEOUT_MS;
    const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    const callOptions = options.signal ? { signal: options.signal } : {};
    const { timers } = this.client;
    const deadline = timers.now() + timeoutMs;
    for (;;) {
      const summary = await this.summary(callOptions);
      await options.onProgress?.(summary);
      if (isBatchFinished(summary)) return summary;
      const remaining = deadline - timers.now();
      if (remaining <= 0) throw new BatchTimeoutError(this.id, timeoutMs, summary);
      await timers.sleep(Math.min(pollIntervalMs, remaining), options.signal);
    }
  }

  /** The jobs that completed and have a result to download (seed 000's `get_valid_completed_jobs`). */
  async validCompletedJobs(options?: CallOptions): Promise<BatchSummaryJob[]> {
    const summary = await this.summary(options);
    return summary.job_runs.filter((job) => job.status === 'completed' && job.result_url !== null);
  }

  /** The jobs that failed, each with its `error`. Cancelled jobs are not failures and are left out. */
  async failedJobs(options?: CallOptions): Promise<BatchSummaryJob[]> {
    const summary = await this.summary(options);
    return summary.job_runs.filter((job) => job.status === 'failed');
  }

  /**
   * Cancels the batch: its execution stops and its open jobs are cancelled; jobs that completed keep
   * their results. A batch that already ended is a 409 `SynthForgeError`.
   */
  cancel(options?: CallOptions): Promise<Job> {
    return cancelJob(this.client, this.id, options);
  }

  /**
   * Downloads every completed job's result into `<dir>/<jobId>/`, its ZIP extracted. Resumable: a job
   * folder that holds a `.complete` marker is skipped. `dir` is marked with `batch_id.txt`; a folder
   * marked for another batch is refused with a `BatchFolderMismatchError`.
   */
  download(dir: string, options?: DownloadOptions): Promise<DownloadReport> {
    return downloadBatch(this.client, this.id, dir, options);
  }
}

/**
 * Cancels a job (a batch id cancels the batch). A retried DELETE whose first attempt did cancel (its
 * answer was lost) meets a 409; the job being cancelled now is the outcome the caller asked for.
 */
export async function cancelJob(client: ApiClient, id: string, options?: CallOptions): Promise<Job> {
  try {
    return await client.cancelJob(id, options);
  } catch (error) {
    if (error instanceof SynthForgeError && error.status === 409 && error.attempts > 1) {
      const job = await client.getJob(id, options);
      if (job.status === 'cancelled') return job;
    }
    throw error;
  }
}
