/**
 * What the dataset commands (`images validate --batch`, `profiles create`, `export`) share: the
 * options of a wait for a dataset job, `--no-wait`'s printed job, the wait itself with its progress
 * on stderr, and how its endings map onto exit statuses (a job that failed: 1; a wait out of time:
 * 4, the job goes on).
 */
import type { ApiClient } from '../api-client.ts';
import {
  DatasetJobError,
  type DatasetJobKind,
  type DatasetJobResults,
  DatasetJobTimeoutError,
} from '../dataset-jobs.ts';
import type { DatasetJobAccepted } from '../resources.ts';
import type { OptionSpecs } from './command.ts';
import type { CliContext } from './context.ts';
import { CliError, EXIT, WaitTimedOut } from './exit-codes.ts';
import { formatDuration, parseDuration } from './format.ts';

export const DATASET_WAIT_OPTIONS = {
  'no-wait': {
    type: 'boolean',
    description: 'print the job and return at once, instead of waiting for its result',
  },
  timeout: {
    type: 'string',
    description: 'stop waiting after this long (default 30m); the job goes on',
    placeholder: 'DURATION',
  },
} as const satisfies OptionSpecs;

/** A dataset job ended failed or cancelled: its error, and exit 1. */
export class DatasetJobFailed extends CliError {
  override readonly name = 'DatasetJobFailed';
  readonly code: string;
  readonly exit = EXIT.jobsFailed;
  constructor(error: DatasetJobError) {
    super(error.message, [`see the job with: synthforge jobs show ${error.jobId}`]);
    this.code = error.code;
  }
}

/** `--timeout` in milliseconds; read before anything is sent, so that a typo starts no job. */
export function waitTimeoutOf(values: { timeout?: string | undefined }): number {
  return parseDuration(values.timeout ?? '30m', '--timeout');
}

/** How a dataset job started, for the person at the terminal. */
export function describeAccepted(accepted: DatasetJobAccepted, what: string): string {
  const images = accepted.image_count === undefined ? '' : ` (${accepted.image_count} images)`;
  return `${what}${images} runs as job ${accepted.job_id}: follow it with synthforge jobs show ${accepted.job_id}`;
}

/** How to follow a dataset job just started (`followDatasetJob`). */
export interface FollowOptions {
  /** False with `--no-wait`: the job is printed, not waited for. */
  wait: boolean;
  /** From `waitTimeoutOf`. */
  timeoutMs: number;
  /** What runs as the job, for the person at the terminal: `Profile nature`. */
  what: string;
  /**
   * Whether to say on stderr that the job started before waiting for it: for a route that answers
   * at once when it can (an export), so that a wait is not a surprise.
   */
  announce?: boolean;
}

/**
 * Follows a dataset job just started: with `--no-wait` prints it and resolves with nothing (the
 * command exits 0, the job goes on); otherwise waits for it as `awaitDatasetJob` does.
 */
export async function followDatasetJob<K extends DatasetJobKind>(
  ctx: CliContext,
  client: ApiClient,
  accepted: DatasetJobAccepted,
  kind: K,
  options: FollowOptions,
): Promise<DatasetJobResults[K] | undefined> {
  const described = () => describeAccepted(accepted, options.what);
  if (!options.wait) {
    ctx.result(accepted, described);
    return undefined;
  }
  if (options.announce) ctx.note(described());
  return awaitDatasetJob(ctx, client, { job_id: accepted.job_id, kind }, options.timeoutMs);
}

/**
 * Waits for a dataset job, writing each change of its progress to stderr, and resolves with its
 * result; a failed job and a wait out of time become the CLI's errors.
 */
export async function awaitDatasetJob<K extends DatasetJobKind>(
  ctx: CliContext,
  client: ApiClient,
  accepted: { job_id: string; kind: K },
  timeoutMs: number,
): Promise<DatasetJobResults[K]> {
  let lastNote = '';
  try {
    return await client.waitForDatasetJob(accepted, {
      timeoutMs,
      signal: ctx.signal,
      onProgress: (job) => {
        const note = `job ${job.id}: ${job.status} ${Math.round(job.progress)}%${job.message ? ` (${job.message})` : ''}`;
        if (note !== lastNote) ctx.note(note);
        lastNote = note;
      },
    });
  } catch (error) {
    if (error instanceof DatasetJobError) throw new DatasetJobFailed(error);
    if (error instanceof DatasetJobTimeoutError) {
      throw new WaitTimedOut(
        `job ${error.jobId} did not end within ${formatDuration(timeoutMs)}; it goes on`,
        [`look again with: synthforge jobs show ${error.jobId}`],
      );
    }
    throw error;
  }
}
