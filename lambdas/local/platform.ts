/**
 * The whole platform in one process: the emulated AWS services, the same runtime the Lambdas
 * build, each registered family's machines on aws-local-stepfunctions, and the API on 127.0.0.1.
 * Everything family-specific comes from the registered families (./families/index.ts).
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { SNSEvent } from 'aws-lambda';
import { ROUTE_FAMILIES, type RouteFamily, type StateMachineName } from '../../contracts/families/index.ts';
import { WEBSOCKET_PATH } from '../../contracts/vocabulary.ts';
import { awsClientsFor, createAwsClients } from '../adapters/clients.ts';
import { recoverOpenJobs } from '../domain/jobs/recovery.ts';
import { CachingKeyStore, createApiKey, DEFAULT_KEY_CACHE_TTL_SECONDS, hashApiKey } from '../domain/keys.ts';
import type { ExecutionInput } from '../domain/ports.ts';
import { parseRateLimits, type RateLimits } from '../domain/rate-limits.ts';
import { reconcileTask } from '../handlers/reconciler.ts';
import { type ApiHandler, createApiHandler, type RouteBinding } from '../http/api-handler.ts';
import {
  createStreamingApiHandler,
  type StreamingApiHandler,
  type StreamRouteBinding,
} from '../http/stream-handler.ts';
import { type CoreRuntime, composeParts, createCoreRuntime } from '../runtime/core.ts';
import { logger } from '../shared/logger.ts';
import { generationSocketFor } from '../shared/websocket-entry.ts';
import { RateLimiter } from './apigateway/rate-limiter.ts';
import { createLocalApiServer } from './apigateway/server.ts';
import {
  attachWebSocketApi,
  type LocalWebSocketApi,
  type LocalWebSocketOptions,
} from './apigateway/websocket.ts';
import type { BedrockRuntime } from './bedrock/runtime.ts';
import { type FreeSpaceProbe, LocalDiskSpace } from './disk-space.ts';
import { LocalEventBus } from './eventbridge/event-bus.ts';
import type { LocalMachine, StartedLocalFamily } from './families/family.ts';
import { LOCAL_FAMILIES, type PlatformRuntime } from './families/index.ts';
import { type BedrockMode, startLocalModels } from './local-models.ts';
import { type InstanceLauncher, SageMakerHost } from './sagemaker/host.ts';
import { LocalTrainingHost, type LocalTrainingHostOptions } from './sagemaker/training-jobs.ts';
import type { LocalWorkflowOptions } from './stepfunctions/runner.ts';
import {
  describeEmulators,
  ENDPOINTS_FILE,
  type RunningEmulators,
  startEmulators,
} from './storage/emulators.ts';
import { listen } from './support/http.ts';

export type { PlatformRuntime };

export interface LocalPlatformOptions {
  /** 0: a free port. */
  port?: number;
  host?: string;
  /** Keep state under this folder across restarts; absent: everything in memory / a temp dir. */
  dataDir?: string;
  /** Jobs of a batch each machine runs at once. Default 4. */
  batchMaxConcurrency?: number;
  /**
   * The usage plan's per-key token bucket, as API Gateway throttles (./apigateway/rate-limiter.ts).
   * Default 50 per second, burst 100.
   */
  rateLimit?: { perSecond: number; burst: number };
  /**
   * Seed 001's requests per minute per tenant for each group of routes, counted by the same
   * DynamoDB counter as deployed (a stage's `rateLimits`). A group left out keeps the seed's number.
   */
  rateLimits?: Partial<RateLimits>;
  /** Milliseconds between Step Functions retries. */
  retryIntervalMs?: number;
  /** Fault injection for tests: wraps a workflow task function (by placeholder name). */
  wrapTask?: LocalWorkflowOptions<ExecutionInput, PlatformRuntime>['wrapTask'];
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
  /**
   * Avatar jobs (seed 004): those reading more CSV than `workerThreadsMaxInputBytes` (default: what
   * the deployed 10 GB function takes) run as local SageMaker Processing jobs of the avatarizer's
   * code, as a deployed stage runs them (tests: 0 sends every job that way).
   */
  avatars?: { workerThreadsMaxInputBytes?: number };
  /**
   * Seed 001's dataset routes: a stage's `datasets` settings (lib/config.ts), and for tests how long
   * a dataset job's step works before it hands over to the next (default 10 minutes).
   */
  datasets?: {
    allowPublicRead?: boolean;
    exportBuckets?: string[];
    exportBucketTenants?: Record<string, string[]>;
    requirePrivacyValidation?: boolean;
    syncExportLimit?: number;
    sliceMs?: number;
  };
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
  /**
   * The inference gateway's models (seed 003): how Bedrock is reached (default `off`; `npm start`
   * picks `emulate` with `--emulate-bedrock`, `aws` when the environment has credentials), and the
   * local EMD components' copies at start (default 0: nothing spawns until a call; `npm start` warms
   * one), idle time to scale in (Bedrock's hold on the local model too) and wake delay. `launcher`
   * replaces the local vision model's process (tests).
   */
  inference?: {
    bedrock?: BedrockMode;
    initialCopies?: number;
    idleScaleInMs?: number;
    wakeDelayMs?: number;
    /** A model call's deadline, retries included (default 25 s, inside API Gateway's 29 s). */
    deadlineMs?: number;
    launcher?: InstanceLauncher;
  };
}

export interface LocalPlatform {
  url: string;
  port: number;
  /** Seed 001's WebSocket endpoint: `ws://host:port/api/v1/ws/generation` (add `?api_key=<key>`). */
  webSocketUrl: string;
  sockets: LocalWebSocketApi;
  devKey: string;
  emulators: RunningEmulators;
  runtime: PlatformRuntime;
  /** The local runner of each registered family's state machines. */
  workflows: Readonly<Record<StateMachineName, LocalMachine<PlatformRuntime>>>;
  /** The local SageMaker: its endpoints, their instances, and fault injection. */
  sageMaker: SageMakerHost;
  /** The local SageMaker's training jobs: each a trainer process on CPU. */
  trainingHost: LocalTrainingHost;
  /** The local Bedrock Runtime, when Bedrock is emulated (fault injection for tests). */
  bedrock: BedrockRuntime | undefined;
  events: LocalEventBus;
  /** Jobs that own executions (batches, training runs) the last shutdown interrupted, started again. */
  resumedJobs: string[];
  stop(): Promise<void>;
}

export async function startLocalPlatform(options: LocalPlatformOptions = {}): Promise<LocalPlatform> {
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  const emulators = await startEmulators(options.dataDir ? { dataDir: options.dataDir } : {});
  // The emulated SageMaker answers its runtime and control plane, and reads and writes S3 itself.
  const hostClients = awsClientsFor(emulators);
  const notificationHandlers: ((event: SNSEvent) => Promise<unknown>)[] = [];
  const sageMaker = await SageMakerHost.start({
    s3: hostClients.s3,
    region: emulators.region,
    notify: async (event) => {
      for (const handle of notificationHandlers) await handle(event);
    },
    log: (message, details) => logger.info(message, details ?? {}),
  });
  const localModels = await startLocalModels(
    {
      bedrock: options.inference?.bedrock ?? 'off',
      ...(options.inference?.launcher ? { launcher: options.inference.launcher } : {}),
      // Bedrock lets go of the shared model when idle as long as the EMD components do.
      ...(options.inference?.idleScaleInMs === undefined
        ? {}
        : { bedrockIdleMs: options.inference.idleScaleInMs }),
    },
    (message, details) => logger.info(message, details ?? {}),
  );
  const trainingHost = new LocalTrainingHost({
    s3: hostClients.s3,
    log: (message, details) => logger.info(message, details ?? {}),
    ...options.training,
  });
  const clients = createAwsClients({
    region: emulators.region,
    endpoints: {
      dynamodb: emulators.dynamoEndpoint,
      s3: emulators.s3Endpoint,
      sagemaker: sageMaker.endpoint,
    },
  });
  const events = new LocalEventBus(options.dataDir ? join(options.dataDir, 'events.jsonl') : undefined);
  const machines: Partial<Record<StateMachineName, LocalMachine<PlatformRuntime>>> = {};
  const core = createCoreRuntime(
    {
      region: emulators.region,
      stage: 'local',
      stateTable: emulators.tableNames.state,
      keysTable: emulators.tableNames.keys,
      bucket: emulators.bucketName,
      resultUrlTtlSeconds: 900,
      idempotencyTtlSeconds: 86_400,
      rateLimits: parseRateLimits(options.rateLimits ?? {}, 'the local platform option rateLimits'),
      cursorSecret: 'synthforge-local-cursor-secret',
    },
    {
      clients,
      events,
      // Cancel stops an execution by its id, whichever family's machine runs it.
      executions: {
        stop: async (executionId) => {
          for (const machine of Object.values(machines)) await machine.stop(executionId);
        },
      },
      // Without a data dir, S3's temp dir is what fills up (DynamoDB is in memory).
      capacity: new LocalDiskSpace(
        options.dataDir ?? emulators.s3Directory,
        options.minFreeBytes,
        options.freeSpace,
      ),
    },
  );
  let runtime: PlatformRuntime | undefined;
  const requireRuntime = () => {
    if (!runtime) throw new Error('runtime not ready');
    return runtime;
  };
  const started: StartedLocalFamily<object, PlatformRuntime>[] = [];
  for (const family of LOCAL_FAMILIES) {
    started.push(
      await family.start({
        options: { ...options, batchMaxConcurrency: options.batchMaxConcurrency ?? 4 },
        emulators,
        sageMaker,
        trainingJobs: trainingHost,
        localModels,
        endpointNotifications: { subscribe: (handler) => notificationHandlers.push(handler) },
        jobEvents: events,
        core,
        runnerDefaults: {
          retryIntervalMs: options.retryIntervalMs ?? 10,
          ...(options.wrapTask ? { wrapTask: options.wrapTask } : {}),
          onClosedAbnormally: (event) => reconcileTask(requireRuntime(), event),
          runtime: requireRuntime,
        },
        runtime: requireRuntime,
      }),
    );
  }
  for (const family of started) Object.assign(machines, family.workflows);
  // Every registered family's part. The cast names what LOCAL_FAMILIES build (PlatformRuntime, written
  // beside them); the registry test binds every route and task function over this very runtime.
  runtime = composeParts([core, ...started.map((family) => family.part)]) as PlatformRuntime;
  const rt = runtime;

  // Stopping cuts the streams still open: the server could not close while they are.
  const stopping = new AbortController();
  const server: Server = createLocalApiServer({
    ...routeHandlers(rt),
    stopping: stopping.signal,
    keys: new CachingKeyStore(rt.keys, {
      ttlSeconds: options.keyCache?.ttlSeconds ?? DEFAULT_KEY_CACHE_TTL_SECONDS,
      ...(options.keyCache?.now ? { now: options.keyCache.now } : {}),
    }),
    rateLimiter: new RateLimiter(options.rateLimit?.perSecond ?? 50, options.rateLimit?.burst ?? 100),
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
  // An error of the listening server (a socket it could not accept) is told, never fatal to the platform.
  server.on('error', (error) => logger.error('the local API server reported an error', { error }));
  const devKey = await ensureDevKey(rt, options.dataDir);
  // Lets `npm run keys` reach this platform's emulators while it runs.
  const endpointsFile = options.dataDir ? join(options.dataDir, ENDPOINTS_FILE) : undefined;
  if (endpointsFile) await writeFile(endpointsFile, JSON.stringify(describeEmulators(emulators), null, 2));
  // The jobs the last run left open, whatever stopped it, are settled (lambdas/domain/jobs/recovery.ts):
  // each family resumes the jobs it owns, and jobs nothing can resume are closed.
  const recovery = await recoverOpenJobs(
    rt.engine,
    await rt.store.listOpen(),
    started.flatMap((family) => family.resumers),
  );
  if (recovery.closed.length > 0)
    logger.info('closed jobs the last run left open', { jobs: recovery.closed });

  return {
    url: `http://${host}:${port}`,
    port,
    webSocketUrl: `ws://${host}:${port}${WEBSOCKET_PATH}`,
    sockets,
    devKey,
    emulators,
    runtime: rt,
    workflows: machines as Record<StateMachineName, LocalMachine<PlatformRuntime>>,
    sageMaker,
    trainingHost,
    bedrock: localModels.bedrock,
    events,
    resumedJobs: recovery.resumed,
    async stop() {
      // Open sockets first: upgraded connections would keep the server from closing.
      await sockets.close();
      stopping.abort();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections?.();
      // Each family stops its executions; their jobs stay open and resume on the next start.
      for (const family of started) await family.stop();
      // Then the emulated services, whichever family used them: a trainer no family stopped (none
      // is left once the training family has stopped) would outlive the platform.
      await trainingHost.stopAll();
      // Requests still queued or cut off are dropped, not failed: their jobs re-invoke on the next start.
      await sageMaker.stop({ abandon: true });
      await localModels.stop();
      clients.destroy();
      hostClients.destroy();
      if (endpointsFile) await rm(endpointsFile, { force: true });
      await emulators.stop();
    },
  };
}

/**
 * One handler per route family, from the families that register them: an API handler, or a streaming
 * one for the route families that stream. A route family left unserved fails the start.
 */
function routeHandlers(runtime: PlatformRuntime): {
  handlers: Partial<Record<RouteFamily, ApiHandler>>;
  streamHandlers: Partial<Record<RouteFamily, StreamingApiHandler>>;
} {
  const handlers: Partial<Record<RouteFamily, ApiHandler>> = {};
  const streamHandlers: Partial<Record<RouteFamily, StreamingApiHandler>> = {};
  for (const family of LOCAL_FAMILIES) {
    for (const [routeFamily, bindings] of Object.entries(family.lambdas.routes) as [
      RouteFamily,
      ((runtime: PlatformRuntime) => RouteBinding[]) | undefined,
    ][])
      if (bindings)
        handlers[routeFamily] = createApiHandler(bindings(runtime), {
          idempotency: () => runtime.idempotency,
          rateLimiter: () => runtime.rateLimiter,
        });
    for (const [routeFamily, bindings] of Object.entries(family.lambdas.streamRoutes ?? {}) as [
      RouteFamily,
      ((runtime: PlatformRuntime) => StreamRouteBinding[]) | undefined,
    ][])
      if (bindings) streamHandlers[routeFamily] = createStreamingApiHandler(bindings(runtime));
  }
  const unserved = ROUTE_FAMILIES.filter((f) => handlers[f] === undefined && streamHandlers[f] === undefined);
  if (unserved.length > 0)
    throw new Error(`no registered family serves the route families ${unserved.join(', ')}`);
  return { handlers, streamHandlers };
}

/** The development key: kept (as plain text, in the data dir only) so that it survives restarts. */
async function ensureDevKey(runtime: CoreRuntime, dataDir: string | undefined): Promise<string> {
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
