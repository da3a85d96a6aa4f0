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
 * among running jobs (SageMaker keeps them forever). The running jobs, their runtime limit, their
 * stop and their folders are kept as the training host keeps its own (job-runs.ts).
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { CreateProcessingJobRequest } from '@aws-sdk/client-sagemaker';
import { spawnTiedToParent } from '../support/child-process.ts';
import {
  type ChildExit,
  exitedWith,
  followChild,
  JobEnded,
  JobRuns,
  jobArn,
  MAX_REASON_CHARS,
  namedError,
  type Outcome,
  pick,
  quotedOutput,
  type RunningJob,
  taskResult,
} from './job-runs.ts';
import { downloadInput, hostPath, uploadOutput } from './processing-files.ts';
import {
  type ProcessingJobRequest,
  processingJobName,
  type ValidatedRequest,
  validate,
} from './processing-requests.ts';

export type { ProcessingJobRequest } from './processing-requests.ts';

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

export class LocalProcessingHost {
  readonly #options: LocalProcessingHostOptions;
  readonly #runs: JobRuns;

  constructor(options: LocalProcessingHostOptions) {
    this.#options = options;
    this.#runs = new JobRuns({
      kind: 'processing',
      processName: 'container',
      keepRootsVariable: 'SYNTHFORGE_KEEP_PROCESSING_ROOTS',
      ...pick(options, ['workDir', 'stopGraceMs', 'msPerSecond', 'log']),
    });
  }

  /** Names of jobs running now. */
  get running(): string[] {
    return this.#runs.running;
  }

  /** createProcessingJob.sync: runs the job to its end (see the module comment). */
  async run(request: ProcessingJobRequest): Promise<DescribedProcessingJob> {
    const name = processingJobName(request);
    if (this.#runs.has(name)) {
      throw namedError(
        'SageMaker.ResourceInUse',
        `Processing job names must be unique within an AWS account and region, and a processing job with this name already exists (${jobArn('processing-job', name)})`,
      );
    }
    const validated = validate(request);
    return this.#runs.run(name, validated.maxRuntimeSeconds, (job) => this.#execute(job, validated, request));
  }

  /** Stops every running job whose name starts with `prefix`; resolves when they have ended. */
  stop(prefix: string): Promise<void> {
    return this.#runs.stop(prefix);
  }

  /** Stops everything (platform shutdown), and removes the default work folder. */
  stopAll(): Promise<void> {
    return this.#runs.stopAll();
  }

  async #execute(
    job: RunningJob,
    validated: ValidatedRequest,
    request: ProcessingJobRequest,
  ): Promise<DescribedProcessingJob> {
    const name = job.name;
    const createdAt = Date.now();
    let startedAt = createdAt;
    const root = await this.#runs.root(job);
    const clearRuntimeLimit = this.#runs.limitRuntime(job);
    const transfers = this.#runs.transfers(job, this.#options.s3);
    let exitMessage: string | undefined;
    let outcome: Pick<Outcome, 'status' | 'reason'>;
    this.#log('processing job starting', { processingJobName: name, root });
    try {
      await rm(root, { recursive: true, force: true });
      // SageMaker makes every input and output folder, and /opt/ml/output for the exit message.
      await Promise.all(
        [...validated.inputs, ...validated.outputs]
          .map((location) => hostPath(root, location.localPath))
          .concat(join(root, 'output'))
          .map((dir) => mkdir(dir, { recursive: true })),
      );
      for (const input of validated.inputs)
        await downloadInput(transfers, input, hostPath(root, input.localPath));
      this.#runs.throwIfStopped(job);

      const launcher = this.#options.launchers[validated.imageUri] ?? this.#options.defaultLauncher;
      if (!launcher) {
        throw new JobEnded(
          'Failed',
          `ClientError: Requested image ${validated.imageUri} not found: no local launcher plays it`,
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
        outcome = this.#runs.stopped(job);
      } else if (exit.code !== 0) {
        outcome = { status: 'Failed', reason: algorithmError(exit) };
      } else {
        for (const output of validated.outputs)
          await uploadOutput(transfers, output, hostPath(root, output.localPath));
        outcome = { status: 'Completed' };
      }
    } catch (error) {
      outcome = this.#runs.outcomeOf(job, error);
    } finally {
      clearRuntimeLimit();
    }
    await this.#runs.removeRoot(root);

    const endedAt = Date.now();
    const described: DescribedProcessingJob = {
      ProcessingJobName: name,
      ProcessingJobArn: jobArn('processing-job', name),
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
    return taskResult(outcome.status, described);
  }

  /** Runs the container to its exit, its output forwarded line by line to the log. */
  async #runContainer(
    job: RunningJob,
    launch: ProcessingLaunch,
    environment: Record<string, string>,
    root: string,
  ): Promise<ChildExit> {
    const processingJobName = job.name;
    // Tied to this process (support/child-process.ts): a container that honours it ends with the platform.
    const child = spawnTiedToParent(launch.command, launch.args, {
      cwd: launch.cwd ?? root,
      env: { ...launch.env, ...environment },
    });
    const exit = followChild(child, (line, stream) => this.#log(line, { processingJobName, stream }));
    this.#log('processing container started', { processingJobName, pid: child.pid });
    this.#runs.attach(job, child);
    return exit.catch((error: Error) => {
      throw new JobEnded('Failed', `ClientError: the container could not start: ${error.message}`);
    });
  }

  #log(message: string, details?: Record<string, unknown>): void {
    this.#options.log?.(message, details);
  }
}

/** `AlgorithmError: ... exited with code N: <its last lines>`, the lines cut from the front to fit. */
function algorithmError(exit: ChildExit): string {
  const head = `AlgorithmError: the container exited with ${exitedWith(exit)}`;
  const tail = quotedOutput(exit);
  if (!tail) return head;
  const room = MAX_REASON_CHARS - head.length - 2;
  return `${head}: ${tail.length > room ? `…${tail.slice(-(room - 1))}` : tail}`;
}
