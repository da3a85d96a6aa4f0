/**
 * A local SageMaker Processing host: what the local platform binds to a Step Functions Task
 * `arn:aws:states:::sagemaker:createProcessingJob.sync`. A processing job runs its image as a plain
 * child process, which the host's launcher for the job's `ImageUri` describes, with SageMaker's file
 * contract around it (processing-files.ts). It emulates AWS behaviour only and knows nothing of tasks
 * or tenants.
 *
 * A job, as SageMaker runs one (`run`):
 * - The job's folder `<root>` (`<workDir>/<ProcessingJobName>`) stands for the container's `/opt/ml`:
 *   a `LocalPath` (which must start with `/opt/ml/processing/`) is `<root>/processing/...`. The child
 *   gets the host's environment, then its launcher's (the image's `ENV`), then the request's
 *   `Environment`, then `SYNTHFORGE_ML_ROOT=<root>`; its working folder is the launcher's, else `<root>`.
 * - Each `ProcessingInputs[].S3Input` is downloaded before the container starts. `S3Prefix` takes
 *   every object whose key starts with the URI's key, to `LocalPath/<key relative to it>`, or to
 *   `LocalPath/<base name>` when the URI is the whole key; `ManifestFile` reads the URI as a manifest
 *   (`[{"prefix": "s3://bucket/prefix/"}, "relative/key", ...]`) and takes each listed object to
 *   `LocalPath/<relative key>`. No object under a prefix, a missing manifest or a missing listed
 *   object fails the job with a `ClientError` reason.
 * - An image with no launcher (and no default one) fails the job as an image SageMaker cannot pull.
 * - `StoppingCondition.MaxRuntimeInSeconds` counts from the job's start: at the limit the container
 *   gets SIGTERM, then SIGKILL after `stopGraceMs`; the job ends `Stopped` (`MaxRuntimeExceeded`).
 * - Exit 0: every file under each output's `LocalPath` is uploaded to `<S3Uri>/<path relative to
 *   LocalPath>` (`EndOfJob`), and `run` resolves with DescribeProcessingJob's shape,
 *   `ProcessingJobStatus: 'Completed'`; `ExitMessage` is what the container wrote to
 *   `/opt/ml/output/message`, if anything. A stop that comes once the uploads have begun is too late:
 *   the job completes.
 * - Otherwise nothing is uploaded, and `run` rejects the way the `.sync` integration fails the step:
 *   an Error named `States.TaskFailed` whose message (the step's Cause) is the DescribeProcessingJob
 *   JSON, with `ProcessingJobStatus` `Failed` (FailureReason: the exit code and the last lines of
 *   output) or `Stopped` (by `stop()` or the runtime limit).
 * - The job's folder is removed afterwards unless `SYNTHFORGE_KEEP_PROCESSING_ROOTS` is set.
 *
 * Requests are validated as CreateProcessingJob validates them (processing-requests.ts: name, role,
 * image, one instance's resources, inputs and outputs); what is refused as not emulated is refused the
 * same way. Timestamps in the answers are epoch milliseconds, as Step Functions writes SageMaker's
 * timestamps into a step's output. Not emulated: more than one instance (and so
 * `S3DataDistributionType`), `Pipe` inputs, `Continuous` outputs, dataset definitions and Feature
 * Store outputs, instance types, volumes, network isolation, IAM and tags; job names are unique only
 * among running jobs (SageMaker keeps them forever).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { CreateProcessingJobRequest } from '@aws-sdk/client-sagemaker';
import { spawnTiedToParent, stopChild } from '../support/child-process.ts';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../support/local-aws.ts';
import { downloadInput, hostPath, JobEnded, type JobTransfers, uploadOutput } from './processing-files.ts';
import {
  namedError,
  type ProcessingJobRequest,
  processingJobName,
  type ValidatedRequest,
  validate,
} from './processing-requests.ts';

export type { ProcessingJobRequest } from './processing-requests.ts';

const DEFAULT_STOP_GRACE_MS = 30_000;
/** SageMaker keeps at most this much of a FailureReason or an ExitMessage. */
const MAX_REASON_CHARS = 1_024;
/** Output lines quoted in the FailureReason of a container that exited non-zero. */
const QUOTED_OUTPUT_LINES = 10;
/** The last lines of output a run keeps. */
const KEPT_OUTPUT_LINES = 100;
/** After the container exits, how long to wait for the rest of its output. */
const OUTPUT_DRAIN_MS = 2_000;

/** What a launcher is told of the job whose image it runs. */
export interface ProcessingLaunchContext {
  /** The job's folder, standing for the container's `/opt/ml`. */
  root: string;
  /** `AppSpecification.ContainerEntrypoint`. */
  entrypoint?: string[];
  /** `AppSpecification.ContainerArguments`. */
  arguments?: string[];
  /** What SageMaker sets in the container: the request's `Environment` and `SYNTHFORGE_ML_ROOT`. */
  environment: Record<string, string>;
}

/** How an image runs here: a child process. */
export interface ProcessingLaunch {
  command: string;
  args: string[];
  /** Default: the job's root. */
  cwd?: string;
  /** The image's own environment: under the request's `Environment` and `SYNTHFORGE_ML_ROOT`. */
  env?: NodeJS.ProcessEnv;
}

/** Plays one image (an `ImageUri`) locally. */
export type ProcessingLauncher = (context: ProcessingLaunchContext) => ProcessingLaunch;

export interface LocalProcessingHostOptions {
  /** Pointed at s3rver (forcePathStyle, WHEN_REQUIRED checksums). */
  s3: S3Client;
  /** By `AppSpecification.ImageUri`. */
  launchers: Record<string, ProcessingLauncher>;
  /** For an ImageUri that `launchers` does not name; absent, such a job fails. */
  defaultLauncher?: ProcessingLauncher;
  /** Where each job's root (`<workDir>/<ProcessingJobName>`) lives; default a fresh temporary folder. */
  workDir?: string;
  /** SIGTERM, then SIGKILL after this (SageMaker waits 120 s); default 30,000. */
  stopGraceMs?: number;
  /** How long a second of MaxRuntimeInSeconds lasts here; default 1,000 (tests shorten it). */
  msPerSecond?: number;
  log?: (message: string, details?: Record<string, unknown>) => void;
}

export type ProcessingJobStatus = 'Completed' | 'Failed' | 'Stopped';

/** The request's members that DescribeProcessingJob answers with, as given. */
type EchoedRequest = Pick<
  CreateProcessingJobRequest,
  | 'ProcessingInputs'
  | 'ProcessingOutputConfig'
  | 'ProcessingResources'
  | 'StoppingCondition'
  | 'AppSpecification'
  | 'Environment'
  | 'NetworkConfig'
  | 'RoleArn'
  | 'ExperimentConfig'
>;

/** DescribeProcessingJob's answer, as the `.sync` integration returns it (timestamps in epoch ms). */
export interface DescribedProcessingJob extends Partial<EchoedRequest> {
  ProcessingJobName: string;
  ProcessingJobArn: string;
  ProcessingJobStatus: ProcessingJobStatus;
  FailureReason?: string;
  ExitMessage?: string;
  CreationTime: number;
  ProcessingStartTime: number;
  ProcessingEndTime: number;
  LastModifiedTime: number;
}

type StopReason = 'stopped' | 'maxRuntime';

/** A job between its start and its end: what its request asks for, and how far it has come. */
interface RunningJob extends ValidatedRequest {
  name: string;
  stopReason?: StopReason;
  /** Aborted on a stop, so that downloads give up. */
  abort: AbortController;
  child?: ChildProcess;
  /** Settles once the job has ended entirely: process exited, outputs uploaded, root removed. */
  finished: Promise<void>;
}

type Outcome = { status: ProcessingJobStatus; reason?: string };

/** How the container exited, and the last lines it printed. */
interface ContainerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: string[];
}

export class LocalProcessingHost {
  readonly #options: LocalProcessingHostOptions;
  readonly #jobs = new Map<string, RunningJob>();
  /** The default work folder, made on first use. */
  #madeWorkDir: Promise<string> | undefined;

  constructor(options: LocalProcessingHostOptions) {
    this.#options = options;
  }

  /** Names of jobs running now. */
  get running(): string[] {
    return [...this.#jobs.keys()];
  }

  /** createProcessingJob.sync: runs the job to its end (see the module comment). */
  async run(request: ProcessingJobRequest): Promise<DescribedProcessingJob> {
    const name = processingJobName(request);
    if (this.#jobs.has(name)) {
      throw namedError(
        'SageMaker.ResourceInUse',
        `Processing job names must be unique within an AWS account and region, and a processing job with this name already exists (${processingJobArn(name)})`,
      );
    }
    const job: RunningJob = {
      name,
      ...validate(request),
      abort: new AbortController(),
      finished: Promise.resolve(),
    };
    const execution = this.#execute(job, request);
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
    if (this.#madeWorkDir && !keepRoots()) {
      const made = this.#madeWorkDir;
      this.#madeWorkDir = undefined;
      await rm(await made, { recursive: true, force: true });
    }
  }

  async #execute(job: RunningJob, request: ProcessingJobRequest): Promise<DescribedProcessingJob> {
    const name = job.name;
    const createdAt = Date.now();
    let startedAt = createdAt;
    const root = join(await this.#workDir(), name);
    const maxRuntimeSeconds = job.maxRuntimeSeconds;
    const runtimeTimer =
      maxRuntimeSeconds === undefined
        ? undefined
        : setTimeout(
            () => this.#requestStop(job, 'maxRuntime'),
            maxRuntimeSeconds * (this.#options.msPerSecond ?? 1_000),
          );
    const transfers: JobTransfers = {
      s3: this.#options.s3,
      processingJobName: name,
      signal: job.abort.signal,
      throwIfStopped: () => this.#throwIfStopped(job),
      log: (message, details) => this.#log(message, details),
    };
    let exitMessage: string | undefined;
    let outcome: Outcome;
    this.#log('processing job starting', { processingJobName: name, root });
    try {
      await rm(root, { recursive: true, force: true });
      // SageMaker makes every input and output folder, and /opt/ml/output for the exit message.
      await Promise.all(
        [...job.inputs, ...job.outputs]
          .map((location) => hostPath(root, location.localPath))
          .concat(join(root, 'output'))
          .map((dir) => mkdir(dir, { recursive: true })),
      );
      for (const input of job.inputs) await downloadInput(transfers, input, hostPath(root, input.localPath));
      this.#throwIfStopped(job);

      const launcher = this.#options.launchers[job.imageUri] ?? this.#options.defaultLauncher;
      if (!launcher) {
        throw new JobEnded(
          'Failed',
          `ClientError: Requested image ${job.imageUri} not found: no local launcher plays it`,
        );
      }
      const environment = { ...request.Environment, SYNTHFORGE_ML_ROOT: root };
      let launch: ProcessingLaunch;
      try {
        launch = launcher({
          root,
          ...(request.AppSpecification?.ContainerEntrypoint
            ? { entrypoint: request.AppSpecification.ContainerEntrypoint }
            : {}),
          ...(request.AppSpecification?.ContainerArguments
            ? { arguments: request.AppSpecification.ContainerArguments }
            : {}),
          environment,
        });
      } catch (error) {
        throw new JobEnded(
          'Failed',
          `ClientError: the container could not start: ${(error as Error).message}`,
        );
      }
      startedAt = Date.now();
      const exit = await this.#runContainer(job, launch, environment, root);
      exitMessage = await readFile(join(root, 'output', 'message'), 'utf8').then(
        (text) => text.slice(0, MAX_REASON_CHARS),
        () => undefined,
      );
      if (job.stopReason) {
        outcome = stoppedOutcome(job.stopReason, maxRuntimeSeconds);
      } else if (exit.code !== 0) {
        outcome = { status: 'Failed', reason: algorithmError(exit) };
      } else {
        for (const output of job.outputs)
          await uploadOutput(transfers, output, hostPath(root, output.localPath));
        outcome = { status: 'Completed' };
      }
    } catch (error) {
      if (error instanceof JobEnded) {
        outcome = { status: error.status, reason: error.message };
      } else if (job.stopReason) {
        outcome = stoppedOutcome(job.stopReason, maxRuntimeSeconds);
      } else {
        outcome = {
          status: 'Failed',
          reason: `InternalServerError: ${(error as Error).message}`.slice(0, MAX_REASON_CHARS),
        };
      }
    } finally {
      clearTimeout(runtimeTimer);
    }
    if (!keepRoots()) await rm(root, { recursive: true, force: true }).catch(() => undefined);

    const endedAt = Date.now();
    const described: DescribedProcessingJob = {
      ProcessingJobName: name,
      ProcessingJobArn: processingJobArn(name),
      ProcessingJobStatus: outcome.status,
      ...(outcome.reason === undefined ? {} : { FailureReason: outcome.reason }),
      ...(exitMessage === undefined ? {} : { ExitMessage: exitMessage }),
      ...pick(request, [
        'ProcessingInputs',
        'ProcessingOutputConfig',
        'ProcessingResources',
        'StoppingCondition',
        'AppSpecification',
        'Environment',
        'NetworkConfig',
        'RoleArn',
        'ExperimentConfig',
      ]),
      CreationTime: createdAt,
      ProcessingStartTime: startedAt,
      ProcessingEndTime: endedAt,
      LastModifiedTime: endedAt,
    };
    this.#log(`processing job ${outcome.status.toLowerCase()}`, {
      processingJobName: name,
      ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
      seconds: Math.max(1, Math.ceil((endedAt - startedAt) / 1000)),
    });
    if (outcome.status === 'Completed') return described;
    throw namedError('States.TaskFailed', JSON.stringify(described));
  }

  /** Runs the container to its exit, its output forwarded line by line to the log. */
  async #runContainer(
    job: RunningJob,
    launch: ProcessingLaunch,
    environment: Record<string, string>,
    root: string,
  ): Promise<ContainerExit> {
    const processingJobName = job.name;
    const lines: string[] = [];
    // Tied to this process (support/child-process.ts): a container that honours it ends with the platform.
    const child = spawnTiedToParent(launch.command, launch.args, {
      cwd: launch.cwd ?? root,
      env: { ...launch.env, ...environment },
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done, fail) => {
      // Kept for the child's whole life: a later 'error' (a failed kill) must not go unhandled.
      child.on('error', (error) =>
        fail(new JobEnded('Failed', `ClientError: the container could not start: ${error.message}`)),
      );
      child.once('exit', (code, signal) => done({ code, signal }));
    });
    const closed = new Promise<void>((done) => child.once('close', () => done()));
    for (const stream of ['stdout', 'stderr'] as const) {
      let pending = '';
      const emit = (line: string) => {
        lines.push(line);
        if (lines.length > KEPT_OUTPUT_LINES) lines.shift();
        this.#log(line, { processingJobName, stream });
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
    this.#log('processing container started', { processingJobName, pid: child.pid });
    job.child = child;
    // A stop that came while the process was being spawned.
    if (job.stopReason) this.#signal(job);
    const result = await exited;
    // What a grandchild still holding the pipes prints is not waited for.
    let drainTimer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise((wake) => (drainTimer = setTimeout(wake, OUTPUT_DRAIN_MS)))]);
    clearTimeout(drainTimer);
    return { ...result, lines };
  }

  #requestStop(job: RunningJob, reason: StopReason): void {
    if (job.stopReason) return;
    job.stopReason = reason;
    this.#log(
      reason === 'maxRuntime'
        ? 'processing job reached MaxRuntimeInSeconds: stopping it'
        : 'stopping processing job',
      { processingJobName: job.name },
    );
    job.abort.abort();
    if (job.child) this.#signal(job);
  }

  /** SIGTERM now, SIGKILL after the grace; the run notices the exit. */
  #signal(job: RunningJob): void {
    const child = job.child;
    if (!child) return;
    void stopChild(child, {
      graceMs: this.#options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS,
      onKill: () =>
        this.#log('container did not stop in time: killing it', {
          processingJobName: job.name,
          pid: child.pid,
        }),
    });
  }

  #throwIfStopped(job: RunningJob): void {
    if (!job.stopReason) return;
    throw new JobEnded('Stopped', stoppedOutcome(job.stopReason, job.maxRuntimeSeconds).reason);
  }

  #workDir(): Promise<string> {
    if (this.#options.workDir !== undefined) {
      const dir = this.#options.workDir;
      return mkdir(dir, { recursive: true }).then(() => dir);
    }
    this.#madeWorkDir ??= mkdtemp(join(tmpdir(), 'synthforge-processing-'));
    return this.#madeWorkDir;
  }

  #log(message: string, details?: Record<string, unknown>): void {
    this.#options.log?.(message, details);
  }
}

/** `AlgorithmError: ... exited with code N: <its last lines>`, the lines cut from the front to fit. */
function algorithmError(exit: ContainerExit): string {
  const head = `AlgorithmError: the container exited with ${exit.code === null ? `signal ${exit.signal}` : `code ${exit.code}`}`;
  const tail = exit.lines.slice(-QUOTED_OUTPUT_LINES).join('\n');
  if (!tail) return head;
  const room = MAX_REASON_CHARS - head.length - 2;
  return `${head}: ${tail.length > room ? `…${tail.slice(-(room - 1))}` : tail}`;
}

function stoppedOutcome(
  reason: StopReason,
  maxRuntimeSeconds: number | undefined,
): { status: 'Stopped'; reason: string } {
  return reason === 'maxRuntime'
    ? {
        status: 'Stopped',
        reason: `MaxRuntimeExceeded: Processing job exceeded MaxRuntimeInSeconds provided (${maxRuntimeSeconds} s)`,
      }
    : { status: 'Stopped', reason: 'Stopped: the processing job was stopped (StopProcessingJob)' };
}

function processingJobArn(name: string): string {
  // SageMaker writes the names in its ARNs in lower case.
  return `arn:aws:sagemaker:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:processing-job/${name.toLowerCase()}`;
}

function keepRoots(): boolean {
  const value = process.env.SYNTHFORGE_KEEP_PROCESSING_ROOTS;
  return value !== undefined && value !== '' && value !== '0' && value !== 'false';
}

function pick<T extends object, K extends keyof T>(source: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const picked: Partial<Pick<T, K>> = {};
  for (const key of keys) if (source[key] !== undefined) picked[key] = source[key];
  return picked;
}
