/**
 * Following a dataset job (seed 001's batch validation, a profile, an export too large for its
 * request) to its answer: the job is polled with `GET /api/v1/jobs/{id}` until it ends, and once
 * completed its `result_url` links the JSON answer, which is read and checked against the contract
 * of the job's kind.
 */
import type { z } from 'zod';
import {
  BatchValidationResult,
  type DatasetJobAccepted as DatasetJobAcceptedSchema,
  ExportJsonlResponse,
  ExportS3Response,
  Profile,
} from '../../contracts/datasets.ts';
import { TERMINAL_STATUSES } from '../../contracts/vocabulary.ts';
import type { ApiClient } from './api-client.ts';
import { SynthForgeError, TimeoutError } from './errors.ts';
import type { DatasetJobAccepted, Job } from './resources.ts';

/** The kinds of job the dataset routes start. */
export type DatasetJobKind = z.output<typeof DatasetJobAcceptedSchema>['kind'];

/** `POST /validate/batch`'s job, once completed: every image's outcome and the set's summary. */
export type BatchValidationReport = z.output<typeof BatchValidationResult>;
/** A profile of a set of images: colour means, brightness, contrast and resolution. */
export type ImageProfile = z.output<typeof Profile>;
/** `POST /export/jsonl` answered 200, or its job's result. */
export type JsonlExport = z.output<typeof ExportJsonlResponse>;
/** `POST /export/s3` answered 200, or its job's result. */
export type S3Export = z.output<typeof ExportS3Response>;

/** What a completed dataset job of each kind links as its result. */
export interface DatasetJobResults {
  'image-validation': BatchValidationReport;
  'image-profile': ImageProfile;
  'image-export': JsonlExport | S3Export;
}

/** The result of a dataset job of any kind. */
export type DatasetJobResult = DatasetJobResults[DatasetJobKind];

const RESULT_SCHEMAS: Record<DatasetJobKind, z.ZodType> = {
  'image-validation': BatchValidationResult,
  'image-profile': Profile,
  // An export's job answers what its route would have: the two routes' answers share no field
  // that tells them apart by name alone, so either shape is accepted.
  'image-export': ExportJsonlResponse.or(ExportS3Response),
};

const isDatasetJobKind = (kind: string): kind is DatasetJobKind => kind in RESULT_SCHEMAS;

/** A job to wait for: its id, or the 202 answer that started it (whose `kind` then types the result). */
export type DatasetJobRef<K extends DatasetJobKind = DatasetJobKind> = string | { job_id: string; kind: K };

/** How `waitForDatasetJob` polls, and for how long. */
export interface DatasetJobWaitOptions {
  /** Give up after this long with a `DatasetJobTimeoutError`; the job goes on. Default 30 minutes. */
  timeoutMs?: number;
  /** The first pause between two polls; each next one is half as long again. Default 250 ms. */
  pollMs?: number;
  /** The longest pause between two polls. Default 5 s. */
  maxPollMs?: number;
  /** Called with the job whenever its status, progress or message changes (its first poll included). */
  onProgress?: (job: Job) => void;
  /** Stops the wait (not the job) with the signal's reason. */
  signal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 30 * 60_000;
const DEFAULT_POLL_MS = 250;
const DEFAULT_MAX_POLL_MS = 5_000;
const BACKOFF = 1.5;

/**
 * A dataset job ended failed or cancelled. `code` and `message` are the job's error (for example
 * `NOT_FOUND` when its dataset was emptied since it started), as a route's error would carry them.
 */
export class DatasetJobError extends Error {
  override readonly name = 'DatasetJobError';
  /** The job's error code; `CANCELLED` for a job cancelled without one. */
  readonly code: string;
  readonly jobId: string;
  constructor(
    /** The job as it ended. */
    readonly job: Job,
  ) {
    const code = job.error?.code ?? (job.status === 'cancelled' ? 'CANCELLED' : 'JOB_FAILED');
    const why = job.error?.message ?? job.message ?? job.status;
    super(`the ${job.kind} job ${job.id} ended ${job.status}: ${why}`);
    this.code = code;
    this.jobId = job.id;
  }
}

/** A wait for a dataset job ran out of time; the job goes on running on the server. */
export class DatasetJobTimeoutError extends TimeoutError {
  override readonly name = 'DatasetJobTimeoutError';
  readonly jobId: string;
  constructor(
    timeoutMs: number,
    /** The job as last polled. */
    readonly job: Job,
  ) {
    super(
      `the ${job.kind} job ${job.id} did not end within ${timeoutMs} ms (${job.status}, ${Math.round(job.progress)}%)`,
      timeoutMs,
    );
    this.jobId = job.id;
  }
}

/**
 * Polls a dataset job until it ends and resolves with its result, read through `result_url` and
 * parsed with the contract of the job's kind. A job that ends failed or cancelled throws a
 * `DatasetJobError`; a job of another kind (a generation job's id) is a `TypeError` at the first poll.
 */
export async function waitForDatasetJob<K extends DatasetJobKind = DatasetJobKind>(
  client: ApiClient,
  ref: DatasetJobRef<K>,
  options: DatasetJobWaitOptions = {},
): Promise<DatasetJobResults[K]> {
  const { timers } = client;
  const jobId = typeof ref === 'string' ? ref : ref.job_id;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxPoll = options.maxPollMs ?? DEFAULT_MAX_POLL_MS;
  const call = options.signal ? { signal: options.signal } : {};
  const deadline = timers.now() + timeoutMs;
  let pause = options.pollMs ?? DEFAULT_POLL_MS;
  let seen = '';
  for (;;) {
    const job = await client.getJob(jobId, call);
    if (!isDatasetJobKind(job.kind)) {
      throw new TypeError(`job ${jobId} is of kind ${job.kind}, which no dataset route starts`);
    }
    const state = `${job.status}\u0000${job.progress}\u0000${job.message ?? ''}`;
    if (state !== seen) {
      seen = state;
      options.onProgress?.(job);
    }
    if (TERMINAL_STATUSES.includes(job.status)) {
      if (job.status !== 'completed') throw new DatasetJobError(job);
      return (await readResult(client, job, job.kind, call)) as DatasetJobResults[K];
    }
    const left = deadline - timers.now();
    if (left <= 0) throw new DatasetJobTimeoutError(timeoutMs, job);
    await timers.sleep(Math.min(pause, left), options.signal);
    pause = Math.min(maxPoll, Math.round(pause * BACKOFF));
  }
}

/** The completed job's answer behind `result_url`; anything but its kind's JSON is an `INVALID_RESPONSE`. */
async function readResult(
  client: ApiClient,
  job: Job,
  kind: DatasetJobKind,
  call: { signal?: AbortSignal },
): Promise<DatasetJobResult> {
  const invalid = (reason: string, details?: Record<string, unknown>) =>
    new SynthForgeError({
      status: 200,
      code: 'INVALID_RESPONSE',
      message: `the ${kind} job ${job.id} completed, but ${reason}`,
      details,
    });
  if (!job.result_url) throw invalid('it links no result (result_url)');
  const bytes = await client.fetchResult(job.result_url, call);
  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw invalid('its result is not JSON');
  }
  const parsed = RESULT_SCHEMAS[kind].safeParse(payload);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 10).map(({ path, message }) => ({ path, message }));
    const first = issues[0];
    throw invalid(
      `its result does not match the API contract: ${first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'schema mismatch'}`,
      { issues },
    );
  }
  return parsed.data as DatasetJobResult;
}

/**
 * Whether an export's answer is the job it started (202) rather than the export itself (200): an
 * export too large to finish within its request runs as a job.
 */
export function isDatasetJobAccepted(answer: object): answer is DatasetJobAccepted {
  return 'job_id' in answer && 'kind' in answer;
}
