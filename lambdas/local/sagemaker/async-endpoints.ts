/**
 * An asynchronous inference endpoint: what happens to an `InvokeEndpointAsync` request between its
 * 202 and its notification.
 *
 * A queued request waits for a free slot at one of the endpoint's instances (instances.ts starts one
 * when none is free). Its input is read from S3 (or taken from the inline body), posted to the
 * instance's `/invocations` with the request's content type, accept and custom attributes, and the
 * answer is written to `<S3OutputPath>/<uuid>.out`. A non-2xx answer, a timeout
 * (`InvocationTimeoutSeconds`, default 900), a crash or a request that waited longer than
 * `RequestTTLSeconds` (default 21,600) writes the error to `<S3FailurePath>/<uuid>-error.out` instead.
 * Either way the notification SageMaker publishes to the endpoint's success or error topic is
 * delivered (notifications.ts).
 *
 * The wording of failure reasons other than the model's own errors (timeout, expiry, crash) is this
 * emulator's: SageMaker's is not documented. Match on `invocationStatus`, not on the text.
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SNSEvent } from 'aws-lambda';
import { getObjectBytes, joinS3Uri, parseS3Uri, putObjectBytes } from '../support/s3.ts';
import { type Instance, type InstanceHost, type InstanceLauncher, InstancePool } from './instances.ts';
import {
  asyncNotification,
  type NotificationKind,
  type SageMakerAsyncNotification,
  snsEvent,
} from './notifications.ts';
import {
  AwsError,
  type InvokeEndpointAsyncInput,
  type InvokeEndpointAsyncOutput,
  optional,
} from './wire-protocol.ts';

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

/** A registration with its defaults applied. */
export type EndpointConfig = EndpointRegistration &
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

/** What an endpoint needs of the host around it. */
export interface EndpointHost extends InstanceHost {
  /** Reads inputs and writes outputs and failures. */
  s3: S3Client;
  notify: (event: SNSEvent, kind: NotificationKind) => Promise<void>;
  region: string;
  /** Milliseconds since the epoch. */
  now(): number;
  /** An abandoning stop has ended its grace: what fails from here on failed because of the stop. */
  readonly cutOff: boolean;
}

interface Invocation {
  input: InvokeEndpointAsyncInput;
  outputLocation: string;
  failureLocation?: string;
  receivedAt: number;
  ttlTimer?: NodeJS.Timeout;
}

/** The outcome of one invocation, before it is written and notified. */
type Outcome =
  | { ok: true; body: Uint8Array; contentType: string }
  | { ok: false; reason: string; body?: Uint8Array; contentType?: string };

export class AsyncEndpoint {
  readonly config: EndpointConfig;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  readonly #host: EndpointHost;
  readonly #pool: InstancePool;
  readonly #queue: Invocation[] = [];
  #inFlight = 0;
  #throttles = 0;
  readonly #modelFailures: InjectedModelFailure[] = [];

  constructor(config: EndpointConfig, host: EndpointHost) {
    this.config = config;
    this.#host = host;
    this.createdAt = host.now();
    this.#pool = new InstancePool(config, host, {
      waiting: () => this.#queue.length > 0,
      changed: () => this.#pump(),
      // Nothing would ever serve them: fail what waits rather than hold it until its TTL.
      startFailed: (reason) => {
        for (const invocation of this.#queue.splice(0)) {
          clearTimeout(invocation.ttlTimer);
          this.#host.track(this.#finish(invocation, { ok: false, reason }));
        }
      },
    });
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.#queue.length;
  }

  snapshot(): EndpointSnapshot {
    return {
      name: this.config.name,
      ...this.#pool.counts(),
      queued: this.#queue.length,
      inFlight: this.#inFlight,
    };
  }

  throttleNext(count: number): void {
    this.#throttles += count;
  }

  failNextInvocations(count: number, failure: InjectedModelFailure): void {
    for (let i = 0; i < count; i++) this.#modelFailures.push(failure);
  }

  /** Queues a validated request; its work starts once its 202 is written. */
  invoke(input: InvokeEndpointAsyncInput): InvokeEndpointAsyncOutput {
    if (this.#throttles > 0) {
      this.#throttles--;
      throw new AwsError(400, 'ThrottlingException', null);
    }
    const id = randomUUID();
    const extension = input.outputPathExtension;
    const outputLocation = joinS3Uri(this.config.s3OutputPath, extension, input.filename ?? `${id}.out`);
    const failureLocation =
      this.config.s3FailurePath === undefined
        ? undefined
        : joinS3Uri(this.config.s3FailurePath, extension, `${id}-error.out`);
    const invocation: Invocation = {
      input,
      outputLocation,
      ...optional('failureLocation', failureLocation),
      receivedAt: this.#host.now(),
    };
    // A request that never reaches an instance still expires on time; the check at dispatch covers
    // a clock that tests move.
    invocation.ttlTimer = setTimeout(() => this.#expire(invocation), input.ttlSeconds * 1000);
    invocation.ttlTimer.unref();
    this.#queue.push(invocation);
    return {
      inferenceId: input.inferenceId,
      outputLocation,
      ...optional('failureLocation', failureLocation),
      answered: () => this.#pump(),
    };
  }

  /**
   * The host stops: what is queued fails with an error notification, or, when the stop abandons it,
   * is dropped without one (its callers invoke it again when they resume).
   */
  async stopQueued(abandon: boolean): Promise<void> {
    const failures: Promise<void>[] = [];
    for (const invocation of this.#queue.splice(0)) {
      clearTimeout(invocation.ttlTimer);
      if (abandon) {
        this.#host.log('request dropped: the host stopped before it ran', {
          inferenceId: invocation.input.inferenceId,
        });
        continue;
      }
      failures.push(
        this.#finish(invocation, {
          ok: false,
          reason: 'ClientError: The endpoint host stopped before the request ran.',
        }),
      );
    }
    await Promise.allSettled(failures);
  }

  stopInstances(): Promise<void> {
    return this.#pool.stopAll();
  }

  /** Dispatches queued requests to free slots, and starts an instance when work waits and none is free. */
  #pump(): void {
    if (this.#host.stopping) return;
    while (this.#queue.length > 0) {
      const instance = this.#pool.free();
      if (!instance) break;
      const invocation = this.#queue.shift() as Invocation;
      clearTimeout(invocation.ttlTimer);
      const waited = this.#host.now() - invocation.receivedAt;
      if (waited > invocation.input.ttlSeconds * 1000) {
        this.#host.track(this.#finish(invocation, expired(invocation, waited)));
        continue;
      }
      this.#pool.take(instance);
      this.#inFlight++;
      // The slot is free once the model has answered; writing the result and notifying follow, as
      // SageMaker publishes notifications apart from the instance's work.
      const answered = this.#infer(instance, invocation).finally(() => {
        this.#inFlight--;
        this.#pool.release(instance);
      });
      this.#host.track(
        answered.then(
          (outcome) => this.#finish(invocation, outcome),
          (error: unknown) =>
            this.#finish(invocation, { ok: false, reason: `ClientError: ${String(error)}` }),
        ),
      );
    }
    this.#pool.scale();
  }

  #expire(invocation: Invocation): void {
    const index = this.#queue.indexOf(invocation);
    if (index === -1) return;
    this.#queue.splice(index, 1);
    this.#host.track(this.#finish(invocation, expired(invocation, this.#host.now() - invocation.receivedAt)));
  }

  async #infer(instance: Instance, invocation: Invocation): Promise<Outcome> {
    const { input } = invocation;
    let body: Uint8Array;
    try {
      body = input.inlineBody ?? (await getObjectBytes(this.#host.s3, parseS3Uri(input.inputLocation ?? '')));
    } catch (error) {
      return {
        ok: false,
        reason: `ClientError: Failed to download the input from ${input.inputLocation}: ${(error as Error).name}.`,
      };
    }
    const injected = this.#modelFailures.shift();
    const answer = injected
      ? {
          status: injected.status ?? 500,
          contentType: injected.contentType ?? 'application/json',
          body: Buffer.from(
            injected.body ??
              `${JSON.stringify({ code: injected.status ?? 500, type: 'InternalServerException', message: 'injected model failure' }, null, 2)}\n`,
          ),
        }
      : await postInvocation(instance.handle?.url ?? '', input, body).catch((error: Error) => error);
    if (answer instanceof Error) {
      const reason =
        answer.name === 'TimeoutError'
          ? `ClientError: The model did not answer within InvocationTimeoutSeconds (${input.timeoutSeconds} s).`
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
  async #finish(invocation: Invocation, outcome: Outcome): Promise<void> {
    const host = this.#host;
    const { input } = invocation;
    if (host.cutOff && !outcome.ok) {
      host.log('request dropped: the host stopped while it ran', { inferenceId: input.inferenceId });
      return;
    }
    let result = outcome;
    let responseParameters: SageMakerAsyncNotification['responseParameters'];
    if (result.ok) {
      try {
        await putObjectBytes(host.s3, parseS3Uri(invocation.outputLocation), result.body, result.contentType);
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
        await putObjectBytes(
          host.s3,
          parseS3Uri(invocation.failureLocation),
          result.body ?? Buffer.from(result.reason),
          contentType,
        );
        responseParameters = { contentType, failureLocation: invocation.failureLocation };
      } catch (error) {
        host.log('could not write the failure object', { error: String(error) });
      }
    }
    const message = asyncNotification({
      region: host.region,
      endpointName: this.config.name,
      inferenceId: input.inferenceId,
      request: {
        ...optional('accept', input.accept),
        ...optional('contentType', input.contentType),
        ...optional('customAttributes', input.customAttributes),
        ...optional('inputLocation', input.inputLocation),
      },
      receivedAt: invocation.receivedAt,
      endedAt: host.now(),
      ...(result.ok ? {} : { failureReason: result.reason }),
      ...optional('responseParameters', responseParameters),
    });
    const kind: NotificationKind = result.ok ? 'success' : 'error';
    const topic = result.ok ? this.config.successTopic : this.config.errorTopic;
    try {
      await host.notify(snsEvent(topic, message, host.region, host.now()), kind);
    } catch (error) {
      host.log('notify failed', {
        endpoint: this.config.name,
        inferenceId: input.inferenceId,
        error: String(error),
      });
    }
  }
}

function expired(invocation: Invocation, waitedMs: number): Outcome {
  return {
    ok: false,
    reason: `ClientError: The request expired: it waited ${Math.round(waitedMs / 1000)} s in the queue, longer than RequestTTLSeconds (${invocation.input.ttlSeconds} s).`,
  };
}

/** POSTs the input to the instance and collects the answer; rejects with a TimeoutError past the timeout. */
function postInvocation(
  url: string,
  input: InvokeEndpointAsyncInput,
  body: Uint8Array,
): Promise<{ status: number; contentType: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${url}/invocations`, {
      method: 'POST',
      headers: {
        'Content-Type': input.contentType ?? 'application/octet-stream',
        'Content-Length': body.length,
        ...optional('Accept', input.accept),
        ...optional('X-Amzn-SageMaker-Custom-Attributes', input.customAttributes),
      },
    });
    const timer = setTimeout(() => {
      const error = new Error(`no answer within ${input.timeoutSeconds} s`);
      error.name = 'TimeoutError';
      request.destroy(error);
    }, input.timeoutSeconds * 1000);
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
    request.end(body);
  });
}
