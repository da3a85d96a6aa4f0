/**
 * The ports the domain talks through. Adapters implement them over DynamoDB, S3, Step Functions
 * and EventBridge (lambdas/adapters/); the domain never sees an AWS type.
 */
import type { JobPatch, JobRecord, JobStatus, LogEntry } from './jobs/model.ts';

export interface Page<T> {
  items: T[];
  /** Opaque; pass back to get the next page. Bound to the tenant that received it. */
  nextCursor?: string;
}

export interface JobQuery {
  kind?: JobRecord['kind'];
  status?: JobStatus;
  batchId?: string;
  /** ISO-8601; inclusive lower bound on createdAt. */
  since?: string;
  /** ISO-8601; exclusive upper bound on createdAt. */
  until?: string;
  limit: number;
  cursor?: string;
}

export type TransitionOutcome =
  | { applied: true; job: JobRecord; previous: JobStatus }
  | { applied: false; reason: 'not_found' }
  | { applied: false; reason: 'illegal'; job: JobRecord };

/** A log line of a job, written with the job (`JobStore.createUnstarted`). */
export interface JobLogLine {
  tenant: string;
  jobId: string;
  entry: LogEntry;
}

export interface JobStore {
  /** Creates jobs; a job whose id already exists is an error (ids are never reused). */
  create(jobs: JobRecord[]): Promise<void>;
  /**
   * Creates jobs that nothing can reach yet, with their first log lines, in as few requests as the
   * store can: a submission's jobs, before their workflow starts. Unlike `create`, an existing id
   * is not refused, which is safe only for jobs that (1) have ids just drawn (`newJobId`: ULIDs with
   * 80 random bits, which do not collide) and (2) nothing else writes before this returns (their
   * workflow starts after it), so that writing one twice (a retried request) writes the same item.
   */
  createUnstarted(jobs: JobRecord[], logs?: readonly JobLogLine[]): Promise<void>;
  get(tenant: string, id: string): Promise<JobRecord | undefined>;
  /** Newest first. Throws InvalidCursorError on a cursor that another tenant or query produced. */
  list(tenant: string, query: JobQuery): Promise<Page<JobRecord>>;
  /** Every job of a batch, oldest first. */
  listBatchItems(tenant: string, batchId: string): Promise<JobRecord[]>;
  /**
   * Every job of every tenant that has not ended: the one read across tenants, which reads the
   * whole store. For a platform's start, which settles what its last run left open; never for
   * serving a tenant.
   */
  listOpen(): Promise<JobRecord[]>;
  /**
   * One conditional write: applies only if the job's status is one from which `to` is allowed.
   * Increments the version.
   */
  transition(tenant: string, id: string, to: JobStatus, patch?: JobPatch): Promise<TransitionOutcome>;
  /**
   * Changes non-status fields of a job that is not terminal; a patch that would lower `progress`
   * does not apply. With `expectedVersion`, applies only if
   * the version still matches (optimistic concurrency). With `whenStatus`, applies only in that
   * status, terminal or not (a batch's final counts, written once it has ended). Returns undefined
   * when the condition fails.
   */
  update(
    tenant: string,
    id: string,
    patch: JobPatch,
    options?: { expectedVersion?: number; whenStatus?: JobStatus },
  ): Promise<JobRecord | undefined>;
  appendLog(tenant: string, id: string, entries: LogEntry[]): Promise<void>;
  /** The last `tail` entries, oldest first. */
  tailLog(tenant: string, id: string, tail: number): Promise<LogEntry[]>;
}

export interface BlobStore {
  put(key: string, body: Uint8Array, contentType: string): Promise<void>;
  get(key: string): Promise<Uint8Array | undefined>;
  /** Copies an object within the bucket; resolves with its size. */
  copy(fromKey: string, toKey: string, contentType: string): Promise<{ bytes: number }>;
  delete(key: string): Promise<void>;
  /** Bytes of an object, or undefined when there is none. */
  size(key: string): Promise<number | undefined>;
  /**
   * One page of the objects whose keys start with `prefix`, in the order of their keys' UTF-8 bytes
   * (S3's order): at most `limit` (default 1000), only keys after `after` when given. A page shorter
   * than `limit` is the last; the next one starts after the last key of this one.
   */
  list(prefix: string, options?: { after?: string; limit?: number }): Promise<BlobListing[]>;
  /** The bucket's name, for `s3://bucket/key` URIs. */
  readonly bucket: string;
  /** A short-lived GET link. `downloadName` sets Content-Disposition. */
  presignGet(key: string, ttlSeconds: number, downloadName?: string): Promise<string>;
  /** A short-lived PUT link; the upload must send `content-type: contentType`, which is signed. */
  presignPut(key: string, ttlSeconds: number, contentType: string): Promise<string>;
}

/** An object of a listing. */
export interface BlobListing {
  key: string;
  bytes: number;
  /** Absent from S3's listings (ListObjectsV2 returns none); a store that knows it may say. */
  contentType?: string;
}

/**
 * Room to keep new work. Only the local platform has a limit here (its data folder is on a disk that
 * fills up; S3 and DynamoDB do not): submissions are refused while it reports a shortage.
 */
export interface StorageCapacity {
  /** Undefined while there is room; otherwise where it ran short and by how much. */
  shortage(): Promise<StorageShortage | undefined>;
}

export interface StorageShortage {
  /** Where the work would be kept, as the operator knows it (the local platform's data folder). */
  folder: string;
  freeBytes: number;
  /** The free space below which new work is refused. */
  requiredBytes: number;
}

/** What every execution's input carries: the tenant whose job it runs. */
export interface ExecutionInput {
  tenant: string;
}

/** The input of a batch's execution (generation and image batches). */
export interface BatchExecutionInput extends ExecutionInput {
  batchId: string;
  /** Pointers only: the parameters stay in the store, so the input stays far below 256 KiB. */
  items: { jobId: string }[];
}
/** The job a batch's execution runs: the batch (its execution is named after it). */
export const batchJobId = (input: BatchExecutionInput): string => input.batchId;

/**
 * Model endpoints (SageMaker asynchronous inference behind the adapter). An invocation is queued and
 * answered later by a notification; while the endpoint has no instance, it starts one.
 */
export interface ModelEndpoints {
  /**
   * Queues one inference over the request object at `inputKey`. Throws an error named
   * `EndpointThrottled` when the endpoint refuses for now, `EndpointUnavailable` when it cannot serve.
   */
  invokeAsync(request: {
    endpointName: string;
    inputKey: string;
    inferenceId: string;
    invocationTimeoutSeconds: number;
    requestTtlSeconds: number;
  }): Promise<void>;
  /** Serving instances now (0: scaled to zero); undefined when the endpoint does not exist. */
  describe(endpointName: string): Promise<{ status: string; instances: number } | undefined>;
}

/**
 * Cold starts a tenant has seen per endpoint: how long an image waited from its invocation at zero
 * instances to its result. They refine the `warming` estimate, which starts from the model's
 * configured `coldStartSeconds`.
 */
export interface ColdStartStore {
  /** Folds one observation into the endpoint's running estimate. */
  record(tenant: string, endpointName: string, seconds: number, now: Date): Promise<void>;
  /** The running estimate, when this tenant has seen a cold start of the endpoint. */
  estimate(tenant: string, endpointName: string): Promise<number | undefined>;
}

/** Resumes a workflow step that waits for a task token (Step Functions' callback pattern). */
export interface TaskCallbacks {
  succeed(token: string, output: Record<string, unknown>): Promise<void>;
  fail(token: string, error: string, cause: string): Promise<void>;
  heartbeat(token: string): Promise<void>;
}

/** Stops an execution by its id, whichever state machine runs it: all a cancel needs. */
export interface ExecutionStopper {
  stop(executionId: string, cause: string): Promise<void>;
}

/**
 * One state machine's executions, each named after the job it runs (a batch, a training run), so
 * that `start` is idempotent per job.
 */
export interface Workflow<I extends ExecutionInput> extends ExecutionStopper {
  start(input: I): Promise<{ executionId: string }>;
  /**
   * The id `start` gives the execution of job `jobId`, known before it starts, so that the job is
   * stored with it and a cancel can stop the execution from the moment it may exist.
   */
  executionIdOf(jobId: string): string;
}

/** Runs a batch and its items (the generation and image machines). */
export type BatchWorkflow = Workflow<BatchExecutionInput>;

/** The `Job State Change` event, one per applied transition. */
export interface JobStateChange {
  tenant: string;
  jobId: string;
  kind: JobRecord['kind'];
  batchId?: string;
  previousStatus: JobStatus;
  status: JobStatus;
  version: number;
  at: string;
  error?: { code: string; message: string };
}

export interface EventPublisher {
  publishJobStateChanges(events: JobStateChange[]): Promise<void>;
}

export interface StoredResponse {
  status: number;
  body: unknown;
}

export type IdempotencyBegin =
  | { outcome: 'started' }
  | { outcome: 'replay'; response: StoredResponse }
  | { outcome: 'in_flight' }
  | { outcome: 'mismatch' };

export interface IdempotencyStore {
  /**
   * Claims `key` for a request whose body hashes to `fingerprint`. One conditional write: of many
   * concurrent callers exactly one gets `started`.
   */
  begin(tenant: string, key: string, fingerprint: string, now: Date): Promise<IdempotencyBegin>;
  complete(tenant: string, key: string, response: StoredResponse): Promise<void>;
  /** Releases the claim after a failure, so that a retry runs again. */
  abandon(tenant: string, key: string): Promise<void>;
}

export interface ApiKeyRecord {
  /** sha256 of the key, hex. The key itself is never stored. */
  hash: string;
  keyId: string;
  tenant: string;
  /** The API Gateway usage-plan key value the authorizer returns (deployed stacks only). */
  usageKey?: string;
  createdAt: string;
  revokedAt?: string;
  label?: string;
}

export interface KeyStore {
  findByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  create(record: ApiKeyRecord): Promise<void>;
  list(): Promise<ApiKeyRecord[]>;
  revoke(keyId: string, at: string): Promise<ApiKeyRecord | undefined>;
}

export interface Clock {
  now(): Date;
}

/** A WebSocket connection (seed 001's generation socket), opened with a tenant's key. */
export interface SocketConnection {
  tenant: string;
  /** API Gateway's id of the connection (the local platform makes ids of the same shape). */
  connectionId: string;
  /** The key that opened it. */
  keyId?: string;
  connectedAt: string;
  /** API Gateway closes a connection after 2 h; the record expires then too (TTL). */
  expiresAt: string;
}

/** A connection waiting for a job's progress and result. */
export interface JobSubscription {
  tenant: string;
  jobId: string;
  connectionId: string;
  /** The job version whose messages this connection was last sent (0: none yet). */
  deliveredVersion: number;
  expiresAt: string;
}

/** Connections and their subscriptions, tenant-scoped like every record. */
export interface ConnectionStore {
  add(connection: SocketConnection): Promise<void>;
  /** The connection and how many jobs it waits for. */
  get(
    tenant: string,
    connectionId: string,
  ): Promise<(SocketConnection & { subscriptions: number }) | undefined>;
  /** Removes a connection and every subscription it holds. Removing a removed one is a no-op. */
  remove(tenant: string, connectionId: string): Promise<void>;
  /**
   * Subscribes a connection that exists and holds fewer than `maxPerConnection` subscriptions.
   * Returns false otherwise.
   */
  subscribe(subscription: JobSubscription, maxPerConnection: number): Promise<boolean>;
  /** The subscriptions to a job that have not expired at `now`. */
  subscribers(tenant: string, jobId: string, now: Date): Promise<JobSubscription[]>;
  /**
   * Claims the delivery of `version` of a job to a connection: one conditional write, true for
   * exactly one caller per version and never once a later version was claimed (events arrive at
   * least once and in any order).
   */
  claim(tenant: string, jobId: string, connectionId: string, version: number): Promise<boolean>;
  /** Gives back a claim whose messages could not be sent, so that a retry sends them. */
  release(
    tenant: string,
    jobId: string,
    connectionId: string,
    version: number,
    previous: number,
  ): Promise<void>;
  unsubscribe(tenant: string, jobId: string, connectionId: string): Promise<void>;
}

/** Sends to WebSocket clients (API Gateway's `PostToConnection` behind the adapter). */
export interface ConnectionMessenger {
  /** `gone`: the connection no longer exists (API Gateway's 410 GoneException). Other failures throw. */
  send(connectionId: string, data: string): Promise<'sent' | 'gone'>;
}
