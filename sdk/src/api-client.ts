/**
 * The low level of the SDK: one typed method per route of the API, all built on `call`, which
 * takes any route of the table (contracts/routes.ts) and is typed from its schemas.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { StreamEvent } from '../../contracts/inference.ts';
import { type Routes, routes } from '../../contracts/routes.ts';
import {
  type DatasetJobKind,
  type DatasetJobRef,
  type DatasetJobResults,
  type DatasetJobWaitOptions,
  waitForDatasetJob,
} from './dataset-jobs.ts';
import { requestIdOf, SynthForgeError } from './errors.ts';
import { FRAME_EXTENSIONS, type FrameContentType, sniffFrameType } from './frames.ts';
import {
  type BodyReader,
  decodeText,
  type FetchFunction,
  type OutgoingRequest,
  readWholeBody,
  reportingBytes,
  sendWithRetries,
  writeBodyToFile,
} from './http.ts';
import type { ModelAnswerOf } from './inference-resources.ts';
import { type ModelCallOptions, withModelWait } from './model-wait.ts';
import { DEFAULT_RETRY_POLICY, isRepeatable, type RetryPolicy, SYSTEM_TIMERS, type Timers } from './retry.ts';
import type {
  AnyRoute,
  BodyOf,
  CallOptions,
  ParamsOf,
  QueryOf,
  ResponseOf,
  RouteArgs,
  RouteInput,
} from './route-types.ts';
import { inferenceEvents, openEventStream, serverSentEvents } from './sse.ts';
import { SDK_VERSION } from './version.ts';

/** How to reach the API and how patiently. */
export interface ApiClientOptions {
  /** The API's root, with the stage for a deployed stack: `https://abc.execute-api.eu-west-1.amazonaws.com/dev`. */
  baseUrl: string;
  /** Sent as `X-API-Key` on every authenticated route. The public routes (`health`, `openapi`) work without. */
  apiKey?: string;
  /** Per attempt, body included. Default 30 s. */
  timeoutMs?: number;
  /** Default: 5 attempts, backoff from 200 ms up to 10 s. */
  retries?: Partial<RetryPolicy>;
  /** Default: the platform's `fetch`. */
  fetch?: FetchFunction;
  /**
   * The clock and pauses of retries and of `Batch.awaitCompletion`. Default: the real ones; a test
   * passes its own to see the waits asked for without spending them.
   */
  timers?: Timers;
}

/** Options for fetching a result archive from its presigned link. */
export interface DownloadRequestOptions {
  signal?: AbortSignal;
  /** Per attempt, body included. Default 5 minutes: an archive can be hundreds of megabytes. */
  timeoutMs?: number;
  /**
   * Called with the length of each chunk of the archive as it arrives. An attempt that breaks off
   * and is retried starts the archive over, so its chunks are counted again. A throw ends the fetch.
   */
  onBytes?: (bytes: number) => void;
}

/** Options of `ApiClient.uploadFrame`: the call's, and what to name the file. */
export interface UploadFrameOptions extends CallOptions {
  /** Default: from the frame's first bytes (PNG, JPEG, GIF, WebP, MP4). */
  contentType?: FrameContentType;
  /** Default: the path's base name, or `frame.<ext>` for bytes. */
  filename?: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_DOWNLOAD_TIMEOUT_MS = 5 * 60_000;
const USER_AGENT = `synthforge-sdk/${SDK_VERSION}`;
/** The type of a text body: the only route that takes one is seed 004's YAML resources. */
const TEXT_BODY_TYPE = 'application/yaml';

type RouteOf<Name extends keyof Routes> = Routes[Name];

/**
 * A client for the SynthForge API. Every call has a timeout; transient failures (429, 502, 503, 504,
 * network errors) are retried with exponential backoff and full jitter, honouring `Retry-After`; a
 * POST is retried only with an `Idempotency-Key`, which the client generates for every submission,
 * so a retry never starts a second job. Answers are checked against the contract.
 */
/**
 * A model call's key: an `"async": true` request starts a job, and is keyed so that a retry starts
 * no second one; a call answered at once (a multi-inference too, up to 8 models) is not retried
 * unasked (each attempt runs, and bills, the models again, and a model waking from zero is
 * `waitForModel`'s to wait for), unless given a key.
 */
function modelCallKey<O extends CallOptions>(async: boolean | undefined, options: O | undefined): O {
  const given = options ?? ({} as O);
  if (given.idempotencyKey !== undefined || async === true) return given;
  return { ...given, idempotencyKey: null };
}

export class ApiClient {
  /** The API's root, without a trailing slash. */
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly retryPolicy: RetryPolicy;
  readonly timers: Timers;
  readonly #apiKey: string | undefined;
  readonly #fetch: FetchFunction;

  constructor(options: ApiClientOptions) {
    const parsed = URL.canParse(options.baseUrl) ? new URL(options.baseUrl) : undefined;
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      throw new TypeError(`baseUrl must be an http(s) URL, got ${JSON.stringify(options.baseUrl)}`);
    }
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retries };
    if (!(this.retryPolicy.maxAttempts >= 1)) throw new RangeError('retries.maxAttempts must be at least 1');
    this.#apiKey = options.apiKey;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.timers = options.timers ?? SYSTEM_TIMERS;
  }

  /**
   * Calls any route of the table: fills its path parameters, query string and JSON body, sends it
   * with retries and returns the answer parsed with the route's response schema.
   */
  async call<R extends AnyRoute>(route: R, ...[input]: RouteArgs<R>): Promise<ResponseOf<R>> {
    const given = (input ?? {}) as RouteInput<AnyRoute> & { params?: object; query?: object; body?: unknown };
    if (typeof given.idempotencyKey === 'string' && !route.idempotent) {
      throw new TypeError(`${route.operationId} does not take an Idempotency-Key`);
    }
    // One key for all attempts of this call: that is what lets the server recognise a retry.
    const idempotencyKey =
      route.idempotent && given.idempotencyKey !== null ? (given.idempotencyKey ?? randomUUID()) : undefined;
    // A text body (seed 004's YAML) goes as it is; a route with an all-optional JSON body still
    // needs a JSON object to parse.
    const textBody = route.bodyFormat === 'text';
    const body = route.body
      ? textBody
        ? String(given.body ?? '')
        : JSON.stringify(given.body ?? {})
      : undefined;
    const headers: Record<string, string> = {
      accept: route.response.contentType ?? 'application/json',
      'user-agent': USER_AGENT,
    };
    if (route.auth && this.#apiKey !== undefined) headers['x-api-key'] = this.#apiKey;
    if (body !== undefined) headers['content-type'] = textBody ? TEXT_BODY_TYPE : 'application/json';
    if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;

    const answer = await this.#send(readWholeBody, {
      method: route.method,
      url: buildUrl(this.baseUrl, route.path, given.params, given.query),
      headers,
      ...(body === undefined ? {} : { body }),
      repeatable: isRepeatable(route.method, idempotencyKey !== undefined),
      timeoutMs: given.timeoutMs ?? this.timeoutMs,
      signal: given.signal,
    });
    return parseAnswer(route, answer.status, answer.headers, answer.body);
  }

  /**
   * The bytes behind a result link (a presigned URL), in memory, with the same timeouts and retries
   * as a call. The API key is never sent: the link authorises itself and may point at another host.
   * For an archive of any size prefer `fetchResultToFile`, whose memory does not grow with it.
   */
  fetchResult(url: string, options: DownloadRequestOptions = {}): Promise<Uint8Array> {
    return this.#fetchResult(url, readWholeBody, options);
  }

  /**
   * Streams the bytes behind a result link to the file `path` (created or replaced; its folder must
   * exist) and resolves with the number written. Retried like `fetchResult`: an answer that breaks
   * off mid-body is fetched again from the start, over the file.
   */
  fetchResultToFile(url: string, path: string, options: DownloadRequestOptions = {}): Promise<number> {
    return this.#fetchResult(url, writeBodyToFile(path), options);
  }

  async #fetchResult<Body>(url: string, reader: BodyReader<Body>, options: DownloadRequestOptions) {
    const answer = await this.#send(reportingBytes(reader, options.onBytes), {
      method: 'GET',
      url,
      headers: { 'user-agent': USER_AGENT },
      repeatable: true,
      timeoutMs: options.timeoutMs ?? DEFAULT_DOWNLOAD_TIMEOUT_MS,
      signal: options.signal,
    });
    return answer.body;
  }

  #send<Body>(reader: BodyReader<Body>, request: OutgoingRequest) {
    const timers = this.timers;
    return sendWithRetries(
      { fetch: this.#fetch, policy: this.retryPolicy, sleep: (ms, signal) => timers.sleep(ms, signal) },
      request,
      reader,
    );
  }

  // The named methods: one line each over `call`, typed by the route table.

  /** What this API is and where its documentation lives. */
  root(options?: CallOptions) {
    return this.call(routes.root, { ...options });
  }
  /** Liveness (no key needed). */
  health(options?: CallOptions) {
    return this.call(routes.health, { ...options });
  }
  /** The OpenAPI document (no key needed). */
  openapi(options?: CallOptions) {
    return this.call(routes.openapi, { ...options });
  }
  /** The generators this deployment offers. */
  listGenerators(options?: CallOptions) {
    return this.call(routes.listGenerators, { ...options });
  }
  /** A generator's parameters (name, type, default_value, options) and whether it allows previews. */
  getGenerator(name: ParamsOf<RouteOf<'getGenerator'>>['name'], options?: CallOptions) {
    return this.call(routes.getGenerator, { ...options, params: { name } });
  }
  /** Checks job parameters on the server: one entry per job, null when valid. */
  validateParams(
    name: ParamsOf<RouteOf<'validateParams'>>['name'],
    body: BodyOf<RouteOf<'validateParams'>>,
    options?: CallOptions,
  ) {
    return this.call(routes.validateParams, { ...options, params: { name }, body });
  }
  /** Valid random parameter sets drawn by the server, keeping any values given. */
  randomParams(
    name: ParamsOf<RouteOf<'randomParams'>>['name'],
    body: BodyOf<RouteOf<'randomParams'>> = {},
    options?: CallOptions,
  ) {
    return this.call(routes.randomParams, { ...options, params: { name }, body });
  }
  /** Starts a batch of standard and preview jobs (idempotent: safe to retry). */
  submitBatch(body: BodyOf<RouteOf<'submitBatch'>>, options?: CallOptions) {
    return this.call(routes.submitBatch, { ...options, body });
  }
  /** Starts one standard job, a batch of one (idempotent: safe to retry). */
  submitStandardJob(body: BodyOf<RouteOf<'submitStandardJob'>>, options?: CallOptions) {
    return this.call(routes.submitStandardJob, { ...options, body });
  }
  /** Starts one preview job, a batch of one (idempotent: safe to retry). */
  submitPreviewJob(body: BodyOf<RouteOf<'submitPreviewJob'>>, options?: CallOptions) {
    return this.call(routes.submitPreviewJob, { ...options, body });
  }
  /** Items, frames per job and estimated cost of a batch, without starting it. */
  estimateBatch(body: BodyOf<RouteOf<'estimateBatch'>>, options?: CallOptions) {
    return this.call(routes.estimateBatch, { ...options, body });
  }
  /** Batches, newest first, optionally in a time range; one page. */
  listBatches(query: QueryOf<RouteOf<'listBatches'>> = {}, options?: CallOptions) {
    return this.call(routes.listBatches, { ...options, query });
  }
  /** A batch and its jobs. */
  getBatch(id: ParamsOf<RouteOf<'getBatch'>>['id'], options?: CallOptions) {
    return this.call(routes.getBatch, { ...options, params: { id } });
  }
  /** Per job: status, in_progress and a short-lived result_url. */
  getBatchSummary(id: ParamsOf<RouteOf<'getBatchSummary'>>['id'], options?: CallOptions) {
    return this.call(routes.getBatchSummary, { ...options, params: { id } });
  }
  /** Jobs of every kind, newest first, filtered by kind, status, batch and time; one page. */
  listJobs(query: QueryOf<RouteOf<'listJobs'>> = {}, options?: CallOptions) {
    return this.call(routes.listJobs, { ...options, query });
  }
  /** One job. */
  getJob(id: ParamsOf<RouteOf<'getJob'>>['id'], options?: CallOptions) {
    return this.call(routes.getJob, { ...options, params: { id } });
  }
  /** Cancels a job; cancelling a batch cancels its open jobs. A job that already ended: 409. */
  cancelJob(id: ParamsOf<RouteOf<'cancelJob'>>['id'], options?: CallOptions) {
    return this.call(routes.cancelJob, { ...options, params: { id } });
  }
  /** The last `tail` entries of a job's log. */
  getJobLogs(
    id: ParamsOf<RouteOf<'getJobLogs'>>['id'],
    query: QueryOf<RouteOf<'getJobLogs'>> = {},
    options?: CallOptions,
  ) {
    return this.call(routes.getJobLogs, { ...options, params: { id }, query });
  }
  /**
   * One image from a prompt (seed 001). Answers the image (`image_path`, `image_url`) when it is
   * ready within the server's wait, else where its job stands (`phase`: queued, warming with
   * `estimated_ready_at`, generating): poll `getGeneratedImage(job_id)`. Idempotent: safe to retry.
   */
  generateImage(body: BodyOf<RouteOf<'generateImage'>>, options?: CallOptions) {
    return this.call(routes.generateImage, { ...options, body });
  }
  /** A generated image once ready, or where its job stands. */
  getGeneratedImage(jobId: ParamsOf<RouteOf<'getGeneratedImage'>>['job_id'], options?: CallOptions) {
    return this.call(routes.getGeneratedImage, { ...options, params: { job_id: jobId } });
  }
  /** One image per prompt, as one batch (answers at once; poll `getGeneratedBatch`). Idempotent. */
  generateImageBatch(body: BodyOf<RouteOf<'generateImageBatch'>>, options?: CallOptions) {
    return this.call(routes.generateImageBatch, { ...options, body });
  }
  /** A batch's images in seed 001's shape, each with its job's status. */
  getGeneratedBatch(batchId: ParamsOf<RouteOf<'getGeneratedBatch'>>['batch_id'], options?: CallOptions) {
    return this.call(routes.getGeneratedBatch, { ...options, params: { batch_id: batchId } });
  }

  // Seed 001's dataset routes: validation, profiles and export of the tenant's images. An image path
  // is an `s3://` URI under the tenant's prefix (as `generateImage` answers it), an image job's id,
  // or `<job_id>/<frame>`; a dataset is a batch id or a prefix. Anything else, another tenant's
  // included, is a 404.

  /** One image's sharpness, contrast, noise, brightness and colourfulness, against thresholds. */
  validateImageQuality(body: BodyOf<RouteOf<'validateImageQuality'>>, options?: CallOptions) {
    return this.call(routes.validateImageQuality, { ...options, body });
  }
  /** Faces, text and personal data in one image, each finding with its region. */
  validateImagePrivacy(body: BodyOf<RouteOf<'validateImagePrivacy'>>, options?: CallOptions) {
    return this.call(routes.validateImagePrivacy, { ...options, body });
  }
  /**
   * Validates every image of a batch or prefix as a job (202): follow it with `waitForDatasetJob`,
   * whose result is the report. Idempotent: safe to retry.
   */
  validateImageBatch(body: BodyOf<RouteOf<'validateImageBatch'>>, options?: CallOptions) {
    return this.call(routes.validateImageBatch, { ...options, body });
  }
  /** Your profiles: name, sample count, creation time. */
  listProfiles(options?: CallOptions) {
    return this.call(routes.listProfiles, { ...options });
  }
  /** A profile's statistics: colour means, brightness, contrast and resolution. */
  getProfile(name: ParamsOf<RouteOf<'getProfile'>>['profile_name'], options?: CallOptions) {
    return this.call(routes.getProfile, { ...options, params: { profile_name: name } });
  }
  /**
   * Computes a profile from a batch (`source: { batch_id }`) or a prefix (`source: { s3_prefix }`) as
   * a job (202); `waitForDatasetJob` resolves with the profile. Idempotent: safe to retry.
   */
  createProfile(body: BodyOf<RouteOf<'createProfile'>>, options?: CallOptions) {
    return this.call(routes.createProfile, { ...options, body });
  }
  /**
   * Writes one JSON line per image of a dataset under your exports/. Answers the export (200), or,
   * for a dataset too large to finish within the request, its job (202, `job_id`), whose result
   * `waitForDatasetJob` reads. Idempotent: safe to retry.
   */
  exportJsonl(body: BodyOf<RouteOf<'exportJsonl'>>, options?: CallOptions) {
    return this.call(routes.exportJsonl, { ...options, body });
  }
  /**
   * Copies a dataset to your own bucket with a manifest. Answers the export (200) or, for a large
   * dataset, its job (202, `job_id`), as `exportJsonl`. Idempotent: safe to retry.
   */
  exportS3(body: BodyOf<RouteOf<'exportS3'>>, options?: CallOptions) {
    return this.call(routes.exportS3, { ...options, body });
  }
  /**
   * Polls a dataset job (its id, or the 202 answer that started it) until it ends, and resolves
   * with its result: the validation report, the profile, or the export's answer. A job that failed
   * or was cancelled throws a `DatasetJobError` with the job's error; a wait longer than
   * `timeoutMs` a `DatasetJobTimeoutError` (the job goes on).
   */
  waitForDatasetJob<K extends DatasetJobKind = DatasetJobKind>(
    job: DatasetJobRef<K>,
    options?: DatasetJobWaitOptions,
  ): Promise<DatasetJobResults[K]> {
    return waitForDatasetJob(this, job, options);
  }
  /**
   * Starts a training run (seed 002): a re-identification model trained on a finished
   * identity-crops batch (`dataset: { batch_id }`, default your most recent one) or a folder under
   * your datasets/ (`dataset: { s3_prefix }`). Answers at once with its `task_id`; follow it with
   * `getTrainingStatus`. Every field is optional (the contract's defaults apply); invalid parameters
   * are a 422 `VALIDATION_ERROR` and start nothing. Idempotent: safe to retry.
   */
  startTraining(body: BodyOf<RouteOf<'startTraining'>> = {}, options?: CallOptions) {
    return this.call(routes.startTraining, { ...options, body });
  }
  /**
   * A training run: its status and live progress (epoch, loss, best loss, recall@1 and mAP once
   * evaluated, the last log lines), its request, and `model_url` once completed.
   */
  getTrainingStatus(taskId: ParamsOf<RouteOf<'getTrainingStatus'>>['task_id'], options?: CallOptions) {
    return this.call(routes.getTrainingStatus, { ...options, params: { task_id: taskId } });
  }
  /** Training runs, newest first, optionally of one status; one page. */
  listTrainingJobs(query: QueryOf<RouteOf<'listTrainingJobs'>> = {}, options?: CallOptions) {
    return this.call(routes.listTrainingJobs, { ...options, query });
  }
  /** Cancels a training run (its training job is stopped). A run that already ended: 409. */
  cancelTraining(taskId: ParamsOf<RouteOf<'cancelTraining'>>['task_id'], options?: CallOptions) {
    return this.call(routes.cancelTraining, { ...options, params: { task_id: taskId } });
  }
  /** Jobs, batches, frames and bytes in a time range (default: the last 30 days). */
  getUsage(query: QueryOf<RouteOf<'getUsage'>> = {}, options?: CallOptions) {
    return this.call(routes.getUsage, { ...options, query });
  }

  // Seed 003's inference routes. Their errors arrive as every other route's: a `SynthForgeError`.

  /**
   * Claude 4 on Bedrock: `{text, frames?, mediaType?, max_tokens?, temperature?}`, frames as base64
   * or `s3://` URIs from `uploadFrame`. Answers seed 003's `{time, request, response}`, with the
   * model that answered and the latency.
   */
  claude4<B extends BodyOf<RouteOf<'invokeClaude4'>>>(body: B, options?: CallOptions) {
    return this.call(routes.invokeClaude4, { ...modelCallKey(body.async, options), body }) as Promise<
      ModelAnswerOf<B>
    >;
  }
  /**
   * Amazon Nova on Bedrock, with images or (`mediaType: 'video'`) one video. `async: true` (a long
   * video) answers at once with the job: poll `getJob(job.id)`; its `result_url` holds the answer.
   */
  nova<B extends BodyOf<RouteOf<'invokeNova'>>>(body: B, options?: CallOptions) {
    return this.call(routes.invokeNova, { ...modelCallKey(body.async, options), body }) as Promise<
      ModelAnswerOf<B>
    >;
  }
  /**
   * An EMD model (`qwen2-vl-7b`, …). A model scaled to zero answers 503 with `Retry-After` while it
   * wakes: `{ waitForModel: true }` (or `{ timeoutMs, onProgress }`) waits through it.
   */
  emd<B extends BodyOf<RouteOf<'invokeEmdModel'>>>(
    modelKey: ParamsOf<RouteOf<'invokeEmdModel'>>['model_key'],
    body: B,
    options: ModelCallOptions = {},
  ) {
    const { waitForModel, ...call } = options;
    return withModelWait(modelKey, waitForModel, this.timers, call.signal, () =>
      this.call(routes.invokeEmdModel, {
        ...modelCallKey(body.async, call),
        params: { model_key: modelKey },
        body,
      }),
    ) as Promise<ModelAnswerOf<B>>;
  }
  /** Per EMD model: deployed, endpoint and component status, copies, instances, warming with its ETA. */
  emdStatus(options?: CallOptions) {
    return this.call(routes.getEmdStatus, { ...options });
  }
  /** Every model the gateway knows, with its provider, media and deployment state. */
  emdModels(options?: CallOptions) {
    return this.call(routes.listEmdModels, { ...options });
  }
  /**
   * One request to several models in parallel: per model its answer or its error, and its latency.
   * Like a model call, it is sent once unless given an `idempotencyKey`.
   */
  multiInference(body: BodyOf<RouteOf<'multiInference'>>, options?: CallOptions) {
    return this.call(routes.multiInference, { ...modelCallKey(false, options), body });
  }
  /** A presigned PUT for a frame too large to send inline (see `uploadFrame`, which also sends it). */
  uploadUrl(body: BodyOf<RouteOf<'createUploadUrl'>>, options?: CallOptions) {
    return this.call(routes.createUploadUrl, { ...options, body });
  }
  /**
   * Uploads a frame (a file's path, or its bytes, held in memory) to the presigned URL of
   * `uploadUrl` and resolves with its `s3://` URI, which `frames` then takes in place of base64.
   */
  async uploadFrame(frame: string | Uint8Array, options: UploadFrameOptions = {}): Promise<string> {
    const { contentType: given, filename, ...call } = options;
    const bytes = typeof frame === 'string' ? await readFile(frame) : frame;
    const contentType = given ?? sniffFrameType(bytes);
    if (contentType === undefined) {
      const what = typeof frame === 'string' ? frame : 'the frame';
      throw new TypeError(
        `${what} is not a PNG, JPEG, GIF, WebP or MP4 file; pass contentType to send it anyway`,
      );
    }
    const name =
      filename ?? (typeof frame === 'string' ? basename(frame) : `frame.${FRAME_EXTENSIONS[contentType]}`);
    const target = await this.uploadUrl({ filename: name, content_type: contentType }, call);
    // Like a result link, the presigned URL authorises itself: no API key goes with it.
    await this.#send(readWholeBody, {
      method: 'PUT',
      url: target.url,
      headers: { ...target.headers, 'user-agent': USER_AGENT },
      body: bytes,
      repeatable: true,
      timeoutMs: call.timeoutMs ?? DEFAULT_DOWNLOAD_TIMEOUT_MS,
      signal: call.signal,
    });
    return target.s3_uri;
  }

  /**
   * A model's answer as it is produced (`POST /api/stream/{model_name}`, Server-Sent Events): `start`,
   * a `delta` per piece of text, then `done` with the usage. Each event is handed out as soon as it
   * has arrived whole. An error answered before the stream starts, and an `error` event after it
   * (once the events before it are out), are thrown as a `SynthForgeError`. `timeoutMs` bounds the
   * wait for the answer and then each silence between two chunks, not the whole stream. Breaking
   * out of the loop closes the connection.
   */
  async *stream(
    modelName: ParamsOf<RouteOf<'streamInference'>>['model_name'],
    body: BodyOf<RouteOf<'streamInference'>>,
    options: ModelCallOptions = {},
  ): AsyncGenerator<StreamEvent> {
    const { waitForModel, signal } = options;
    const route = routes.streamInference;
    const headers: Record<string, string> = {
      accept: 'text/event-stream',
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
    };
    if (this.#apiKey !== undefined) headers['x-api-key'] = this.#apiKey;
    const request = {
      url: buildUrl(this.baseUrl, route.path, { model_name: modelName }, undefined),
      headers,
      body: JSON.stringify(body),
      label: `${route.operationId} ${modelName}`,
      timeoutMs: options.timeoutMs ?? this.timeoutMs,
      signal,
    };
    const timers = this.timers;
    const context = {
      fetch: this.#fetch,
      policy: this.retryPolicy,
      sleep: (ms: number, abort?: AbortSignal) => timers.sleep(ms, abort),
    };
    const opened = await withModelWait(modelName, waitForModel, timers, signal, () =>
      openEventStream(context, request),
    );
    yield* inferenceEvents(serverSentEvents(opened.chunks), opened.source);
  }

  // Seed 004's avatarization routes. Their errors arrive as every other route's: a `SynthForgeError`.

  /**
   * Stores a set's resources: the multi-document YAML of the avatars client, sent as
   * `application/yaml`. An invalid set is a 400 naming each document and field at fault, and is not stored.
   */
  putAvatarResources(
    setName: ParamsOf<RouteOf<'putAvatarResources'>>['set_name'],
    yaml: BodyOf<RouteOf<'putAvatarResources'>>,
    options?: CallOptions,
  ) {
    return this.call(routes.putAvatarResources, { ...options, params: { set_name: setName }, body: yaml });
  }
  /** A set's resources, as the YAML text that was put. */
  getAvatarResources(setName: ParamsOf<RouteOf<'getAvatarResources'>>['set_name'], options?: CallOptions) {
    return this.call(routes.getAvatarResources, { ...options, params: { set_name: setName } });
  }
  /** A presigned PUT for a CSV table (see `uploadAvatarTable`, which also sends it). */
  avatarUploadUrl(body: BodyOf<RouteOf<'avatarUploadUrl'>>, options?: CallOptions) {
    return this.call(routes.avatarUploadUrl, { ...options, body });
  }
  /**
   * Uploads a table (a file's path, or its bytes) under the name `file`, which a schema then names
   * in `data.file`; the same name again replaces it. Resolves with the name.
   */
  async uploadAvatarTable(
    file: string,
    table: string | Uint8Array,
    options: CallOptions = {},
  ): Promise<string> {
    const bytes = typeof table === 'string' ? await readFile(table) : table;
    const target = await this.avatarUploadUrl({ file }, options);
    if (bytes.length > target.max_bytes) {
      throw new RangeError(
        `${file} is ${bytes.length} bytes; the API takes tables of at most ${target.max_bytes}`,
      );
    }
    // The presigned URL authorises itself: no API key goes with it.
    await this.#send(readWholeBody, {
      method: target.method,
      url: target.url,
      headers: { ...target.headers, 'user-agent': USER_AGENT },
      body: bytes,
      repeatable: true,
      timeoutMs: options.timeoutMs ?? DEFAULT_DOWNLOAD_TIMEOUT_MS,
      signal: options.signal,
    });
    return target.file;
  }
  /**
   * Runs one parameters document of a set as a job, once every job of `depends_on` (names or the
   * `Location`s their creation answered) has finished. Idempotent: safe to retry.
   */
  createAvatarJob(body: BodyOf<RouteOf<'createAvatarJob'>>, options?: CallOptions) {
    return this.call(routes.createAvatarJob, { ...options, body });
  }
  /** Avatar jobs, newest first, optionally of one kind; one page. */
  listAvatarJobs(query: QueryOf<RouteOf<'listAvatarJobs'>> = {}, options?: CallOptions) {
    return this.call(routes.listAvatarJobs, { ...options, query });
  }
  /** An avatar job: its status in the client's vocabulary (`finished`, `error`, `parent_error`…) and `done`. */
  getAvatarJob(name: ParamsOf<RouteOf<'getAvatarJob'>>['name'], options?: CallOptions) {
    return this.call(routes.getAvatarJob, { ...options, params: { name } });
  }
  /** Cancels an avatar job and every job that depends on it. A job that already ended: 409. */
  cancelAvatarJob(name: ParamsOf<RouteOf<'cancelAvatarJob'>>['name'], options?: CallOptions) {
    return this.call(routes.cancelAvatarJob, { ...options, params: { name } });
  }
  /** A finished job's results: result key (`shuffled`, `privacy_metrics`, `report`…) → links. */
  avatarResults(jobName: ParamsOf<RouteOf<'getAvatarResults'>>['job_name'], options?: CallOptions) {
    return this.call(routes.getAvatarResults, { ...options, params: { job_name: jobName } });
  }
}

/**
 * The URL of a route: the base URL (its path, a deployed stage, is kept), the path with each
 * `{name}` replaced by its encoded value, and the defined query values.
 */
export function buildUrl(
  baseUrl: string,
  pathTemplate: string,
  params: object | undefined,
  query: object | undefined,
): string {
  const values = (params ?? {}) as Record<string, unknown>;
  const path = pathTemplate.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined || value === null || value === '') {
      throw new TypeError(`${pathTemplate} needs the path parameter ${name}`);
    }
    return encodeURIComponent(String(value));
  });
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null) search.append(name, String(value));
  }
  const queryString = search.toString();
  return `${baseUrl.replace(/\/+$/, '')}${path}${queryString ? `?${queryString}` : ''}`;
}

/** The answer parsed with the route's response schema; anything else is an `INVALID_RESPONSE`. */
function parseAnswer<R extends AnyRoute>(
  route: R,
  status: number,
  headers: Headers,
  body: Uint8Array,
): ResponseOf<R> {
  const text = decodeText(body);
  const requestId = requestIdOf(headers);
  const invalid = (reason: string, details?: Record<string, unknown>) =>
    new SynthForgeError({
      status,
      code: 'INVALID_RESPONSE',
      message: `${route.operationId}: the answer does not match the API contract: ${reason}`,
      details,
      requestId,
    });

  let payload: unknown = text;
  if ((headers.get('content-type') ?? '').includes('json')) {
    try {
      payload = JSON.parse(text);
    } catch {
      throw invalid('the body is not JSON');
    }
  }
  // A route that may answer 202 instead of its 200 (`accepted`) is read with that answer's schema.
  const schema =
    status === 202 && route.accepted && route.response.status !== 202
      ? route.accepted.schema
      : route.response.schema;
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 10).map(({ path, message }) => ({ path, message }));
    const first = issues[0];
    throw invalid(first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'schema mismatch', {
      issues,
    });
  }
  return parsed.data as ResponseOf<R>;
}
