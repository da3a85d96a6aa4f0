/**
 * The inference gateway (seed 003): one model's answer, several models' answers side by side, a
 * model's answer as a stream, and the EMD models' state. Frames are checked before any model is
 * called; every call runs inside a deadline that API Gateway's 29 s allows, retries what is brief,
 * and is recorded in the tenant's usage whether it succeeded or not. A model route's `"async": true`
 * is checked the same way and then stored as an `inference` job, whose workflow makes the same call
 * with a deadline of minutes (workflow-tasks.ts).
 */
import type {
  EmdModelList,
  EmdStatus,
  InferenceAccepted,
  InferenceResponse,
  ModelInput,
  ModelResult,
  MultiInferenceRequest,
  MultiInferenceResponse,
  UploadRequest,
  UploadUrl,
} from '../../../contracts/inference.ts';
import type { RuntimeModel } from '../../../contracts/inference-models.ts';
import { DomainError } from '../errors.ts';
import type { JobsEngine } from '../jobs/engine.ts';
import { presentJob } from '../jobs/present.ts';
import { storeAndStart } from '../jobs/start.ts';
import type { BlobStore, Clock } from '../ports.ts';
import { callWithin, explain, RETRIED, type RetryPolicy, withRetries } from './calls.ts';
import { callableOrThrow, type ModelCatalogue, whyNotCallable } from './catalogue.ts';
import { type InferenceWorkflow, inferenceKeys } from './execution.ts';
import { checkFrames } from './frames.ts';
import type { InferenceJobRecord } from './job-record.ts';
import type {
  BedrockRuntimeModel,
  CallableModel,
  ChatModelPort,
  ChatReply,
  ChatTurn,
  ComponentStatusPort,
  DeployedSageMakerModel,
  Frame,
  InferenceUsagePort,
} from './ports.ts';
import {
  estimateUsd,
  failedResult,
  type InferenceUsageSummary,
  presentAnswer,
  presentEcho,
  presentUsage,
  servedBy,
} from './present.ts';
import { emdModelStatus } from './status.ts';
import { type InferenceStream, openStream } from './stream.ts';
import { uploadUrl } from './uploads.ts';

export type { InferenceStream };

/**
 * A call's default deadline (its retries included), and a stream's to its first event: inside API
 * Gateway's 29 s, with room to answer.
 */
export const DEADLINE_MS = 25_000;
/** A stream's default deadline to its last event (API Gateway streams up to 15 min). */
export const STREAM_DEADLINE_MS = 600_000;
/** An asynchronous job's default deadline: inside Lambda's 15 minutes, with room to store the answer. */
export const ASYNC_DEADLINE_MS = 840_000;

export interface InferenceServiceDeps {
  catalogue: ModelCatalogue;
  bedrock: ChatModelPort<BedrockRuntimeModel>;
  sagemaker: ChatModelPort<DeployedSageMakerModel>;
  components: ComponentStatusPort;
  usage: InferenceUsagePort;
  /** `s3://` frames are read from here; upload links are signed for it; async requests are stored in it. */
  blobs: Pick<BlobStore, 'bucket' | 'size' | 'get' | 'put' | 'presignPut'>;
  /** What `"async": true` needs: the jobs engine and the inference machine. */
  jobs: { readonly engine: JobsEngine; readonly workflow: InferenceWorkflow };
  clock: Clock;
  newId: () => string;
  /** Waits between retries; injectable so that tests do not wait. Default: a timer. */
  sleep?: (ms: number) => Promise<void>;
  /** In [0, 1), the retries' jitter. Default Math.random. */
  random?: () => number;
  /**
   * How long a call (and its retries) may take, and a stream to its first event: inside API
   * Gateway's 29 s, with room to answer. Default `DEADLINE_MS` (25 s).
   */
  deadlineMs?: number;
  /** How long a stream may last in all. Default `STREAM_DEADLINE_MS` (10 min). */
  streamDeadlineMs?: number;
  /**
   * How long an asynchronous job's call may take, its retries and a model's wake included: below
   * Lambda's 15 minutes, with room to store the answer. Default `ASYNC_DEADLINE_MS` (14 min).
   */
  asyncDeadlineMs?: number;
  /** The retries' backoff (base, cap, attempts), for tests and tuning. */
  retry?: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs' | 'maxAttempts' | 'minAttemptMs'>;
  /** How long an upload link lives. Default 900 s. */
  uploadTtlSeconds?: number;
  log?: (message: string, details: Record<string, unknown>) => void;
}

export class InferenceService {
  readonly #deps: InferenceServiceDeps;
  readonly #deadlineMs: number;
  readonly #log: NonNullable<InferenceServiceDeps['log']>;
  readonly #retry: RetryPolicy;

  constructor(deps: InferenceServiceDeps) {
    this.#deps = deps;
    this.#deadlineMs = deps.deadlineMs ?? DEADLINE_MS;
    this.#log = deps.log ?? (() => undefined);
    this.#retry = {
      ...deps.retry,
      clock: deps.clock,
      sleep: deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      random: deps.random ?? Math.random,
    };
  }

  get catalogue(): ModelCatalogue {
    return this.#deps.catalogue;
  }

  /**
   * One model's answer (`POST /api/claude4`, `/api/nova`, `/api/emd/{model_key}`). With `provider`,
   * only that provider's keys are known (the EMD route). Throws the DomainError the route answers.
   * `settings.async`: the call of an asynchronous job, with its deadline of minutes, waiting for a
   * model that wakes from zero rather than answering that it is waking.
   */
  async infer(
    tenant: string,
    key: string,
    request: ModelInput,
    provider?: RuntimeModel['provider'],
    settings: { async?: boolean } = {},
  ): Promise<InferenceResponse> {
    const { model, frames } = await this.#checked(tenant, key, request, provider);
    const { reply, latencyMs } = await this.#complete(
      tenant,
      model,
      frames,
      request,
      settings.async ? this.#asyncCall(model) : undefined,
    );
    return {
      time: this.#deps.clock.now().toISOString(),
      request: presentEcho(request),
      response: presentAnswer(reply),
      model: servedBy(model, reply.answeredBy),
      latency_ms: latencyMs,
    };
  }

  /**
   * `"async": true` on a model route: the request is checked exactly as `infer` checks it (an unknown
   * key, a bad frame, a model not deployed here is the same error, and nothing is stored), then
   * stored in S3 and run as an `inference` job (statemachines/inference.asl.json).
   */
  async submit(
    tenant: string,
    key: string,
    request: ModelInput,
    provider?: RuntimeModel['provider'],
  ): Promise<InferenceAccepted> {
    const { jobs, blobs, clock, newId } = this.#deps;
    const { model } = await this.#checked(tenant, key, request, provider);
    const id = newId();
    const keys = inferenceKeys(tenant, id);
    const stored: ModelInput = {
      text: request.text,
      frames: request.frames,
      mediaType: request.mediaType,
      max_tokens: request.max_tokens,
      temperature: request.temperature,
    };
    await blobs.put(keys.request, new TextEncoder().encode(JSON.stringify(stored)), 'application/json');
    const now = clock.now().toISOString();
    const job: InferenceJobRecord = {
      tenant,
      id,
      kind: 'inference',
      status: 'pending',
      version: 1,
      name: model.key,
      params: { model_key: model.key, provider: model.provider },
      progress: 0,
      message: `waiting to call model ${model.key}`,
      createdAt: now,
      updatedAt: now,
    };
    const started = await storeAndStart(jobs, {
      job,
      logLine: `asked model ${model.key} (${model.modelId}): ${describeInput(request)}`,
      input: { tenant, jobId: id },
      names: { job: 'the inference job', workflow: 'the inference workflow', idDetail: 'job_id' },
    });
    return {
      time: now,
      request: presentEcho(request),
      status: 'submitted',
      job: presentJob(started),
    };
  }

  /**
   * Several models at once (`POST /api/multi-inference`). The request is checked once, against every
   * model's limits: an unknown key or a bad frame fails it whole, before any model is called. Then
   * every model is called in parallel with its own deadline, and each model's failure is its part of
   * the answer only.
   */
  async multi(tenant: string, request: MultiInferenceRequest): Promise<MultiInferenceResponse> {
    const started = this.#now();
    const models = this.#deps.catalogue.requireAll(request.models);
    const frames = await this.#checkFrames(tenant, request, models);
    const results = await Promise.all(models.map((model) => this.#result(tenant, model, frames, request)));
    return {
      time: this.#deps.clock.now().toISOString(),
      request: presentEcho(request),
      results,
      latency_ms: this.#now() - started,
    };
  }

  /**
   * A model's answer as it is produced (`POST /api/stream/{model_name}`). Resolves once the model's
   * first event is in hand, so that whatever fails before it (bad input, a model not deployed or
   * waking, throttling past its retries) is thrown as the DomainError the route answers with a
   * status of its own. Then the route writes the event-stream head and the `events` (`start` first),
   * in which a later failure is one `error` event that ends the stream.
   */
  async stream(tenant: string, key: string, request: ModelInput): Promise<InferenceStream> {
    const { model, frames } = await this.#checked(tenant, key, request);
    const turn = turnOf(request, frames);
    return openStream({
      model,
      start: {
        type: 'start',
        time: this.#deps.clock.now().toISOString(),
        request: presentEcho(request),
        model: servedBy(model),
      },
      port: (signal) =>
        model.provider === 'bedrock'
          ? this.#deps.bedrock.stream(model, turn, signal)
          : this.#deps.sagemaker.stream(model, turn, signal),
      deadlineMs: this.#deadlineMs,
      streamDeadlineMs: this.#deps.streamDeadlineMs ?? STREAM_DEADLINE_MS,
      retry: this.#retryFor(model),
      explain: (error, deadlineMs) => this.#explain(model, error, deadlineMs),
      record: (call) => this.#record(tenant, model, call),
      log: this.#log,
    });
  }

  /** Every EMD model's state now (`GET /api/emd/status`), described in parallel. */
  async status(): Promise<EmdStatus> {
    const { components, clock } = this.#deps;
    const models = await Promise.all(
      this.#deps.catalogue
        .emdModels()
        .map((model) => emdModelStatus(model, { components, clock, log: this.#log })),
    );
    return { time: clock.now().toISOString(), models };
  }

  /** The catalogue with each model's state (`GET /api/emd/models`): Bedrock models and EMD models. */
  async models(): Promise<EmdModelList> {
    const emd = new Map((await this.status()).models.map((status) => [status.model_key, status]));
    return {
      models: this.#deps.catalogue.list().map((model) => {
        const deployed = whyNotCallable(model) === undefined;
        return {
          model_key: model.key,
          model_id: model.modelId,
          name: model.name,
          provider: model.provider,
          deployed,
          state: emd.get(model.key)?.state ?? (deployed ? 'ready' : 'not_deployed'),
          media: [...model.media],
        };
      }),
    };
  }

  /** The tenant's inference usage over whole UTC days (`GET /api/v1/usage`). */
  async usageSummary(tenant: string, start: Date, end: Date): Promise<InferenceUsageSummary> {
    return presentUsage(await this.#deps.usage.totals(tenant, start, end));
  }

  /** A presigned PUT for a frame too large to send inline. */
  uploadUrl(tenant: string, request: UploadRequest): Promise<UploadUrl> {
    const { blobs, clock, newId, uploadTtlSeconds } = this.#deps;
    return uploadUrl(
      { blobs, clock, newId, ...(uploadTtlSeconds === undefined ? {} : { ttlSeconds: uploadTtlSeconds }) },
      tenant,
      request,
    );
  }

  #now(): number {
    return this.#deps.clock.now().getTime();
  }

  /**
   * What every single-model route checks before a model is called, in this order: the key (400), the
   * frames against the model's limits (400, 404), and that the model can be called here (503).
   */
  async #checked(
    tenant: string,
    key: string,
    request: ModelInput,
    provider?: RuntimeModel['provider'],
  ): Promise<{ model: CallableModel; frames: Frame[] }> {
    const known = this.#deps.catalogue.require(key, provider);
    const frames = await this.#checkFrames(tenant, request, known);
    return { model: callableOrThrow(known), frames };
  }

  #checkFrames(
    tenant: string,
    request: ModelInput,
    models: RuntimeModel | readonly RuntimeModel[],
  ): Promise<Frame[]> {
    return checkFrames(request.frames, request.mediaType, models, { tenant, blobs: this.#deps.blobs });
  }

  /** One model of a multi-inference request: its answer or its error, never a throw. */
  async #result(
    tenant: string,
    known: RuntimeModel,
    frames: readonly Frame[],
    request: ModelInput,
  ): Promise<ModelResult> {
    const started = this.#now();
    try {
      const model = callableOrThrow(known);
      const { reply, latencyMs } = await this.#complete(tenant, model, frames, request);
      return {
        model: known.key,
        status: 200,
        latency_ms: latencyMs,
        response: presentAnswer(reply),
        served_by: servedBy(model, reply.answeredBy),
      };
    } catch (error) {
      const latencyMs = this.#now() - started;
      if (error instanceof DomainError) return failedResult(known.key, error, latencyMs);
      this.#log('a model call failed unexpectedly', { model_key: known.key, error: String(error) });
      return {
        model: known.key,
        status: 500,
        latency_ms: latencyMs,
        error: 'the gateway failed on this model; see its logs',
        code: 'internal',
      };
    }
  }

  /**
   * Calls a model with retries inside the deadline, records the call, and explains a failure. `call`:
   * another deadline and retry policy than the routes' (an asynchronous job's).
   */
  async #complete(
    tenant: string,
    model: CallableModel,
    frames: readonly Frame[],
    request: ModelInput,
    call: { deadlineMs: number; retry: RetryPolicy } = {
      deadlineMs: this.#deadlineMs,
      retry: this.#retryFor(model),
    },
  ): Promise<{ reply: ChatReply; latencyMs: number }> {
    const turn = turnOf(request, frames);
    const started = this.#now();
    const invoke = (signal: AbortSignal) =>
      model.provider === 'bedrock'
        ? this.#deps.bedrock.complete(model, turn, signal)
        : this.#deps.sagemaker.complete(model, turn, signal);
    try {
      const reply = await withRetries(
        (remainingMs) => callWithin(remainingMs, `model ${model.key}`, invoke),
        started + call.deadlineMs,
        call.retry,
      );
      const latencyMs = this.#now() - started;
      await this.#record(tenant, model, {
        inputTokens: reply.inputTokens,
        outputTokens: reply.outputTokens,
        latencyMs,
        failed: false,
      });
      return { reply, latencyMs };
    } catch (error) {
      await this.#record(tenant, model, {
        inputTokens: 0,
        outputTokens: 0,
        latencyMs: this.#now() - started,
        failed: true,
      });
      throw await this.#explain(model, error, call.deadlineMs);
    }
  }

  /**
   * An asynchronous job's call: minutes to answer, and a model scaled to zero is waited for, its
   * wake retried every few seconds (the no-capacity invocations are what wake it in AWS), as
   * throttling is, until the deadline.
   */
  #asyncCall(model: CallableModel): { deadlineMs: number; retry: RetryPolicy } {
    return {
      deadlineMs: this.#deps.asyncDeadlineMs ?? ASYNC_DEADLINE_MS,
      retry: {
        ...this.#retryFor(model),
        retried: new Set([...RETRIED, 'no_capacity']),
        maxAttempts: Number.POSITIVE_INFINITY,
        maxDelayMs: 15_000,
      },
    };
  }

  #retryFor(model: CallableModel): RetryPolicy {
    return {
      ...this.#retry,
      onRetry: (error, attempt, delayMs) =>
        this.#log('retrying a model call', {
          model_key: model.key,
          reason: error.reason,
          service_error: error.serviceError,
          attempt,
          delay_ms: delayMs,
        }),
    };
  }

  #explain(model: CallableModel, error: unknown, deadlineMs = this.#deadlineMs): Promise<DomainError> {
    return explain(model, error, {
      clock: this.#deps.clock,
      components: this.#deps.components,
      deadlineMs,
      log: this.#log,
    });
  }

  /** Records one call; a usage store that fails is logged, never the caller's failure. */
  async #record(
    tenant: string,
    model: CallableModel,
    call: { inputTokens: number; outputTokens: number; latencyMs: number; failed: boolean },
  ): Promise<void> {
    try {
      await this.#deps.usage.record(tenant, {
        modelKey: model.key,
        ...call,
        estimatedUsd: estimateUsd(model, call.inputTokens, call.outputTokens),
        at: this.#deps.clock.now(),
      });
    } catch (error) {
      this.#log('could not record an inference call', { model_key: model.key, error: String(error) });
    }
  }
}

/** A request in a log line: what it asks, not its frames' bytes. */
function describeInput(request: ModelInput): string {
  const frames = request.frames.length === 1 ? '1 frame' : `${request.frames.length} frames`;
  return `${frames} (${request.mediaType}), max_tokens ${request.max_tokens}`;
}

function turnOf(request: ModelInput, frames: readonly Frame[]): ChatTurn {
  return { text: request.text, frames, maxTokens: request.max_tokens, temperature: request.temperature };
}
