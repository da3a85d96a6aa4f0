/**
 * Training runs (seed 002) as jobs of the one engine: a request is checked against the caller's
 * tenant and the stage's limits, its dataset is resolved (a finished identity-crops batch, or a
 * folder under the tenant's datasets/), and one `training` job is stored and its workflow started
 * (statemachines/training.asl.json). The views read the live progress the trainer leaves in its
 * checkpoint folder while it runs.
 */
import type {
  TrainAccepted,
  TrainingProgress,
  TrainingSettings,
  TrainingTask,
  TrainRequest,
} from '../../../contracts/training.ts';
import { JOB_ID_PATTERN } from '../../../contracts/vocabulary.ts';
import { ensureRoomForWork } from '../capacity.ts';
import { DomainError, illegalState, notFound } from '../errors.ts';
import type { GenerationJobRecord } from '../generation/job-record.ts';
import type { JobsEngine } from '../jobs/engine.ts';
import { isTerminal } from '../jobs/lifecycle.ts';
import { isJobOfKind, type JobRecord } from '../jobs/model.ts';
import { storeAndStart } from '../jobs/start.ts';
import type { BlobStore, Clock, Page, StorageCapacity } from '../ports.ts';
import type { TrainingWorkflow } from './execution.ts';
import type { TrainingJobRecord, TrainingRecord } from './job-record.ts';
import { trainingKeys } from './keys.ts';
import { parseProgress, pendingProgress, progressFrom } from './progress.ts';

export interface TrainingServiceDeps {
  engine: JobsEngine;
  /** The training state machine: one execution per task, named after it. */
  workflow: TrainingWorkflow;
  blobs: BlobStore;
  clock: Clock;
  newId: () => string;
  settings: TrainingSettings;
  resultUrlTtlSeconds: number;
  /** Whether training can run here at all (the local platform: python3 with torch); absent: it can. */
  trainerAvailability?: () => Promise<{ ok: true } | { ok: false; reason: string }>;
  /** Room for checkpoints and the model (the local platform's disk); absent: always room. */
  capacity?: StorageCapacity;
}

/** How far back the default dataset is looked for: the tenant's most recent batches. */
const RECENT_BATCHES = 25;

/** The 422 of seed 002 for a value the schema allows but this stage or tenant does not. */
const invalid = (parameter: string, value: unknown, constraint: string, message: string) =>
  new DomainError('VALIDATION_ERROR', message, { parameter, value, constraint });

/** A completed `shapes` job that made identity crops: the input a re-identification run trains on. */
function isCropsJob(job: JobRecord): job is GenerationJobRecord {
  return (
    job.kind === 'generation' &&
    job.generator === 'shapes' &&
    job.params.output === 'identity_crops' &&
    job.status === 'completed' &&
    job.result !== undefined
  );
}

export class TrainingService {
  constructor(readonly deps: TrainingServiceDeps) {}

  /** Checks, resolves the dataset, stores the task and starts its workflow; nothing is stored on a refusal. */
  async submit(
    tenant: string,
    request: TrainRequest,
  ): Promise<{ job: TrainingJobRecord; accepted: TrainAccepted }> {
    if (request.tenant_id !== undefined && request.tenant_id !== tenant) {
      throw new DomainError(
        'FORBIDDEN',
        'tenant_id must be your own tenant: the one your API key belongs to',
        {
          parameter: 'tenant_id',
          value: request.tenant_id,
        },
      );
    }
    const compute = this.#compute(request);
    const availability = await this.deps.trainerAvailability?.();
    if (availability && !availability.ok) {
      throw new DomainError('UNAVAILABLE', `training cannot run here: ${availability.reason}`, {
        reason: availability.reason,
      });
    }
    await ensureRoomForWork(this.deps.capacity);
    const id = this.deps.newId();
    const customName = request.custom_name ?? `run-${id.toLowerCase()}`;
    await this.#refuseRunningNamesake(tenant, customName);
    const dataset = await this.#dataset(tenant, id, customName, request);
    const now = this.deps.clock.now().toISOString();
    const training: TrainingRecord = { customName, dataset, attempts: 0, ...compute };
    const job: TrainingJobRecord = {
      tenant,
      id,
      kind: 'training',
      status: 'pending',
      version: 1,
      name: customName,
      params: { ...request, custom_name: customName },
      progress: 0,
      message: 'Training job queued',
      training,
      createdAt: now,
      updatedAt: now,
    };
    const stored = await storeAndStart(this.deps, {
      job,
      logLine: `training ${customName} on ${describeDataset(dataset)}`,
      input: { tenant, taskId: id },
      names: { job: 'the training run', workflow: 'the training workflow', idDetail: 'task_id' },
    });
    return {
      job: stored,
      accepted: {
        status: 'accepted',
        task_id: id,
        message: `Training job started: ${customName} on ${describeDataset(dataset)}`,
        progress: pendingProgress('pending', 'Training job queued'),
      },
    };
  }

  /**
   * A training task of this tenant; anything else (another kind, another tenant, a string that
   * could not be a task id, such as LaxAI's UUIDs) is a 404.
   */
  async task(tenant: string, taskId: string): Promise<TrainingJobRecord> {
    if (!JOB_ID_PATTERN.test(taskId)) throw notFound('task', taskId.slice(0, 100));
    const job = await this.deps.engine.store.get(tenant, taskId);
    if (job?.kind !== 'training') throw notFound('task', taskId);
    return job;
  }

  async list(
    tenant: string,
    query: { status?: JobRecord['status']; limit: number; cursor?: string },
  ): Promise<Page<TrainingJobRecord>> {
    const page = await this.deps.engine.store.list(tenant, {
      kind: 'training',
      limit: query.limit,
      ...(query.status ? { status: query.status } : {}),
      ...(query.cursor ? { cursor: query.cursor } : {}),
    });
    // The kind index holds training jobs only: the filter narrows their type and drops nothing.
    return { ...page, items: page.items.filter((job) => isJobOfKind(job, 'training')) };
  }

  async cancel(tenant: string, taskId: string): Promise<JobRecord> {
    await this.task(tenant, taskId);
    return this.deps.engine.cancel(tenant, taskId);
  }

  /** The task in seed 002's shape: live progress from its checkpoints while it runs. */
  async present(job: TrainingJobRecord): Promise<TrainingTask> {
    const { training, params } = job;
    const progress = await this.#progress(job);
    const modelUrl =
      job.status === 'completed' && job.result
        ? await this.deps.blobs.presignGet(
            job.result.key,
            this.deps.resultUrlTtlSeconds,
            `${job.id}-model.tar.gz`,
          )
        : undefined;
    return {
      task_id: job.id,
      status: job.status,
      custom_name: training.customName,
      ...(job.message ? { message: job.message } : {}),
      progress,
      training_kwargs: params.training_kwargs,
      model_kwargs: params.model_kwargs,
      wandb_tags: params.wandb_tags,
      dataset: {
        uri: `s3://${this.deps.blobs.bucket}/${training.dataset.key}`,
        ...(training.dataset.identities === undefined ? {} : { identities: training.dataset.identities }),
      },
      ...(modelUrl ? { model_url: modelUrl } : {}),
      ...(job.error ? { error: job.error } : {}),
      created_at: job.createdAt,
      updated_at: job.updatedAt,
    };
  }

  async #progress(job: TrainingJobRecord): Promise<TrainingProgress> {
    const { training } = job;
    const kept = training.progress ? progressFrom(training.progress) : undefined;
    // A run that ended without recording its progress (cancelled, or closed by the reconciler) still
    // has the trainer's last word in its checkpoint folder: its epochs and logs stay visible.
    const live =
      job.status !== 'pending' && !kept
        ? await this.#liveProgress(job, training, job.status === 'running' ? 2 : 1)
        : undefined;
    // A progress file left by an earlier run of the same name is not this task's.
    const own =
      live?.updated_at && Date.parse(live.updated_at) < Date.parse(job.startedAt ?? job.createdAt)
        ? undefined
        : live;
    const base = kept ?? own ?? pendingProgress(job.status, job.message ?? '');
    // The job's status is the truth; the trainer's own word (suspended) shows while it is running.
    const status = job.status === 'running' && base.status === 'suspended' ? 'suspended' : job.status;
    return {
      ...base,
      status,
      message: job.status === 'running' ? base.message || (job.message ?? '') : (job.message ?? base.message),
    };
  }

  /**
   * The progress the trainer last synced. Read twice before giving up: a read that meets the object
   * while a sync replaces it (or a passing error) would otherwise show a run that has trained for
   * epochs as if it had not started, and a poller would see its progress go backwards.
   */
  async #liveProgress(
    job: TrainingJobRecord,
    training: TrainingRecord,
    reads: number,
  ): Promise<TrainingProgress | undefined> {
    const key = trainingKeys(job.tenant, job.id, training.customName).progress;
    for (let read = 1; ; read++) {
      const progress = parseProgress(await this.deps.blobs.get(key).catch(() => undefined));
      if (progress || read >= reads) return progress;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** The instance, spot and runtime of the run: the request's choices within the stage's limits. */
  #compute(request: TrainRequest): Pick<TrainingRecord, 'instanceType' | 'spot' | 'maxRuntimeSeconds'> {
    const { settings } = this.deps;
    const allowed = [settings.instanceType, ...settings.allowedInstanceTypes];
    const instanceType = request.compute.instance_type ?? settings.instanceType;
    if (!allowed.includes(instanceType)) {
      throw invalid(
        'compute.instance_type',
        instanceType,
        `one of ${allowed.join(', ')}`,
        `compute.instance_type must be one of ${allowed.join(', ')} on this stage`,
      );
    }
    const maxRuntimeSeconds = request.compute.max_runtime_seconds ?? settings.maxRuntimeSeconds;
    if (maxRuntimeSeconds > settings.maxRuntimeLimitSeconds) {
      throw invalid(
        'compute.max_runtime_seconds',
        maxRuntimeSeconds,
        `compute.max_runtime_seconds <= ${settings.maxRuntimeLimitSeconds}`,
        `compute.max_runtime_seconds must be at most ${settings.maxRuntimeLimitSeconds} on this stage`,
      );
    }
    return { instanceType, spot: request.compute.use_spot_instances ?? settings.spot, maxRuntimeSeconds };
  }

  /** Two runs of one name at once would write one checkpoint folder: the second is refused. */
  async #refuseRunningNamesake(tenant: string, customName: string): Promise<void> {
    for (const status of ['pending', 'running'] as const) {
      const page = await this.deps.engine.store.list(tenant, { kind: 'training', status, limit: 100 });
      const namesake = page.items.find((job) => job.training?.customName === customName);
      if (namesake) {
        throw illegalState(
          `a run named ${customName} is ${namesake.status}: wait for it, cancel it, or choose another custom_name`,
          {
            custom_name: customName,
            task_id: namesake.id,
          },
        );
      }
    }
  }

  async #dataset(
    tenant: string,
    jobId: string,
    customName: string,
    request: TrainRequest,
  ): Promise<TrainingRecord['dataset']> {
    const chosen = request.dataset;
    if (chosen && 's3_prefix' in chosen) return { type: 'S3Prefix', key: `${tenant}/${chosen.s3_prefix}` };
    const crops = chosen ? await this.#cropsOf(tenant, chosen.batch_id) : await this.#latestCrops(tenant);
    // The channel is a manifest of the batch's archives: nothing is copied, the trainer unpacks them.
    const manifestKey = trainingKeys(tenant, jobId, customName).manifest;
    const manifest = [
      { prefix: `s3://${this.deps.blobs.bucket}/` },
      ...crops.jobs.map((job) => (job.result as NonNullable<JobRecord['result']>).key),
    ];
    await this.deps.blobs.put(
      manifestKey,
      new TextEncoder().encode(JSON.stringify(manifest)),
      'application/json',
    );
    return {
      type: 'ManifestFile',
      key: manifestKey,
      batchId: crops.batchId,
      identities: crops.jobs.reduce((sum, job) => sum + Number(job.params.identities ?? 0), 0),
    };
  }

  async #cropsOf(tenant: string, batchId: string): Promise<{ batchId: string; jobs: GenerationJobRecord[] }> {
    const batch = await this.deps.engine.store.get(tenant, batchId);
    if (batch?.kind !== 'batch') throw notFound('batch', batchId);
    if (!isTerminal(batch.status)) {
      throw illegalState(`batch ${batchId} is ${batch.status}: train on it once it has completed`, {
        batch_id: batchId,
        status: batch.status,
      });
    }
    const jobs = (await this.deps.engine.store.listBatchItems(tenant, batchId)).filter(isCropsJob);
    if (jobs.length === 0) {
      throw invalid(
        'dataset.batch_id',
        batchId,
        'a batch with completed shapes jobs whose output is identity_crops',
        `batch ${batchId} has no completed identity-crops job: generate one with shapes and output identity_crops`,
      );
    }
    return { batchId, jobs };
  }

  async #latestCrops(tenant: string): Promise<{ batchId: string; jobs: GenerationJobRecord[] }> {
    const page = await this.deps.engine.store.list(tenant, { kind: 'batch', limit: RECENT_BATCHES });
    for (const batch of page.items) {
      if (!isTerminal(batch.status)) continue;
      const jobs = (await this.deps.engine.store.listBatchItems(tenant, batch.id)).filter(isCropsJob);
      if (jobs.length > 0) return { batchId: batch.id, jobs };
    }
    throw invalid(
      'dataset',
      undefined,
      'a dataset: {"batch_id": …} or {"s3_prefix": "datasets/…/"}',
      'no dataset: name one, or generate one first (POST /api/v1/batches with shapes and output identity_crops)',
    );
  }
}

function describeDataset(dataset: TrainingRecord['dataset']): string {
  return dataset.batchId ? `batch ${dataset.batchId} (${dataset.identities ?? '?'} identities)` : dataset.key;
}
