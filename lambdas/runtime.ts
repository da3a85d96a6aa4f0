/**
 * The composition root of the Lambda side: builds the adapters and domain services once per
 * container (or once for the local platform, which passes its own workflow, bus and renderer).
 * Each function is given only the environment its routes need, so every adapter is built on first
 * use, and a missing setting fails loudly there, naming the variable.
 */
import { createHash, randomInt } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DeployedModel } from '../contracts/models.ts';
import type { TrainingSettings } from '../contracts/training.ts';
import { type AwsClients, createAwsClients } from './adapters/clients.ts';
import { DynamoColdStartStore } from './adapters/dynamo/cold-start-store.ts';
import { DynamoIdempotencyStore } from './adapters/dynamo/idempotency-store.ts';
import { DynamoJobStore } from './adapters/dynamo/job-store.ts';
import { DynamoKeyStore } from './adapters/dynamo/key-store.ts';
import { EventBridgeEventPublisher } from './adapters/eventbridge/event-publisher.ts';
import { newJobId } from './adapters/ids.ts';
import { S3BlobStore } from './adapters/s3/blob-store.ts';
import { SageMakerModelEndpoints } from './adapters/sagemaker/model-endpoints.ts';
import { StepFunctionsTaskCallbacks } from './adapters/sfn/task-callbacks.ts';
import { StepFunctionsWorkflow, stopExecution } from './adapters/sfn/workflow.ts';
import { BatchService } from './domain/batches/service.ts';
import { inProcessRenderer, type Renderer } from './domain/generation/renderer.ts';
import { ImageModels, parseDeployedModels } from './domain/images/models.ts';
import { ImageService } from './domain/images/service.ts';
import type { ImageTaskDeps } from './domain/images/workflow-tasks.ts';
import { JobsEngine } from './domain/jobs/engine.ts';
import type {
  BatchExecutionInput,
  BatchWorkflow,
  BlobStore,
  Clock,
  EventPublisher,
  IdempotencyStore,
  JobStore,
  KeyStore,
  StorageCapacity,
  TaskCallbacks,
  TrainingExecutionInput,
  TrainingWorkflow,
} from './domain/ports.ts';
import { TrainingService, type TrainingServiceDeps } from './domain/training/service.ts';
import { parseTrainingSettings } from './domain/training/settings.ts';
import type { TrainingTaskDeps } from './domain/training/workflow-tasks.ts';
import { logger } from './shared/logger.ts';

export interface RuntimeConfig {
  region: string;
  stage: string;
  stateTable?: string;
  keysTable?: string;
  bucket?: string;
  stateMachineArn?: string;
  eventBusName?: string;
  batchMaxConcurrency: number;
  resultUrlTtlSeconds: number;
  idempotencyTtlSeconds: number;
  workerMemoryMb: number;
  /** Days a result stays in the outputs bucket (the bucket's lifecycle rule deletes it then). */
  resultRetentionDays: number;
  /** Signs list cursors (tamper evidence; the tenant binding of a cursor does not depend on it). */
  cursorSecret: string;
  /** The image workflow's state machine (statemachines/image-generation.asl.json). */
  imageStateMachineArn?: string;
  /** Text-to-image: the deployed models and the timing of the workflow's waits. */
  images: ImageRuntimeConfig;
  /** The training workflow's state machine (statemachines/training.asl.json). */
  trainingStateMachineArn?: string;
  /** The stage's training instance, limits and resumes (`TRAINING_SETTINGS`). */
  training?: TrainingSettings;
  /** The KMS key of training volumes (instance types without local storage). */
  trainingVolumeKeyArn?: string;
}

export interface ImageRuntimeConfig {
  models: DeployedModel[];
  defaultModelId?: string;
  /** `POST /generate` waits this long before answering 202. */
  syncWaitSeconds: number;
  /** The longest a queued request waits for an instance before SageMaker drops it (`RequestTTLSeconds`). */
  requestTtlSeconds: number;
}

export interface Runtime {
  readonly config: RuntimeConfig;
  readonly clock: Clock;
  readonly store: JobStore;
  readonly engine: JobsEngine;
  readonly batches: BatchService;
  readonly blobs: BlobStore;
  readonly keys: KeyStore;
  readonly idempotency: IdempotencyStore;
  readonly renderer: Renderer;
  readonly clients: AwsClients;
  readonly images: ImageService;
  /** What the image workflow's steps and the endpoint notifications need. */
  readonly imageTasks: ImageTaskDeps;
  readonly training: TrainingService;
  /** What the training workflow's steps need. */
  readonly trainingTasks: TrainingTaskDeps;
}

export interface RuntimeOverrides {
  clients?: AwsClients;
  workflow?: BatchWorkflow;
  events?: EventPublisher;
  clock?: Clock;
  renderer?: Renderer;
  imageWorkflow?: BatchWorkflow;
  trainingWorkflow?: TrainingWorkflow;
  /** Locally: whether the trainer can run on this machine (python3 with torch). */
  trainerAvailability?: TrainingServiceDeps['trainerAvailability'];
  callbacks?: TaskCallbacks;
  /** Locally: free space on the disk holding the data folder; submissions are refused when it runs low. */
  capacity?: StorageCapacity;
}

const systemClock: Clock = { now: () => new Date() };

/** A value built on first use. */
function once<T>(build: () => T): () => T {
  let value: T | undefined;
  let built = false;
  return () => {
    if (!built) {
      value = build();
      built = true;
    }
    return value as T;
  };
}

function required<T>(value: T | undefined, variable: string): T {
  if (!value) throw new Error(`environment variable ${variable} is not set for this function`);
  return value;
}

export function createRuntime(config: RuntimeConfig, overrides: RuntimeOverrides = {}): Runtime {
  const clients = overrides.clients ?? createAwsClients({ region: config.region });
  const clock = overrides.clock ?? systemClock;
  const capacity = overrides.capacity ? { capacity: overrides.capacity } : {};
  const store = once(
    () =>
      new DynamoJobStore(clients.dynamo, {
        tableName: required(config.stateTable, 'STATE_TABLE'),
        cursorSecret: config.cursorSecret,
        clock,
      }),
  );
  const blobs = once(
    () => new S3BlobStore(clients.s3, { bucket: required(config.bucket, 'OUTPUTS_BUCKET') }),
  );
  const workflow = once(
    () =>
      overrides.workflow ??
      new StepFunctionsWorkflow<BatchExecutionInput>(clients.sfn, {
        stateMachineArn: required(config.stateMachineArn, 'BATCH_STATE_MACHINE_ARN'),
        jobIdOf: (input) => input.batchId,
        maxConcurrency: config.batchMaxConcurrency,
      }),
  );
  const events = once(
    () =>
      overrides.events ??
      new EventBridgeEventPublisher(clients.eventBridge, {
        busName: required(config.eventBusName, 'EVENT_BUS_NAME'),
      }),
  );
  // The engine reaches the workflow only to stop an execution (a cancel), by its ARN, whichever
  // machine runs it: no function needs a state machine ARN to cancel a batch or a training run.
  const lazyWorkflow: BatchWorkflow = {
    start: (input) => workflow().start(input),
    executionIdOf: (batchId) => workflow().executionIdOf(batchId),
    stop: (executionId, cause) =>
      overrides.workflow
        ? overrides.workflow.stop(executionId, cause)
        : stopExecution(clients.sfn, executionId, cause),
  };
  const lazyEvents: EventPublisher = {
    publishJobStateChanges: (batch) => events().publishJobStateChanges(batch),
  };
  const engine = once(
    () =>
      new JobsEngine({
        store: store(),
        events: lazyEvents,
        executions: lazyWorkflow,
        clock,
        report: (message, details) => logger.error(message, details),
      }),
  );
  const batches = once(
    () =>
      new BatchService({
        engine: engine(),
        workflow: lazyWorkflow,
        blobs: blobs(),
        clock,
        newId: () => newJobId(clock.now()),
        newSeed: () => randomInt(0, 2 ** 31 - 1),
        resultUrlTtlSeconds: config.resultUrlTtlSeconds,
        workerMemoryMb: config.workerMemoryMb,
        resultRetentionDays: config.resultRetentionDays,
        ...capacity,
      }),
  );
  const models = once(() => new ImageModels(config.images.models, config.images.defaultModelId));
  const coldStarts = once(
    () => new DynamoColdStartStore(clients.dynamo, { tableName: required(config.stateTable, 'STATE_TABLE') }),
  );
  const endpoints = once(
    () =>
      new SageMakerModelEndpoints(clients.sageMakerRuntime, clients.sageMaker, {
        bucket: required(config.bucket, 'OUTPUTS_BUCKET'),
      }),
  );
  const imageWorkflow = once(
    () =>
      overrides.imageWorkflow ??
      new StepFunctionsWorkflow<BatchExecutionInput>(clients.sfn, {
        stateMachineArn: required(config.imageStateMachineArn, 'IMAGE_STATE_MACHINE_ARN'),
        jobIdOf: (input) => input.batchId,
        maxConcurrency: config.batchMaxConcurrency,
      }),
  );
  const images = once(
    () =>
      new ImageService({
        engine: engine(),
        workflow: imageWorkflow(),
        blobs: blobs(),
        endpoints: endpoints(),
        models: models(),
        coldStarts: coldStarts(),
        clock,
        newId: () => newJobId(clock.now()),
        newSeed: () => randomInt(0, 2 ** 32),
        resultUrlTtlSeconds: config.resultUrlTtlSeconds,
        ...capacity,
      }),
  );
  const imageTasks = once(
    (): ImageTaskDeps => ({
      engine: engine(),
      blobs: blobs(),
      endpoints: endpoints(),
      callbacks: overrides.callbacks ?? new StepFunctionsTaskCallbacks(clients.sfn),
      models: models(),
      coldStarts: coldStarts(),
      clock,
      requestTtlSeconds: config.images.requestTtlSeconds,
      report: (message, details) => logger.error(message, details),
    }),
  );
  const trainingWorkflow = once(
    () =>
      overrides.trainingWorkflow ??
      new StepFunctionsWorkflow<TrainingExecutionInput>(clients.sfn, {
        stateMachineArn: required(config.trainingStateMachineArn, 'TRAINING_STATE_MACHINE_ARN'),
        jobIdOf: (input) => input.taskId,
        maxConcurrency: 1,
      }),
  );
  const training = once(
    () =>
      new TrainingService({
        engine: engine(),
        workflow: trainingWorkflow(),
        blobs: blobs(),
        clock,
        newId: () => newJobId(clock.now()),
        settings: required(config.training, 'TRAINING_SETTINGS'),
        resultUrlTtlSeconds: config.resultUrlTtlSeconds,
        ...(overrides.trainerAvailability ? { trainerAvailability: overrides.trainerAvailability } : {}),
        ...capacity,
      }),
  );
  const trainingTasks = once(
    (): TrainingTaskDeps => ({
      engine: engine(),
      blobs: blobs(),
      settings: required(config.training, 'TRAINING_SETTINGS'),
      ...(config.trainingVolumeKeyArn ? { volumeKeyArn: config.trainingVolumeKeyArn } : {}),
    }),
  );
  const keys = once(
    () => new DynamoKeyStore(clients.dynamo, { tableName: required(config.keysTable, 'KEYS_TABLE') }),
  );
  const idempotency = once(
    () =>
      new DynamoIdempotencyStore(clients.dynamo, {
        tableName: required(config.stateTable, 'STATE_TABLE'),
        ttlSeconds: config.idempotencyTtlSeconds,
      }),
  );
  return {
    config,
    clock,
    clients,
    renderer: overrides.renderer ?? inProcessRenderer,
    get store() {
      return store();
    },
    get engine() {
      return engine();
    },
    get batches() {
      return batches();
    },
    get blobs() {
      return blobs();
    },
    get keys() {
      return keys();
    },
    get idempotency() {
      return idempotency();
    },
    get images() {
      return images();
    },
    get imageTasks() {
      return imageTasks();
    },
    get training() {
      return training();
    },
    get trainingTasks() {
      return trainingTasks();
    },
  };
}

/** Reads the configuration the CDK stack gives each function. */
export async function configFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<RuntimeConfig> {
  const number = (name: string, fallback: number) => {
    const value = Number(env[name] ?? fallback);
    if (!Number.isFinite(value)) throw new Error(`environment variable ${name} must be a number`);
    return value;
  };
  return {
    region: env.AWS_REGION ?? 'us-east-1',
    stage: env.STAGE ?? 'dev',
    ...(env.STATE_TABLE ? { stateTable: env.STATE_TABLE } : {}),
    ...(env.KEYS_TABLE ? { keysTable: env.KEYS_TABLE } : {}),
    ...(env.OUTPUTS_BUCKET ? { bucket: env.OUTPUTS_BUCKET } : {}),
    ...(env.BATCH_STATE_MACHINE_ARN ? { stateMachineArn: env.BATCH_STATE_MACHINE_ARN } : {}),
    ...(env.EVENT_BUS_NAME ? { eventBusName: env.EVENT_BUS_NAME } : {}),
    batchMaxConcurrency: number('BATCH_MAX_CONCURRENCY', 8),
    resultUrlTtlSeconds: number('RESULT_URL_TTL_SECONDS', 900),
    idempotencyTtlSeconds: number('IDEMPOTENCY_TTL_SECONDS', 86_400),
    workerMemoryMb: number('WORKER_MEMORY_MB', 2048),
    resultRetentionDays: number('RESULT_RETENTION_DAYS', 30),
    cursorSecret: await cursorSecretFrom(env),
    ...(env.IMAGE_STATE_MACHINE_ARN ? { imageStateMachineArn: env.IMAGE_STATE_MACHINE_ARN } : {}),
    ...(env.TRAINING_STATE_MACHINE_ARN ? { trainingStateMachineArn: env.TRAINING_STATE_MACHINE_ARN } : {}),
    ...(env.TRAINING_SETTINGS ? { training: parseTrainingSettings(env.TRAINING_SETTINGS) } : {}),
    ...(env.TRAINING_VOLUME_KEY_ARN ? { trainingVolumeKeyArn: env.TRAINING_VOLUME_KEY_ARN } : {}),
    images: {
      models: env.IMAGE_MODELS ? parseDeployedModels(env.IMAGE_MODELS) : [],
      ...(env.IMAGE_DEFAULT_MODEL_ID ? { defaultModelId: env.IMAGE_DEFAULT_MODEL_ID } : {}),
      syncWaitSeconds: number('IMAGE_SYNC_WAIT_SECONDS', 20),
      requestTtlSeconds: number('IMAGE_REQUEST_TTL_SECONDS', 3600),
    },
  };
}

/**
 * The functions that list (and so issue cursors) read the secret the stack generates. The others
 * never issue a cursor; they get a placeholder that nothing relies on.
 */
async function cursorSecretFrom(env: NodeJS.ProcessEnv): Promise<string> {
  if (env.CURSOR_SECRET) return env.CURSOR_SECRET;
  if (env.CURSOR_SECRET_ARN) {
    const client = new SecretsManagerClient({ region: env.AWS_REGION ?? 'us-east-1' });
    try {
      const { SecretString } = await client.send(
        new GetSecretValueCommand({ SecretId: env.CURSOR_SECRET_ARN }),
      );
      return required(SecretString, 'CURSOR_SECRET_ARN (the secret has no string value)');
    } finally {
      client.destroy();
    }
  }
  return createHash('sha256')
    .update(`synthforge-unlisted:${env.AWS_LAMBDA_FUNCTION_NAME ?? 'local'}`)
    .digest('hex');
}

let fromEnv: Promise<Runtime> | undefined;
/** The runtime of this Lambda container, built on first use. */
export function runtimeFromEnv(): Promise<Runtime> {
  fromEnv ??= configFromEnv().then((config) => createRuntime(config));
  // A failed cold start (e.g. the secret could not be read) is retried on the next invocation.
  fromEnv.catch(() => {
    fromEnv = undefined;
  });
  return fromEnv;
}
