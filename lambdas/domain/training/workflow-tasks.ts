/**
 * The training workflow's steps (statemachines/training.asl.json). `prepareTraining` marks the task
 * running, counts the attempt and answers the SageMaker training job's request; `recordTraining`
 * ends the task with the trainer's last progress and its model, fails it with SageMaker's reason, or,
 * when the trainer checkpointed and suspended itself before its runtime ran out, asks for another
 * attempt, which resumes the checkpoint (LaxAI's auto-suspend and resume).
 */
import { hasInstanceStorage } from '../../../contracts/instances.ts';
import type { TrainingSettings, TrainRequest } from '../../../contracts/training.ts';
import type { JobsEngine } from '../jobs/engine.ts';
import { isJobOfKind } from '../jobs/model.ts';
import type { BlobStore } from '../ports.ts';
import type { TrainingJobRecord } from './job-record.ts';
import { trainingJobName, trainingKeys } from './keys.ts';
import { parseProgress } from './progress.ts';

export interface TrainingTaskDeps {
  engine: JobsEngine;
  blobs: BlobStore;
  settings: TrainingSettings;
  /** The KMS key of training volumes (the stack's); absent locally. */
  volumeKeyArn?: string;
}

/** The training job a step is for; a job of another kind is no task of this machine. */
async function trainingJob(
  engine: JobsEngine,
  input: { tenant: string; jobId: string },
): Promise<TrainingJobRecord> {
  const job = await engine.get(input.tenant, input.jobId);
  if (!isJobOfKind(job, 'training'))
    throw new Error(`job ${job.id} is a ${job.kind} job, not a training task`);
  return job;
}

/** An error Step Functions matches by name. */
class NamedError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/**
 * Seconds the trainer stops before MaxRuntimeInSeconds to checkpoint and suspend itself: SageMaker
 * stops a job that reaches its limit, and a job it stopped ends the step as a failure.
 */
export function suspendMarginSeconds(maxRuntimeSeconds: number): number {
  return Math.max(120, Math.round(maxRuntimeSeconds * 0.05));
}

/** What the Train step sends to CreateTrainingJob, beyond what the state machine fixes. */
export interface PreparedTraining {
  trainingJobName: string;
  hyperParameters: Record<string, string>;
  dataType: 'ManifestFile' | 'S3Prefix';
  dataUri: string;
  outputUri: string;
  checkpointUri: string;
  resourceConfig: {
    InstanceCount: 1;
    InstanceType: string;
    VolumeSizeInGB: number;
    VolumeKmsKeyId?: string;
  };
  stoppingCondition: { MaxRuntimeInSeconds: number; MaxWaitTimeInSeconds?: number };
  spot: boolean;
  tags: { Key: string; Value: string }[];
}

/** SageMaker passes every hyperparameter to the container as a string; lists and objects as JSON. */
export function hyperParameters(
  request: TrainRequest,
  options: { resume: boolean; maxRuntimeSeconds: number },
): Record<string, string> {
  const values: Record<string, unknown> = {
    ...request.training_kwargs,
    ...request.model_kwargs,
    max_images_per_identity: request.frames,
    verbose: request.verbose,
    save_intermediate: request.save_intermediate,
    resume_from_checkpoint: options.resume,
    max_runtime_seconds: options.maxRuntimeSeconds - suspendMarginSeconds(options.maxRuntimeSeconds),
  };
  return Object.fromEntries(
    Object.entries(values).map(([key, value]) => [
      key,
      typeof value === 'string' ? value : JSON.stringify(value),
    ]),
  );
}

export async function prepareTraining(
  deps: TrainingTaskDeps,
  input: { tenant: string; jobId: string; executionId?: string },
): Promise<PreparedTraining> {
  const { engine, blobs, settings } = deps;
  const job = await trainingJob(engine, input);
  if (job.status !== 'pending' && job.status !== 'running') {
    throw new NamedError('TaskEnded', `task ${job.id} is ${job.status}: nothing to train`);
  }
  const { training, params: request } = job;
  const attempt = training.attempts + 1;
  const name = trainingJobName(job.id, attempt);
  // Attempts as the user counts them: the first and each resumed suspension. A run started again
  // because its previous training job was interrupted (the local platform stopped) continues the
  // attempt it was in and uses up none of the resumes.
  const ofAttempts = `attempt ${(training.autoResumes ?? 0) + 1} of ${settings.maxAutoResumes + 1}`;
  const message =
    attempt === 1
      ? `training on ${training.instanceType}${training.spot ? ' (spot)' : ''}`
      : training.resumingAfterSuspension
        ? `resuming from the checkpoint (${ofAttempts})`
        : `resuming from the checkpoint after an interruption (${ofAttempts} continues)`;
  const { resumingAfterSuspension: _cleared, ...kept } = training;
  const patch = {
    training: { ...kept, attempts: attempt, trainingJobName: name },
    ...(input.executionId ? { executionId: input.executionId } : {}),
    message,
  };
  const recorded =
    job.status === 'pending'
      ? (await engine.transition(job.tenant, job.id, 'running', patch, message)).applied
      : (await engine.store.update(job.tenant, job.id, patch)) !== undefined;
  if (!recorded) throw new NamedError('TaskEnded', `task ${job.id} ended while it was being prepared`);
  if (attempt > 1) await engine.log(job.tenant, job.id, 'info', message);

  const keys = trainingKeys(job.tenant, job.id, training.customName);
  const s3 = (key: string) => `s3://${blobs.bucket}/${key}`;
  return {
    trainingJobName: name,
    // The first attempt resumes only if asked; every later one resumes its own checkpoint.
    hyperParameters: hyperParameters(request, {
      resume: attempt > 1 || request.resume_from_checkpoint,
      maxRuntimeSeconds: training.maxRuntimeSeconds,
    }),
    dataType: training.dataset.type,
    dataUri: s3(training.dataset.key),
    outputUri: s3(keys.output),
    checkpointUri: s3(keys.checkpoints),
    resourceConfig: {
      InstanceCount: 1,
      InstanceType: training.instanceType,
      VolumeSizeInGB: settings.volumeSizeGb,
      // Instance storage is encrypted in hardware, and SageMaker refuses a volume key for it.
      ...(deps.volumeKeyArn && !hasInstanceStorage(training.instanceType)
        ? { VolumeKmsKeyId: deps.volumeKeyArn }
        : {}),
    },
    stoppingCondition: training.spot
      ? {
          MaxRuntimeInSeconds: training.maxRuntimeSeconds,
          MaxWaitTimeInSeconds: Math.max(settings.maxWaitSeconds, training.maxRuntimeSeconds),
        }
      : { MaxRuntimeInSeconds: training.maxRuntimeSeconds },
    spot: training.spot,
    tags: [
      { Key: 'synthforge:tenant', Value: job.tenant },
      { Key: 'synthforge:task', Value: job.id },
      { Key: 'synthforge:run', Value: training.customName },
    ],
  };
}

/** The Train step's result, or the error that ended it (SageMaker's DescribeTrainingJob in `Cause`). */
export interface RecordTrainingInput {
  tenant: string;
  jobId: string;
  trainingJobName?: string;
  trained?: { status: string; modelArtifacts: string; billableSeconds?: number };
  error?: { Error?: string; Cause?: string };
}

export async function recordTraining(
  deps: TrainingTaskDeps,
  input: RecordTrainingInput,
): Promise<{ resume: boolean; status: string }> {
  const { engine, blobs, settings } = deps;
  const job = await trainingJob(engine, input);
  if (job.status !== 'pending' && job.status !== 'running') return { resume: false, status: job.status };
  const { training } = job;
  if (input.error || !input.trained) return fail(deps, job, failureOf(input.error));

  const keys = trainingKeys(job.tenant, job.id, training.customName);
  const progress = parseProgress(await blobs.get(keys.progress).catch(() => undefined));
  const billableSeconds = (training.billableSeconds ?? 0) + (input.trained.billableSeconds ?? 0);
  if (progress?.status === 'suspended') {
    const autoResumes = training.autoResumes ?? 0;
    if (autoResumes < settings.maxAutoResumes) {
      const message = `suspended at epoch ${progress.current_epoch ?? '?'} before the runtime limit; resuming from its checkpoint`;
      await engine.store.update(job.tenant, job.id, {
        training: {
          ...training,
          billableSeconds,
          autoResumes: autoResumes + 1,
          resumingAfterSuspension: true,
        },
        message,
      });
      await engine.log(job.tenant, job.id, 'info', message);
      return { resume: true, status: 'running' };
    }
    return fail(
      deps,
      job,
      {
        code: 'RUNTIME_EXHAUSTED',
        message:
          `ran out of runtime at epoch ${progress.current_epoch ?? '?'} after ${autoResumes + 1} attempts; ` +
          `its checkpoint is kept: start it again with custom_name ${training.customName} and resume_from_checkpoint true`,
      },
      { billableSeconds, progress },
    );
  }
  if (progress?.status === 'failed') {
    return fail(
      deps,
      job,
      { code: 'TRAINING_FAILED', message: progress.message || 'the trainer failed' },
      {
        billableSeconds,
        progress,
      },
    );
  }
  const modelKey = keyOf(input.trained.modelArtifacts, blobs.bucket);
  const bytes = (await blobs.size(modelKey)) ?? 0;
  const summary = progress
    ? `trained ${progress.current_epoch ?? '?'} epochs: best loss ${progress.best_loss ?? '?'}`
    : 'trained';
  await engine.transition(
    job.tenant,
    job.id,
    'completed',
    {
      progress: 100,
      message: summary,
      result: { key: modelKey, bytes, contentType: 'application/gzip' },
      training: {
        ...training,
        billableSeconds,
        ...(progress ? { progress: { ...progress, status: 'completed' } } : {}),
      },
    },
    summary,
  );
  return { resume: false, status: 'completed' };
}

async function fail(
  deps: TrainingTaskDeps,
  job: TrainingJobRecord,
  error: { code: string; message: string },
  extra: { billableSeconds?: number; progress?: object } = {},
): Promise<{ resume: boolean; status: string }> {
  const { training } = job;
  await deps.engine.transition(
    job.tenant,
    job.id,
    'failed',
    {
      error,
      message: error.message,
      training: {
        ...training,
        ...(extra.billableSeconds === undefined ? {} : { billableSeconds: extra.billableSeconds }),
        ...(extra.progress ? { progress: { ...extra.progress, status: 'failed' } } : {}),
      },
    },
    error.message,
  );
  return { resume: false, status: 'failed' };
}

/**
 * The reason of a failed step. A training job that failed ends `.sync` with `States.TaskFailed` and
 * its DescribeTrainingJob output as the cause, whose `FailureReason` is the trainer's own (the text
 * of /opt/ml/output/failure); other errors keep their name and cause.
 */
export function failureOf(error: RecordTrainingInput['error']): { code: string; message: string } {
  const cause = error?.Cause ?? '';
  let described: { FailureReason?: unknown; TrainingJobStatus?: unknown } | undefined;
  try {
    described = JSON.parse(cause) as typeof described;
  } catch {
    described = undefined;
  }
  if (typeof described?.FailureReason === 'string') {
    return { code: 'TRAINING_FAILED', message: described.FailureReason.slice(0, 1000) };
  }
  if (error?.Error === 'TaskEnded') return { code: 'TASK_ENDED', message: cause };
  return {
    code: 'TRAINING_FAILED',
    message: `${error?.Error ?? 'the training step failed'}${cause ? `: ${cause.slice(0, 1000)}` : ''}`,
  };
}

/** `s3://bucket/key` → key. */
function keyOf(uri: string, bucket: string): string {
  const prefix = `s3://${bucket}/`;
  if (!uri.startsWith(prefix)) throw new Error(`model artefact ${uri} is not in the outputs bucket`);
  return uri.slice(prefix.length);
}
