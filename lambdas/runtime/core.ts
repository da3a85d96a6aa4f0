/**
 * The core of the Lambda side's composition: the clients, stores and jobs engine every family uses,
 * built once per container (or once for the local platform, which passes its own bus and stopper).
 * Each family adds its own part over it (lambdas/families/<name>/runtime.ts), so a function's bundle
 * carries only its families' adapters. Every adapter is built on first use, and a missing setting
 * fails loudly there, naming the variable.
 */
import { type AwsClients, createAwsClients } from '../adapters/clients.ts';
import { DynamoIdempotencyStore } from '../adapters/dynamo/idempotency-store.ts';
import { DynamoInferenceUsageStore } from '../adapters/dynamo/inference-usage-store.ts';
import { DynamoJobStore } from '../adapters/dynamo/job-store.ts';
import { DynamoKeyStore } from '../adapters/dynamo/key-store.ts';
import { DynamoRateLimitCounter } from '../adapters/dynamo/rate-limit-counter.ts';
import { EventBridgeEventPublisher } from '../adapters/eventbridge/event-publisher.ts';
import { newJobId } from '../adapters/ids.ts';
import { S3BlobStore } from '../adapters/s3/blob-store.ts';
import { stopExecution } from '../adapters/sfn/workflow.ts';
import type { InferenceUsagePort } from '../domain/inference/ports.ts';
import { JobsEngine } from '../domain/jobs/engine.ts';
import type {
  BlobStore,
  Clock,
  EventPublisher,
  ExecutionStopper,
  IdempotencyStore,
  JobStore,
  KeyStore,
  StorageCapacity,
} from '../domain/ports.ts';
import { DEFAULT_RATE_LIMITS, type RateLimits, TenantRateLimiter } from '../domain/rate-limits.ts';
import { logger } from '../shared/logger.ts';
import { cursorSecretFrom, numberFrom, rateLimitsFrom } from './env.ts';

export interface CoreConfig {
  region: string;
  stage: string;
  stateTable?: string;
  keysTable?: string;
  bucket?: string;
  eventBusName?: string;
  resultUrlTtlSeconds: number;
  idempotencyTtlSeconds: number;
  /** Seed 001's requests per minute per tenant for each group of routes. Default: the seed's. */
  rateLimits?: RateLimits;
  /** Signs list cursors (tamper evidence; the tenant binding of a cursor does not depend on it). */
  cursorSecret: string;
}

export interface CoreOverrides {
  clients?: AwsClients;
  events?: EventPublisher;
  clock?: Clock;
  /** Locally: stops an execution of any local machine (a cancel). */
  executions?: ExecutionStopper;
  /** Locally: free space on the disk holding the data folder; submissions are refused when it runs low. */
  capacity?: StorageCapacity;
}

export interface CoreRuntime {
  readonly config: CoreConfig;
  readonly clock: Clock;
  readonly clients: AwsClients;
  readonly store: JobStore;
  readonly engine: JobsEngine;
  readonly blobs: BlobStore;
  readonly keys: KeyStore;
  readonly idempotency: IdempotencyStore;
  /** Seed 001's per-minute limits, counted in the state table (the same counter locally). */
  readonly rateLimiter: TenantRateLimiter;
  /** Each tenant's model calls (seed 003's gateway records them; `GET /api/v1/usage` reports them). */
  readonly inferenceUsage: InferenceUsagePort;
  /** Room for new work, where the platform measures it (locally); absent: always room. */
  readonly capacity: StorageCapacity | undefined;
  /** Stops an execution of any machine by its id. */
  readonly executions: ExecutionStopper;
  /** A new job id (a ULID of now). */
  newId(): string;
  /** Logs a failure that is handled but must be seen. */
  report(message: string, details?: Record<string, unknown>): void;
}

const systemClock: Clock = { now: () => new Date() };

/** A value built on first use. */
export function once<T>(build: () => T): () => T {
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

/** A setting the function needs: absent, it fails naming the variable. */
export function required<T>(value: T | undefined, variable: string): T {
  if (!value) throw new Error(`environment variable ${variable} is not set for this function`);
  return value;
}

export function createCoreRuntime(config: CoreConfig, overrides: CoreOverrides = {}): CoreRuntime {
  const clients = overrides.clients ?? createAwsClients({ region: config.region });
  const clock = overrides.clock ?? systemClock;
  const report = (message: string, details?: Record<string, unknown>) => logger.error(message, details ?? {});
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
  const events = once(
    () =>
      overrides.events ??
      new EventBridgeEventPublisher(clients.eventBridge, {
        busName: required(config.eventBusName, 'EVENT_BUS_NAME'),
      }),
  );
  // The engine reaches a workflow only to stop an execution (a cancel), by its ARN, whichever
  // machine runs it: no function needs a state machine ARN to cancel a job of any family.
  const executions: ExecutionStopper = overrides.executions ?? {
    stop: (executionId, cause) => stopExecution(clients.sfn, executionId, cause),
  };
  const engine = once(
    () =>
      new JobsEngine({
        store: store(),
        events: { publishJobStateChanges: (batch) => events().publishJobStateChanges(batch) },
        executions,
        clock,
        report,
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
  const inferenceUsage = once(
    () =>
      new DynamoInferenceUsageStore(clients.dynamo, {
        tableName: required(config.stateTable, 'STATE_TABLE'),
      }),
  );
  const rateLimiter = once(
    () =>
      new TenantRateLimiter(
        new DynamoRateLimitCounter(clients.dynamo, { tableName: required(config.stateTable, 'STATE_TABLE') }),
        config.rateLimits ?? DEFAULT_RATE_LIMITS,
        { clock, report },
      ),
  );
  return {
    config,
    clock,
    clients,
    capacity: overrides.capacity,
    executions,
    newId: () => newJobId(clock.now()),
    report,
    get store() {
      return store();
    },
    get engine() {
      return engine();
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
    get inferenceUsage() {
      return inferenceUsage();
    },
    get rateLimiter() {
      return rateLimiter();
    },
  };
}

/** Reads the core's configuration from what the CDK stack gives each function. */
export async function coreConfigFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<CoreConfig> {
  return {
    region: env.AWS_REGION ?? 'us-east-1',
    stage: env.STAGE ?? 'dev',
    ...(env.STATE_TABLE ? { stateTable: env.STATE_TABLE } : {}),
    ...(env.KEYS_TABLE ? { keysTable: env.KEYS_TABLE } : {}),
    ...(env.OUTPUTS_BUCKET ? { bucket: env.OUTPUTS_BUCKET } : {}),
    ...(env.EVENT_BUS_NAME ? { eventBusName: env.EVENT_BUS_NAME } : {}),
    resultUrlTtlSeconds: numberFrom(env, 'RESULT_URL_TTL_SECONDS', 900),
    idempotencyTtlSeconds: numberFrom(env, 'IDEMPOTENCY_TTL_SECONDS', 86_400),
    rateLimits: rateLimitsFrom(env),
    cursorSecret: await cursorSecretFrom(env),
  };
}

/** Builds a function's runtime: the core plus the parts of the families its routes or tasks use. */
export type RuntimeBuilder<R> = (core: CoreRuntime, env: NodeJS.ProcessEnv) => R;

/**
 * A Lambda container's runtime, built once on first use from its environment (a failed cold start,
 * e.g. a secret that could not be read, is retried on the next invocation).
 */
export function runtimeFromEnvOnce<R>(build: RuntimeBuilder<R>): () => Promise<R> {
  let built: Promise<R> | undefined;
  return () => {
    if (!built) {
      const building = coreConfigFromEnv().then((config) => build(createCoreRuntime(config), process.env));
      building.catch(() => {
        if (built === building) built = undefined;
      });
      built = building;
    }
    return built;
  };
}

/**
 * One runtime of several parts (the core and family parts), keeping each part's getters: spreading
 * would call them and so build every adapter of every part at once.
 */
export function compose<A extends object, B extends object>(a: A, b: B): A & B;
export function compose<A extends object, B extends object, C extends object>(a: A, b: B, c: C): A & B & C;
export function compose<A extends object, B extends object, C extends object, D extends object>(
  a: A,
  b: B,
  c: C,
  d: D,
): A & B & C & D;
export function compose(...parts: object[]): object {
  return composeParts(parts);
}

/** `compose` over a list of parts (the local platform's, one per registered family). */
export function composeParts(parts: readonly object[]): object {
  const descriptors = parts.map((part) => Object.getOwnPropertyDescriptors(part));
  return Object.defineProperties({}, Object.assign({}, ...descriptors));
}
