/**
 * The route table: every route once, with its request and response schemas. The API construct
 * builds API Gateway methods from it, the Lambda handlers parse requests with it, the local
 * platform routes with it, and the OpenAPI document and the SDK are generated from it.
 */
import {
  GeneratorInfo,
  GeneratorList,
  GeneratorNameParams,
  Health,
  JobIdParams,
  JobList,
  JobListQuery,
  JobLogs,
  LogsQuery,
  RandomRequest,
  RandomResponse,
  Root,
  Usage,
  ValidateRequest,
  ValidateResponse,
} from './api.ts';
import {
  AvatarJob,
  AvatarJobCreated,
  AvatarJobList,
  AvatarJobListQuery,
  AvatarJobNameParams,
  AvatarJobRequest,
  AvatarResultParams,
  AvatarResults,
  AvatarUploadRequest,
  AvatarUploadUrl,
  ResourcesBody,
  ResourcesStored,
  ResourcesYaml,
  SetNameParams,
} from './avatars.ts';
import {
  Batch,
  BatchEstimate,
  BatchIdParams,
  BatchList,
  BatchListQuery,
  BatchRequest,
  BatchSummary,
  SingleJobRequest,
  SingleJobResponse,
} from './batches.ts';
import { OrderedTimeRangeQuery } from './common.ts';
import {
  BatchValidationRequest,
  CreateProfileRequest,
  DatasetJobAccepted,
  ExportJsonlRequest,
  ExportJsonlResponse,
  ExportS3Request,
  ExportS3Response,
  PrivacyRequest,
  PrivacyResponse,
  Profile,
  ProfileList,
  ProfileNameParams,
  QualityRequest,
  QualityResponse,
} from './datasets.ts';
import type { RouteFamily } from './families/index.ts';
import {
  GenerateAccepted,
  GenerateBatchAccepted,
  GenerateBatchRequest,
  GenerateBatchResult,
  GenerateRequest,
  GenerateResponse,
  ImageBatchParams,
  ImageJobParams,
  ImageJobState,
} from './images.ts';
import {
  EmdModelList,
  EmdStatus,
  EventStreamBody,
  INFERENCE_MAX_BODY_BYTES,
  InferenceAccepted,
  InferenceRequest,
  InferenceResponse,
  ModelKeyParams,
  MultiInferenceRequest,
  MultiInferenceResponse,
  StreamInferenceRequest,
  StreamModelParams,
  UploadRequest,
  UploadUrl,
} from './inference.ts';
import {
  InfinityBatchList,
  InfinityBatchRequest,
  InfinityEstimate,
  InfinityGeneratorList,
  InfinityJobListQuery,
  InfinityJobRun,
  InfinityJobRunList,
  InfinityUsage,
} from './infinity.ts';
import { Job } from './jobs.ts';
import {
  TrainAccepted,
  TrainCancelled,
  TrainingList,
  TrainingListQuery,
  TrainingTask,
  TrainingTaskParams,
  TrainRequest,
} from './training.ts';
import * as z from './zod.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';
/** Which Lambda serves the route: one per route family, each registered by its job family. */
export type { RouteFamily };

type AnyObject = z.ZodObject<z.ZodRawShape>;

export interface RouteDef<
  P extends AnyObject | undefined = AnyObject | undefined,
  Q extends AnyObject | undefined = AnyObject | undefined,
  B extends z.ZodType | undefined = z.ZodType | undefined,
  R extends z.ZodType = z.ZodType,
  A extends z.ZodType | undefined = z.ZodType | undefined,
> {
  operationId: string;
  method: HttpMethod;
  /** OpenAPI style: `/api/v1/jobs/{id}`. */
  path: string;
  family: RouteFamily;
  /** False only for the public routes (`/`, `/health`, the docs). */
  auth: boolean;
  tag: string;
  summary: string;
  description?: string;
  /** `starts-job` routes answer 202 at once with where to poll; `immediate` routes answer with the result. */
  mode: 'immediate' | 'starts-job';
  /** `starts-job` routes: where to poll the job the answer describes (sent as `Location`). */
  pollPath?: (body: z.output<R>) => string;
  /** Accepts an `Idempotency-Key` header. */
  idempotent?: boolean;
  /**
   * False: API Gateway does not check the body against its model; the handler's own messages are
   * the documented errors (seed 001's `Invalid parameter: width must be between 64 and 1024`). The
   * handler parses with the same schema either way. Default true.
   */
  edgeValidation?: boolean;
  /** The largest body the handler reads (default: lambdas/http/api-handler.ts `MAX_BODY_BYTES`, 1 MiB). */
  maxBodyBytes?: number;
  /** `text`: the body is handed to its schema as text (seed 004's YAML); default `json`. */
  bodyFormat?: 'json' | 'text';
  params?: P;
  query?: Q;
  body?: B;
  /**
   * `text/event-stream` routes stream their answer (Server-Sent Events): their function streams its
   * response (Lambda response streaming; API Gateway's STREAM transfer mode).
   */
  response: {
    status: 200 | 202;
    schema: R;
    contentType?: 'application/json' | 'text/html' | 'text/event-stream' | 'application/yaml';
  };
  /**
   * A 200 route that may answer 202 instead when its work outlasts the wait (`POST /generate`): the
   * 202's body and where to poll it (sent as `Location`). The handler answers it with `accepted(body)`.
   */
  accepted?: A extends z.ZodType
    ? { schema: A; description: string; pollPath: (body: z.output<A>) => string }
    : undefined;
  /** Error statuses this route can answer, besides 401, 429 and 500 which every authenticated route can. */
  errors: number[];
}

function route<
  P extends AnyObject | undefined = undefined,
  Q extends AnyObject | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
  R extends z.ZodType = z.ZodType,
  A extends z.ZodType | undefined = undefined,
>(def: RouteDef<P, Q, B, R, A>): RouteDef<P, Q, B, R, A> {
  return def;
}

const html = z.string().openapi({ description: 'an HTML page' });

/** The tag of the routes Infinity's real client calls (seed 000). */
const INFINITY_TAG = 'infinity-client';

/** The /api/v1 routes (and the public ones): the Infinity client's routes below derive from them. */
const v1Routes = {
  root: route({
    operationId: 'root',
    method: 'GET',
    path: '/',
    family: 'public',
    auth: false,
    tag: 'service',
    summary: 'What this API is and where its documentation lives',
    mode: 'immediate',
    response: { status: 200, schema: Root },
    errors: [],
  }),
  health: route({
    operationId: 'health',
    method: 'GET',
    path: '/health',
    family: 'public',
    auth: false,
    tag: 'service',
    summary: 'Liveness',
    mode: 'immediate',
    response: { status: 200, schema: Health },
    errors: [],
  }),
  openapi: route({
    operationId: 'openapi',
    method: 'GET',
    path: '/openapi.json',
    family: 'public',
    auth: false,
    tag: 'service',
    summary: 'This document',
    mode: 'immediate',
    response: { status: 200, schema: z.record(z.string(), z.unknown()) },
    errors: [],
  }),
  docs: route({
    operationId: 'docs',
    method: 'GET',
    path: '/docs',
    family: 'public',
    auth: false,
    tag: 'service',
    summary: 'Swagger UI',
    mode: 'immediate',
    response: { status: 200, schema: html, contentType: 'text/html' },
    errors: [],
  }),
  docsAsset: route({
    operationId: 'docsAsset',
    method: 'GET',
    path: '/docs/{asset}',
    family: 'public',
    auth: false,
    tag: 'service',
    summary: 'Swagger UI and ReDoc scripts and styles, served from this API so the docs work offline',
    mode: 'immediate',
    params: z.object({ asset: z.string().min(1).max(100) }),
    response: { status: 200, schema: z.string() },
    errors: [404],
  }),
  redoc: route({
    operationId: 'redoc',
    method: 'GET',
    path: '/redoc',
    family: 'public',
    auth: false,
    tag: 'service',
    summary: 'ReDoc',
    mode: 'immediate',
    response: { status: 200, schema: html, contentType: 'text/html' },
    errors: [],
  }),

  listGenerators: route({
    operationId: 'listGenerators',
    method: 'GET',
    path: '/api/v1/generators',
    family: 'generators',
    auth: true,
    tag: 'generators',
    summary: 'The generators this deployment offers',
    mode: 'immediate',
    response: { status: 200, schema: GeneratorList },
    errors: [],
  }),
  getGenerator: route({
    operationId: 'getGenerator',
    method: 'GET',
    path: '/api/v1/generators/{name}',
    family: 'generators',
    auth: true,
    tag: 'generators',
    summary: "A generator's parameters (name, type, default_value, options) and whether it allows previews",
    mode: 'immediate',
    params: GeneratorNameParams,
    response: { status: 200, schema: GeneratorInfo },
    errors: [404],
  }),
  validateParams: route({
    operationId: 'validateParams',
    method: 'POST',
    path: '/api/v1/generators/{name}/validate',
    family: 'generators',
    auth: true,
    tag: 'generators',
    summary: 'Checks job parameters: one entry per job, null when valid, otherwise each violation',
    mode: 'immediate',
    params: GeneratorNameParams,
    body: ValidateRequest,
    response: { status: 200, schema: ValidateResponse },
    errors: [400, 404, 413],
  }),
  randomParams: route({
    operationId: 'randomParams',
    method: 'POST',
    path: '/api/v1/generators/{name}/random',
    family: 'generators',
    auth: true,
    tag: 'generators',
    summary: 'Samples valid parameter sets, keeping any values given',
    description:
      'The kept param_values are checked as a job run with them is checked: values no valid set can keep ' +
      'answer 400 INVALID_PARAMETERS with their violations; otherwise every set returned passes validate.',
    mode: 'immediate',
    params: GeneratorNameParams,
    body: RandomRequest,
    response: { status: 200, schema: RandomResponse },
    errors: [400, 404],
  }),

  submitStandardJob: route({
    operationId: 'submitStandardJob',
    method: 'POST',
    path: '/api/v1/jobs/standard',
    family: 'batches',
    auth: true,
    tag: 'batches',
    summary: 'Starts one standard job (a batch of one)',
    mode: 'starts-job',
    pollPath: (body) => `/api/v1/jobs/${body.job.id}`,
    idempotent: true,
    body: SingleJobRequest,
    response: { status: 202, schema: SingleJobResponse },
    errors: [400, 404, 409, 413, 422, 503],
  }),
  submitPreviewJob: route({
    operationId: 'submitPreviewJob',
    method: 'POST',
    path: '/api/v1/jobs/preview',
    family: 'batches',
    auth: true,
    tag: 'batches',
    summary: 'Starts one preview job: one small frame (a batch of one)',
    mode: 'starts-job',
    pollPath: (body) => `/api/v1/jobs/${body.job.id}`,
    idempotent: true,
    body: SingleJobRequest,
    response: { status: 202, schema: SingleJobResponse },
    errors: [400, 404, 409, 413, 422, 503],
  }),
  submitBatch: route({
    operationId: 'submitBatch',
    method: 'POST',
    path: '/api/v1/batches',
    family: 'batches',
    auth: true,
    tag: 'batches',
    summary: 'Starts a batch of standard and preview jobs',
    mode: 'starts-job',
    pollPath: (body) => `/api/v1/batches/${body.id}/summary`,
    idempotent: true,
    body: BatchRequest,
    response: { status: 202, schema: Batch },
    errors: [400, 404, 409, 413, 422, 503],
  }),
  estimateBatch: route({
    operationId: 'estimateBatch',
    method: 'POST',
    path: '/api/v1/batches/estimate',
    family: 'batches',
    auth: true,
    tag: 'batches',
    summary: 'Items, frames per job and estimated cost of a batch, without starting it',
    mode: 'immediate',
    body: BatchRequest,
    response: { status: 200, schema: BatchEstimate },
    errors: [400, 404, 413],
  }),
  listBatches: route({
    operationId: 'listBatches',
    method: 'GET',
    path: '/api/v1/batches',
    family: 'batches',
    auth: true,
    tag: 'batches',
    summary: 'Batches, newest first, optionally in a time range',
    mode: 'immediate',
    query: BatchListQuery,
    response: { status: 200, schema: BatchList },
    errors: [400],
  }),
  getBatch: route({
    operationId: 'getBatch',
    method: 'GET',
    path: '/api/v1/batches/{id}',
    family: 'batches',
    auth: true,
    tag: 'batches',
    summary: 'A batch and its jobs',
    mode: 'immediate',
    params: BatchIdParams,
    response: { status: 200, schema: Batch },
    errors: [404],
  }),
  getBatchSummary: route({
    operationId: 'getBatchSummary',
    method: 'GET',
    path: '/api/v1/batches/{id}/summary',
    family: 'batches',
    auth: true,
    tag: 'batches',
    summary: 'Per job: status, in_progress and a short-lived result_url',
    mode: 'immediate',
    params: BatchIdParams,
    response: { status: 200, schema: BatchSummary },
    errors: [404],
  }),

  listJobs: route({
    operationId: 'listJobs',
    method: 'GET',
    path: '/api/v1/jobs',
    family: 'jobs',
    auth: true,
    tag: 'jobs',
    summary: 'All jobs, newest first, filtered by kind, status, batch and time',
    mode: 'immediate',
    query: JobListQuery,
    response: { status: 200, schema: JobList },
    errors: [400],
  }),
  getJob: route({
    operationId: 'getJob',
    method: 'GET',
    path: '/api/v1/jobs/{id}',
    family: 'jobs',
    auth: true,
    tag: 'jobs',
    summary: 'One job',
    mode: 'immediate',
    params: JobIdParams,
    response: { status: 200, schema: Job },
    errors: [404],
  }),
  cancelJob: route({
    operationId: 'cancelJob',
    method: 'DELETE',
    path: '/api/v1/jobs/{id}',
    family: 'jobs',
    auth: true,
    tag: 'jobs',
    summary: 'Cancels a job; cancelling a batch stops its execution and cancels its open jobs',
    description: 'A job that already ended cannot be cancelled: 409.',
    mode: 'immediate',
    params: JobIdParams,
    response: { status: 200, schema: Job },
    errors: [404, 409],
  }),
  getJobLogs: route({
    operationId: 'getJobLogs',
    method: 'GET',
    path: '/api/v1/jobs/{id}/logs',
    family: 'jobs',
    auth: true,
    tag: 'jobs',
    summary: "The last `tail` entries of a job's log",
    mode: 'immediate',
    params: JobIdParams,
    query: LogsQuery,
    response: { status: 200, schema: JobLogs },
    errors: [400, 404],
  }),
  getUsage: route({
    operationId: 'getUsage',
    method: 'GET',
    path: '/api/v1/usage',
    family: 'jobs',
    auth: true,
    tag: 'jobs',
    summary: 'Jobs, batches, frames and bytes in a time range (default: the last 30 days)',
    mode: 'immediate',
    query: OrderedTimeRangeQuery,
    response: { status: 200, schema: Usage },
    errors: [400],
  }),
  generateImage: route({
    operationId: 'generateImage',
    method: 'POST',
    path: '/api/v1/generate',
    family: 'images',
    auth: true,
    tag: 'images',
    summary: 'Generates one image from a prompt (seed 001)',
    description:
      'Waits for the image up to a configured time below API Gateway’s limit and answers 200 with it; ' +
      'if the model takes longer (a GPU endpoint waking from zero takes minutes) it answers 202 with ' +
      'the job, its phase (`warming` with an estimated ready time) and where to poll. A model that is not ' +
      'deployed, or cannot serve here, is a 503 with the reason, before anything is stored.',
    mode: 'immediate',
    idempotent: true,
    edgeValidation: false,
    body: GenerateRequest,
    response: { status: 200, schema: GenerateResponse },
    accepted: {
      schema: GenerateAccepted,
      description: 'Accepted: the image is not ready yet; poll Location',
      pollPath: (body: { job_id: string }) => `/api/v1/generate/${body.job_id}`,
    },
    // 404: a profile that does not exist.
    errors: [400, 404, 409, 413, 422, 503],
  }),
  getGeneratedImage: route({
    operationId: 'getGeneratedImage',
    method: 'GET',
    path: '/api/v1/generate/{job_id}',
    family: 'images',
    auth: true,
    tag: 'images',
    summary: 'One generated image once ready (200), or where its job stands (202)',
    mode: 'immediate',
    params: ImageJobParams,
    response: { status: 200, schema: GenerateResponse },
    accepted: {
      schema: ImageJobState,
      description: 'Accepted: the image is not ready yet; poll again',
      pollPath: (body: { job_id: string }) => `/api/v1/generate/${body.job_id}`,
    },
    errors: [404, 409],
  }),
  generateImageBatch: route({
    operationId: 'generateImageBatch',
    method: 'POST',
    path: '/api/v1/generate/batch',
    family: 'images',
    auth: true,
    tag: 'images',
    summary: 'Generates one image per prompt, as one batch (seed 001)',
    mode: 'starts-job',
    pollPath: (body) => `/api/v1/generate/batch/${body.batch_id}`,
    idempotent: true,
    edgeValidation: false,
    body: GenerateBatchRequest,
    response: { status: 202, schema: GenerateBatchAccepted },
    // 404: a profile that does not exist.
    errors: [400, 404, 409, 413, 422, 503],
  }),
  getGeneratedBatch: route({
    operationId: 'getGeneratedBatch',
    method: 'GET',
    path: '/api/v1/generate/batch/{batch_id}',
    family: 'images',
    auth: true,
    tag: 'images',
    summary: "A batch's images in seed 001's shape, each with its job's status",
    mode: 'immediate',
    params: ImageBatchParams,
    response: { status: 200, schema: GenerateBatchResult },
    errors: [404],
  }),
  validateImageQuality: route({
    operationId: 'validateImageQuality',
    method: 'POST',
    path: '/api/v1/validate/quality',
    family: 'validation',
    auth: true,
    tag: 'validation',
    summary:
      "One image's sharpness, contrast, noise, brightness and colourfulness, against thresholds (seed 001)",
    description:
      'Measures an image of yours (an s3:// URI under your prefix, an image job, or a frame of a generation ' +
      'job): `sharpness` is the variance of the Laplacian, `contrast` the RMS contrast, `noise_level` ' +
      "Immerkær's noise estimate; `passed` when every requested metric meets its threshold (defaults in " +
      'QualityThresholds, each configurable per request). An image that is not yours, or not there, is a 404.',
    mode: 'immediate',
    edgeValidation: false,
    body: QualityRequest,
    response: { status: 200, schema: QualityResponse },
    errors: [400, 404, 413],
  }),
  validateImagePrivacy: route({
    operationId: 'validateImagePrivacy',
    method: 'POST',
    path: '/api/v1/validate/privacy',
    family: 'validation',
    auth: true,
    tag: 'validation',
    summary: 'Faces, text and personal data in one image, with the region of each finding (seed 001)',
    description:
      'Faces and text are found by Amazon Rekognition and personal data in the text by Amazon Comprehend ' +
      "and SynthForge's own checks (e-mail, phone, card numbers by Luhn, IBAN, national ids), or by the " +
      'bundled face-api and Tesseract models where the stage says so (always, offline). Personal data is ' +
      'never repeated in the answer.',
    mode: 'immediate',
    edgeValidation: false,
    body: PrivacyRequest,
    response: { status: 200, schema: PrivacyResponse },
    errors: [400, 404, 413, 503],
  }),
  validateImageBatch: route({
    operationId: 'validateImageBatch',
    method: 'POST',
    path: '/api/v1/validate/batch',
    family: 'validation',
    auth: true,
    tag: 'validation',
    summary:
      "Validates every image of a batch or prefix as a job, with the set's diversity (mean pairwise SSIM)",
    description:
      'Answers 202 with the job; `GET /api/v1/jobs/{id}` links its result (BatchValidationResult) once ' +
      'completed. A batch whose images all pass privacy validation may then be exported where the stage ' +
      'or the export request requires it.',
    mode: 'starts-job',
    pollPath: (body) => `/api/v1/jobs/${body.job_id}`,
    idempotent: true,
    edgeValidation: false,
    body: BatchValidationRequest,
    response: { status: 202, schema: DatasetJobAccepted },
    errors: [400, 404, 409],
  }),
  listProfiles: route({
    operationId: 'listProfiles',
    method: 'GET',
    path: '/api/v1/profiles',
    family: 'profiles',
    auth: true,
    tag: 'profiles',
    summary: 'Your profiles (seed 001)',
    mode: 'immediate',
    response: { status: 200, schema: ProfileList },
    errors: [],
  }),
  getProfile: route({
    operationId: 'getProfile',
    method: 'GET',
    path: '/api/v1/profiles/{profile_name}',
    family: 'profiles',
    auth: true,
    tag: 'profiles',
    summary: "A profile's statistics: colour means, brightness, contrast and resolution (seed 001)",
    mode: 'immediate',
    params: ProfileNameParams,
    response: { status: 200, schema: Profile },
    errors: [400, 404],
  }),
  createProfile: route({
    operationId: 'createProfile',
    method: 'POST',
    path: '/api/v1/profiles',
    family: 'profiles',
    auth: true,
    tag: 'profiles',
    summary: "Computes a profile from a batch's images or a prefix of your data, as a job",
    description:
      'A profile of the same name is replaced when the job completes (`created_at` is kept). Pass ' +
      '`profile` to the shapes generator or to /generate to steer colours and brightness toward it.',
    mode: 'starts-job',
    pollPath: (body) => `/api/v1/jobs/${body.job_id}`,
    idempotent: true,
    edgeValidation: false,
    body: CreateProfileRequest,
    response: { status: 202, schema: DatasetJobAccepted },
    errors: [400, 404, 409],
  }),
  exportJsonl: route({
    operationId: 'exportJsonl',
    method: 'POST',
    path: '/api/v1/export/jsonl',
    family: 'exports',
    auth: true,
    tag: 'export',
    summary:
      'One JSON line per image of a batch or prefix, with its metadata and COCO annotations (seed 001)',
    description:
      'Writes the file under your exports/ prefix of the data bucket and answers 200; an export too large ' +
      'to finish within the request answers 202 with the job, whose result is this answer.',
    mode: 'immediate',
    idempotent: true,
    edgeValidation: false,
    body: ExportJsonlRequest,
    response: { status: 200, schema: ExportJsonlResponse },
    accepted: {
      schema: DatasetJobAccepted,
      description: 'Accepted: the export runs as a job; poll Location',
      pollPath: (body: { job_id: string }) => `/api/v1/jobs/${body.job_id}`,
    },
    errors: [400, 403, 404, 409],
  }),
  exportS3: route({
    operationId: 'exportS3',
    method: 'POST',
    path: '/api/v1/export/s3',
    family: 'exports',
    auth: true,
    tag: 'export',
    summary:
      'Copies a batch or prefix to your own S3 bucket, with a manifest of sizes and SHA-256 (seed 001)',
    description:
      "The bucket must grant the stack's export role s3:PutObject (the README shows the bucket policy) and " +
      'be one the stage allows. `public_read: true` is refused unless the stage allows it. Transient errors ' +
      'are retried per object; an export too large to finish within the request answers 202 with the job.',
    mode: 'immediate',
    idempotent: true,
    edgeValidation: false,
    body: ExportS3Request,
    response: { status: 200, schema: ExportS3Response },
    accepted: {
      schema: DatasetJobAccepted,
      description: 'Accepted: the export runs as a job; poll Location',
      pollPath: (body: { job_id: string }) => `/api/v1/jobs/${body.job_id}`,
    },
    errors: [400, 403, 404, 409],
  }),
  startTraining: route({
    operationId: 'startTraining',
    method: 'POST',
    path: '/api/v1/train',
    family: 'training',
    auth: true,
    tag: 'training',
    summary: 'Starts a training run (seed 002)',
    description:
      'Trains a metric-learning re-identification model (ResNet with CBAM attention, triplet loss) on ' +
      'SageMaker, on the crops of a finished identity-crops batch or a folder under your datasets/. ' +
      '`tenant_id` may only name your own tenant (403 otherwise). Invalid parameters are a 422, as in ' +
      'LaxAI, and start nothing.',
    mode: 'starts-job',
    pollPath: (body) => `/api/v1/train/${body.task_id}/status`,
    idempotent: true,
    edgeValidation: false,
    body: TrainRequest,
    response: { status: 202, schema: TrainAccepted },
    errors: [403, 404, 409, 413, 422, 503],
  }),
  getTrainingStatus: route({
    operationId: 'getTrainingStatus',
    method: 'GET',
    path: '/api/v1/train/{task_id}/status',
    family: 'training',
    auth: true,
    tag: 'training',
    summary: "A training run's status and live progress: epoch, loss, best loss, evaluation, logs",
    description: 'A task id that is not one of yours is a 404 `not_found`.',
    mode: 'immediate',
    params: TrainingTaskParams,
    response: { status: 200, schema: TrainingTask },
    errors: [404],
  }),
  listTrainingJobs: route({
    operationId: 'listTrainingJobs',
    method: 'GET',
    path: '/api/v1/train/jobs',
    family: 'training',
    auth: true,
    tag: 'training',
    summary: 'Your training runs, newest first',
    mode: 'immediate',
    query: TrainingListQuery,
    response: { status: 200, schema: TrainingList },
    errors: [],
  }),
  cancelTraining: route({
    operationId: 'cancelTraining',
    method: 'DELETE',
    path: '/api/v1/train/{task_id}',
    family: 'training',
    auth: true,
    tag: 'training',
    summary: 'Cancels a training run: its SageMaker training job is stopped',
    description:
      'Answers at once with the run `cancelled`; its training job is stopped in the background. A task id ' +
      'that is not one of yours is a 404 `not_found`; a run that already ended, a 409 `illegal_state`.',
    mode: 'immediate',
    params: TrainingTaskParams,
    response: { status: 200, schema: TrainCancelled },
    errors: [404, 409],
  }),
  putAvatarResources: route({
    operationId: 'putAvatarResources',
    method: 'PUT',
    path: '/api/v1/avatars/resources/{set_name}',
    family: 'avatars',
    auth: true,
    tag: 'avatars',
    summary: "Stores a set's resources: the avatars client's multi-document YAML (seed 004)",
    description:
      'The body is YAML (`Content-Type: application/yaml`): AvatarSchema, AvatarParameters, ' +
      'AvatarPrivacyMetricsParameters, AvatarSignalMetricsParameters, AvatarReportParameters and ' +
      'AvatarAdviceParameters documents (AvatarMetadata and AvatarVolume are accepted and not used). ' +
      'Each document is checked against its kind and the others: a 400 names the document and the field, ' +
      'and a set with any error is not stored.',
    mode: 'immediate',
    edgeValidation: false,
    bodyFormat: 'text',
    maxBodyBytes: 256 * 1024,
    params: SetNameParams,
    body: ResourcesBody,
    response: { status: 200, schema: ResourcesStored },
    errors: [400, 413],
  }),
  getAvatarResources: route({
    operationId: 'getAvatarResources',
    method: 'GET',
    path: '/api/v1/avatars/resources/{set_name}',
    family: 'avatars',
    auth: true,
    tag: 'avatars',
    summary: "A set's resources, as the YAML that was put",
    mode: 'immediate',
    params: SetNameParams,
    response: { status: 200, schema: ResourcesYaml, contentType: 'application/yaml' },
    errors: [404],
  }),
  avatarUploadUrl: route({
    operationId: 'avatarUploadUrl',
    method: 'POST',
    path: '/api/v1/avatars/upload-url',
    family: 'avatars',
    auth: true,
    tag: 'avatars',
    summary: 'A link to PUT a CSV table to, under your own storage; a schema then names it in `data.file`',
    mode: 'immediate',
    edgeValidation: false,
    body: AvatarUploadRequest,
    response: { status: 200, schema: AvatarUploadUrl },
    errors: [400],
  }),
  createAvatarJob: route({
    operationId: 'createAvatarJob',
    method: 'POST',
    path: '/api/v1/avatars/jobs',
    family: 'avatars',
    auth: true,
    tag: 'avatars',
    summary: 'Runs one parameters document of a set as a job, after the jobs it depends on',
    description:
      'The job starts once every job of `depends_on` has finished; if one of them ends in error, this ' +
      'job ends `parent_error` without running, and if one is cancelled, it is cancelled too. Its ' +
      "kind is the document's " +
      '(AvatarParameters: `standard`; the metrics documents: `privacy_metrics`, `signal_metrics`; ' +
      '`report`; `advice`). Everything that can be checked now is: the set and the document exist, ' +
      'the parents are yours, the tables were uploaded, a metrics job has avatars to measure.',
    mode: 'starts-job',
    pollPath: (body) => body.Location,
    idempotent: true,
    edgeValidation: false,
    body: AvatarJobRequest,
    response: { status: 202, schema: AvatarJobCreated },
    errors: [400, 404, 413, 503],
  }),
  listAvatarJobs: route({
    operationId: 'listAvatarJobs',
    method: 'GET',
    path: '/api/v1/avatars/jobs',
    family: 'avatars',
    auth: true,
    tag: 'avatars',
    summary: 'Your avatar jobs, newest first',
    mode: 'immediate',
    query: AvatarJobListQuery,
    response: { status: 200, schema: AvatarJobList },
    errors: [400],
  }),
  getAvatarJob: route({
    operationId: 'getAvatarJob',
    method: 'GET',
    path: '/api/v1/avatars/jobs/{name}',
    family: 'avatars',
    auth: true,
    tag: 'avatars',
    summary:
      "An avatar job: its status in the client's vocabulary (finished, error, parent_error…), where it runs and why",
    mode: 'immediate',
    params: AvatarJobNameParams,
    response: { status: 200, schema: AvatarJob },
    errors: [404],
  }),
  cancelAvatarJob: route({
    operationId: 'cancelAvatarJob',
    method: 'DELETE',
    path: '/api/v1/avatars/jobs/{name}',
    family: 'avatars',
    auth: true,
    tag: 'avatars',
    summary: 'Cancels an avatar job and every job that depends on it',
    mode: 'immediate',
    params: AvatarJobNameParams,
    response: { status: 200, schema: AvatarJob },
    errors: [404, 409],
  }),
  getAvatarResults: route({
    operationId: 'getAvatarResults',
    method: 'GET',
    path: '/api/v1/avatars/results/{job_name}',
    family: 'avatars',
    auth: true,
    tag: 'avatars',
    summary: "A finished job's results: result key → links (shuffled, unshuffled, privacy_metrics, report…)",
    mode: 'immediate',
    params: AvatarResultParams,
    response: { status: 200, schema: AvatarResults },
    errors: [404, 409],
  }),
} as const;

/** Seed 003's model routes: the same request, one route per Bedrock model and one for the EMD models. */
const modelRoute = {
  method: 'POST' as const,
  family: 'inference' as const,
  auth: true,
  tag: 'inference',
  mode: 'immediate' as const,
  edgeValidation: false,
  // A retried `"async": true` request must not start a second job (nor a retried call pay twice).
  idempotent: true,
  maxBodyBytes: INFERENCE_MAX_BODY_BYTES,
  body: InferenceRequest,
  response: { status: 200 as const, schema: InferenceResponse },
  errors: [400, 404, 413, 429, 500, 503],
};

const MODEL_ROUTE_ERRORS =
  'Frames are checked before any model is called (400 naming the frame and the limit); an `s3://` frame ' +
  'outside your uploads is a 404. Throttling is retried within the deadline, then answered 429 with ' +
  '`Retry-After`; a model that fails is a 500, one that cannot answer here a 503 with the reason.';

/**
 * `"async": true` on a model route: the work may outlast API Gateway's 29 s (a long video), so the
 * route answers 202 at once with an `inference` job of the jobs engine, which runs the call with a
 * deadline of minutes and stores the answer in S3.
 */
const asyncModelAnswer = {
  schema: InferenceAccepted,
  description:
    'Accepted (`"async": true`): the job runs the call; poll Location (`GET /api/v1/jobs/{id}`) until it ' +
    'completes, then download its `result_url`, the InferenceResponse this route would have answered',
  pollPath: (body: { job: { id: string } }) => `/api/v1/jobs/${body.job.id}`,
};

const ASYNC_MODEL_ROUTE =
  ' With `"async": true` the route answers 202 with a job once the request is checked (bad input, an ' +
  'unknown or undeployed model are still answered at once, and start nothing); the job calls the model ' +
  'with a deadline of minutes, waits for a model waking from zero, and fails with the error this route ' +
  'would have answered.';

/** Seed 003: Claude 4 and Nova on Bedrock, the EMD models on SageMaker, fan-out, streaming. */
const inferenceRoutes = {
  invokeClaude4: route({
    ...modelRoute,
    operationId: 'invokeClaude4',
    path: '/api/claude4',
    summary: 'Claude 4 on Bedrock (Converse), with images',
    description: MODEL_ROUTE_ERRORS + ASYNC_MODEL_ROUTE,
    accepted: asyncModelAnswer,
  }),
  invokeNova: route({
    ...modelRoute,
    operationId: 'invokeNova',
    path: '/api/nova',
    summary: 'Amazon Nova on Bedrock (Converse), with images or a video',
    description: MODEL_ROUTE_ERRORS + ASYNC_MODEL_ROUTE,
    accepted: asyncModelAnswer,
  }),
  invokeEmdModel: route({
    ...modelRoute,
    operationId: 'invokeEmdModel',
    path: '/api/emd/{model_key}',
    summary: 'An EMD model (a vision-language model on a SageMaker inference component)',
    description:
      `${MODEL_ROUTE_ERRORS} A model not deployed in this stage is a 503 saying so; a model scaled to zero ` +
      `is a 503 with \`Retry-After\` and \`estimated_ready_at\` while it wakes.${ASYNC_MODEL_ROUTE}`,
    params: ModelKeyParams,
    accepted: asyncModelAnswer,
  }),
  getEmdStatus: route({
    operationId: 'getEmdStatus',
    method: 'GET',
    path: '/api/emd/status',
    family: 'inference',
    auth: true,
    tag: 'inference',
    summary: "The EMD models' deployments: endpoint, component, copies, instances, warming",
    mode: 'immediate',
    response: { status: 200, schema: EmdStatus },
    errors: [],
  }),
  listEmdModels: route({
    operationId: 'listEmdModels',
    method: 'GET',
    path: '/api/emd/models',
    family: 'inference',
    auth: true,
    tag: 'inference',
    summary: 'Every model the gateway knows, with its deployment state',
    mode: 'immediate',
    response: { status: 200, schema: EmdModelList },
    errors: [],
  }),
  multiInference: route({
    ...modelRoute,
    operationId: 'multiInference',
    path: '/api/multi-inference',
    summary: 'The same request to several models at once',
    description:
      'Every model is called in parallel, each with its own deadline inside API Gateway’s 29 s: one slow or ' +
      'failing model never fails the others. The answer lists per model its response or its error, and its ' +
      'latency. Bad input (a bad frame, an unknown model) is a 400 for the whole request, before any call.',
    body: MultiInferenceRequest,
    response: { status: 200, schema: MultiInferenceResponse },
    errors: [400, 404, 413],
  }),
  streamInference: route({
    ...modelRoute,
    operationId: 'streamInference',
    path: '/api/stream/{model_name}',
    family: 'inferenceStream',
    // A stream cannot be replayed: a retry streams a new answer.
    idempotent: false,
    summary: "A model's answer as Server-Sent Events, token by token",
    description:
      'Errors before the first token are answered with their status, as on the other model routes; an ' +
      'error after it arrives as an `error` event, which ends the stream.',
    params: StreamModelParams,
    body: StreamInferenceRequest,
    response: { status: 200, schema: EventStreamBody, contentType: 'text/event-stream' },
  }),
  createUploadUrl: route({
    operationId: 'createUploadUrl',
    method: 'POST',
    path: '/api/uploads',
    family: 'inference',
    auth: true,
    tag: 'inference',
    summary: 'A presigned PUT for a frame too large to send inline',
    description:
      'The file goes to your own prefix; name it in `frames` by the `s3_uri` answered. Images up to 3.75 MB, ' +
      'videos up to 1 GB (Nova reads them from S3).',
    mode: 'immediate',
    body: UploadRequest,
    response: { status: 200, schema: UploadUrl },
    errors: [400],
  }),
} as const;

/**
 * The client's standard and preview jobs (`/api/job_runs/`, `/api/job_previews/`) are served alike:
 * the preview routes derive from these.
 */
const infinityListJobRuns = route({
  operationId: 'infinityListJobRuns',
  method: 'GET',
  path: '/api/job_runs',
  family: 'batches',
  auth: true,
  tag: INFINITY_TAG,
  summary: 'Infinity client: standard jobs, newest first, as a list (`GET /api/job_runs/`)',
  mode: 'immediate',
  query: InfinityJobListQuery,
  response: { status: 200, schema: InfinityJobRunList },
  errors: [400],
});
const infinityGetJobRun = route({
  operationId: 'infinityGetJobRun',
  method: 'GET',
  path: '/api/job_runs/{id}',
  family: 'batches',
  auth: true,
  tag: INFINITY_TAG,
  summary: 'Infinity client: one standard job (`GET /api/job_runs/{id}/`)',
  mode: 'immediate',
  params: JobIdParams,
  response: { status: 200, schema: InfinityJobRun },
  errors: [404],
});

export const routes = {
  ...v1Routes,
  ...inferenceRoutes,

  // Infinity's real client (`infinity_core`, seed 000) unmodified: its own paths, served by the same
  // functions and domain code as /api/v1, with its shapes (contracts/infinity.ts). The client ends
  // every path with a slash: the local API and API Gateway's REST APIs both route `/api/jobs/` to the
  // resource `/api/jobs` (a resource path cannot end in a slash). A route with an /api/v1 twin is that
  // route moved to the client's path, with the client's shapes where they differ (a bare list where
  // /api/v1 answers a page); the job_runs routes, which have none, are written out in full.
  infinityListGenerators: route({
    ...v1Routes.listGenerators,
    operationId: 'infinityListGenerators',
    path: '/api/jobs',
    tag: INFINITY_TAG,
    summary: 'Infinity client: the generators, as a list (`GET /api/jobs/`)',
    // Where the answer changes, the spread's pollPath (typed for the /api/v1 answer) must go; the route has none.
    pollPath: undefined,
    response: { status: 200, schema: InfinityGeneratorList },
  }),
  infinityGetGenerator: route({
    ...v1Routes.getGenerator,
    operationId: 'infinityGetGenerator',
    path: '/api/jobs/{name}',
    tag: INFINITY_TAG,
    summary: "Infinity client: a generator's parameters and options (`GET /api/jobs/{name}/`)",
    description:
      'The same answer as GET /api/v1/generators/{name}. Every combination of values within the ' +
      'published options is a valid scene job, so the client’s random_job() draws valid jobs.',
  }),
  infinitySubmitBatch: route({
    ...v1Routes.submitBatch,
    operationId: 'infinitySubmitBatch',
    path: '/api/batch',
    tag: INFINITY_TAG,
    summary: 'Infinity client: starts a batch (`POST /api/batch/`); an empty name is named for you',
    pollPath: (body) => `/api/batch/${body.id}/summary/`,
    body: InfinityBatchRequest,
  }),
  infinityEstimateBatch: route({
    ...v1Routes.estimateBatch,
    operationId: 'infinityEstimateBatch',
    path: '/api/batch/estimate',
    tag: INFINITY_TAG,
    summary: 'Infinity client: frames per job of a batch, without starting it (`POST /api/batch/estimate/`)',
    pollPath: undefined,
    body: InfinityBatchRequest,
    response: { status: 200, schema: InfinityEstimate },
  }),
  infinityListBatches: route({
    ...v1Routes.listBatches,
    operationId: 'infinityListBatches',
    path: '/api/batch',
    tag: INFINITY_TAG,
    summary: 'Infinity client: batches in a time range, as a list (`GET /api/batch/`)',
    pollPath: undefined,
    // A bare list, all of the range: no page size or cursor.
    query: OrderedTimeRangeQuery,
    response: { status: 200, schema: InfinityBatchList },
  }),
  infinityGetBatch: route({
    ...v1Routes.getBatch,
    operationId: 'infinityGetBatch',
    path: '/api/batch/{id}',
    tag: INFINITY_TAG,
    summary: 'Infinity client: a batch and its jobs (`GET /api/batch/{id}/`)',
  }),
  infinityGetBatchSummary: route({
    ...v1Routes.getBatchSummary,
    operationId: 'infinityGetBatchSummary',
    path: '/api/batch/{id}/summary',
    tag: INFINITY_TAG,
    summary: 'Infinity client: per job in_progress and result_url (`GET /api/batch/{id}/summary/`)',
  }),
  infinityListJobRuns,
  infinityGetUsage: route({
    operationId: 'infinityGetUsage',
    method: 'GET',
    path: '/api/job_runs/counts',
    family: 'batches',
    auth: true,
    tag: INFINITY_TAG,
    summary: 'Infinity client: usage per generator in a time range (`GET /api/job_runs/counts/`)',
    mode: 'immediate',
    query: OrderedTimeRangeQuery,
    response: { status: 200, schema: InfinityUsage },
    errors: [400],
  }),
  infinityGetJobRun,
  infinityListJobPreviews: route({
    ...infinityListJobRuns,
    operationId: 'infinityListJobPreviews',
    path: '/api/job_previews',
    summary: 'Infinity client: preview jobs, newest first, as a list (`GET /api/job_previews/`)',
  }),
  infinityGetJobPreview: route({
    ...infinityGetJobRun,
    operationId: 'infinityGetJobPreview',
    path: '/api/job_previews/{id}',
    summary: 'Infinity client: one preview job (`GET /api/job_previews/{id}/`)',
  }),
} as const;

export type Routes = typeof routes;
export type RouteName = keyof Routes;
export const ROUTE_LIST: readonly RouteDef[] = Object.values(routes) as RouteDef[];

/**
 * Routes that answer with Server-Sent Events: their function streams its response (Lambda response
 * streaming behind API Gateway's STREAM transfer mode; the local API server streams it likewise).
 */
export function streamsResponse(route: Pick<RouteDef, 'response'>): boolean {
  return route.response.contentType === 'text/event-stream';
}
