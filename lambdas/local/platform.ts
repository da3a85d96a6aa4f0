/**
 * The whole platform in one process: emulators, the same runtime the Lambdas build, the batch
 * workflow on aws-local-stepfunctions, and the API on 127.0.0.1.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { SNSEvent } from 'aws-lambda';
import {
  DEFAULT_INSTANCE_PRICES_USD_PER_HOUR,
  type DeployedModel,
  deployedModels,
  ImageGenerationConfigSchema,
} from '../../contracts/models.ts';
import { TrainingConfigSchema, trainingSettingsOf } from '../../contracts/training.ts';
import { WEBSOCKET_PATH } from '../../contracts/vocabulary.ts';
import { awsClientsFor, createAwsClients } from '../adapters/clients.ts';
import { scanOpenJobs } from '../adapters/dynamo/job-store.ts';
import { type RecoveryReport, recoverOpenJobs } from '../domain/jobs/recovery.ts';
import { CachingKeyStore, createApiKey, DEFAULT_KEY_CACHE_TTL_SECONDS, hashApiKey } from '../domain/keys.ts';
import type { BatchExecutionInput, BatchWorkflow, TrainingExecutionInput } from '../domain/ports.ts';
import { trainingJobPrefix } from '../domain/training/keys.ts';
import { batchRoutes } from '../handlers/api/batches.ts';
import { generatorRoutes } from '../handlers/api/generators.ts';
import { imageRoutes } from '../handlers/api/images.ts';
import { jobRoutes } from '../handlers/api/jobs.ts';
import { publicRoutes } from '../handlers/api/public.ts';
import { trainingRoutes } from '../handlers/api/training.ts';
import { endpointNotificationsTask } from '../handlers/endpoint-notifications.ts';
import { reconcileTask } from '../handlers/reconciler.ts';
import { createApiHandler } from '../http/api-handler.ts';
import { createRuntime, type Runtime, type RuntimeConfig } from '../runtime.ts';
import { logger } from '../shared/logger.ts';
import { generationSocketFor } from '../shared/websocket-entry.ts';
import { type FreeSpaceProbe, LocalDiskSpace } from './disk-space.ts';
import { type RunningEmulators, startEmulators } from './emulators.ts';
import { LocalEventBus } from './event-bus.ts';
import { RateLimiter } from './rate-limiter.ts';
import { SageMakerHost } from './sagemaker-host.ts';
import { createLocalApiServer, listen } from './server.ts';
import { LocalTaskTokens, LocalWorkflow, type LocalWorkflowOptions } from './step-functions.ts';
import { LocalTrainingHost, type LocalTrainingHostOptions } from './training-host.ts';
import { attachWebSocketApi, type LocalWebSocketApi, type LocalWebSocketOptions } from './websocket.ts';
import { WorkerRenderer } from './worker-renderer.ts';

export interface LocalPlatformOptions {
  /** 0: a free port. */
  port?: number;
  host?: string;
  /** Keep state under this folder across restarts; absent: everything in memory / a temp dir. */
  dataDir?: string;
  batchMaxConcurrency?: number;
  rateLimit?: { perSecond: number; burst: number };
  /** Milliseconds between Step Functions retries. */
  retryIntervalMs?: number;
  /** Fault injection for tests: wraps a workflow task function (by placeholder name). */
  wrapTask?: LocalWorkflowOptions['wrapTask'];
  /** An endpoint instance idle this long is stopped (scale to zero). Default 60 s. */
  endpointIdleMs?: number;
  /** Tests: a new endpoint instance waits this long after its first `/ping` (a slow cold start). */
  endpointColdStartDelayMs?: number;
  /** Tests: multiplies the image workflow's HeartbeatSeconds, so that a lost heartbeat shows in ms. */
  heartbeatScale?: number;
  /** How long `POST /generate` waits before answering 202. Default 20 s. */
  imageSyncWaitSeconds?: number;
  /** Tests: WebSocket idle and lifetime limits shorter than API Gateway's 10 min and 2 h. */
  webSocketLimits?: LocalWebSocketOptions['limits'];
  /** The local training host's settings (tests: a short checkpoint sync, fewer torch threads). */
  training?: Pick<LocalTrainingHostOptions, 'checkpointSyncMs' | 'stopGraceMs' | 'env' | 'python'>;
  /** Submissions are refused (503) while the disk holding the data has less free. Default 64 MiB. */
  minFreeBytes?: number;
  /** Tests: how free space is measured (default: statfs of the data folder). */
  freeSpace?: FreeSpaceProbe;
  /**
   * The API's key cache, as the deployed authorizer's: a verified key is trusted for `ttlSeconds`
   * (default 60; 0 asks the keys table on every request), so a revocation takes effect within it.
   * Tests move its clock with `now` (milliseconds).
   */
  keyCache?: { ttlSeconds?: number; now?: () => number };
}

export interface LocalPlatform {
  url: string;
  port: number;
  /** Seed 001's WebSocket endpoint: `ws://host:port/api/v1/ws/generation` (add `?api_key=<key>`). */
  webSocketUrl: string;
  sockets: LocalWebSocketApi;
  devKey: string;
  emulators: RunningEmulators;
  runtime: Runtime;
  workflow: LocalWorkflow<BatchExecutionInput>;
  imageWorkflow: LocalWorkflow<BatchExecutionInput>;
  /** The local SageMaker: its endpoints, their instances, and fault injection. */
  sageMaker: SageMakerHost;
  trainingWorkflow: LocalWorkflow<TrainingExecutionInput>;
  /** The local SageMaker training: each training job a trainer process on CPU. */
  trainingHost: LocalTrainingHost;
  events: LocalEventBus;
  /** Batches and training runs whose execution the last shutdown interrupted, started again. */
  resumedBatches: string[];
  stop(): Promise<void>;
}

export async function startLocalPlatform(options: LocalPlatformOptions = {}): Promise<LocalPlatform> {
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  const emulators = await startEmulators(options.dataDir ? { dataDir: options.dataDir } : {});
  // The endpoint host answers SageMaker's runtime and control plane; it reads and writes S3 itself.
  const hostClients = awsClientsFor(emulators);
  let notify: (event: SNSEvent) => Promise<unknown> = async () => undefined;
  const sageMaker = await SageMakerHost.start({
    s3: hostClients.s3,
    region: emulators.region,
    notify: (event) => notify(event).then(() => undefined),
    log: (message, details) => logger.info(message, details ?? {}),
  });
  for (const model of LOCAL_ENDPOINT_MODELS) {
    const staging = `s3://${emulators.bucketName}/_endpoints/${model.endpointName}`;
    sageMaker.register({
      name: model.endpointName,
      s3OutputPath: `${staging}/output`,
      s3FailurePath: `${staging}/failures`,
      idleShutdownMs: options.endpointIdleMs ?? 60_000,
      ...(options.endpointColdStartDelayMs === undefined
        ? {}
        : { coldStartDelayMs: options.endpointColdStartDelayMs }),
    });
  }
  const leftovers = await sageMaker.removeLeftovers();
  if (leftovers > 0)
    logger.info('removed endpoint responses the last run left staged', { objects: leftovers });
  const clients = createAwsClients({
    region: emulators.region,
    endpoints: {
      dynamodb: emulators.dynamoEndpoint,
      s3: emulators.s3Endpoint,
      sagemaker: sageMaker.endpoint,
    },
  });
  const events = new LocalEventBus(options.dataDir ? join(options.dataDir, 'events.jsonl') : undefined);
  const config: RuntimeConfig = {
    region: emulators.region,
    stage: 'local',
    stateTable: emulators.tableNames.state,
    keysTable: emulators.tableNames.keys,
    bucket: emulators.bucketName,
    batchMaxConcurrency: options.batchMaxConcurrency ?? 4,
    resultUrlTtlSeconds: 900,
    idempotencyTtlSeconds: 86_400,
    workerMemoryMb: 2048,
    // Local results are never deleted: s3rver has no lifecycle rules.
    resultRetentionDays: 36_500,
    cursorSecret: 'synthforge-local-cursor-secret',
    // One local training job at a time is the CPU's worth; the default instance names what it stands for.
    training: trainingSettingsOf(TrainingConfigSchema.parse({ allowedInstanceTypes: ['ml.m5.xlarge'] })),
    images: {
      models: localImageModels(),
      defaultModelId: LOCAL_ENDPOINT_MODELS[0]?.modelId,
      syncWaitSeconds: options.imageSyncWaitSeconds ?? 20,
      requestTtlSeconds: 3600,
    },
  };
  const tokens = new LocalTaskTokens();
  let runtime: Runtime | undefined;
  const workflow = new LocalWorkflow<BatchExecutionInput>({
    jobIdOf: (input) => input.batchId,
    maxConcurrency: config.batchMaxConcurrency,
    retryIntervalMs: options.retryIntervalMs ?? 10,
    ...(options.wrapTask ? { wrapTask: options.wrapTask } : {}),
    onClosedAbnormally: (event) => reconcileTask(requireRuntime(), event),
  });
  const imageWorkflow = new LocalWorkflow<BatchExecutionInput>({
    jobIdOf: (input) => input.batchId,
    machine: 'imageGeneration',
    maxConcurrency: config.batchMaxConcurrency,
    retryIntervalMs: options.retryIntervalMs ?? 10,
    ...(options.heartbeatScale === undefined ? {} : { heartbeatScale: options.heartbeatScale }),
    tokens,
    ...(options.wrapTask ? { wrapTask: options.wrapTask } : {}),
    onClosedAbnormally: (event) => reconcileTask(requireRuntime(), event),
  });
  const trainingHost = new LocalTrainingHost({
    s3: hostClients.s3,
    log: (message, details) => logger.info(message, details ?? {}),
    ...options.training,
  });
  const trainingWorkflow = new LocalWorkflow<TrainingExecutionInput>({
    jobIdOf: (input) => input.taskId,
    machine: 'training',
    maxConcurrency: 1,
    retryIntervalMs: options.retryIntervalMs ?? 10,
    ...(options.wrapTask ? { wrapTask: options.wrapTask } : {}),
    services: {
      'sagemaker:createTrainingJob.sync': (parameters) => trainingHost.run(parameters as never),
    },
    // Stopping the execution stops its training job, as Step Functions does for a `.sync` step.
    onStop: (input) => trainingHost.stop(trainingJobPrefix(input.taskId)),
    onClosedAbnormally: (event) => reconcileTask(requireRuntime(), event),
  });
  // Cancel stops an execution by its id, whichever machine runs it.
  const workflows: BatchWorkflow = {
    start: (input) => workflow.start(input),
    executionIdOf: (batchId) => workflow.executionIdOf(batchId),
    stop: async (executionId, _cause) => {
      await workflow.stop(executionId);
      await imageWorkflow.stop(executionId);
      await trainingWorkflow.stop(executionId);
    },
  };
  const requireRuntime = () => {
    if (!runtime) throw new Error('runtime not ready');
    return runtime;
  };
  const renderer = new WorkerRenderer();
  runtime = createRuntime(config, {
    clients,
    workflow: workflows,
    imageWorkflow,
    trainingWorkflow,
    trainerAvailability: () => trainingHost.available(),
    callbacks: tokens,
    events,
    renderer,
    // Without a data dir, S3's temp dir is what fills up (DynamoDB is in memory).
    capacity: new LocalDiskSpace(
      options.dataDir ?? emulators.s3Directory,
      options.minFreeBytes,
      options.freeSpace,
    ),
  });
  workflow.bind(runtime);
  imageWorkflow.bind(runtime);
  trainingWorkflow.bind(runtime);
  const boundRuntime = runtime;
  notify = (event) => endpointNotificationsTask(boundRuntime, event);

  const rt = runtime;
  const handlers = {
    public: createApiHandler(publicRoutes('local')),
    generators: createApiHandler(generatorRoutes(rt.images.deps.models)),
    batches: createApiHandler(batchRoutes(rt), { idempotency: () => rt.idempotency }),
    jobs: createApiHandler(jobRoutes(rt), { idempotency: () => rt.idempotency }),
    images: createApiHandler(imageRoutes(rt), { idempotency: () => rt.idempotency }),
    training: createApiHandler(trainingRoutes(rt), { idempotency: () => rt.idempotency }),
  };
  const rateLimit = options.rateLimit ?? { perSecond: 50, burst: 100 };
  const server: Server = createLocalApiServer({
    handlers,
    keys: new CachingKeyStore(rt.keys, {
      ttlSeconds: options.keyCache?.ttlSeconds ?? DEFAULT_KEY_CACHE_TTL_SECONDS,
      ...(options.keyCache?.now ? { now: options.keyCache.now } : {}),
    }),
    rateLimiter: new RateLimiter(rateLimit.perSecond, rateLimit.burst),
  });
  const sockets = attachWebSocketApi({
    server,
    // Uncached, as deployed: the WebSocket authorizer runs once per connection, not per message.
    keys: rt.keys,
    events,
    socketFor: (messenger) => generationSocketFor(rt, messenger),
    ...(options.webSocketLimits ? { limits: options.webSocketLimits } : {}),
  });
  const host = options.host ?? '127.0.0.1';
  const port = await listen(server, options.port ?? 0, host);
  const devKey = await ensureDevKey(rt, options.dataDir);
  // Lets `npm run keys` reach this platform's emulators while it runs.
  const endpointsFile = options.dataDir ? join(options.dataDir, ENDPOINTS_FILE) : undefined;
  if (endpointsFile) await writeFile(endpointsFile, JSON.stringify(describeEmulators(emulators), null, 2));
  const recovery = await recoverInterruptedJobs(rt, emulators.tableNames.state, {
    generation: workflow,
    images: imageWorkflow,
    training: trainingWorkflow,
  });

  return {
    url: `http://${host}:${port}`,
    port,
    webSocketUrl: `ws://${host}:${port}${WEBSOCKET_PATH}`,
    sockets,
    devKey,
    emulators,
    runtime: rt,
    workflow,
    imageWorkflow,
    sageMaker,
    trainingWorkflow,
    trainingHost,
    events,
    resumedBatches: recovery.resumed,
    async stop() {
      // Open sockets first: upgraded connections would keep the server from closing.
      await sockets.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections?.();
      // Running executions stop here; their batches resume on the next start with the same data dir.
      await workflow.shutdown();
      const imagesStopped = imageWorkflow.shutdown();
      // Steps waiting on an endpoint end now; their batches resume on the next start.
      tokens.abandonAll();
      await imagesStopped;
      // Trainers are stopped (each checkpoints on SIGTERM); their runs resume from it on the next start.
      const trainingStopped = trainingWorkflow.shutdown();
      await trainingHost.stopAll();
      await trainingStopped;
      // Requests still queued or cut off are dropped, not failed: their jobs re-invoke on the next start.
      await sageMaker.stop({ abandon: true });
      await renderer.close();
      clients.destroy();
      hostClients.destroy();
      if (endpointsFile) await rm(endpointsFile, { force: true });
      await emulators.stop();
    },
  };
}

/**
 * The models the local platform serves: the `shapes` container (containers/shapes-endpoint) on a
 * local asynchronous endpoint. The stage's GPU models are listed too, unable to serve here.
 */
export const LOCAL_ENDPOINT_MODELS: readonly DeployedModel[] = [
  {
    name: 'shapes-endpoint',
    modelId: 'synthforge/shapes',
    description:
      'The procedural shapes generator as a SageMaker-compatible container: words of the prompt pick shape classes and palette; the seed fixes the scene.',
    endpointName: 'synthforge-local-shapes',
    instanceType: 'ml.m5.large',
    usdPerHour: DEFAULT_INSTANCE_PRICES_USD_PER_HOUR['ml.m5.large'] ?? 0.115,
    coldStartSeconds: 5,
    secondsPerImage: 0.5,
    invocationTimeoutSeconds: 120,
    defaultSteps: 20,
    available: true,
  },
];

function localImageModels(): DeployedModel[] {
  const stageModels = deployedModels('local', ImageGenerationConfigSchema.parse({})).map((model) => ({
    ...model,
    available: false,
    unavailableReason:
      'GPU models run on SageMaker endpoints of a deployed stack (npm run deploy); the local platform serves only synthforge/shapes',
  }));
  return [...LOCAL_ENDPOINT_MODELS, ...stageModels];
}

/** Written to the data dir while the platform runs. */
export const ENDPOINTS_FILE = 'endpoints.json';

export interface EmulatorEndpoints {
  region: string;
  dynamoEndpoint: string;
  s3Endpoint: string;
  tableNames: { state: string; keys: string };
  bucketName: string;
}

function describeEmulators(emulators: RunningEmulators): EmulatorEndpoints {
  const { region, dynamoEndpoint, s3Endpoint, tableNames, bucketName } = emulators;
  return { region, dynamoEndpoint, s3Endpoint, tableNames, bucketName };
}

/** The development key: kept (as plain text, in the data dir only) so that it survives restarts. */
async function ensureDevKey(runtime: Runtime, dataDir: string | undefined): Promise<string> {
  const file = dataDir ? join(dataDir, 'dev-api-key') : undefined;
  if (file) {
    const saved = (await readFile(file, 'utf8').catch(() => '')).trim();
    if (saved) {
      const record = await runtime.keys.findByHash(hashApiKey(saved));
      if (record && !record.revokedAt) return saved;
    }
  }
  const { key } = await createApiKey(runtime.keys, {
    tenant: 'dev',
    label: 'local development key',
    now: new Date(),
  });
  if (file) await writeFile(file, `${key}\n`, { mode: 0o600 });
  return key;
}

/**
 * The jobs the last run left open, whatever stopped it, are settled (lambdas/domain/jobs/recovery.ts):
 * batches and training runs start again (their workflows skip jobs that ended and re-run the ones
 * that were interrupted, so nothing is lost), and jobs nothing can resume are closed.
 */
async function recoverInterruptedJobs(
  runtime: Runtime,
  stateTable: string,
  workflows: {
    generation: LocalWorkflow<BatchExecutionInput>;
    images: LocalWorkflow<BatchExecutionInput>;
    training: LocalWorkflow<TrainingExecutionInput>;
  },
): Promise<RecoveryReport> {
  const open = await scanOpenJobs(runtime.clients.dynamo, stateTable);
  const report = await recoverOpenJobs(runtime.engine, open, {
    training: async (job) => {
      // Its next attempt resumes the checkpoint the stopped trainer wrote (PrepareTraining).
      await workflows.training.start({ tenant: job.tenant, taskId: job.id });
      logger.info('resumed an interrupted training run', { taskId: job.id });
    },
    batch: async (batch, items) => {
      // A batch of image jobs runs on the image workflow, any other on the generation workflow.
      const workflow = items.some((job) => job.kind === 'image') ? workflows.images : workflows.generation;
      await workflow.start({
        tenant: batch.tenant,
        batchId: batch.id,
        items: items.map((job) => ({ jobId: job.id })),
      });
      logger.info('resumed an interrupted batch', { batchId: batch.id });
    },
  });
  if (report.closed.length > 0) logger.info('closed jobs the last run left open', { jobs: report.closed });
  return report;
}
