/**
 * A local SageMaker training host: what the local platform binds to a Step Functions Task
 * `arn:aws:states:::sagemaker:createTrainingJob.sync`. A training job runs as a plain process of the
 * project's trainer (trainer-process.ts), with SageMaker's file contract around it
 * (training-files.ts). It emulates AWS behaviour only and knows nothing of tasks or tenants.
 *
 * A job, as SageMaker runs one (`run`):
 * - `<root>/input/config/hyperparameters.json` holds `HyperParameters` as given (strings).
 * - The `train` channel is downloaded into `<root>/input/data/train/`, `CheckpointConfig.S3Uri`
 *   restored into `<root>/checkpoints/`; checkpoints are uploaded every `checkpointSyncMs` while the
 *   trainer runs, and once more when it has exited, whatever the outcome.
 * - `StoppingCondition.MaxRuntimeInSeconds` counts from the job's start: at the limit the trainer gets
 *   SIGTERM, then SIGKILL after `stopGraceMs`; the job ends `Stopped` (`MaxRuntimeExceeded`).
 * - Exit 0 without `<root>/output/failure`: `<root>/model/` is packed as `model.tar.gz` (an empty
 *   archive when the trainer wrote no model, as when it suspended itself) and uploaded to
 *   `<S3OutputPath>/<TrainingJobName>/output/model.tar.gz`; `run` resolves with DescribeTrainingJob's
 *   shape, `TrainingJobStatus: 'Completed'`.
 * - Otherwise `run` rejects the way the `.sync` integration fails the step: an Error named
 *   `States.TaskFailed` whose message (the step's Cause) is the DescribeTrainingJob JSON, with
 *   `TrainingJobStatus` `Failed` (FailureReason: the failure file's text, or the exit code and the
 *   last lines of output) or `Stopped` (by `stop()` or the runtime limit).
 * - The job's folder is removed afterwards unless `SYNTHFORGE_KEEP_TRAINING_ROOTS` is set.
 *
 * Timestamps in the answers are epoch milliseconds, as Step Functions writes SageMaker's
 * timestamps into a step's output. Not emulated: instance types, volumes, spot capacity
 * (`MaxWaitTimeInSeconds`), channels other than `train`, `Pipe`/`FastFile` input modes, IAM and tags;
 * job names are unique only among running jobs (SageMaker keeps them forever). The running jobs, their
 * runtime limit, their stop and their folders are kept as the processing host keeps its own
 * (job-runs.ts).
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { constants as zlib } from 'node:zlib';
import type { S3Client } from '@aws-sdk/client-s3';
import type { CreateTrainingJobRequest } from '@aws-sdk/client-sagemaker';
import { constraintMessage } from '../support/aws-validation.ts';
import { type Fingerprints, joinS3Uri, parseS3Uri, putObjectBytes, tryParseS3Uri } from '../support/s3.ts';
import { createTarGz, directoryEntries } from '../support/tar.ts';
import {
  exitedWith,
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
import {
  type Availability,
  DEFAULT_TRAINER_DIR,
  defaultPython,
  probeTrainer,
  runTrainer,
} from './trainer-process.ts';
import { downloadChannel, jobPaths, restoreCheckpoints, uploadCheckpoints } from './training-files.ts';

export type { Availability } from './trainer-process.ts';

const DEFAULT_CHECKPOINT_SYNC_MS = 2_000;
/** SageMaker's pattern for TrainingJobName. */
const TRAINING_JOB_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

export interface LocalTrainingHostOptions {
  /** Pointed at s3rver (forcePathStyle, WHEN_REQUIRED checksums). */
  s3: S3Client;
  /** An interpreter with torch and torchvision; default `$SYNTHFORGE_PYTHON`, else `/usr/bin/python3`. */
  python?: string;
  /** Where `synthforge_trainer` is importable from; default `<repo>/containers/trainer`. */
  trainerDir?: string;
  /** Where each job's root (`<workDir>/<TrainingJobName>`) lives; default a fresh temporary folder. */
  workDir?: string;
  /** How often `checkpoints/` is uploaded while the trainer runs; default 2,000. */
  checkpointSyncMs?: number;
  /** SIGTERM, then SIGKILL after this (SageMaker waits 120 s); default 30,000. */
  stopGraceMs?: number;
  /** Extra environment for the trainer (e.g. SYNTHFORGE_TORCH_THREADS). */
  env?: Record<string, string>;
  log?: (message: string, details?: Record<string, unknown>) => void;
}

/** The CreateTrainingJob request, as the Train state's Parameters resolve it. */
export type TrainingJobRequest = Partial<CreateTrainingJobRequest>;

export type TrainingJobStatus = 'Completed' | 'Failed' | 'Stopped';

/** DescribeTrainingJob's answer, as the `.sync` integration returns it (timestamps in epoch ms). */
export interface DescribedTrainingJob {
  TrainingJobName: string;
  TrainingJobArn: string;
  TrainingJobStatus: TrainingJobStatus;
  SecondaryStatus: string;
  FailureReason?: string;
  ModelArtifacts?: { S3ModelArtifacts: string };
  HyperParameters: Record<string, string>;
  AlgorithmSpecification?: unknown;
  RoleArn?: string;
  InputDataConfig?: unknown;
  OutputDataConfig?: unknown;
  ResourceConfig?: unknown;
  StoppingCondition?: unknown;
  CheckpointConfig?: unknown;
  EnableNetworkIsolation?: boolean;
  EnableInterContainerTrafficEncryption?: boolean;
  EnableManagedSpotTraining?: boolean;
  CreationTime: number;
  TrainingStartTime: number;
  TrainingEndTime: number;
  LastModifiedTime: number;
  SecondaryStatusTransitions: { Status: string; StartTime: number; EndTime: number; StatusMessage: string }[];
  TrainingTimeInSeconds: number;
  BillableTimeInSeconds: number;
}

export class LocalTrainingHost {
  readonly #options: LocalTrainingHostOptions;
  readonly #runs: JobRuns;
  /** The probe of `available()`: kept once it says yes, dropped when it says no (asked again). */
  #availability: Promise<Availability> | undefined;
  /** The last probe said no: a yes after it is logged. */
  #wasUnavailable = false;

  constructor(options: LocalTrainingHostOptions) {
    this.#options = options;
    this.#runs = new JobRuns({
      kind: 'training',
      processName: 'trainer',
      keepRootsVariable: 'SYNTHFORGE_KEEP_TRAINING_ROOTS',
      ...pick(options, ['workDir', 'stopGraceMs', 'log']),
    });
  }

  /** Names of jobs running now. */
  get running(): string[] {
    return this.#runs.running;
  }

  /**
   * Is the trainer runnable here (python with torch and torchvision)? Once it is, that is kept. While
   * it is not, each call asks again (callers at the same moment share one probe; a probe that fails
   * takes tens of milliseconds), so installing PyTorch makes the next submission work, no restart.
   */
  available(): Promise<Availability> {
    this.#availability ??= probeTrainer(this.#options.python ?? defaultPython(), (message, details) =>
      this.#log(message, details),
    ).then((answer) => {
      if (!answer.ok) this.#availability = undefined;
      else if (this.#wasUnavailable) this.#log('the trainer can run here now');
      this.#wasUnavailable = !answer.ok;
      return answer;
    });
    return this.#availability;
  }

  /** createTrainingJob.sync: runs the job to its end (see the module comment). */
  async run(request: TrainingJobRequest): Promise<DescribedTrainingJob> {
    const name = request.TrainingJobName ?? '';
    if (!TRAINING_JOB_NAME.test(name)) {
      throw namedError(
        'SageMaker.ValidationException',
        constraintMessage(
          'trainingJobName',
          name,
          'Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}',
        ),
      );
    }
    if (this.#runs.has(name)) {
      throw namedError(
        'SageMaker.ResourceInUse',
        `Training job names must be unique within an AWS account and region, and a training job with this name already exists (${jobArn('training-job', name)})`,
      );
    }
    const channel = request.InputDataConfig?.find((candidate) => candidate.ChannelName === 'train');
    const source = channel?.DataSource?.S3DataSource;
    if (!source?.S3Uri || !tryParseS3Uri(source.S3Uri)) {
      throw namedError(
        'SageMaker.ValidationException',
        'InputDataConfig needs a train channel with an s3:// S3Uri',
      );
    }
    if (!request.OutputDataConfig?.S3OutputPath || !tryParseS3Uri(request.OutputDataConfig.S3OutputPath)) {
      throw namedError('SageMaker.ValidationException', 'OutputDataConfig.S3OutputPath must be an s3:// URI');
    }
    return this.#runs.run(name, request.StoppingCondition?.MaxRuntimeInSeconds, (job) =>
      this.#execute(job, request),
    );
  }

  /** Stops every running job whose name starts with `prefix`; resolves when they have ended. */
  stop(prefix: string): Promise<void> {
    return this.#runs.stop(prefix);
  }

  /** Stops everything (platform shutdown), and removes the default work folder. */
  stopAll(): Promise<void> {
    return this.#runs.stopAll();
  }

  async #execute(job: RunningJob, request: TrainingJobRequest): Promise<DescribedTrainingJob> {
    const name = job.name;
    const createdAt = Date.now();
    const transitions: DescribedTrainingJob['SecondaryStatusTransitions'] = [];
    let secondary = { status: 'Starting', since: createdAt, message: 'Preparing the instances for training' };
    const enter = (status: string, message: string) => {
      const now = Date.now();
      transitions.push({
        Status: secondary.status,
        StartTime: secondary.since,
        EndTime: now,
        StatusMessage: secondary.message,
      });
      secondary = { status, since: now, message };
    };
    const root = await this.#runs.root(job);
    const paths = jobPaths(root);
    const clearRuntimeLimit = this.#runs.limitRuntime(job);
    const transfers = this.#runs.transfers(job, this.#options.s3);
    const checkpointUri = request.CheckpointConfig?.S3Uri;
    const synced: Fingerprints = new Map();
    let processMs = 0;
    let modelUri: string | undefined;
    let outcome: Outcome;
    this.#log('training job starting', { trainingJobName: name, root });
    try {
      await rm(root, { recursive: true, force: true });
      await mkdir(dirname(paths.hyperparameters), { recursive: true });
      await Promise.all(
        [paths.train, paths.checkpoints, paths.model, dirname(paths.failure)].map((dir) =>
          mkdir(dir, { recursive: true }),
        ),
      );
      await writeFile(paths.hyperparameters, JSON.stringify(request.HyperParameters ?? {}));

      enter('Downloading', 'Downloading input data');
      const source = request.InputDataConfig?.find((c) => c.ChannelName === 'train')?.DataSource
        ?.S3DataSource;
      await downloadChannel(transfers, source?.S3DataType ?? 'S3Prefix', source?.S3Uri ?? '', paths.train);
      if (checkpointUri) await restoreCheckpoints(transfers, checkpointUri, paths.checkpoints, synced);
      this.#runs.throwIfStopped(job);

      enter('Training', 'Training image download completed. Training in progress.');
      const started = Date.now();
      const run = await runTrainer({
        python: this.#options.python ?? defaultPython(),
        trainerDir: this.#options.trainerDir ?? DEFAULT_TRAINER_DIR,
        root,
        ...(this.#options.env ? { env: this.#options.env } : {}),
        trainingJobName: name,
        sync: () =>
          checkpointUri
            ? uploadCheckpoints(transfers, checkpointUri, paths.checkpoints, synced)
            : Promise.resolve(),
        syncEveryMs: this.#options.checkpointSyncMs ?? DEFAULT_CHECKPOINT_SYNC_MS,
        started: (child) => this.#runs.attach(job, child),
        log: (message, details) => this.#log(message, details),
      });
      processMs = Date.now() - started;
      const failure = await readFile(paths.failure, 'utf8').catch(() => undefined);
      if (job.stopReason) {
        enter('Stopping', 'Stopping the training job');
        outcome = this.#runs.stopped(job);
      } else if (run.code !== 0 || failure !== undefined) {
        outcome = {
          status: 'Failed',
          secondary: 'Failed',
          reason: (
            failure?.trim() || `AlgorithmError: trainer exited with ${exitedWith(run)}: ${quotedOutput(run)}`
          ).slice(0, MAX_REASON_CHARS),
        };
      } else {
        enter('Uploading', 'Uploading generated training model');
        modelUri = joinS3Uri(request.OutputDataConfig?.S3OutputPath ?? '', name, 'output/model.tar.gz');
        // At the fastest level: weights hardly compress.
        const archive = await createTarGz(await directoryEntries(paths.model), { level: zlib.Z_BEST_SPEED });
        await putObjectBytes(this.#options.s3, parseS3Uri(modelUri), archive, 'application/x-tar');
        outcome = { status: 'Completed', secondary: 'Completed' };
      }
    } catch (error) {
      outcome = this.#runs.outcomeOf(job, error);
    } finally {
      clearRuntimeLimit();
    }
    if (checkpointUri) {
      // SageMaker uploads what is in the checkpoint folder however the job ended.
      await uploadCheckpoints(transfers, checkpointUri, paths.checkpoints, synced).catch((error: Error) =>
        this.#log('final checkpoint upload failed', { trainingJobName: name, error: String(error) }),
      );
    }
    await this.#runs.removeRoot(root);

    enter(outcome.secondary, outcome.reason ?? 'Training job completed');
    const endedAt = Date.now();
    const seconds = Math.max(1, Math.ceil(processMs / 1000));
    const described: DescribedTrainingJob = {
      TrainingJobName: name,
      TrainingJobArn: jobArn('training-job', name),
      TrainingJobStatus: outcome.status,
      SecondaryStatus: outcome.secondary,
      ...(outcome.reason === undefined ? {} : { FailureReason: outcome.reason }),
      ...(modelUri === undefined ? {} : { ModelArtifacts: { S3ModelArtifacts: modelUri } }),
      HyperParameters: request.HyperParameters ?? {},
      ...pick(request, [
        'AlgorithmSpecification',
        'RoleArn',
        'InputDataConfig',
        'OutputDataConfig',
        'ResourceConfig',
        'StoppingCondition',
        'CheckpointConfig',
        'EnableNetworkIsolation',
        'EnableInterContainerTrafficEncryption',
        'EnableManagedSpotTraining',
      ]),
      CreationTime: createdAt,
      TrainingStartTime: createdAt,
      TrainingEndTime: endedAt,
      LastModifiedTime: endedAt,
      SecondaryStatusTransitions: transitions,
      TrainingTimeInSeconds: seconds,
      BillableTimeInSeconds: seconds,
    };
    this.#log(`training job ${outcome.status.toLowerCase()}`, {
      trainingJobName: name,
      ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
      ...(modelUri === undefined ? {} : { model: modelUri }),
      seconds,
    });
    return taskResult(outcome.status, described);
  }

  #log(message: string, details?: Record<string, unknown>): void {
    this.#options.log?.(message, details);
  }
}
