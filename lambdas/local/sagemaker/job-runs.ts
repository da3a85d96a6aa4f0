/**
 * What the local SageMaker job hosts share: the training host (training-jobs.ts, which plays
 * createTrainingJob.sync) and the processing host (processing-jobs.ts, createProcessingJob.sync) both
 * use this module, and their file modules (training-files.ts, processing-files.ts) its file helpers.
 *
 * - `JobRuns`: the registry of running jobs. A job is registered while it runs; `stop(prefix)` stops
 *   every job whose name starts with it and waits for them to end; `stopAll` also removes the default
 *   work folder. It makes and removes each job's folder (kept when the host's `SYNTHFORGE_KEEP_*_ROOTS`
 *   variable is set), counts `MaxRuntimeInSeconds` from the job's start and stops the job's process
 *   as SageMaker stops a container: SIGTERM, then SIGKILL after a grace.
 * - `followChild`: a job's process followed to its exit, its output forwarded line by line and its
 *   last lines kept for the failure reason.
 * - `JobEnded`, `describeError`, `inside`, `manifestObjects`: a job ended early, and the parts of
 *   SageMaker's S3 file contract both hosts read the same way.
 * - `taskResult`: the answer of a `.sync` step, or its `States.TaskFailed` with the Describe JSON.
 */
import type { ChildProcess, ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { stopChild } from '../support/child-process.ts';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../support/local-aws.ts';
import { type S3Download, tryParseS3Uri } from '../support/s3.ts';

/** SageMaker keeps at most this much of a FailureReason (or of an ExitMessage). */
export const MAX_REASON_CHARS = 1_024;
/** Output lines quoted in the FailureReason of a process that exited non-zero. */
const QUOTED_OUTPUT_LINES = 10;
/** The last lines of output a run keeps. */
const KEPT_OUTPUT_LINES = 100;
/** After a process exits, how long to wait for the rest of its output. */
const OUTPUT_DRAIN_MS = 2_000;
const DEFAULT_STOP_GRACE_MS = 30_000;

type Log = (message: string, details?: Record<string, unknown>) => void;

export type JobStatus = 'Completed' | 'Failed' | 'Stopped';

/** How a job ends: its status, SecondaryStatus (training's) and FailureReason. */
export interface Outcome {
  status: JobStatus;
  secondary: string;
  reason?: string;
}

/** Ends a job early with its status and reason (a transfer that failed, a stop, an image missing). */
export class JobEnded extends Error {
  constructor(
    readonly status: 'Failed' | 'Stopped',
    reason: string,
    /** SecondaryStatus, where it differs from the status (a stop at the runtime limit). */
    readonly secondaryStatus: string = status,
  ) {
    super(reason);
  }
}

type StopReason = 'stopped' | 'maxRuntime';

/** A job between its start and its end. */
export interface RunningJob {
  name: string;
  maxRuntimeSeconds: number | undefined;
  stopReason?: StopReason;
  /** Aborted on a stop, so that downloads give up. */
  abort: AbortController;
  child?: ChildProcess;
  /** Settles once the job has ended entirely: process exited, files uploaded, root removed. */
  finished: Promise<void>;
}

/** What the transfers of one job need. */
export interface JobTransfers {
  s3: S3Client;
  jobName: string;
  /** Aborted when the job is stopped: transfers give up. */
  signal: AbortSignal;
  /** Throws the job's stop (a JobEnded) when it was stopped: a transfer that failed failed because of it. */
  throwIfStopped: () => void;
  log: Log;
}

export interface JobRunsOptions {
  /** Names the jobs in log lines (`<kind>JobName`), reasons and the default work folder. */
  kind: 'training' | 'processing';
  /** What runs a job, in log lines: the trainer, the container. */
  processName: string;
  /** Set (not '', '0' or 'false'), job folders are left for a look afterwards. */
  keepRootsVariable: string;
  /** Where each job's root (`<workDir>/<name>`) lives; default a fresh temporary folder. */
  workDir?: string;
  /** SIGTERM, then SIGKILL after this (SageMaker waits 120 s); default 30,000. */
  stopGraceMs?: number;
  /** How long a second of MaxRuntimeInSeconds lasts; default 1,000 (tests shorten it). */
  msPerSecond?: number;
  log?: Log;
}

/** The jobs of one host that are running now, and how each is started, limited and stopped. */
export class JobRuns {
  readonly #options: JobRunsOptions;
  readonly #jobs = new Map<string, RunningJob>();
  /** The default work folder, made on first use. */
  #madeWorkDir: Promise<string> | undefined;

  constructor(options: JobRunsOptions) {
    this.#options = options;
  }

  /** Names of jobs running now. */
  get running(): string[] {
    return [...this.#jobs.keys()];
  }

  has(name: string): boolean {
    return this.#jobs.has(name);
  }

  /** Runs `execute` with the job registered, until it has ended whatever the outcome. */
  async run<T>(
    name: string,
    maxRuntimeSeconds: number | undefined,
    execute: (job: RunningJob) => Promise<T>,
  ): Promise<T> {
    const job: RunningJob = {
      name,
      maxRuntimeSeconds,
      abort: new AbortController(),
      finished: Promise.resolve(),
    };
    const execution = execute(job);
    job.finished = execution.then(
      () => undefined,
      () => undefined,
    );
    this.#jobs.set(name, job);
    try {
      return await execution;
    } finally {
      this.#jobs.delete(name);
    }
  }

  /** Stops every running job whose name starts with `prefix`; resolves when they have ended. */
  async stop(prefix: string): Promise<void> {
    const jobs = [...this.#jobs.values()].filter((job) => job.name.startsWith(prefix));
    for (const job of jobs) this.#requestStop(job, 'stopped');
    await Promise.all(jobs.map((job) => job.finished));
  }

  /** Stops everything (platform shutdown), and removes the default work folder. */
  async stopAll(): Promise<void> {
    await this.stop('');
    if (this.#madeWorkDir && !this.#keepRoots()) {
      const made = this.#madeWorkDir;
      this.#madeWorkDir = undefined;
      await rm(await made, { recursive: true, force: true });
    }
  }

  /** The job's folder, `<workDir>/<name>` (not made yet). */
  async root(job: RunningJob): Promise<string> {
    return join(await this.#workDir(), job.name);
  }

  /** Removes the job's folder once it has ended, unless roots are kept. */
  async removeRoot(root: string): Promise<void> {
    if (!this.#keepRoots()) await rm(root, { recursive: true, force: true }).catch(() => undefined);
  }

  /** Starts counting `MaxRuntimeInSeconds`: at the limit the job is stopped. Returns the clearing. */
  limitRuntime(job: RunningJob): () => void {
    const seconds = job.maxRuntimeSeconds;
    if (seconds === undefined) return () => undefined;
    const timer = setTimeout(
      () => this.#requestStop(job, 'maxRuntime'),
      seconds * (this.#options.msPerSecond ?? 1_000),
    );
    return () => clearTimeout(timer);
  }

  /** The job's transfers, given up when it is stopped. */
  transfers(job: RunningJob, s3: S3Client): JobTransfers {
    return {
      s3,
      jobName: job.name,
      signal: job.abort.signal,
      throwIfStopped: () => this.throwIfStopped(job),
      log: (message, details) => this.#log(message, details),
    };
  }

  /** Hands over the job's process as soon as it is spawned, for a stop (one may already have come). */
  attach(job: RunningJob, child: ChildProcess): void {
    job.child = child;
    if (job.stopReason) this.#signal(job);
  }

  throwIfStopped(job: RunningJob): void {
    if (!job.stopReason) return;
    const stopped = this.stopped(job);
    throw new JobEnded('Stopped', stopped.reason, stopped.secondary);
  }

  /** The outcome of a job that was stopped, by a stop or at its runtime limit. */
  stopped(job: RunningJob): Outcome & { status: 'Stopped'; reason: string } {
    const { kind } = this.#options;
    const Kind = `${kind[0]?.toUpperCase()}${kind.slice(1)}`;
    return job.stopReason === 'maxRuntime'
      ? {
          status: 'Stopped',
          secondary: 'MaxRuntimeExceeded',
          reason: `MaxRuntimeExceeded: ${Kind} job exceeded MaxRuntimeInSeconds provided (${job.maxRuntimeSeconds} s)`,
        }
      : {
          status: 'Stopped',
          secondary: 'Stopped',
          reason: `Stopped: the ${kind} job was stopped (Stop${Kind}Job)`,
        };
  }

  /** The outcome of a job whose run threw `error`: its JobEnded, its stop, else an internal error. */
  outcomeOf(job: RunningJob, error: unknown): Outcome {
    if (error instanceof JobEnded) {
      return { status: error.status, secondary: error.secondaryStatus, reason: error.message };
    }
    if (job.stopReason) return this.stopped(job);
    return {
      status: 'Failed',
      secondary: 'Failed',
      reason: `InternalServerError: ${(error as Error).message}`.slice(0, MAX_REASON_CHARS),
    };
  }

  #requestStop(job: RunningJob, reason: StopReason): void {
    if (job.stopReason) return;
    job.stopReason = reason;
    const { kind } = this.#options;
    this.#log(
      reason === 'maxRuntime'
        ? `${kind} job reached MaxRuntimeInSeconds: stopping it`
        : `stopping ${kind} job`,
      { [`${kind}JobName`]: job.name },
    );
    job.abort.abort();
    if (job.child) this.#signal(job);
  }

  /** SIGTERM now (the trainer checkpoints), SIGKILL after the grace; the run notices the exit. */
  #signal(job: RunningJob): void {
    const child = job.child;
    if (!child) return;
    void stopChild(child, {
      graceMs: this.#options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS,
      onKill: () =>
        this.#log(`${this.#options.processName} did not stop in time: killing it`, {
          [`${this.#options.kind}JobName`]: job.name,
          pid: child.pid,
        }),
    });
  }

  #workDir(): Promise<string> {
    if (this.#options.workDir !== undefined) {
      const dir = this.#options.workDir;
      return mkdir(dir, { recursive: true }).then(() => dir);
    }
    this.#madeWorkDir ??= mkdtemp(join(tmpdir(), `synthforge-${this.#options.kind}-`));
    return this.#madeWorkDir;
  }

  #keepRoots(): boolean {
    const value = process.env[this.#options.keepRootsVariable];
    return value !== undefined && value !== '' && value !== '0' && value !== 'false';
  }

  #log(message: string, details?: Record<string, unknown>): void {
    this.#options.log?.(message, details);
  }
}

/** How a job's process exited, and the last lines it printed. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: string[];
}

/**
 * Follows a job's process to its exit: its output goes line by line to `onLine`, the last lines are
 * kept for a failure reason. Rejects with the child's 'error' (it could not start). Resolves once it
 * has exited and its output has ended, or `OUTPUT_DRAIN_MS` after the exit: what a grandchild still
 * holding the pipes prints is not waited for.
 */
export async function followChild(
  child: ChildProcessWithoutNullStreams,
  onLine: (line: string, stream: 'stdout' | 'stderr') => void,
): Promise<ChildExit> {
  const lines: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done, fail) => {
    // Kept for the child's whole life: a later 'error' (a failed kill) must not go unhandled.
    child.on('error', fail);
    child.once('exit', (code, signal) => done({ code, signal }));
  });
  const closed = new Promise<void>((done) => child.once('close', () => done()));
  for (const stream of ['stdout', 'stderr'] as const) {
    let pending = '';
    const emit = (line: string) => {
      lines.push(line);
      if (lines.length > KEPT_OUTPUT_LINES) lines.shift();
      onLine(line, stream);
    };
    child[stream].setEncoding('utf8');
    child[stream].on('data', (chunk: string) => {
      const parts = (pending + chunk).split(/\r?\n/);
      pending = parts.pop() ?? '';
      for (const line of parts) emit(line);
    });
    child[stream].once('end', () => {
      if (pending) emit(pending);
      pending = '';
    });
  }
  const result = await exited;
  let drainTimer: NodeJS.Timeout | undefined;
  await Promise.race([closed, new Promise((wake) => (drainTimer = setTimeout(wake, OUTPUT_DRAIN_MS)))]);
  clearTimeout(drainTimer);
  return { ...result, lines };
}

/** `code N` or `signal S`: how a process exited, for a failure reason. */
export function exitedWith(exit: ChildExit): string {
  return exit.code === null ? `signal ${exit.signal}` : `code ${exit.code}`;
}

/** The last lines a process printed, as a failure reason quotes them. */
export function quotedOutput(exit: ChildExit): string {
  return exit.lines.slice(-QUOTED_OUTPUT_LINES).join('\n');
}

/** A job's ARN: SageMaker writes the names in its ARNs in lower case. */
export function jobArn(resource: 'training-job' | 'processing-job', name: string): string {
  return `arn:aws:sagemaker:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${resource}/${name.toLowerCase()}`;
}

/** What the `.sync` step gets: the Describe answer when completed, else States.TaskFailed with it as Cause. */
export function taskResult<T>(status: JobStatus, described: T): T {
  if (status === 'Completed') return described;
  throw namedError('States.TaskFailed', JSON.stringify(described));
}

/** An Error named as the `.sync` integration names what it throws (`SageMaker.<code>`, `States.<error>`). */
export function namedError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

/** The members of `source` named in `keys` that are set: the request a Describe answer echoes. */
export function pick<T extends object, K extends keyof T>(
  source: T,
  keys: readonly K[],
): Partial<Pick<T, K>> {
  const picked: Partial<Pick<T, K>> = {};
  for (const key of keys) if (source[key] !== undefined) picked[key] = source[key];
  return picked;
}

/** A transfer's error, as a ClientError reason quotes it. */
export function describeError(error: unknown): string {
  const named = error as { name?: string; message?: string; Code?: string };
  if (named.name === 'NoSuchKey' || named.Code === 'NoSuchKey') return 'NoSuchKey: the object does not exist';
  if (error instanceof SyntaxError) return `not JSON: ${error.message}`;
  return `${named.name ?? 'Error'}: ${named.message ?? String(error)}`;
}

/**
 * `[{"prefix": "s3://bucket/..."}, "key", ...]` → the objects to download and where; `manifest`
 * names the manifest in the reason when it is invalid.
 */
export function manifestObjects(content: unknown, manifest: string): S3Download[] {
  const [head, ...keys] = Array.isArray(content) ? content : [];
  const prefix = (head as { prefix?: unknown } | undefined)?.prefix;
  const base = typeof prefix === 'string' ? tryParseS3Uri(prefix) : undefined;
  if (!base || keys.some((key) => typeof key !== 'string' || key === '')) {
    throw new JobEnded(
      'Failed',
      `ClientError: The manifest file ${manifest} is invalid: expected a JSON array of {"prefix": "s3://bucket/prefix/"} followed by object keys relative to it`,
    );
  }
  return (keys as string[]).map((key) => ({
    bucket: base.bucket,
    key: `${base.key}${key}`,
    relativePath: key,
  }));
}

/** `root/relativePath`, refusing paths that would leave `root` (`..`, absolute). */
export function inside(root: string, relativePath: string): string {
  const cleaned = relativePath.replace(/^\/+/, '');
  const target = resolve(root, cleaned);
  if (cleaned === '' || !target.startsWith(`${resolve(root)}${sep}`)) {
    throw new JobEnded('Failed', `ClientError: the object key ${relativePath} is not a usable file path`);
  }
  return target;
}
