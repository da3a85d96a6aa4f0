/**
 * Following avatar jobs to their end, as the avatars client does (it polls every 5 s until a job is
 * `done`), with a backoff that starts fast, since a small table is avatarized in well under a second,
 * and a deadline, so that a wait always ends.
 */
import type { AvatarJob } from '../../../contracts/avatars.ts';
import type { ApiClient } from '../api-client.ts';
import { TimeoutError } from '../errors.ts';

export type { AvatarJob };

/** How a wait for avatar jobs polls, and for how long. */
export interface AvatarWaitOptions {
  /** Give up after this long with an `AvatarWaitTimeoutError`; the jobs go on. Default 30 minutes. */
  timeoutMs?: number;
  /** The first pause between two polls; each next one is half as long again. Default 200 ms. */
  pollIntervalMs?: number;
  /** The longest pause between two polls. Default 2 s. */
  maxPollIntervalMs?: number;
  /** Called whenever a job is seen in a new status (its first sighting included). */
  onStatus?: (job: AvatarJob) => void;
  /** Stops the wait (not the jobs) with the signal's reason. */
  signal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 30 * 60_000;
const DEFAULT_POLL_MS = 200;
const DEFAULT_MAX_POLL_MS = 2_000;
const BACKOFF = 1.5;

/** An avatar job ended without finishing: `error`, `parent_error` or `cancelled`. */
export class AvatarJobError extends Error {
  override readonly name = 'AvatarJobError';
  constructor(
    /** The job as it ended; `exception` says why. */
    readonly job: AvatarJob,
    /** Every job of the wait, as it ended. */
    readonly jobs: readonly AvatarJob[] = [job],
  ) {
    super(
      `the ${job.kind} job ${job.name} (${job.parameters_name}) ended ${job.status}` +
        (job.exception ? `: ${job.exception}` : ''),
    );
  }
}

/** A wait for avatar jobs ran out of time; they go on running on the server. */
export class AvatarWaitTimeoutError extends TimeoutError {
  override readonly name = 'AvatarWaitTimeoutError';
  constructor(
    timeoutMs: number,
    /** Each job as last polled. */
    readonly jobs: readonly AvatarJob[],
  ) {
    const open = jobs.filter((job) => !job.done);
    super(
      `${open.map((job) => `the ${job.kind} job ${job.name} (${job.status})`).join(', ')} did not end within ${timeoutMs} ms`,
      timeoutMs,
    );
  }
}

/**
 * Polls each job until every one is `done`, and resolves with them as they ended, in the order
 * given. When one ended in `error`, `parent_error` or `cancelled`, it throws an `AvatarJobError` for
 * the first such job, once every job has ended (the dependants of a failed job end quickly, as
 * `parent_error`), so that the error can say which job failed first and why.
 */
export async function waitForAvatarJobs(
  client: ApiClient,
  jobs: readonly (AvatarJob | string)[],
  options: AvatarWaitOptions = {},
): Promise<AvatarJob[]> {
  const { timers } = client;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxPoll = options.maxPollIntervalMs ?? DEFAULT_MAX_POLL_MS;
  const deadline = timers.now() + timeoutMs;
  const names = jobs.map((job) => (typeof job === 'string' ? job : job.name));
  const latest = new Map<string, AvatarJob>();
  // A job handed over as it was created is not news until its status changes.
  const seen = new Map<string, AvatarJob['status']>(
    jobs.flatMap((job) => (typeof job === 'string' ? [] : [[job.name, job.status] as const])),
  );
  let pause = options.pollIntervalMs ?? DEFAULT_POLL_MS;
  for (;;) {
    for (const name of names) {
      if (latest.get(name)?.done) continue;
      const job = await client.getAvatarJob(name, { ...(options.signal ? { signal: options.signal } : {}) });
      latest.set(name, job);
      if (seen.get(name) !== job.status) {
        seen.set(name, job.status);
        options.onStatus?.(job);
      }
    }
    const current = names.map((name) => latest.get(name) as AvatarJob);
    if (current.every((job) => job.done)) {
      const failed = current.find((job) => job.status !== 'finished');
      if (failed) throw new AvatarJobError(firstCause(failed, current), current);
      return current;
    }
    const left = deadline - timers.now();
    if (left <= 0) throw new AvatarWaitTimeoutError(timeoutMs, current);
    await timers.sleep(Math.min(pause, left), options.signal);
    pause = Math.min(maxPoll, Math.round(pause * BACKOFF));
  }
}

/** The job whose failure caused the others': one that failed or was cancelled itself, not `parent_error`. */
function firstCause(failed: AvatarJob, jobs: readonly AvatarJob[]): AvatarJob {
  return jobs.find((job) => job.status === 'error' || job.status === 'cancelled') ?? failed;
}
