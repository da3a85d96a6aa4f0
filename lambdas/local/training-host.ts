/**
 * A local SageMaker training host: what the local platform binds to a Step Functions Task
 * `arn:aws:states:::sagemaker:createTrainingJob.sync`. A training job runs as a plain process of the
 * project's trainer (containers/trainer: `python3 -m synthforge_trainer train` with
 * `SYNTHFORGE_ML_ROOT` set to the job's folder), with SageMaker's file contract around it. It emulates
 * AWS behaviour only and knows nothing of tasks or tenants.
 *
 * A job, as SageMaker runs one (`run`):
 * - `<root>/input/config/hyperparameters.json` holds `HyperParameters` as given (strings).
 * - The `train` channel is downloaded into `<root>/input/data/train/`: `S3Prefix` takes every object
 *   under the key prefix of `S3Uri`; `ManifestFile` reads `S3Uri` as a manifest
 *   (`[{"prefix": "s3://bucket/"}, "relative/key", ...]`) and takes each listed object. A missing
 *   manifest, an empty prefix or a missing listed object fails the job with a `ClientError` reason.
 * - `CheckpointConfig.S3Uri` is restored into `<root>/checkpoints/` first; while the trainer runs, the
 *   files that changed there (mtime or size) are uploaded every `checkpointSyncMs`, and once more when
 *   it has exited, whatever the outcome. Hidden and temporary files (the trainer writes atomically,
 *   `.<name>.tmp-<pid>` then rename) are skipped.
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
 * job names are unique only among running jobs (SageMaker keeps them forever).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzip as gzipCallback, constants as zlib } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { CreateTrainingJobRequest } from '@aws-sdk/client-sagemaker';
import { spawnTiedToParent } from './child-lifetime.ts';
import { parseS3Uri, type S3Location, tryParseS3Uri } from './s3-uri.ts';

const gzip = promisify(gzipCallback);
/** The interpreter scripts/setup-trainer.sh installs PyTorch for; `SYNTHFORGE_PYTHON` names another. */
const defaultPython = () => process.env.SYNTHFORGE_PYTHON || '/usr/bin/python3';
const DEFAULT_TRAINER_DIR = fileURLToPath(new URL('../../containers/trainer', import.meta.url));
const DEFAULT_CHECKPOINT_SYNC_MS = 2_000;
const DEFAULT_STOP_GRACE_MS = 30_000;
const REGION = 'us-east-1';
const ACCOUNT_ID = '000000000000';
/** SageMaker's pattern for TrainingJobName. */
const TRAINING_JOB_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
/** SageMaker keeps at most this much of `output/failure` as FailureReason. */
const MAX_FAILURE_REASON_CHARS = 1_024;
const KEPT_OUTPUT_LINES = 100;
/** Output lines quoted in the FailureReason of a job that left no failure file. */
const QUOTED_OUTPUT_LINES = 10;
const AVAILABILITY_TIMEOUT_MS = 120_000;
const DOWNLOAD_CONCURRENCY = 8;
/** After the trainer exits, how long to wait for the rest of its output. */
const OUTPUT_DRAIN_MS = 2_000;
const missingTorch = (python: string) =>
  `${python} cannot import torch and torchvision: on Debian run sudo apt-get install python3-torch python3-torchvision (scripts/setup-trainer.sh); training works as soon as they are installed, without a restart`;

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

/** Whether training can run here, and if not, why and how to fix it. */
export type Availability = { ok: true } | { ok: false; reason: string };

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

type StopReason = 'stopped' | 'maxRuntime';

interface RunningJob {
  name: string;
  maxRuntimeSeconds: number | undefined;
  stopReason?: StopReason;
  /** Aborted on a stop, so that downloads give up. */
  abort: AbortController;
  child?: ChildProcess;
  killTimer?: NodeJS.Timeout;
  /** Settles once the job has ended entirely: process exited, checkpoints uploaded, root removed. */
  finished: Promise<void>;
}

/** Ends a job early with its status and reason (a data download failure, a stop). */
class JobEnded extends Error {
  constructor(
    readonly status: 'Failed' | 'Stopped',
    readonly secondaryStatus: string,
    reason: string,
  ) {
    super(reason);
  }
}

export class LocalTrainingHost {
  readonly #options: LocalTrainingHostOptions;
  readonly #jobs = new Map<string, RunningJob>();
  /** The probe of `available()`: kept once it says yes, dropped when it says no (asked again). */
  #availability: Promise<Availability> | undefined;
  /** The last probe said no: a yes after it is logged. */
  #wasUnavailable = false;
  /** The default work folder, made on first use. */
  #madeWorkDir: Promise<string> | undefined;

  constructor(options: LocalTrainingHostOptions) {
    this.#options = options;
  }

  /** Names of jobs running now. */
  get running(): string[] {
    return [...this.#jobs.keys()];
  }

  /**
   * Is the trainer runnable here (python with torch and torchvision)? Once it is, that is kept. While
   * it is not, each call asks again (callers at the same moment share one probe; a probe that fails
   * takes tens of milliseconds), so installing PyTorch makes the next submission work, no restart.
   */
  available(): Promise<Availability> {
    this.#availability ??= this.#probe().then((answer) => {
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
        `1 validation error detected: Value '${name}' at 'trainingJobName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`,
      );
    }
    if (this.#jobs.has(name)) {
      throw namedError(
        'SageMaker.ResourceInUse',
        `Training job names must be unique within an AWS account and region, and a training job with this name already exists (${trainingJobArn(name)})`,
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
    const job: RunningJob = {
      name,
      maxRuntimeSeconds: request.StoppingCondition?.MaxRuntimeInSeconds,
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
    const root = join(await this.#workDir(), name);
    const paths = {
      hyperparameters: join(root, 'input', 'config', 'hyperparameters.json'),
      train: join(root, 'input', 'data', 'train'),
      checkpoints: join(root, 'checkpoints'),
      model: join(root, 'model'),
      failure: join(root, 'output', 'failure'),
    };
    const maxRuntimeSeconds = job.maxRuntimeSeconds;
    const runtimeTimer =
      maxRuntimeSeconds === undefined
        ? undefined
        : setTimeout(() => this.#requestStop(job, 'maxRuntime'), maxRuntimeSeconds * 1000);
    const checkpointUri = request.CheckpointConfig?.S3Uri;
    const synced = new Map<string, string>();
    let processMs = 0;
    let modelUri: string | undefined;
    let outcome: { status: TrainingJobStatus; secondary: string; reason?: string };
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
      await this.#downloadChannel(job, source?.S3DataType ?? 'S3Prefix', source?.S3Uri ?? '', paths.train);
      if (checkpointUri) await this.#restoreCheckpoints(job, checkpointUri, paths.checkpoints, synced);
      this.#throwIfStopped(job);

      enter('Training', 'Training image download completed. Training in progress.');
      const started = Date.now();
      const run = await this.#train(job, root, () =>
        checkpointUri
          ? this.#syncCheckpoints(job, checkpointUri, paths.checkpoints, synced)
          : Promise.resolve(),
      );
      processMs = Date.now() - started;
      const failure = await readFile(paths.failure, 'utf8').catch(() => undefined);
      if (job.stopReason) {
        enter('Stopping', 'Stopping the training job');
        outcome = stoppedOutcome(job.stopReason, maxRuntimeSeconds);
      } else if (run.code !== 0 || failure !== undefined) {
        const exit = run.code === null ? `signal ${run.signal}` : `code ${run.code}`;
        outcome = {
          status: 'Failed',
          secondary: 'Failed',
          reason: (
            failure?.trim() ||
            `AlgorithmError: trainer exited with ${exit}: ${run.lines.slice(-QUOTED_OUTPUT_LINES).join('\n')}`
          ).slice(0, MAX_FAILURE_REASON_CHARS),
        };
      } else {
        enter('Uploading', 'Uploading generated training model');
        modelUri = `${trimSlashes(request.OutputDataConfig?.S3OutputPath ?? '')}/${name}/output/model.tar.gz`;
        // Off the event loop, at the fastest level: weights hardly compress.
        const archive = await gzip(await tarDirectory(paths.model), { level: zlib.Z_BEST_SPEED });
        await this.#put(modelUri, archive, 'application/x-tar');
        outcome = { status: 'Completed', secondary: 'Completed' };
      }
    } catch (error) {
      if (error instanceof JobEnded) {
        outcome = { status: error.status, secondary: error.secondaryStatus, reason: error.message };
      } else if (job.stopReason) {
        outcome = stoppedOutcome(job.stopReason, maxRuntimeSeconds);
      } else {
        outcome = {
          status: 'Failed',
          secondary: 'Failed',
          reason: `InternalServerError: ${(error as Error).message}`.slice(0, MAX_FAILURE_REASON_CHARS),
        };
      }
    } finally {
      clearTimeout(runtimeTimer);
      clearTimeout(job.killTimer);
    }
    if (checkpointUri) {
      // SageMaker uploads what is in the checkpoint folder however the job ended.
      await this.#syncCheckpoints(job, checkpointUri, paths.checkpoints, synced).catch((error: Error) =>
        this.#log('final checkpoint upload failed', { trainingJobName: name, error: String(error) }),
      );
    }
    if (!keepRoots()) await rm(root, { recursive: true, force: true }).catch(() => undefined);

    enter(outcome.secondary, outcome.reason ?? 'Training job completed');
    const endedAt = Date.now();
    const seconds = Math.max(1, Math.ceil(processMs / 1000));
    const described: DescribedTrainingJob = {
      TrainingJobName: name,
      TrainingJobArn: trainingJobArn(name),
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
    if (outcome.status === 'Completed') return described;
    throw namedError('States.TaskFailed', JSON.stringify(described));
  }

  /** Runs the trainer to its exit, syncing checkpoints meanwhile. */
  async #train(
    job: RunningJob,
    root: string,
    sync: () => Promise<void>,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; lines: string[] }> {
    const lines: string[] = [];
    // Its stdin is held open and never written: the trainer stops as on SIGTERM when it ends, that
    // is when this process does, even by SIGKILL (child-lifetime.ts).
    const child = spawnTiedToParent(
      this.#options.python ?? defaultPython(),
      ['-m', 'synthforge_trainer', 'train'],
      {
        cwd: this.#options.trainerDir ?? DEFAULT_TRAINER_DIR,
        env: { SYNTHFORGE_ML_ROOT: root, ...this.#options.env, PYTHONUNBUFFERED: '1' },
      },
    );
    job.child = child;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done, fail) => {
      child.once('error', fail);
      child.once('exit', (code, signal) => done({ code, signal }));
    });
    const closed = new Promise<void>((done) => child.once('close', () => done()));
    const forward = (stream: 'stdout' | 'stderr') => {
      let pending = '';
      const emit = (line: string) => {
        lines.push(line);
        if (lines.length > KEPT_OUTPUT_LINES) lines.shift();
        this.#log(line, { trainingJobName: job.name, stream });
      };
      child[stream]?.setEncoding('utf8');
      child[stream]?.on('data', (chunk: string) => {
        const parts = (pending + chunk).split(/\r?\n/);
        pending = parts.pop() ?? '';
        for (const line of parts) emit(line);
      });
      child[stream]?.once('end', () => {
        if (pending) emit(pending);
        pending = '';
      });
    };
    forward('stdout');
    forward('stderr');
    this.#log('trainer started', { trainingJobName: job.name, pid: child.pid });
    // A stop that came while the process was being spawned.
    if (job.stopReason) this.#signal(job);

    const syncMs = this.#options.checkpointSyncMs ?? DEFAULT_CHECKPOINT_SYNC_MS;
    const ended = new AbortController();
    const loop = (async () => {
      while (!ended.signal.aborted) {
        await sleep(syncMs, undefined, { signal: ended.signal }).catch(() => undefined);
        if (ended.signal.aborted) break;
        await sync().catch((error: Error) =>
          this.#log('checkpoint upload failed', { trainingJobName: job.name, error: String(error) }),
        );
      }
    })();
    try {
      const result = await exited;
      await Promise.race([closed, new Promise((wake) => setTimeout(wake, OUTPUT_DRAIN_MS))]);
      return { ...result, lines };
    } finally {
      ended.abort();
      await loop;
    }
  }

  #requestStop(job: RunningJob, reason: StopReason): void {
    if (job.stopReason) return;
    job.stopReason = reason;
    this.#log(
      reason === 'maxRuntime'
        ? 'training job reached MaxRuntimeInSeconds: stopping it'
        : 'stopping training job',
      {
        trainingJobName: job.name,
      },
    );
    job.abort.abort();
    if (job.child) this.#signal(job);
  }

  /** SIGTERM now, SIGKILL after the grace. */
  #signal(job: RunningJob): void {
    const child = job.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    job.killTimer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) {
        this.#log('trainer did not stop in time: killing it', { trainingJobName: job.name, pid: child.pid });
        child.kill('SIGKILL');
      }
    }, this.#options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS);
  }

  #throwIfStopped(job: RunningJob): void {
    if (!job.stopReason) return;
    const stopped = stoppedOutcome(job.stopReason, job.maxRuntimeSeconds);
    throw new JobEnded('Stopped', stopped.secondary, stopped.reason);
  }

  async #downloadChannel(job: RunningJob, dataType: string, uri: string, into: string): Promise<void> {
    const location = parseS3Uri(uri);
    let objects: { bucket: string; key: string; relativePath: string }[];
    if (dataType === 'ManifestFile') {
      let manifest: unknown;
      try {
        manifest = JSON.parse(Buffer.from(await this.#get(location, job.abort.signal)).toString('utf8'));
      } catch (error) {
        this.#throwIfStopped(job);
        throw new JobEnded(
          'Failed',
          'Failed',
          `ClientError: Failed to download the manifest file ${uri}: ${describeError(error)}`,
        );
      }
      objects = manifestObjects(manifest, uri);
    } else if (dataType === 'S3Prefix') {
      let keys: string[];
      try {
        keys = await this.#list(location, job.abort.signal);
      } catch (error) {
        this.#throwIfStopped(job);
        throw new JobEnded(
          'Failed',
          'Failed',
          `ClientError: Data download failed: could not list ${uri}: ${describeError(error)}`,
        );
      }
      objects = keys
        .filter((key) => !key.endsWith('/'))
        .map((key) => ({ bucket: location.bucket, key, relativePath: key.slice(location.key.length) }));
      if (objects.length === 0) {
        throw new JobEnded(
          'Failed',
          'Failed',
          `ClientError: No S3 objects found under S3 URL "${uri}" given in input data source. Please ensure that the bucket exists in the selected region, that objects exist under that S3 prefix, and that the role has "s3:ListBucket" permissions on bucket "${location.bucket}".`,
        );
      }
    } else {
      throw new JobEnded('Failed', 'Failed', `ClientError: S3DataType ${dataType} is not supported here`);
    }
    await eachLimited(objects, DOWNLOAD_CONCURRENCY, async (object) => {
      const target = inside(into, object.relativePath);
      let body: Uint8Array;
      try {
        body = await this.#get(object, job.abort.signal);
      } catch (error) {
        this.#throwIfStopped(job);
        throw new JobEnded(
          'Failed',
          'Failed',
          `ClientError: Data download failed: could not download s3://${object.bucket}/${object.key}: ${describeError(error)}`,
        );
      }
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, body);
    });
    this.#log('train channel downloaded', { trainingJobName: job.name, objects: objects.length });
  }

  async #restoreCheckpoints(
    job: RunningJob,
    uri: string,
    into: string,
    synced: Map<string, string>,
  ): Promise<void> {
    const location = folderOf(uri);
    const keys = (await this.#list(location, job.abort.signal)).filter((key) => !key.endsWith('/'));
    await eachLimited(keys, DOWNLOAD_CONCURRENCY, async (key) => {
      const relativePath = key.slice(location.key.length);
      const target = inside(into, relativePath);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, await this.#get({ bucket: location.bucket, key }, job.abort.signal));
      synced.set(relativePath, fingerprint(await stat(target)));
    });
    if (keys.length > 0) this.#log('checkpoints restored', { trainingJobName: job.name, files: keys.length });
  }

  /** Uploads the files of `checkpoints/` that changed since the last upload. */
  async #syncCheckpoints(
    job: RunningJob,
    uri: string,
    from: string,
    synced: Map<string, string>,
  ): Promise<void> {
    const location = folderOf(uri);
    for (const path of await listFiles(from)) {
      const relativePath = relative(from, path).split(sep).join('/');
      if (relativePath.split('/').some((part) => part.startsWith('.') || part.includes('.tmp'))) continue;
      let body: Buffer;
      let mark: string;
      try {
        const before = await stat(path);
        mark = fingerprint(before);
        if (synced.get(relativePath) === mark) continue;
        // The whole file, not a stream: s3rver stores stream bodies with their chunk framing.
        body = await readFile(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // replaced or removed meanwhile
        throw error;
      }
      await this.#put(
        `s3://${location.bucket}/${location.key}${relativePath}`,
        body,
        contentTypeOf(relativePath),
      );
      synced.set(relativePath, mark);
      this.#log('checkpoint uploaded', { trainingJobName: job.name, file: relativePath, bytes: body.length });
    }
  }

  async #list(location: S3Location, signal: AbortSignal): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.#options.s3.send(
        new ListObjectsV2Command({ Bucket: location.bucket, Prefix: location.key, ContinuationToken: token }),
        { abortSignal: signal },
      );
      for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  async #get(location: S3Location, signal: AbortSignal): Promise<Uint8Array> {
    const object = await this.#options.s3.send(
      new GetObjectCommand({ Bucket: location.bucket, Key: location.key }),
      {
        abortSignal: signal,
      },
    );
    if (!object.Body) throw new Error('the object has no body');
    return object.Body.transformToByteArray();
  }

  async #put(uri: string, body: Uint8Array, contentType: string): Promise<void> {
    const { bucket, key } = parseS3Uri(uri);
    await this.#options.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }),
    );
  }

  #workDir(): Promise<string> {
    if (this.#options.workDir !== undefined) {
      const dir = this.#options.workDir;
      return mkdir(dir, { recursive: true }).then(() => dir);
    }
    this.#madeWorkDir ??= mkdtemp(join(tmpdir(), 'synthforge-training-'));
    return this.#madeWorkDir;
  }

  async #probe(): Promise<Availability> {
    const python = this.#options.python ?? defaultPython();
    const answer = await new Promise<{ ok: boolean; detail: string }>((done) => {
      const child = spawn(python, ['-c', 'import torch, torchvision'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => {
        stderr = (stderr + chunk).slice(-2_000);
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), AVAILABILITY_TIMEOUT_MS);
      child.once('error', (error) => {
        clearTimeout(timer);
        done({ ok: false, detail: `${python}: ${error.message}` });
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        const lastLine = stderr.trim().split('\n').pop() ?? '';
        done({
          ok: code === 0,
          detail: `${python} exited with ${signal ?? code}${lastLine ? `: ${lastLine}` : ''}`,
        });
      });
    });
    if (answer.ok) return { ok: true };
    this.#log('the trainer cannot run here', { python, detail: answer.detail });
    return { ok: false, reason: missingTorch(python) };
  }

  #log(message: string, details?: Record<string, unknown>): void {
    this.#options.log?.(message, details);
  }
}

function stoppedOutcome(
  reason: StopReason,
  maxRuntimeSeconds: number | undefined,
): { status: 'Stopped'; secondary: string; reason: string } {
  return reason === 'maxRuntime'
    ? {
        status: 'Stopped',
        secondary: 'MaxRuntimeExceeded',
        reason: `MaxRuntimeExceeded: Training job exceeded MaxRuntimeInSeconds provided (${maxRuntimeSeconds} s)`,
      }
    : {
        status: 'Stopped',
        secondary: 'Stopped',
        reason: 'Stopped: the training job was stopped (StopTrainingJob)',
      };
}

/** `[{"prefix": "s3://bucket/..."}, "key", ...]` → the objects to download and where. */
function manifestObjects(
  manifest: unknown,
  uri: string,
): { bucket: string; key: string; relativePath: string }[] {
  const [head, ...keys] = Array.isArray(manifest) ? manifest : [];
  const prefix = (head as { prefix?: unknown } | undefined)?.prefix;
  const base = typeof prefix === 'string' ? tryParseS3Uri(prefix) : undefined;
  if (!base || keys.some((key) => typeof key !== 'string' || key === '')) {
    throw new JobEnded(
      'Failed',
      'Failed',
      `ClientError: The manifest file ${uri} is invalid: expected a JSON array of {"prefix": "s3://bucket/prefix/"} followed by object keys relative to it`,
    );
  }
  return (keys as string[]).map((key) => ({
    bucket: base.bucket,
    key: `${base.key}${key}`,
    relativePath: key,
  }));
}

/** `root/relativePath`, refusing paths that would leave `root` (`..`, absolute). */
function inside(root: string, relativePath: string): string {
  const cleaned = relativePath.replace(/^\/+/, '');
  const target = resolve(root, cleaned);
  if (cleaned === '' || !target.startsWith(`${resolve(root)}${sep}`)) {
    throw new JobEnded(
      'Failed',
      'Failed',
      `ClientError: the object key ${relativePath} is not a usable file path`,
    );
  }
  return target;
}

/** An S3 URI as a folder: its key ends with `/` (or is empty, for a bucket's root). */
function folderOf(uri: string): S3Location {
  const location = parseS3Uri(uri);
  return {
    bucket: location.bucket,
    key: location.key === '' || location.key.endsWith('/') ? location.key : `${location.key}/`,
  };
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

function fingerprint(stats: { mtimeMs: number; size: number }): string {
  return `${stats.mtimeMs}:${stats.size}`;
}

function contentTypeOf(path: string): string {
  return path.endsWith('.json') ? 'application/json' : 'application/octet-stream';
}

async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(workers);
}

/**
 * A POSIX ustar archive of the files under `dir` (none when it is missing: an empty archive), named
 * relative to it like SageMaker's model.tar.gz (`model.pt`, not `./model.pt` or `model/model.pt`).
 */
export async function tarDirectory(dir: string): Promise<Buffer> {
  const entries: TarEntry[] = [];
  for (const path of await listFiles(dir)) {
    const info = await stat(path);
    entries.push({
      name: relative(dir, path).split(sep).join('/'),
      data: await readFile(path),
      mtime: info.mtime,
    });
  }
  return createTar(entries);
}

export interface TarEntry {
  name: string;
  data: Uint8Array;
  mtime?: Date;
}

const TAR_BLOCK = 512;
/** tar reads and writes records of 20 blocks; the archive is padded to a whole record. */
const TAR_RECORD = 20 * TAR_BLOCK;

/** A POSIX ustar archive of regular files (mode 0644); parent folders are implied by the names. */
export function createTar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    parts.push(tarHeader(entry), Buffer.from(entry.data));
    const padding = (TAR_BLOCK - (entry.data.length % TAR_BLOCK)) % TAR_BLOCK;
    if (padding > 0) parts.push(Buffer.alloc(padding));
  }
  parts.push(Buffer.alloc(2 * TAR_BLOCK));
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  const recordPadding = (TAR_RECORD - (length % TAR_RECORD)) % TAR_RECORD;
  parts.push(Buffer.alloc(recordPadding));
  return Buffer.concat(parts);
}

function tarHeader(entry: TarEntry): Buffer {
  const header = Buffer.alloc(TAR_BLOCK);
  const { name, prefix } = splitTarName(entry.name);
  if (entry.data.length > 0o77777777777)
    throw new RangeError(`${entry.name} is too large for a ustar archive`);
  header.write(name, 0, 100, 'utf8');
  writeOctal(header, 100, 8, 0o644);
  writeOctal(header, 108, 8, 0);
  writeOctal(header, 116, 8, 0);
  writeOctal(header, 124, 12, entry.data.length);
  writeOctal(header, 136, 12, Math.floor((entry.mtime?.getTime() ?? 0) / 1000));
  header.fill(0x20, 148, 156); // the checksum counts its own field as spaces
  header.write('0', 156, 1, 'ascii'); // a regular file
  header.write('ustar\u0000', 257, 6, 'ascii');
  header.write('00', 263, 2, 'ascii');
  header.write('root', 265, 32, 'ascii');
  header.write('root', 297, 32, 'ascii');
  header.write(prefix, 345, 155, 'utf8');
  let checksum = 0;
  for (const byte of header) checksum += byte;
  header.write(`${checksum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'ascii');
  return header;
}

/** ustar names: up to 100 bytes, or a prefix of up to 155 bytes and a name of up to 100 split at a `/`. */
function splitTarName(path: string): { name: string; prefix: string } {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  for (let cut = path.indexOf('/'); cut !== -1; cut = path.indexOf('/', cut + 1)) {
    const prefix = path.slice(0, cut);
    const name = path.slice(cut + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return { name, prefix };
  }
  throw new RangeError(`${path} is too long for a ustar archive`);
}

function writeOctal(header: Buffer, offset: number, length: number, value: number): void {
  header.write(`${value.toString(8).padStart(length - 1, '0')}\u0000`, offset, length, 'ascii');
}

function trainingJobArn(name: string): string {
  return `arn:aws:sagemaker:${REGION}:${ACCOUNT_ID}:training-job/${name.toLowerCase()}`;
}

function namedError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

function describeError(error: unknown): string {
  const named = error as { name?: string; message?: string; Code?: string };
  if (named.name === 'NoSuchKey' || named.Code === 'NoSuchKey') return 'NoSuchKey: the object does not exist';
  if (error instanceof SyntaxError) return `not JSON: ${error.message}`;
  return `${named.name ?? 'Error'}: ${named.message ?? String(error)}`;
}

function keepRoots(): boolean {
  const value = process.env.SYNTHFORGE_KEEP_TRAINING_ROOTS;
  return value !== undefined && value !== '' && value !== '0' && value !== 'false';
}

function pick<T extends object, K extends keyof T>(source: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const picked: Partial<Pick<T, K>> = {};
  for (const key of keys) if (source[key] !== undefined) picked[key] = source[key];
  return picked;
}

function trimSlashes(uri: string): string {
  return uri.replace(/\/+$/, '');
}
