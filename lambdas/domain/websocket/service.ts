/**
 * Seed 001's generation socket: a tenant's connection sends `generate` messages and is sent the
 * progress and result of each job it started, or `subscribe` messages to follow jobs its tenant
 * started earlier (on a connection that has gone). The same code serves API Gateway's WebSocket API
 * (routes and an EventBridge rule, lambdas/handlers/websocket/) and the local platform's socket
 * (lambdas/local/apigateway/websocket.ts).
 *
 * Delivery: every `Job State Change` of an image job reaches `push`, which reads the job and sends
 * its state to each connection subscribed to it. A subscription records the last job version it
 * was sent (one conditional write claims each version), so events delivered twice or out of order
 * never repeat a message or send an older state after a newer one. A connection that has gone
 * (API Gateway's 410) is removed with its subscriptions at once, never retried.
 */
import type { GenerateRequest } from '../../../contracts/images.ts';
import { WEBSOCKET_LIMITS } from '../../../contracts/vocabulary.ts';
import type { ServerMessage } from '../../../contracts/websocket.ts';
import { DomainError, notFound } from '../errors.ts';
import { isTerminal } from '../jobs/lifecycle.ts';
import type { JobRecord } from '../jobs/model.ts';
import type {
  Clock,
  ConnectionMessenger,
  ConnectionStore,
  JobStateChange,
  JobStore,
  JobSubscription,
  SocketConnection,
} from '../ports.ts';
import { encodeServerMessage, errorMessageOf, progressOf } from './messages.ts';

export interface GenerationSocketDeps {
  connections: ConnectionStore;
  messenger: ConnectionMessenger;
  jobs: Pick<JobStore, 'get'>;
  /** Validates, stores and starts one image job (`ImageService.generate`). */
  generate: (tenant: string, request: GenerateRequest) => Promise<{ job: JobRecord; batch: JobRecord }>;
  /** The image of a completed job, or the error `GET /generate/{id}` answers (`presentImage`). */
  image: (job: JobRecord) => Promise<{ image_path: string; image_url: string }>;
  clock: Clock;
  /** Where failures of best-effort clean-ups go. */
  report: (message: string, details: Record<string, unknown>) => void;
  /** @default WEBSOCKET_LIMITS.connectionSeconds (API Gateway's 2 h) */
  connectionSeconds?: number;
  /** Jobs one connection may wait for at once. @default 100 */
  maxJobsPerConnection?: number;
}

/** Who sent a message: the tenant comes from the authorizer of the connection, never from a message. */
export interface SocketCaller {
  tenant: string;
  connectionId: string;
}

export type Delivery = 'sent' | 'skipped' | 'gone';

const DEFAULT_MAX_JOBS_PER_CONNECTION = 100;

export class GenerationSocket {
  readonly #maxJobs: number;

  constructor(readonly deps: GenerationSocketDeps) {
    this.#maxJobs = deps.maxJobsPerConnection ?? DEFAULT_MAX_JOBS_PER_CONNECTION;
  }

  /** Records a connection the authorizer let in (`$connect`); it expires when API Gateway closes it. */
  async connect(caller: SocketCaller & { keyId?: string }): Promise<SocketConnection> {
    const now = this.deps.clock.now();
    const seconds = this.deps.connectionSeconds ?? WEBSOCKET_LIMITS.connectionSeconds;
    const connection: SocketConnection = {
      tenant: caller.tenant,
      connectionId: caller.connectionId,
      ...(caller.keyId ? { keyId: caller.keyId } : {}),
      connectedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + seconds * 1000).toISOString(),
    };
    await this.deps.connections.add(connection);
    return connection;
  }

  /** `$disconnect`: the connection and its subscriptions go; the jobs it started run on. */
  async disconnect(caller: SocketCaller): Promise<void> {
    await this.deps.connections.remove(caller.tenant, caller.connectionId);
  }

  /**
   * Starts one image job and subscribes the connection to it: `accepted`, then the job's state as it
   * stands (a fast job may have moved on before the subscription was written), then whatever
   * `push` delivers. A request that is refused stores nothing and is answered with `error`.
   */
  async generate(caller: SocketCaller, request: GenerateRequest, requestId?: string): Promise<void> {
    const { tenant, connectionId } = caller;
    const echo = requestId ? { request_id: requestId } : {};
    const connection = await this.#openConnection(caller, requestId);
    if (!connection) return;
    if (connection.subscriptions >= this.#maxJobs) {
      await this.refuse(caller, this.#tooManyJobs(), requestId);
      return;
    }
    let started: { job: JobRecord; batch: JobRecord };
    try {
      started = await this.deps.generate(tenant, request);
    } catch (error) {
      if (!(error instanceof DomainError)) this.deps.report('a generate message failed', { error });
      await this.refuse(caller, error, requestId);
      return;
    }
    const { job, batch } = started;
    const accepted: ServerMessage = { type: 'accepted', job_id: job.id, batch_id: batch.id, ...echo };
    if ((await this.#send(caller, accepted)) === 'gone') return;
    const subscription: JobSubscription = {
      tenant,
      jobId: job.id,
      connectionId,
      deliveredVersion: 0,
      expiresAt: connection.expiresAt,
    };
    if (!(await this.deps.connections.subscribe(subscription, this.#maxJobs))) return;
    const current = await this.deps.jobs.get(tenant, job.id);
    if (current)
      await this.#deliver(
        current,
        subscription,
        once(() => this.#messagesFor(current)),
      );
  }

  /**
   * Follows jobs of the caller's tenant by id, typically those a client started on an earlier
   * connection: each is subscribed, then its state as it stands is delivered as after `generate`
   * (progress; the result or error of a job that has ended), and `push` sends every later change.
   * The delivery claims hold as for any push: a state this connection was already sent goes out
   * no second time, and none goes out after a newer one. An id that names no image job of the
   * tenant is answered NOT_FOUND, exactly as an unknown id is, so that another tenant's ids tell
   * nothing. Ids are served in the order given, one at a time.
   */
  async subscribe(caller: SocketCaller, jobIds: readonly string[], requestId?: string): Promise<void> {
    const connection = await this.#openConnection(caller, requestId);
    if (!connection) return;
    for (const jobId of jobIds) {
      let outcome: Delivery;
      try {
        outcome = await this.#follow(caller, connection.expiresAt, jobId, requestId);
      } catch (error) {
        // Said for this id alone (nothing internal in it); the other ids are still served.
        this.deps.report('a subscribe message failed for one job', { jobId, error });
        outcome = await this.#send(caller, errorMessageOf(error, { job_id: jobId, request_id: requestId }));
      }
      if (outcome === 'gone') return;
    }
  }

  /** Answers `ping` (an idle connection is closed after 10 minutes without a client message). */
  async ping(caller: SocketCaller, requestId?: string): Promise<void> {
    await this.#send(caller, { type: 'pong', ...(requestId ? { request_id: requestId } : {}) });
  }

  /** Answers a message that cannot be served with `error`, in the REST API's vocabulary. */
  async refuse(caller: SocketCaller, error: unknown, requestId?: string): Promise<void> {
    await this.#send(caller, errorMessageOf(error, requestId ? { request_id: requestId } : {}));
  }

  /**
   * Sends a job's state to every connection waiting for it. Throws, after trying every connection,
   * when a message could not be sent for another reason than the connection being gone: the event
   * is then retried, and only the connections that missed it are sent it again.
   */
  async push(change: JobStateChange): Promise<{ delivered: number; gone: number }> {
    if (change.kind !== 'image') return { delivered: 0, gone: 0 };
    const subscriptions = await this.deps.connections.subscribers(
      change.tenant,
      change.jobId,
      this.deps.clock.now(),
    );
    if (subscriptions.length === 0) return { delivered: 0, gone: 0 };
    // The record, not the event: a late event then carries the latest state, which is claimed once.
    const job = await this.deps.jobs.get(change.tenant, change.jobId);
    if (!job) return { delivered: 0, gone: 0 };
    const messages = once(() => this.#messagesFor(job));
    const outcomes = await Promise.allSettled(
      subscriptions.map((subscription) => this.#deliver(job, subscription, messages)),
    );
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    const delivered = outcomes.filter(
      (outcome) => outcome.status === 'fulfilled' && outcome.value === 'sent',
    );
    const gone = outcomes.filter((outcome) => outcome.status === 'fulfilled' && outcome.value === 'gone');
    return { delivered: delivered.length, gone: gone.length };
  }

  /** Subscribes the connection to one job of its tenant and delivers the job as it stands. */
  async #follow(
    caller: SocketCaller,
    expiresAt: string,
    jobId: string,
    requestId: string | undefined,
  ): Promise<Delivery> {
    const { tenant, connectionId } = caller;
    const context = { job_id: jobId, ...(requestId ? { request_id: requestId } : {}) };
    // Read before subscribing, so that no id that names nothing of this tenant's is ever written.
    const found = await this.deps.jobs.get(tenant, jobId);
    if (found?.kind !== 'image') return this.#send(caller, errorMessageOf(notFound('job', jobId), context));
    const subscription: JobSubscription = { tenant, jobId, connectionId, deliveredVersion: 0, expiresAt };
    if (!(await this.deps.connections.subscribe(subscription, this.#maxJobs))) {
      return this.#send(caller, errorMessageOf(this.#tooManyJobs(), context));
    }
    // Read again: a change between the first read and the subscription reached no push.
    const current = await this.deps.jobs.get(tenant, jobId);
    if (!current) return 'skipped';
    return this.#deliver(
      current,
      subscription,
      once(() => this.#messagesFor(current)),
    );
  }

  /** The connection's record, or undefined (and UNAUTHORIZED said) when it expired or never was. */
  async #openConnection(caller: SocketCaller, requestId: string | undefined) {
    const connection = await this.deps.connections.get(caller.tenant, caller.connectionId);
    if (connection && Date.parse(connection.expiresAt) > this.deps.clock.now().getTime()) return connection;
    await this.refuse(
      caller,
      new DomainError('UNAUTHORIZED', 'this connection is not open any more: connect again'),
      requestId,
    );
    return undefined;
  }

  #tooManyJobs(): DomainError {
    return new DomainError(
      'RATE_LIMITED',
      `this connection already waits for ${this.#maxJobs} images: wait for their results or open another connection`,
      { limit: this.#maxJobs },
    );
  }

  async #deliver(
    job: JobRecord,
    subscription: JobSubscription,
    messages: () => Promise<ServerMessage[]>,
  ): Promise<Delivery> {
    const { tenant, connectionId } = subscription;
    const previous = subscription.deliveredVersion;
    if (job.version <= previous) return 'skipped';
    if (!(await this.deps.connections.claim(tenant, job.id, connectionId, job.version))) return 'skipped';
    try {
      for (const message of await messages()) {
        const outcome = await this.deps.messenger.send(connectionId, encodeServerMessage(message));
        if (outcome === 'gone') {
          await this.#forget(subscription);
          return 'gone';
        }
      }
    } catch (error) {
      // Given back, so that the retried event sends this version again.
      await this.deps.connections
        .release(tenant, job.id, connectionId, job.version, previous)
        .catch((releaseError) =>
          this.deps.report('could not release a delivery claim', { jobId: job.id, error: releaseError }),
        );
      throw error;
    }
    if (isTerminal(job.status)) await this.deps.connections.unsubscribe(tenant, job.id, connectionId);
    return 'sent';
  }

  /** Progress while the job runs; on completion the last progress and the result; else the error. */
  async #messagesFor(job: JobRecord): Promise<ServerMessage[]> {
    if (!isTerminal(job.status)) return [progressOf(job)];
    try {
      const image = await this.deps.image(job);
      const prompt = job.kind === 'image' ? job.params.prompt : '';
      return [progressOf(job), { type: 'result', job_id: job.id, ...image, prompt }];
    } catch (error) {
      // A failed or cancelled job is answered as GET /generate/{id} answers it; anything else retries.
      if (!(error instanceof DomainError)) throw error;
      return [errorMessageOf(error, { job_id: job.id, status: job.status })];
    }
  }

  /** Sends one message that belongs to no job delivery; a connection found gone is removed. */
  async #send(caller: SocketCaller, message: ServerMessage): Promise<'sent' | 'gone'> {
    const outcome = await this.deps.messenger.send(caller.connectionId, encodeServerMessage(message));
    if (outcome === 'gone') {
      await this.deps.connections
        .remove(caller.tenant, caller.connectionId)
        .catch((error) => this.deps.report('could not remove a gone connection', { ...caller, error }));
    }
    return outcome;
  }

  /** A gone connection: removed with every subscription, and this one even if the connection lost track of it. */
  async #forget(subscription: JobSubscription): Promise<void> {
    const { tenant, jobId, connectionId } = subscription;
    try {
      await this.deps.connections.remove(tenant, connectionId);
      await this.deps.connections.unsubscribe(tenant, jobId, connectionId);
    } catch (error) {
      // Expiry removes them anyway (TTL); retrying the post would only meet 410 again.
      this.deps.report('could not remove a gone connection', { tenant, connectionId, error });
    }
  }
}

/** A promise made on first call and shared after it. */
function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => {
    made ??= make();
    return made;
  };
}
