/**
 * A local SageMaker asynchronous inference endpoint host: one HTTP server that the real AWS SDK v3
 * clients talk to through an `endpoint` override, and that runs inference containers' own servers
 * (`GET /ping`, `POST /invocations`) as the endpoints' instances. It emulates AWS behaviour only and
 * knows nothing of jobs or generators. This file composes the parts, one concern each:
 *
 * - wire-protocol.ts: the server, routing, request validation and errors as SageMaker sends them
 *   (`InvokeEndpointAsync` restJson1, `DescribeEndpoint` awsJson1_1).
 * - async-endpoints.ts: an endpoint's queue, from the 202 to the output or failure object in S3.
 * - notifications.ts: the success and error notifications, as SNS -> Lambda events through `notify`.
 * - instances.ts: the instances and their launchers; cold starts, `/ping`, idle scale-to-zero.
 * - realtime-endpoints.ts, inference-components.ts, realtime-protocol.ts: real-time endpoints with
 *   inference components (`registerRealtime`): InvokeEndpoint, InvokeEndpointWithResponseStream,
 *   DescribeInferenceComponent, ListInferenceComponents, UpdateInferenceComponentRuntimeConfig, the
 *   components' copies and their scaling to and from zero; realtime-operations.ts finds what those
 *   requests name, realtime-descriptions.ts shapes what the Describe and List operations report.
 *
 * `InvokeEndpointAsync` answers 202 at once with `X-Amzn-SageMaker-OutputLocation`,
 * `X-Amzn-SageMaker-FailureLocation` (when the endpoint has a failure path) and `{"InferenceId": ...}`,
 * and queues the request. `DescribeEndpoint`'s `ProductionVariants[0].CurrentInstanceCount` /
 * `DesiredInstanceCount` tell a cold endpoint (0) from a serving one. An unknown endpoint is
 * `ValidationError` 400 "Endpoint X of account Y not found.".
 *
 * Stopping (`stop()`): new requests are refused (the server closes); real-time requests in flight are
 * answered with an error (ServiceUnavailable, or InternalStreamFailure in a stream) and the
 * components' copies stop; asynchronous requests still queued fail at
 * once with an error notification; requests already at an instance are awaited up to `stopGraceMs`,
 * then their instance is stopped and they fail with an error notification. Nothing is dropped without
 * a notification, unless the stop abandons them (`stop({ abandon: true })`: the whole local platform
 * is going down, and its callers invoke them again when they resume).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SNSEvent } from 'aws-lambda';
import { closeServer, listen } from '../support/http.ts';
import { deleteObjectsUnder, parseS3Uri } from '../support/s3.ts';
import {
  AsyncEndpoint,
  type EndpointHost,
  type EndpointRegistration,
  type EndpointSnapshot,
  type InjectedModelFailure,
} from './async-endpoints.ts';
import type { InferenceComponentSnapshot } from './inference-components.ts';
import { childProcessLauncher } from './instances.ts';
import type { NotificationKind } from './notifications.ts';
import { describeRealtimeEndpoint, endpointArn } from './realtime-descriptions.ts';
import {
  RealtimeEndpoint,
  type RealtimeEndpointRegistration,
  type RealtimeHost,
  realtimeDefaults,
  type StreamBreak,
} from './realtime-endpoints.ts';
import { findComponent, realtimeOperations } from './realtime-operations.ts';
import { routeRealtime } from './realtime-protocol.ts';
import {
  AwsError,
  createSageMakerServer,
  ENDPOINT_NAME,
  HOST,
  type InvokeEndpointAsyncOutput,
  parseInvokeEndpointAsync,
} from './wire-protocol.ts';

export type {
  EndpointRegistration,
  EndpointSnapshot,
  InjectedModelFailure,
} from './async-endpoints.ts';
export type {
  InferenceComponentRegistration,
  InferenceComponentSnapshot,
  InferenceComponentStatus,
} from './inference-components.ts';
export {
  type ChildProcessLauncherOptions,
  childProcessLauncher,
  type InstanceHandle,
  type InstanceLauncher,
  inProcessLauncher,
  type LaunchContext,
  SHAPES_ENDPOINT_SERVER,
  sharedLauncher,
} from './instances.ts';
export {
  NO_CAPACITY_MESSAGE,
  type RealtimeEndpointRegistration,
  type StreamBreak,
} from './realtime-endpoints.ts';

import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../support/local-aws.ts';

export type { NotificationKind, SageMakerAsyncNotification } from './notifications.ts';

const VARIANT_NAME = 'AllTraffic';
/** How long stop() waits for the error answers of real-time requests in flight to be written. */
const REALTIME_ABORT_GRACE_MS = 2_000;

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

/** Starts the host on 127.0.0.1; register endpoints on the result. */
export function startSageMakerHost(options: SageMakerHostOptions): Promise<SageMakerHost> {
  return SageMakerHost.start(options);
}

export class SageMakerHost {
  readonly #options: SageMakerHostOptions;
  readonly #server: Server;
  readonly #endpoints = new Map<string, AsyncEndpoint>();
  readonly #realtime = new Map<string, RealtimeEndpoint>();
  readonly #tasks = new Set<Promise<unknown>>();
  readonly #region: string;
  readonly #accountId: string;
  /** What the endpoints and their instances see of this host. */
  readonly #context: EndpointHost;
  readonly #realtimeContext: RealtimeHost;
  #url = '';
  #stopping = false;
  /** An abandoning stop has ended the grace: what fails from here on failed because of the stop. */
  #cutOff = false;
  /** Aborts simulated cold-start delays when the host stops. */
  readonly #stopped = new AbortController();

  private constructor(options: SageMakerHostOptions) {
    this.#options = options;
    this.#region = options.region ?? LOCAL_REGION;
    this.#accountId = options.accountId ?? LOCAL_ACCOUNT_ID;
    const host = this;
    this.#context = {
      s3: options.s3,
      notify: options.notify,
      region: this.#region,
      now: options.now ?? Date.now,
      get stopping() {
        return host.#stopping;
      },
      get cutOff() {
        return host.#cutOff;
      },
      stopped: this.#stopped.signal,
      log: (message, details) => this.#log(message, details),
      track: (task) => this.#track(task),
    };
    const context = this.#context;
    this.#realtimeContext = {
      get stopping() {
        return context.stopping;
      },
      stopped: context.stopped,
      now: context.now,
      log: context.log,
      track: context.track,
      region: this.#region,
      accountId: this.#accountId,
    };
    const realtime = realtimeOperations({
      endpoints: this.#realtime,
      isAsyncEndpoint: (name) => this.#endpoints.has(name),
      host: this.#realtimeContext,
    });
    this.#server = createSageMakerServer(
      {
        route: (request, response, path, body) => routeRealtime(realtime, request, response, path, body),
        invokeEndpointAsync: (name, headers, body) => this.#invokeEndpointAsync(name, headers, body),
        describeEndpoint: (name) => this.#describeEndpoint(name),
      },
      (message, details) => this.#log(message, details),
    );
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
    if (this.#endpoints.has(registration.name) || this.#realtime.has(registration.name)) {
      throw new Error(`endpoint ${registration.name} exists`);
    }
    parseS3Uri(registration.s3OutputPath);
    if (registration.s3FailurePath !== undefined) parseS3Uri(registration.s3FailurePath);
    const topic = (suffix: string) =>
      `arn:aws:sns:${this.#region}:${this.#accountId}:${registration.name}-${suffix}`;
    const config = {
      ...registration,
      maxConcurrency: positiveInteger(registration.maxConcurrency ?? 1, 'maxConcurrency'),
      maxInstances: positiveInteger(registration.maxInstances ?? 1, 'maxInstances'),
      idleShutdownMs: registration.idleShutdownMs ?? 60_000,
      coldStartDelayMs: registration.coldStartDelayMs ?? 0,
      startupTimeoutMs: registration.startupTimeoutMs ?? 60_000,
      launch: registration.launch ?? childProcessLauncher(),
      successTopic: registration.successTopic ?? topic('success'),
      errorTopic: registration.errorTopic ?? topic('error'),
    };
    this.#endpoints.set(registration.name, new AsyncEndpoint(config, this.#context));
  }

  /**
   * Creates a real-time endpoint (InService) with its inference components, which start their
   * initial copies. Endpoint names are unique across the host, component names too (as in an
   * account). Resolves once every initial copy serves or has failed to start (then the component
   * reports a FailureReason and stays at the copies that serve); it never rejects. An invalid
   * registration throws at once.
   */
  registerRealtime(registration: RealtimeEndpointRegistration): Promise<void> {
    if (!ENDPOINT_NAME.test(registration.name)) {
      throw new Error(`invalid endpoint name ${JSON.stringify(registration.name)}`);
    }
    if (this.#endpoints.has(registration.name) || this.#realtime.has(registration.name)) {
      throw new Error(`endpoint ${registration.name} exists`);
    }
    const config = realtimeDefaults(registration);
    const names = config.components.map((component) => component.name);
    for (const name of names) {
      if (!ENDPOINT_NAME.test(name))
        throw new Error(`invalid inference component name ${JSON.stringify(name)}`);
      if (findComponent(this.#realtime.values(), name) || names.indexOf(name) !== names.lastIndexOf(name)) {
        throw new Error(`inference component ${name} exists`);
      }
    }
    const endpoint = new RealtimeEndpoint(config, this.#realtimeContext);
    this.#realtime.set(registration.name, endpoint);
    return endpoint.ready;
  }

  /** The component as DescribeInferenceComponent reports it, with the host's counts; undefined when unknown. */
  describeComponent(name: string): InferenceComponentSnapshot | undefined {
    return findComponent(this.#realtime.values(), name)?.component.snapshot();
  }

  /**
   * The next `count` invocations of the real-time endpoint (of `component` only, when given) are
   * throttled: 400 ThrottlingException.
   */
  throttleRealtimeNext(endpoint: string, component?: string, count = 1): void {
    this.#requireRealtime(endpoint).throttleNext(component, count);
  }

  /**
   * The next `count` invocations of the component take a copy but answer `failure` (default 500
   * with the model server's error JSON) instead of running: ModelError 424.
   */
  failRealtimeNext(endpoint: string, component: string, count = 1, failure: InjectedModelFailure = {}): void {
    this.#requireRealtime(endpoint).failNext(component, count, failure);
  }

  /** The next `count` invocations of the component wait `ms` at their copy first (a slow model). */
  delayRealtimeNext(endpoint: string, component: string, ms: number, count = 1): void {
    this.#requireRealtime(endpoint).delayNext(component, ms, count);
  }

  /** Scales the component to zero now, as its idle scale-in would: desired 0, its copies stop. */
  scaleComponentToZero(endpoint: string, component: string): void {
    const found = this.#requireRealtime(endpoint).component(component);
    if (!found) throw new Error(`endpoint ${endpoint} has no component ${component}`);
    found.setDesired(0);
  }

  /**
   * The component's next response stream breaks after `after.bytes` bytes or `after.chunks` parts
   * with a ModelStreamError (`ErrorCode` StreamBroken) thrown from the client's iterator.
   */
  failStreamAfter(endpoint: string, component: string, after: StreamBreak): void {
    this.#requireRealtime(endpoint).breakNextStream(component, after);
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
      for (const path of [endpoint.config.s3OutputPath, endpoint.config.s3FailurePath]) {
        if (path === undefined) continue;
        const { bucket, key } = parseS3Uri(path);
        removed += await deleteObjectsUnder(this.#options.s3, { bucket, key: `${key.replace(/\/+$/, '')}/` });
      }
    }
    return removed;
  }

  /** The endpoint's counts as DescribeEndpoint reports them, or undefined for an unknown name. */
  describe(name: string): EndpointSnapshot | undefined {
    return this.#endpoints.get(name)?.snapshot();
  }

  /** The next `count` InvokeEndpointAsync calls to the endpoint are throttled (400 ThrottlingException). */
  throttleNext(name: string, count = 1): void {
    this.#require(name).throttleNext(count);
  }

  /**
   * The next `count` invocations the endpoint runs fail in the model: the instance is taken (a cold
   * one starts) but answers `failure` (default 500 with the model server's error JSON).
   */
  failNextInvocations(name: string, count = 1, failure: InjectedModelFailure = {}): void {
    this.#require(name).failNextInvocations(count, failure);
  }

  /** Resolves once no request is queued or running anywhere (for tests). */
  async drain(): Promise<void> {
    while (this.#tasks.size > 0 || [...this.#endpoints.values()].some((e) => e.queued > 0)) {
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
    const realtime = [...this.#realtime.values()];
    // Answered before the server drops their connections.
    await Promise.allSettled(realtime.map((endpoint) => endpoint.abortCalls(REALTIME_ABORT_GRACE_MS)));
    const closed = closeServer(this.#server);
    const endpoints = [...this.#endpoints.values()];
    await Promise.allSettled(endpoints.map((endpoint) => endpoint.stopQueued(options.abandon === true)));
    const grace = this.#options.stopGraceMs ?? 10_000;
    await Promise.race([Promise.allSettled([...this.#tasks]), sleep(grace)]);
    this.#cutOff = options.abandon === true;
    await Promise.allSettled([
      ...endpoints.map((endpoint) => endpoint.stopInstances()),
      ...realtime.map((endpoint) => endpoint.stopCopies()),
    ]);
    await Promise.allSettled([...this.#tasks]);
    await closed;
  }

  #invokeEndpointAsync(
    name: string,
    headers: Parameters<typeof parseInvokeEndpointAsync>[0],
    body: Buffer,
  ): InvokeEndpointAsyncOutput {
    const endpoint = this.#endpoints.get(name);
    if (!endpoint || this.#stopping) {
      throw new AwsError(400, 'ValidationError', `Endpoint ${name} of account ${this.#accountId} not found.`);
    }
    return endpoint.invoke(parseInvokeEndpointAsync(headers, body));
  }

  #requireRealtime(name: string): RealtimeEndpoint {
    const endpoint = this.#realtime.get(name);
    if (!endpoint) throw new Error(`no real-time endpoint ${name}`);
    return endpoint;
  }

  /** DescribeEndpoint's answer: the endpoint's configuration and its instances now. */
  #describeEndpoint(name: string): unknown {
    const realtime = this.#realtime.get(name);
    if (realtime) return describeRealtimeEndpoint(realtime, this.#realtimeContext);
    const endpoint = this.#endpoints.get(name);
    if (!endpoint) {
      throw new AwsError(
        400,
        'ValidationException',
        `Could not find endpoint "${endpointArn(this.#realtimeContext, name)}".`,
        'json',
      );
    }
    const { config } = endpoint;
    const snapshot = endpoint.snapshot();
    const seconds = endpoint.createdAt / 1000;
    return {
      EndpointName: name,
      EndpointArn: endpointArn(this.#realtimeContext, name),
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
    };
  }

  #require(name: string): AsyncEndpoint {
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
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer, got ${value}`);
  return value;
}
