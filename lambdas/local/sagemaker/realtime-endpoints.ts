/**
 * A real-time endpoint with inference components: what happens to an InvokeEndpoint or
 * InvokeEndpointWithResponseStream request between its arrival and its answer, and what the
 * endpoint and its components look like to DescribeEndpoint and DescribeInferenceComponent.
 *
 * A request names its component (`InferenceComponentName`), goes to one of the component's serving
 * copies (inference-components.ts) and is posted to the copy's `POST /invocations` with its content
 * type, accept and custom attributes, plus `X-Amzn-SageMaker-Inference-Component`, which SageMaker
 * does not send but which lets one local container serve several components (`sharedLauncher`).
 * The model's 2xx is the answer; its chunks are the stream's parts as they arrive.
 *
 * Errors, as SageMaker answers them:
 * - no component named: ValidationError 400, SageMaker's "Inference Component Name header is
 *   required ..."; an unknown one: ValidationError 400, in this emulator's words (AWS's are not
 *   documented);
 * - a component with no copy serving: ValidationError 400 NO_CAPACITY_MESSAGE, which also counts a
 *   NoCapacityInvocationFailure and so wakes the component;
 * - the model answering non-2xx: ModelError 424 with `OriginalStatusCode`, `OriginalMessage` and
 *   `LogStreamArn`; no answer within `invocationTimeoutMs` (SageMaker's 60 s) or a broken connection
 *   before the answer: ModelError with status 0;
 * - the model failing after the stream's 200: a `ModelStreamError` event, `ErrorCode` StreamBroken;
 * - the host stopping: ServiceUnavailable 503 before the answer, `InternalStreamFailure` in a stream.
 *
 * Fault injection for tests (through host.ts): throttles, model failures, slow models and broken
 * streams, each for the next invocations of a component.
 */
import type { IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { InjectedModelFailure } from './async-endpoints.ts';
import {
  type ComponentHost,
  type Copy,
  componentDefaults,
  InferenceComponent,
  type InferenceComponentConfig,
  type InferenceComponentRegistration,
} from './inference-components.ts';
import {
  type RealtimeAnswer,
  type RealtimeAnswerHeaders,
  type RealtimeInvocation,
  type RealtimeStream,
  StreamFailure,
} from './realtime-protocol.ts';
import { AwsError, optional } from './wire-protocol.ts';

/** What InvokeEndpoint answers while a component has no copy (SageMaker's words). */
export const NO_CAPACITY_MESSAGE =
  'Inference Component has no capacity to process this request. ApplicationAutoScaling may be in-progress (if configured) or try to increase the capacity by invoking UpdateInferenceComponentRuntimeConfig API.';
const COMPONENT_REQUIRED_MESSAGE =
  'Inference Component Name header is required for endpoints to which you plan to deploy inference components. Please include Inference Component Name header or consider using SageMaker models.';

export interface RealtimeEndpointRegistration {
  /** The endpoint name clients invoke (SageMaker's pattern: letters, digits, dashes, at most 63). */
  name: string;
  /** The production variant the components run on; default `AllTraffic`. */
  variantName?: string;
  /** Kept for the snapshot only: DescribeEndpoint does not report it. */
  instanceType?: string;
  /** `ManagedInstanceScaling.MinInstanceCount`; default 0 (scale to zero). */
  minInstances?: number;
  /** `ManagedInstanceScaling.MaxInstanceCount`; default 1. */
  maxInstances?: number;
  /** How long the model may take to answer (to start a stream); default 60 s, SageMaker's. */
  invocationTimeoutMs?: number;
  components: InferenceComponentRegistration[];
}

/** A registration with its defaults applied. */
export interface RealtimeEndpointConfig
  extends Required<Omit<RealtimeEndpointRegistration, 'instanceType' | 'components'>> {
  instanceType?: string;
  components: InferenceComponentConfig[];
}

/** How the next streams of a component break: after this many bytes or parts, a ModelStreamError. */
export interface StreamBreak {
  bytes?: number;
  chunks?: number;
}

/** What a real-time endpoint needs of the host around it. */
export interface RealtimeHost extends ComponentHost {
  region: string;
  accountId: string;
}

interface Faults {
  throttles: number;
  failures: InjectedModelFailure[];
  delays: number[];
  breaks: StreamBreak[];
}

/** Why a call was cut short. */
class CallAborted extends Error {
  constructor(readonly why: 'timeout' | 'stopped' | 'gone') {
    super(`the invocation was aborted (${why})`);
  }
}

/** One invocation at a copy. */
interface Call {
  component: InferenceComponent;
  copy: Copy;
  signal: AbortSignal;
  abort(why: CallAborted['why']): void;
  /** Gives the copy back; idempotent. */
  release(): void;
}

export function realtimeDefaults(registration: RealtimeEndpointRegistration): RealtimeEndpointConfig {
  if (registration.components.length === 0)
    throw new Error(`endpoint ${registration.name} has no components`);
  const maxInstances = registration.maxInstances ?? 1;
  if (!Number.isInteger(maxInstances) || maxInstances < 1) {
    throw new Error(`maxInstances must be a positive integer, got ${maxInstances}`);
  }
  return {
    ...registration,
    variantName: registration.variantName ?? 'AllTraffic',
    minInstances: registration.minInstances ?? 0,
    maxInstances,
    invocationTimeoutMs: registration.invocationTimeoutMs ?? 60_000,
    components: registration.components.map(componentDefaults),
  };
}

export class RealtimeEndpoint {
  readonly config: RealtimeEndpointConfig;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  readonly components = new Map<string, InferenceComponent>();
  /** Settles once every component's initial copies serve or have failed to start. */
  readonly ready: Promise<void>;
  readonly #host: RealtimeHost;
  readonly #faults = new Map<string, Faults>();
  readonly #calls = new Set<{ abort: Call['abort']; answered: Promise<void> }>();
  #throttles = 0;

  constructor(config: RealtimeEndpointConfig, host: RealtimeHost) {
    this.config = config;
    this.#host = host;
    this.createdAt = host.now();
    for (const component of config.components) {
      this.components.set(component.name, new InferenceComponent(component, config.name, host));
      this.#faults.set(component.name, { throttles: 0, failures: [], delays: [], breaks: [] });
    }
    this.ready = Promise.all([...this.components.values()].map((component) => component.ready)).then(
      () => undefined,
    );
  }

  /** The component, or undefined when the endpoint has none of that name. */
  component(name: string): InferenceComponent | undefined {
    return this.components.get(name);
  }

  async invoke(invocation: RealtimeInvocation): Promise<RealtimeAnswer> {
    const call = this.#begin(invocation);
    const timer = setTimeout(() => call.abort('timeout'), this.config.invocationTimeoutMs);
    try {
      const response = await this.#forward(call, invocation);
      const body = await collect(response);
      return { ...this.#headers(response), body };
    } catch (error) {
      throw this.#failure(call, error);
    } finally {
      clearTimeout(timer);
      call.release();
    }
  }

  async invokeStream(invocation: RealtimeInvocation): Promise<RealtimeStream> {
    const call = this.#begin(invocation);
    const timer = setTimeout(() => call.abort('timeout'), this.config.invocationTimeoutMs);
    let response: IncomingMessage;
    try {
      response = await this.#forward(call, invocation);
    } catch (error) {
      call.release();
      throw this.#failure(call, error);
    } finally {
      clearTimeout(timer);
    }
    const streamBreak = this.#faultsOf(call.component).breaks.shift();
    return { ...this.#headers(response), parts: this.#parts(call, response, streamBreak) };
  }

  /** The next `count` invocations (of `component`, or of any) are throttled. */
  throttleNext(component: string | undefined, count: number): void {
    if (component === undefined) this.#throttles += count;
    else this.#faultsOf(this.#require(component)).throttles += count;
  }

  /** The next `count` invocations of the component take a copy and answer `failure` instead of running. */
  failNext(component: string, count: number, failure: InjectedModelFailure): void {
    const faults = this.#faultsOf(this.#require(component));
    for (let i = 0; i < count; i++) faults.failures.push(failure);
  }

  /** The next `count` invocations of the component wait `ms` at their copy before the model runs. */
  delayNext(component: string, ms: number, count: number): void {
    const faults = this.#faultsOf(this.#require(component));
    for (let i = 0; i < count; i++) faults.delays.push(ms);
  }

  /** The component's next stream breaks after `after` (bytes or parts) with a ModelStreamError. */
  breakNextStream(component: string, after: StreamBreak): void {
    this.#faultsOf(this.#require(component)).breaks.push(after);
  }

  /**
   * Answers every request in flight with an error (the host stops) and resolves once they are
   * written, at most `graceMs` later.
   */
  async abortCalls(graceMs: number): Promise<void> {
    const calls = [...this.#calls];
    for (const call of calls) call.abort('stopped');
    await Promise.race([Promise.allSettled(calls.map((call) => call.answered)), sleep(graceMs)]);
  }

  async stopCopies(): Promise<void> {
    await Promise.allSettled([...this.components.values()].map((component) => component.stop()));
  }

  /** Routes the request to a copy, or throws the error SageMaker answers before any copy is involved. */
  #begin(invocation: RealtimeInvocation): Call {
    const name = invocation.componentName;
    if (name === undefined || name === '')
      throw new AwsError(400, 'ValidationError', COMPONENT_REQUIRED_MESSAGE);
    const component = this.components.get(name);
    if (!component) {
      throw new AwsError(
        400,
        'ValidationError',
        `Inference Component ${name} was not found on endpoint ${this.config.name} of account ${this.#host.accountId}.`,
      );
    }
    const faults = this.#faultsOf(component);
    if (this.#throttles > 0 || faults.throttles > 0) {
      if (this.#throttles > 0) this.#throttles--;
      else faults.throttles--;
      throw new AwsError(400, 'ThrottlingException', null);
    }
    const copy = component.acquire();
    if (!copy) throw new AwsError(400, 'ValidationError', NO_CAPACITY_MESSAGE);
    const controller = new AbortController();
    const abort = (why: CallAborted['why']) => {
      if (!controller.signal.aborted) controller.abort(new CallAborted(why));
    };
    const onGone = () => abort('gone');
    invocation.signal.addEventListener('abort', onGone, { once: true });
    if (invocation.signal.aborted) onGone();
    const entry = { abort, answered: invocation.answered };
    this.#calls.add(entry);
    void invocation.answered.then(() => this.#calls.delete(entry));
    let released = false;
    return {
      component,
      copy,
      signal: controller.signal,
      abort,
      release: () => {
        if (released) return;
        released = true;
        invocation.signal.removeEventListener('abort', onGone);
        component.release(copy);
      },
    };
  }

  /** Posts the request to the copy; resolves with the model's 2xx once its headers arrive. */
  async #forward(call: Call, invocation: RealtimeInvocation): Promise<IncomingMessage> {
    const faults = this.#faultsOf(call.component);
    const delay = faults.delays.shift();
    if (delay !== undefined) await sleep(delay, undefined, { signal: call.signal });
    const injected = faults.failures.shift();
    if (injected) {
      const status = injected.status ?? 500;
      const body =
        injected.body ??
        JSON.stringify({ code: status, type: 'InternalServerException', message: 'injected model failure' });
      throw this.#modelError(call.component, status, body);
    }
    const response = await post(call.copy.handle?.url ?? '', invocation, call.component.name, call.signal);
    const status = response.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      throw this.#modelError(call.component, status, (await collect(response)).toString('utf8'));
    }
    return response;
  }

  /** The model's chunks as the stream's parts; a break or a failure ends them with a stream error. */
  async *#parts(
    call: Call,
    response: IncomingMessage,
    streamBreak?: StreamBreak,
  ): AsyncGenerator<Uint8Array> {
    let bytes = 0;
    let chunks = 0;
    const broken = () =>
      (streamBreak?.bytes !== undefined && bytes >= streamBreak.bytes) ||
      (streamBreak?.chunks !== undefined && chunks >= streamBreak.chunks);
    try {
      if (broken()) throw brokenStream('injected stream failure');
      for await (const chunk of response) {
        let part = chunk as Buffer;
        if (streamBreak?.bytes !== undefined) part = part.subarray(0, streamBreak.bytes - bytes);
        bytes += part.length;
        chunks++;
        yield part;
        if (broken()) throw brokenStream('injected stream failure');
      }
    } catch (error) {
      if (error instanceof StreamFailure) throw error;
      const reason = call.signal.reason;
      if (reason instanceof CallAborted && reason.why === 'stopped') {
        throw new StreamFailure(
          'InternalStreamFailure',
          'The endpoint host stopped while the response streamed.',
        );
      }
      throw brokenStream((error as Error).message);
    } finally {
      response.destroy();
      call.release();
    }
  }

  #headers(response: IncomingMessage): RealtimeAnswerHeaders {
    const customAttributes = response.headers['x-amzn-sagemaker-custom-attributes'];
    return {
      contentType: response.headers['content-type'] ?? 'application/octet-stream',
      invokedVariant: this.config.variantName,
      ...optional('customAttributes', typeof customAttributes === 'string' ? customAttributes : undefined),
    };
  }

  /** The error an invocation that did not get a 2xx answers with. */
  #failure(call: Call, error: unknown): unknown {
    if (error instanceof AwsError) return error;
    const reason = call.signal.reason;
    if (reason instanceof CallAborted && reason.why === 'stopped') {
      return new AwsError(503, 'ServiceUnavailable', 'The endpoint host stopped before the model answered.');
    }
    if (reason instanceof CallAborted && reason.why === 'timeout') {
      return this.#modelError(
        call.component,
        0,
        'Your invocation timed out while waiting for a response from container model. Review the latency metrics for each container in Amazon CloudWatch, resolve the issue, and try again.',
      );
    }
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return this.#modelError(call.component, 0, `The connection to the model container failed (${code}).`);
  }

  #modelError(component: InferenceComponent, status: number, originalMessage: string): AwsError {
    const { region, accountId } = this.#host;
    const group = `/aws/sagemaker/InferenceComponents/${component.name}`;
    const side = status >= 400 && status < 500 ? 'client' : 'server';
    return new AwsError(
      424,
      'ModelError',
      `Received ${side} error (${status}) from model with message "${originalMessage}". See https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#logEventViewer:group=${group} in account ${accountId} for more information.`,
      'rest',
      {
        OriginalStatusCode: status,
        OriginalMessage: originalMessage,
        LogStreamArn: `arn:aws:logs:${region}:${accountId}:log-group:${group}`,
      },
    );
  }

  #faultsOf(component: InferenceComponent): Faults {
    return this.#faults.get(component.name) as Faults;
  }

  #require(name: string): InferenceComponent {
    const component = this.components.get(name);
    if (!component) throw new Error(`endpoint ${this.config.name} has no component ${name}`);
    return component;
  }
}

function brokenStream(detail: string): StreamFailure {
  return new StreamFailure(
    'ModelStreamError',
    `The model stopped sending the response before it was complete: ${detail}.`,
    'StreamBroken',
  );
}

/** POSTs the request to the copy; an abort of `signal` destroys the request and the answer both. */
function post(
  url: string,
  invocation: RealtimeInvocation,
  componentName: string,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${url}/invocations`, {
      method: 'POST',
      headers: {
        'Content-Type': invocation.contentType ?? 'application/octet-stream',
        'Content-Length': invocation.body.length,
        'X-Amzn-SageMaker-Inference-Component': componentName,
        ...optional('Accept', invocation.accept),
        ...optional('X-Amzn-SageMaker-Custom-Attributes', invocation.customAttributes),
      },
    });
    let response: IncomingMessage | undefined;
    const onAbort = () => {
      request.destroy(signal.reason as Error);
      response?.destroy(signal.reason as Error);
    };
    const cleanUp = () => signal.removeEventListener('abort', onAbort);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    request.once('error', (error) => {
      cleanUp();
      reject(error);
    });
    request.once('response', (answer) => {
      response = answer;
      answer.once('close', cleanUp);
      resolve(answer);
    });
    request.end(invocation.body);
  });
}

async function collect(response: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
