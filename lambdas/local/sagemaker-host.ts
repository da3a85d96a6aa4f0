/**
 * A local SageMaker asynchronous inference endpoint host: one HTTP server that the real AWS SDK v3
 * clients talk to through an `endpoint` override, and that runs inference containers' own servers
 * (`GET /ping`, `POST /invocations`) as the endpoints' instances. It emulates AWS behaviour only and
 * knows nothing of jobs or generators.
 *
 * What it answers, as the SDK serializes and deserializes it:
 * - SageMaker Runtime `InvokeEndpointAsync` (restJson1): `POST /endpoints/{EndpointName}/async-invocations`
 *   with `X-Amzn-SageMaker-InputLocation` (or an inline body of at most 128,000 bytes),
 *   `-Content-Type`, `-Accept`, `-Custom-Attributes`, `-Inference-Id`, `-RequestTTLSeconds`,
 *   `-InvocationTimeoutSeconds`, `-S3OutputPathExtension`, `-Filename`. It answers 202 at once with
 *   `X-Amzn-SageMaker-OutputLocation`, `X-Amzn-SageMaker-FailureLocation` (when the endpoint has a
 *   failure path) and `{"InferenceId": ...}`, and queues the request.
 * - SageMaker `DescribeEndpoint` (awsJson1_1, `X-Amz-Target: SageMaker.DescribeEndpoint` on `POST /`):
 *   `ProductionVariants[0].CurrentInstanceCount` / `DesiredInstanceCount` tell a cold endpoint (0)
 *   from a serving one, and `EndpointStatus` is `Updating` while an instance starts or stops (scaling
 *   goes through UpdateEndpointWeightsAndCapacities, which sets it), `InService` otherwise.
 * - Errors as SageMaker sends them: an unknown endpoint is `ValidationError` 400 "Endpoint X of
 *   account Y not found."; a throttle is 400 with `x-amzn-ErrorType: ThrottlingException` and the
 *   body `{"message":null}` (reliability matrix F9), which the SDK surfaces as an error named
 *   `ThrottlingException` with status 400 and retries as a throttle.
 *
 * The asynchronous contract: a queued request waits for a free slot (at most `maxConcurrency` per
 * instance); with no instance running one is started (the cold start: launch, `GET /ping` until 200,
 * then `coldStartDelayMs`). The input is read from S3 (or the inline body), posted to the instance's
 * `/invocations` with the request's content type, accept and custom attributes, and the answer is
 * written to `<S3OutputPath>/<uuid>.out`; a non-2xx answer, a timeout
 * (`InvocationTimeoutSeconds`, default 900), a crash or a request that waited longer than
 * `RequestTTLSeconds` (default 21,600) writes the error to `<S3FailurePath>/<uuid>-error.out`
 * instead. Either way the notification SageMaker publishes to the endpoint's success or error topic
 * is delivered as the SNS -> Lambda event a subscribed function receives, through `notify`. An
 * instance idle for `idleShutdownMs` is stopped: the endpoint is back at zero.
 *
 * Stopping (`stop()`): new requests are refused (the server closes); requests still queued fail at
 * once with an error notification; requests already at an instance are awaited up to `stopGraceMs`,
 * then their instance is stopped and they fail with an error notification. Nothing is dropped without
 * a notification, unless the stop abandons them (`stop({ abandon: true })`: the whole local platform
 * is going down, and its callers invoke them again when they resume).
 *
 * Not emulated: `IncludeInferenceResponseIn` (no inline response in notifications), autoscaling
 * policies and alarms (an instance starts as soon as work waits and none is free), SigV4 checks.
 * The wording of failure reasons other than the model's own errors (timeout, expiry, crash) is this
 * host's: SageMaker's is not documented. Match on `invocationStatus`, not on the text.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { SNSEvent } from 'aws-lambda';
import { spawnTiedToParent } from './child-lifetime.ts';
import { parseS3Uri, tryParseS3Uri } from './s3-uri.ts';

const HOST = '127.0.0.1';
const DEFAULT_REGION = 'us-east-1';
const DEFAULT_ACCOUNT_ID = '000000000000';
const VARIANT_NAME = 'AllTraffic';
/** SageMaker's limits and defaults for InvokeEndpointAsync. */
const MAX_INLINE_BODY_BYTES = 128_000;
const DEFAULT_TTL_SECONDS = 21_600;
const MIN_TTL_SECONDS = 60;
const DEFAULT_INVOCATION_TIMEOUT_SECONDS = 900;
const MAX_INVOCATION_TIMEOUT_SECONDS = 3600;
const MAX_INFERENCE_ID_CHARS = 64;
const ENDPOINT_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
/** How often a starting instance is pinged. */
const PING_INTERVAL_MS = 50;
/** A child process gets this long to exit on SIGTERM before SIGKILL. */
const CHILD_STOP_GRACE_MS = 5_000;

/** The container server the default launcher runs: the `shapes` generator's. */
export const SHAPES_ENDPOINT_SERVER = fileURLToPath(
  new URL('../../containers/shapes-endpoint/server.ts', import.meta.url),
);
const REPOSITORY_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type NotificationKind = 'success' | 'error';

/**
 * The message SageMaker publishes to an endpoint's SNS success or error topic (the `Message` of the
 * SNS record, as JSON), for example:
 *
 *   {"awsRegion": "us-east-1", "eventTime": "2026-01-25T22:46:00.608Z",
 *    "receivedTime": "2026-01-25T22:46:00.455Z", "invocationStatus": "Completed",
 *    "requestParameters": {"accept": "image/png", "contentType": "application/json",
 *      "endpointName": "synthforge-local-shapes", "inputLocation": "s3://bucket/in/1.json"},
 *    "responseParameters": {"contentType": "image/png",
 *      "outputLocation": "s3://bucket/async/out/1b4e28ba-2fa1-11d2-883f-0016d3cca427.out"},
 *    "inferenceId": "job-42", "eventVersion": "1.0", "eventSource": "aws:sagemaker",
 *    "eventName": "InferenceResult"}
 *
 * A failure has `"invocationStatus": "Failed"` and `failureReason` (for a model error
 * "ClientError: Received client error (400) from model. See the SageMaker Endpoint logs in your
 * account for more information."), and, when a failure object was written,
 * `responseParameters.failureLocation` (with its `contentType`) instead of `outputLocation`.
 */
export interface SageMakerAsyncNotification {
  awsRegion: string;
  eventTime: string;
  receivedTime: string;
  invocationStatus: 'Completed' | 'Failed';
  failureReason?: string;
  requestParameters: {
    accept?: string;
    contentType?: string;
    customAttributes?: string;
    endpointName: string;
    inputLocation?: string;
  };
  responseParameters?: { contentType: string; outputLocation?: string; failureLocation?: string };
  inferenceId: string;
  eventVersion: '1.0';
  eventSource: 'aws:sagemaker';
  eventName: 'InferenceResult';
}

/** A running instance of a container, as a launcher hands it over. */
export interface InstanceHandle {
  /** Where the container's server listens: `http://127.0.0.1:PORT` (no trailing slash). */
  url: string;
  /** Settles when the instance is gone, stopped or crashed. */
  exited: Promise<void>;
  stop(): Promise<void>;
}

/** Starts one instance of an endpoint's container; the host then waits for its `/ping`. */
export type InstanceLauncher = (context: { endpointName: string }) => Promise<InstanceHandle>;

export interface EndpointRegistration {
  /** The endpoint name clients invoke (SageMaker's pattern: letters, digits, dashes, at most 63). */
  name: string;
  /** `AsyncInferenceConfig.OutputConfig.S3OutputPath`: `s3://bucket/prefix`. */
  s3OutputPath: string;
  /** `S3FailurePath`; without it failures write no object and answers carry no FailureLocation. */
  s3FailurePath?: string;
  /** SNS topic ARNs the notifications name; default `arn:aws:sns:<region>:<account>:<name>-success|-error`. */
  successTopic?: string;
  errorTopic?: string;
  /** `MaxConcurrentInvocationsPerInstance`; default 1. */
  maxConcurrency?: number;
  /** The most instances the endpoint scales to; default 1. */
  maxInstances?: number;
  /** An instance with nothing to do for this long is stopped (scale to zero); default 60 s. */
  idleShutdownMs?: number;
  /** Simulated extra cold start, after the container answers `/ping`; default 0. */
  coldStartDelayMs?: number;
  /** How long a new instance may take to answer `/ping` with 200; default 60 s. */
  startupTimeoutMs?: number;
  /** Default: a child process running the `shapes` container server through tsx (childProcessLauncher()). */
  launch?: InstanceLauncher;
}

export interface SageMakerHostOptions {
  /** Reads inputs and writes outputs and failures (the S3 emulator locally). */
  s3: S3Client;
  /** Receives each notification as the SNS -> Lambda event a function subscribed to the topic gets. */
  notify: (event: SNSEvent, kind: NotificationKind) => Promise<void>;
  region?: string;
  accountId?: string;
  /** Absent or 0: a free port on 127.0.0.1. */
  port?: number;
  /** Milliseconds since the epoch; tests move it to expire RequestTTLSeconds. Default Date.now. */
  now?: () => number;
  /** How long stop() waits for requests already at an instance; default 10 s. */
  stopGraceMs?: number;
  /** Diagnostics (instance starts and stops, notify failures); default: none. */
  log?: (message: string, details?: Record<string, unknown>) => void;
}

/** What DescribeEndpoint reports, plus the host's own queue counts. */
export interface EndpointSnapshot {
  name: string;
  status: 'InService' | 'Updating';
  currentInstanceCount: number;
  desiredInstanceCount: number;
  /** Requests accepted and waiting for a slot. */
  queued: number;
  /** Requests at an instance. */
  inFlight: number;
}

/** The answer `failNextInvocations` makes the model give instead of running. */
export interface InjectedModelFailure {
  /** Default 500. */
  status?: number;
  /** Default: the model server's error JSON naming the injection. */
  body?: string;
  /** Default application/json. */
  contentType?: string;
}

interface Invocation {
  inferenceId: string;
  accept?: string;
  contentType?: string;
  customAttributes?: string;
  inputLocation?: string;
  inlineBody?: Uint8Array;
  outputLocation: string;
  failureLocation?: string;
  receivedAt: number;
  ttlSeconds: number;
  timeoutSeconds: number;
  ttlTimer?: NodeJS.Timeout;
}

interface Instance {
  state: 'starting' | 'running' | 'stopping';
  handle?: InstanceHandle;
  active: number;
  idleTimer?: NodeJS.Timeout;
}

interface HostedEndpoint {
  config: EndpointRegistration &
    Required<
      Pick<
        EndpointRegistration,
        | 'maxConcurrency'
        | 'maxInstances'
        | 'idleShutdownMs'
        | 'coldStartDelayMs'
        | 'startupTimeoutMs'
        | 'launch'
        | 'successTopic'
        | 'errorTopic'
      >
    >;
  createdAt: number;
  queue: Invocation[];
  instances: Set<Instance>;
  inFlight: number;
  throttles: number;
  modelFailures: InjectedModelFailure[];
}

/** The outcome of one invocation, before it is written and notified. */
type Outcome =
  | { ok: true; body: Uint8Array; contentType: string }
  | { ok: false; reason: string; body?: Uint8Array; contentType?: string };

class AwsError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    /** The body's `message`; SageMaker's throttle sends null. */
    readonly bodyMessage: string | null,
    /** awsJson1_1 names the type in the body (`__type`); restJson1 in `x-amzn-ErrorType`. */
    readonly protocol: 'rest' | 'json' = 'rest',
  ) {
    super(bodyMessage ?? type);
    this.name = type;
  }
}

/** Starts the host on 127.0.0.1; register endpoints on the result. */
export function startSageMakerHost(options: SageMakerHostOptions): Promise<SageMakerHost> {
  return SageMakerHost.start(options);
}

export class SageMakerHost {
  readonly #options: SageMakerHostOptions;
  readonly #server: Server;
  readonly #endpoints = new Map<string, HostedEndpoint>();
  readonly #tasks = new Set<Promise<unknown>>();
  readonly #region: string;
  readonly #accountId: string;
  readonly #now: () => number;
  #url = '';
  #stopping = false;
  /** An abandoning stop has ended the grace: what fails from here on failed because of the stop. */
  #cutOff = false;
  /** Aborts simulated cold-start delays when the host stops. */
  readonly #stopped = new AbortController();

  private constructor(options: SageMakerHostOptions) {
    this.#options = options;
    this.#region = options.region ?? DEFAULT_REGION;
    this.#accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
    this.#now = options.now ?? Date.now;
    this.#server = createServer((request, response) => {
      this.#handle(request, response).catch((error: unknown) => {
        this.#log('request failed', { error: String(error) });
        if (!response.headersSent)
          sendAwsError(response, new AwsError(500, 'InternalFailure', 'internal error'));
        else response.destroy();
      });
    });
  }

  static async start(options: SageMakerHostOptions): Promise<SageMakerHost> {
    const host = new SageMakerHost(options);
    await listen(host.#server, options.port ?? 0);
    host.#url = `http://${HOST}:${(host.#server.address() as AddressInfo).port}`;
    return host;
  }

  /** The URL to give SageMakerRuntimeClient and SageMakerClient as `endpoint`. */
  get endpoint(): string {
    return this.#url;
  }

  /** Creates an endpoint (InService, at zero instances). Names are unique. */
  register(registration: EndpointRegistration): void {
    if (!ENDPOINT_NAME.test(registration.name)) {
      throw new Error(`invalid endpoint name ${JSON.stringify(registration.name)}`);
    }
    if (this.#endpoints.has(registration.name)) throw new Error(`endpoint ${registration.name} exists`);
    parseS3Uri(registration.s3OutputPath);
    if (registration.s3FailurePath !== undefined) parseS3Uri(registration.s3FailurePath);
    const topic = (suffix: string) =>
      `arn:aws:sns:${this.#region}:${this.#accountId}:${registration.name}-${suffix}`;
    this.#endpoints.set(registration.name, {
      config: {
        ...registration,
        maxConcurrency: positiveInteger(registration.maxConcurrency ?? 1, 'maxConcurrency'),
        maxInstances: positiveInteger(registration.maxInstances ?? 1, 'maxInstances'),
        idleShutdownMs: registration.idleShutdownMs ?? 60_000,
        coldStartDelayMs: registration.coldStartDelayMs ?? 0,
        startupTimeoutMs: registration.startupTimeoutMs ?? 60_000,
        launch: registration.launch ?? childProcessLauncher(),
        successTopic: registration.successTopic ?? topic('success'),
        errorTopic: registration.errorTopic ?? topic('error'),
      },
      createdAt: this.#now(),
      queue: [],
      instances: new Set(),
      inFlight: 0,
      throttles: 0,
      modelFailures: [],
    });
  }

  /**
   * Deletes every object under the registered endpoints' output and failure paths; resolves with how
   * many. Call it before the first request: nothing is in flight then, so whatever is there was left
   * by a host that stopped between writing a response and its caller taking it. (In AWS the outputs
   * bucket expires that staging prefix with a lifecycle rule; the S3 emulator has no lifecycle.)
   */
  async removeLeftovers(): Promise<number> {
    let removed = 0;
    for (const endpoint of this.#endpoints.values()) {
      const paths = [endpoint.config.s3OutputPath, endpoint.config.s3FailurePath];
      for (const path of paths) {
        if (path === undefined) continue;
        const { bucket, key } = parseS3Uri(path);
        const prefix = `${key.replace(/\/+$/, '')}/`;
        let token: string | undefined;
        do {
          const page = await this.#options.s3.send(
            new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
          );
          for (const object of page.Contents ?? []) {
            if (!object.Key) continue;
            await this.#options.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key }));
            removed++;
          }
          token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token);
      }
    }
    return removed;
  }

  /** The endpoint's counts as DescribeEndpoint reports them, or undefined for an unknown name. */
  describe(name: string): EndpointSnapshot | undefined {
    const endpoint = this.#endpoints.get(name);
    if (!endpoint) return undefined;
    const states = [...endpoint.instances].map((instance) => instance.state);
    const current = states.filter((state) => state !== 'starting').length;
    const desired = states.filter((state) => state !== 'stopping').length;
    return {
      name,
      status: states.every((state) => state === 'running') ? 'InService' : 'Updating',
      currentInstanceCount: current,
      desiredInstanceCount: desired,
      queued: endpoint.queue.length,
      inFlight: endpoint.inFlight,
    };
  }

  /** The next `count` InvokeEndpointAsync calls to the endpoint are throttled (400 ThrottlingException). */
  throttleNext(name: string, count = 1): void {
    this.#require(name).throttles += count;
  }

  /**
   * The next `count` invocations the endpoint runs fail in the model: the instance is taken (a cold
   * one starts) but answers `failure` (default 500 with the model server's error JSON).
   */
  failNextInvocations(name: string, count = 1, failure: InjectedModelFailure = {}): void {
    const endpoint = this.#require(name);
    for (let i = 0; i < count; i++) endpoint.modelFailures.push(failure);
  }

  /** Resolves once no request is queued or running anywhere (for tests). */
  async drain(): Promise<void> {
    while (this.#tasks.size > 0 || [...this.#endpoints.values()].some((e) => e.queue.length > 0)) {
      await Promise.race([Promise.allSettled([...this.#tasks]), sleep(20)]);
    }
  }

  /**
   * Stops accepting requests, fails queued ones, waits for running ones (see the module comment).
   *
   * `abandon`: the host goes down the way a crash takes it, because everything around it stops too
   * (the local platform shutting down). Queued requests are dropped without a notification, like the
   * memory they were queued in, and so are requests the stop cuts off at an instance; requests that
   * answer within the grace are written and notified as usual. Their callers re-invoke them when they
   * resume: failing them would turn a restart of the platform into failed jobs.
   */
  async stop(options: { abandon?: boolean } = {}): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#stopped.abort();
    const closed = closeServer(this.#server);
    const failures: Promise<void>[] = [];
    for (const endpoint of this.#endpoints.values()) {
      for (const invocation of endpoint.queue.splice(0)) {
        clearTimeout(invocation.ttlTimer);
        if (options.abandon) {
          this.#log('request dropped: the host stopped before it ran', {
            inferenceId: invocation.inferenceId,
          });
          continue;
        }
        failures.push(
          this.#finish(endpoint, invocation, {
            ok: false,
            reason: 'ClientError: The endpoint host stopped before the request ran.',
          }),
        );
      }
    }
    await Promise.allSettled(failures);
    const grace = this.#options.stopGraceMs ?? 10_000;
    await Promise.race([Promise.allSettled([...this.#tasks]), sleep(grace)]);
    this.#cutOff = options.abandon === true;
    const stops: Promise<void>[] = [];
    for (const endpoint of this.#endpoints.values()) {
      for (const instance of endpoint.instances) stops.push(this.#stopInstance(endpoint, instance));
    }
    await Promise.allSettled(stops);
    await Promise.allSettled([...this.#tasks]);
    await closed;
  }

  #require(name: string): HostedEndpoint {
    const endpoint = this.#endpoints.get(name);
    if (!endpoint) throw new Error(`no endpoint ${name}`);
    return endpoint;
  }

  #track<T>(task: Promise<T>): void {
    const tracked = task.catch((error: unknown) => this.#log('task failed', { error: String(error) }));
    this.#tasks.add(tracked);
    void tracked.finally(() => this.#tasks.delete(tracked));
  }

  #log(message: string, details?: Record<string, unknown>): void {
    this.#options.log?.(message, details);
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    try {
      const invoke = /^\/endpoints\/([^/]+)\/async-invocations$/.exec(path);
      if (request.method === 'POST' && invoke) {
        this.#invokeEndpointAsync(decodeURIComponent(invoke[1] ?? ''), request.headers, body, response);
        return;
      }
      const target = request.headers['x-amz-target'];
      if (request.method === 'POST' && path === '/' && typeof target === 'string') {
        this.#controlPlane(target, body, response);
        return;
      }
      throw new AwsError(404, 'UnknownOperationException', `${request.method} ${path} is not emulated here`);
    } catch (error) {
      if (!(error instanceof AwsError)) throw error;
      sendAwsError(response, error);
    }
  }

  #invokeEndpointAsync(
    name: string,
    headers: IncomingHttpHeaders,
    body: Buffer,
    response: ServerResponse,
  ): void {
    const endpoint = this.#endpoints.get(name);
    if (!endpoint || this.#stopping) {
      throw new AwsError(400, 'ValidationError', `Endpoint ${name} of account ${this.#accountId} not found.`);
    }
    const header = (suffix: string) => {
      const value = headers[`x-amzn-sagemaker-${suffix}`];
      return typeof value === 'string' ? value : undefined;
    };
    const inputLocation = header('inputlocation');
    const inlineBody = body.length > 0 ? new Uint8Array(body) : undefined;
    if (inputLocation === undefined && inlineBody === undefined) {
      throw validation('Either InputLocation or Body must be provided.');
    }
    if (inputLocation !== undefined && inlineBody !== undefined) {
      throw validation('InputLocation and Body are mutually exclusive: provide exactly one of them.');
    }
    if (inlineBody && inlineBody.length > MAX_INLINE_BODY_BYTES) {
      throw validation(`Body must be at most ${MAX_INLINE_BODY_BYTES} bytes; put larger inputs in S3.`);
    }
    if (inputLocation !== undefined && !tryParseS3Uri(inputLocation)) {
      throw validation(`InputLocation must be an s3:// URI here, got ${inputLocation}`);
    }
    const ttlSeconds = secondsHeader(
      header('requestttlseconds'),
      'requestTTLSeconds',
      MIN_TTL_SECONDS,
      DEFAULT_TTL_SECONDS,
    );
    const timeoutSeconds = secondsHeader(
      header('invocationtimeoutseconds'),
      'invocationTimeoutSeconds',
      1,
      MAX_INVOCATION_TIMEOUT_SECONDS,
    );
    const inferenceId = header('inference-id') ?? randomUUID();
    if (inferenceId.length > MAX_INFERENCE_ID_CHARS) {
      throw constraint(
        'inferenceId',
        inferenceId,
        `Member must have length less than or equal to ${MAX_INFERENCE_ID_CHARS}`,
      );
    }
    if (endpoint.throttles > 0) {
      endpoint.throttles--;
      throw new AwsError(400, 'ThrottlingException', null);
    }

    const id = randomUUID();
    const extension = header('s3outputpathextension');
    const outputLocation = joinS3(endpoint.config.s3OutputPath, extension, header('filename') ?? `${id}.out`);
    const failureLocation =
      endpoint.config.s3FailurePath === undefined
        ? undefined
        : joinS3(endpoint.config.s3FailurePath, extension, `${id}-error.out`);
    const invocation: Invocation = {
      inferenceId,
      ...optional('accept', header('accept')),
      ...optional('contentType', header('content-type')),
      ...optional('customAttributes', header('custom-attributes')),
      ...optional('inputLocation', inputLocation),
      ...optional('inlineBody', inlineBody),
      outputLocation,
      ...optional('failureLocation', failureLocation),
      receivedAt: this.#now(),
      ttlSeconds: ttlSeconds ?? DEFAULT_TTL_SECONDS,
      timeoutSeconds: timeoutSeconds ?? DEFAULT_INVOCATION_TIMEOUT_SECONDS,
    };
    // A request that never reaches an instance still expires on time; the check at dispatch covers
    // a clock that tests move.
    invocation.ttlTimer = setTimeout(() => this.#expire(endpoint, invocation), invocation.ttlSeconds * 1000);
    invocation.ttlTimer.unref();
    endpoint.queue.push(invocation);

    const answer = JSON.stringify({ InferenceId: inferenceId });
    response.writeHead(202, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(answer),
      'x-amzn-RequestId': randomUUID(),
      'X-Amzn-SageMaker-OutputLocation': outputLocation,
      ...(failureLocation === undefined ? {} : { 'X-Amzn-SageMaker-FailureLocation': failureLocation }),
    });
    response.end(answer);
    this.#pump(endpoint);
  }

  #controlPlane(target: string, body: Buffer, response: ServerResponse): void {
    if (target !== 'SageMaker.DescribeEndpoint') {
      throw new AwsError(400, 'UnknownOperationException', `${target} is not emulated here`, 'json');
    }
    let name: unknown;
    try {
      name = (JSON.parse(body.toString('utf8') || '{}') as { EndpointName?: unknown }).EndpointName;
    } catch {
      throw new AwsError(400, 'SerializationException', 'the request body is not JSON', 'json');
    }
    if (typeof name !== 'string') {
      throw new AwsError(
        400,
        'ValidationException',
        "1 validation error detected: Value null at 'endpointName' failed to satisfy constraint: Member must not be null",
        'json',
      );
    }
    const endpoint = this.#endpoints.get(name);
    const snapshot = this.describe(name);
    if (!endpoint || !snapshot) {
      throw new AwsError(
        400,
        'ValidationException',
        `Could not find endpoint "${this.#endpointArn(name)}".`,
        'json',
      );
    }
    const { config } = endpoint;
    const seconds = endpoint.createdAt / 1000;
    const answer = JSON.stringify({
      EndpointName: name,
      EndpointArn: this.#endpointArn(name),
      EndpointConfigName: name,
      ProductionVariants: [
        {
          VariantName: VARIANT_NAME,
          CurrentWeight: 1,
          DesiredWeight: 1,
          CurrentInstanceCount: snapshot.currentInstanceCount,
          DesiredInstanceCount: snapshot.desiredInstanceCount,
        },
      ],
      EndpointStatus: snapshot.status,
      CreationTime: seconds,
      LastModifiedTime: seconds,
      AsyncInferenceConfig: {
        ClientConfig: { MaxConcurrentInvocationsPerInstance: config.maxConcurrency },
        OutputConfig: {
          S3OutputPath: config.s3OutputPath,
          ...(config.s3FailurePath === undefined ? {} : { S3FailurePath: config.s3FailurePath }),
          NotificationConfig: { SuccessTopic: config.successTopic, ErrorTopic: config.errorTopic },
        },
      },
    });
    response.writeHead(200, {
      'Content-Type': 'application/x-amz-json-1.1',
      'Content-Length': Buffer.byteLength(answer),
      'x-amzn-RequestId': randomUUID(),
    });
    response.end(answer);
  }

  #endpointArn(name: string): string {
    return `arn:aws:sagemaker:${this.#region}:${this.#accountId}:endpoint/${name.toLowerCase()}`;
  }

  /** Dispatches queued requests to free slots, and starts an instance when work waits and none is free. */
  #pump(endpoint: HostedEndpoint): void {
    if (this.#stopping) return;
    const { maxConcurrency, maxInstances } = endpoint.config;
    while (endpoint.queue.length > 0) {
      const instance = [...endpoint.instances].find(
        (candidate) => candidate.state === 'running' && candidate.active < maxConcurrency,
      );
      if (!instance) break;
      const invocation = endpoint.queue.shift() as Invocation;
      clearTimeout(invocation.ttlTimer);
      const waited = this.#now() - invocation.receivedAt;
      if (waited > invocation.ttlSeconds * 1000) {
        this.#track(this.#finish(endpoint, invocation, expired(invocation, waited)));
        continue;
      }
      clearTimeout(instance.idleTimer);
      instance.active++;
      endpoint.inFlight++;
      // The slot is free once the model has answered; writing the result and notifying follow, as
      // SageMaker publishes notifications apart from the instance's work.
      const answered = this.#infer(endpoint, instance, invocation).finally(() => {
        instance.active--;
        endpoint.inFlight--;
        this.#pump(endpoint);
        this.#scheduleIdle(endpoint, instance);
      });
      this.#track(
        answered.then(
          (outcome) => this.#finish(endpoint, invocation, outcome),
          (error: unknown) =>
            this.#finish(endpoint, invocation, { ok: false, reason: `ClientError: ${String(error)}` }),
        ),
      );
    }
    const states = [...endpoint.instances].map((instance) => instance.state);
    const serving = states.filter((state) => state !== 'stopping').length;
    if (endpoint.queue.length > 0 && !states.includes('starting') && serving < maxInstances) {
      this.#track(this.#startInstance(endpoint));
    }
  }

  #expire(endpoint: HostedEndpoint, invocation: Invocation): void {
    const index = endpoint.queue.indexOf(invocation);
    if (index === -1) return;
    endpoint.queue.splice(index, 1);
    this.#track(this.#finish(endpoint, invocation, expired(invocation, this.#now() - invocation.receivedAt)));
  }

  async #startInstance(endpoint: HostedEndpoint): Promise<void> {
    const { config } = endpoint;
    const instance: Instance = { state: 'starting', active: 0 };
    endpoint.instances.add(instance);
    this.#log('instance starting', { endpoint: config.name });
    try {
      const launching = config.launch({ endpointName: config.name });
      const handle = await withTimeout(
        launching,
        config.startupTimeoutMs,
        'the instance did not start',
      ).catch((error: unknown) => {
        // A launch that finishes after its timeout must not leave a container behind.
        void launching.then((late) => late.stop()).catch(() => undefined);
        throw error;
      });
      instance.handle = handle;
      void handle.exited.then(() => this.#onExit(endpoint, instance));
      await this.#waitForPing(handle.url, config.startupTimeoutMs, () => endpoint.instances.has(instance));
      if (config.coldStartDelayMs > 0) {
        await sleep(config.coldStartDelayMs, undefined, { signal: this.#stopped.signal });
      }
    } catch (error) {
      endpoint.instances.delete(instance);
      await instance.handle?.stop().catch(() => undefined);
      if (this.#stopping) return;
      const reason = `ClientError: The model container failed to start: ${(error as Error).message}`;
      this.#log('instance failed to start', { endpoint: config.name, error: String(error) });
      // Nothing would ever serve them: fail what waits rather than hold it until its TTL.
      for (const invocation of endpoint.queue.splice(0)) {
        clearTimeout(invocation.ttlTimer);
        this.#track(this.#finish(endpoint, invocation, { ok: false, reason }));
      }
      return;
    }
    if (this.#stopping || instance.state !== 'starting') {
      // stop() or a crash got here first: the handle is this function's to stop.
      endpoint.instances.delete(instance);
      await instance.handle?.stop();
      return;
    }
    instance.state = 'running';
    this.#log('instance in service', { endpoint: config.name });
    this.#pump(endpoint);
    this.#scheduleIdle(endpoint, instance);
  }

  async #waitForPing(url: string, timeoutMs: number, alive: () => boolean): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#stopping) throw new Error('the host is stopping');
      if (!alive()) throw new Error('the container exited before answering /ping');
      const status = await ping(url).catch(() => 0);
      if (status === 200) return;
      if (Date.now() > deadline) throw new Error(`GET ${url}/ping did not answer 200 within ${timeoutMs} ms`);
      await sleep(PING_INTERVAL_MS);
    }
  }

  #scheduleIdle(endpoint: HostedEndpoint, instance: Instance): void {
    if (this.#stopping || instance.state !== 'running' || instance.active > 0 || endpoint.queue.length > 0)
      return;
    clearTimeout(instance.idleTimer);
    instance.idleTimer = setTimeout(() => {
      if (instance.state === 'running' && instance.active === 0) {
        this.#track(this.#stopInstance(endpoint, instance));
      }
    }, endpoint.config.idleShutdownMs);
  }

  async #stopInstance(endpoint: HostedEndpoint, instance: Instance): Promise<void> {
    if (instance.state === 'stopping') return;
    clearTimeout(instance.idleTimer);
    instance.state = 'stopping';
    this.#log('instance stopping', { endpoint: endpoint.config.name });
    try {
      await instance.handle?.stop();
    } finally {
      endpoint.instances.delete(instance);
      // Work that arrived while it stopped needs a new instance.
      this.#pump(endpoint);
    }
  }

  #onExit(endpoint: HostedEndpoint, instance: Instance): void {
    if (instance.state === 'stopping' || !endpoint.instances.has(instance)) return;
    this.#log('instance exited', { endpoint: endpoint.config.name });
    clearTimeout(instance.idleTimer);
    endpoint.instances.delete(instance);
    this.#pump(endpoint);
  }

  async #infer(endpoint: HostedEndpoint, instance: Instance, invocation: Invocation): Promise<Outcome> {
    let input: Uint8Array;
    try {
      input = invocation.inlineBody ?? (await this.#read(invocation.inputLocation ?? ''));
    } catch (error) {
      return {
        ok: false,
        reason: `ClientError: Failed to download the input from ${invocation.inputLocation}: ${(error as Error).name}.`,
      };
    }
    const injected = endpoint.modelFailures.shift();
    const answer = injected
      ? {
          status: injected.status ?? 500,
          contentType: injected.contentType ?? 'application/json',
          body: Buffer.from(
            injected.body ??
              `${JSON.stringify({ code: injected.status ?? 500, type: 'InternalServerException', message: 'injected model failure' }, null, 2)}\n`,
          ),
        }
      : await postInvocation(instance.handle?.url ?? '', invocation, input).catch((error: Error) => error);
    if (answer instanceof Error) {
      const reason =
        answer.name === 'TimeoutError'
          ? `ClientError: The model did not answer within InvocationTimeoutSeconds (${invocation.timeoutSeconds} s).`
          : `ClientError: Received server error (0) from model: the connection to the container failed (${(answer as NodeJS.ErrnoException).code ?? answer.message}). See the SageMaker Endpoint logs in your account for more information.`;
      return { ok: false, reason };
    }
    if (answer.status >= 200 && answer.status < 300) {
      return { ok: true, body: answer.body, contentType: answer.contentType };
    }
    const side = answer.status < 500 ? 'client' : 'server';
    return {
      ok: false,
      reason: `ClientError: Received ${side} error (${answer.status}) from model. See the SageMaker Endpoint logs in your account for more information.`,
      body: answer.body,
      contentType: answer.contentType,
    };
  }

  /** Writes the output or failure object, then delivers the notification. */
  async #finish(endpoint: HostedEndpoint, invocation: Invocation, outcome: Outcome): Promise<void> {
    if (this.#cutOff && !outcome.ok) {
      this.#log('request dropped: the host stopped while it ran', { inferenceId: invocation.inferenceId });
      return;
    }
    let result = outcome;
    let responseParameters: SageMakerAsyncNotification['responseParameters'];
    if (result.ok) {
      try {
        await this.#write(invocation.outputLocation, result.body, result.contentType);
        responseParameters = { contentType: result.contentType, outputLocation: invocation.outputLocation };
      } catch (error) {
        result = {
          ok: false,
          reason: `ClientError: Failed to upload the output to ${invocation.outputLocation}: ${(error as Error).name}.`,
        };
      }
    }
    if (!result.ok && invocation.failureLocation !== undefined) {
      const contentType = result.contentType ?? 'text/plain; charset=utf-8';
      try {
        await this.#write(invocation.failureLocation, result.body ?? Buffer.from(result.reason), contentType);
        responseParameters = { contentType, failureLocation: invocation.failureLocation };
      } catch (error) {
        this.#log('could not write the failure object', { error: String(error) });
      }
    }
    const message: SageMakerAsyncNotification = {
      awsRegion: this.#region,
      eventTime: new Date(this.#now()).toISOString(),
      receivedTime: new Date(invocation.receivedAt).toISOString(),
      invocationStatus: result.ok ? 'Completed' : 'Failed',
      ...(result.ok ? {} : { failureReason: result.reason }),
      requestParameters: {
        ...optional('accept', invocation.accept),
        ...optional('contentType', invocation.contentType),
        ...optional('customAttributes', invocation.customAttributes),
        endpointName: endpoint.config.name,
        ...optional('inputLocation', invocation.inputLocation),
      },
      ...optional('responseParameters', responseParameters),
      inferenceId: invocation.inferenceId,
      eventVersion: '1.0',
      eventSource: 'aws:sagemaker',
      eventName: 'InferenceResult',
    };
    const kind: NotificationKind = result.ok ? 'success' : 'error';
    const topic = result.ok ? endpoint.config.successTopic : endpoint.config.errorTopic;
    try {
      await this.#options.notify(snsEvent(topic, message, this.#region, this.#now()), kind);
    } catch (error) {
      this.#log('notify failed', {
        endpoint: endpoint.config.name,
        inferenceId: invocation.inferenceId,
        error: String(error),
      });
    }
  }

  async #read(uri: string): Promise<Uint8Array> {
    const { bucket, key } = parseS3Uri(uri);
    const object = await this.#options.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!object.Body) throw new Error('the object has no body');
    return object.Body.transformToByteArray();
  }

  async #write(uri: string, body: Uint8Array, contentType: string): Promise<void> {
    const { bucket, key } = parseS3Uri(uri);
    await this.#options.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }),
    );
  }
}

export interface ChildProcessLauncherOptions {
  /** Default: this Node (process.execPath). */
  command?: string;
  /** Default: `--import tsx <SHAPES_ENDPOINT_SERVER> serve --port 0 --host 127.0.0.1`. */
  args?: readonly string[];
  /** Default: the repository root (where `tsx` resolves). */
  cwd?: string;
  /** Added to the host's environment. */
  env?: NodeJS.ProcessEnv;
  /** Matched against the child's output; group 1 is the port. Default: the `listening on` line. */
  readyPattern?: RegExp;
}

/**
 * Starts each instance as a child process, as SageMaker starts a container (`... serve`), and reads
 * its port from the line it prints once listening. Stopping sends SIGTERM, then SIGKILL after 5 s.
 */
export function childProcessLauncher(options: ChildProcessLauncherOptions = {}): InstanceLauncher {
  const readyPattern = options.readyPattern ?? /listening on http:\/\/[^\s:]+:(\d+)/;
  return () =>
    new Promise<InstanceHandle>((resolve, reject) => {
      // Its stdin is held open and never written: the server exits when it ends, that is when this
      // process does, even by SIGKILL (child-lifetime.ts).
      const child = spawnTiedToParent(
        options.command ?? process.execPath,
        options.args ?? ['--import', 'tsx', SHAPES_ENDPOINT_SERVER, 'serve', '--port', '0', '--host', HOST],
        { cwd: options.cwd ?? REPOSITORY_ROOT, ...(options.env ? { env: options.env } : {}) },
      );
      const exited = new Promise<void>((done) => child.once('exit', () => done()));
      let output = '';
      let ready = false;
      const onData = (chunk: Buffer) => {
        // Keep the tail for a failure message; the pipes are drained either way.
        output = (output + chunk.toString('utf8')).slice(-4000);
        const match = ready ? null : readyPattern.exec(output);
        if (!match) return;
        ready = true;
        resolve({ url: `http://${HOST}:${match[1]}`, exited, stop: () => stopChild(child, exited) });
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.on('error', reject);
      child.once('exit', (code, signal) => {
        if (!ready)
          reject(new Error(`the container exited (${signal ?? code}) before listening: ${output.trim()}`));
      });
    });
}

/** Runs each instance as a server in this process: the same server code, without a process start. */
export function inProcessLauncher(createInstanceServer: () => Server): InstanceLauncher {
  return async () => {
    const server = createInstanceServer();
    await listen(server, 0);
    let markExited = () => {};
    const exited = new Promise<void>((resolve) => {
      markExited = resolve;
    });
    return {
      url: `http://${HOST}:${(server.address() as AddressInfo).port}`,
      exited,
      stop: async () => {
        await closeServer(server);
        markExited();
      },
    };
  };
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

function snsEvent(
  topicArn: string,
  message: SageMakerAsyncNotification,
  region: string,
  now: number,
): SNSEvent {
  const subscriptionArn = `${topicArn}:${randomUUID()}`;
  return {
    Records: [
      {
        EventVersion: '1.0',
        EventSubscriptionArn: subscriptionArn,
        EventSource: 'aws:sns',
        Sns: {
          Type: 'Notification',
          MessageId: randomUUID(),
          TopicArn: topicArn,
          Message: JSON.stringify(message),
          Timestamp: new Date(now).toISOString(),
          SignatureVersion: '1',
          // Not signed: nothing locally checks SNS signatures.
          Signature: 'TE9DQUw=',
          SigningCertUrl: `https://sns.${region}.amazonaws.com/SimpleNotificationService-local.pem`,
          UnsubscribeUrl: `https://sns.${region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${subscriptionArn}`,
          MessageAttributes: {},
        },
      },
    ],
  };
}

function expired(invocation: Invocation, waitedMs: number): Outcome {
  return {
    ok: false,
    reason: `ClientError: The request expired: it waited ${Math.round(waitedMs / 1000)} s in the queue, longer than RequestTTLSeconds (${invocation.ttlSeconds} s).`,
  };
}

/** POSTs the input to the instance and collects the answer; rejects with a TimeoutError past the timeout. */
function postInvocation(
  url: string,
  invocation: Invocation,
  input: Uint8Array,
): Promise<{ status: number; contentType: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${url}/invocations`, {
      method: 'POST',
      headers: {
        'Content-Type': invocation.contentType ?? 'application/octet-stream',
        'Content-Length': input.length,
        ...optional('Accept', invocation.accept),
        ...optional('X-Amzn-SageMaker-Custom-Attributes', invocation.customAttributes),
      },
    });
    const timer = setTimeout(() => {
      const error = new Error(`no answer within ${invocation.timeoutSeconds} s`);
      error.name = 'TimeoutError';
      request.destroy(error);
    }, invocation.timeoutSeconds * 1000);
    request.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.once('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      response.once('end', () => {
        clearTimeout(timer);
        resolve({
          status: response.statusCode ?? 0,
          contentType: response.headers['content-type'] ?? 'application/octet-stream',
          body: Buffer.concat(chunks),
        });
      });
    });
    request.end(input);
  });
}

function ping(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${url}/ping`, { method: 'GET', timeout: 2_000 }, (response) => {
      response.resume();
      response.once('end', () => resolve(response.statusCode ?? 0));
    });
    request.once('timeout', () => request.destroy(new Error('ping timed out')));
    request.once('error', reject);
    request.end();
  });
}

function sendAwsError(response: ServerResponse, error: AwsError): void {
  const body =
    error.protocol === 'json'
      ? JSON.stringify({ __type: error.type, message: error.bodyMessage })
      : JSON.stringify({ message: error.bodyMessage });
  response.writeHead(error.status, {
    'Content-Type': error.protocol === 'json' ? 'application/x-amz-json-1.1' : 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'x-amzn-RequestId': randomUUID(),
    ...(error.protocol === 'rest' ? { 'x-amzn-ErrorType': error.type } : {}),
  });
  response.end(body);
}

function validation(message: string): AwsError {
  return new AwsError(400, 'ValidationError', message);
}

/** The message AWS's request validation gives for a member outside its constraint. */
function constraint(member: string, value: string | number, rule: string): AwsError {
  return validation(
    `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: ${rule}`,
  );
}

function secondsHeader(
  value: string | undefined,
  member: string,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (!Number.isInteger(seconds)) throw constraint(member, value, 'Member must be an integer');
  if (seconds < min)
    throw constraint(member, seconds, `Member must have value greater than or equal to ${min}`);
  if (seconds > max) throw constraint(member, seconds, `Member must have value less than or equal to ${max}`);
  return seconds;
}

/** `s3://bucket/prefix` + optional path extension + file name, with single slashes. */
function joinS3(base: string, extension: string | undefined, file: string): string {
  const parts = [base.replace(/\/+$/, ''), extension?.replace(/^\/+|\/+$/g, ''), file];
  return parts.filter((part) => part !== undefined && part !== '').join('/');
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer, got ${value}`);
  return value;
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  const closed = new Promise<void>((resolve, reject) =>
    server.close((error) => (error ? reject(error) : resolve())),
  );
  server.closeAllConnections();
  return closed;
}
