/**
 * The SynthForge TypeScript SDK: `ApiClient` (every route, typed from the contracts), `Session` (one
 * generator), `Batch` (a submitted batch and its results), `Runner` (a set of tables to avatarize)
 * and `Manager` (the front door).
 */

export type { AvatarJob, AvatarResults } from '../../contracts/avatars.ts';
export { type RouteName, type Routes, routes } from '../../contracts/routes.ts';
export {
  ApiClient,
  type ApiClientOptions,
  buildUrl,
  type DownloadRequestOptions,
  type UploadFrameOptions,
} from './api-client.ts';
export { type CsvCell, parseCsv, rowsToCsv, type TableRows } from './avatars/csv.ts';
export {
  type AddTableOptions,
  type AvatarMetrics,
  type Comparison,
  defaultSetName,
  type ReportOptions,
  type RunJobs,
  Runner,
  type RunnerParameters,
  type RunOptions,
  type TableAdvice,
} from './avatars/runner.ts';
export {
  AvatarJobError,
  type AvatarWaitOptions,
  AvatarWaitTimeoutError,
  waitForAvatarJobs,
} from './avatars/wait.ts';
export {
  type AvatarColumnSpec,
  type AvatarColumnType,
  type AvatarSetSpec,
  type AvatarTableSpec,
  AvatarYamlError,
  DOCUMENT_NAMES,
  setFromYaml,
  setToYaml,
} from './avatars/yaml-config.ts';
export { type AwaitCompletionOptions, Batch, BatchTimeoutError, isBatchFinished } from './batch.ts';
export {
  type BatchValidationReport,
  DatasetJobError,
  type DatasetJobKind,
  type DatasetJobRef,
  type DatasetJobResult,
  type DatasetJobResults,
  DatasetJobTimeoutError,
  type DatasetJobWaitOptions,
  type ImageProfile,
  isDatasetJobAccepted,
  type JsonlExport,
  type S3Export,
  waitForDatasetJob,
} from './dataset-jobs.ts';
export {
  BATCH_MARKER_FILE,
  type DownloadOptions,
  type DownloadProgress,
  type DownloadReport,
  JOB_COMPLETE_MARKER,
} from './download.ts';
export {
  ArchiveError,
  BatchFolderMismatchError,
  NetworkError,
  parseRetryAfter,
  SynthForgeError,
  type SynthForgeErrorCode,
  type SynthForgeErrorInit,
  TimeoutError,
} from './errors.ts';
export { type FrameContentType, framesToUpload, sniffFrameType } from './frames.ts';
export type { FetchFunction } from './http.ts';
export type {
  EmdModelList,
  EmdModelStatus,
  EmdStatus,
  InferenceAccepted,
  InferenceRequest,
  InferenceResponse,
  MultiInferenceRequest,
  MultiInferenceResponse,
  StreamEvent,
  UploadUrl,
} from './inference-resources.ts';
export {
  Manager,
  type RecentBatchesFilter,
  type RecentJobsFilter,
  type RecentTrainingFilter,
} from './manager.ts';
export {
  isModelWaking,
  type ModelCallOptions,
  type ModelWaitProgress,
  ModelWaitTimeoutError,
  type WaitForModel,
  type WaitForModelOptions,
} from './model-wait.ts';
export type {
  BatchEstimate,
  BatchListItem,
  BatchRequest,
  BatchResource,
  BatchSummary,
  BatchSummaryJob,
  BatchValidationRequest,
  CreateProfileRequest,
  DatasetJobAccepted,
  ExportJsonlRequest,
  ExportS3Request,
  GeneratedImage,
  GeneratorInfo,
  ImageBatchAccepted,
  ImageBatchResult,
  ImageJobState,
  ImageProfileSummary,
  Job,
  ParameterSpec,
  ParamValues,
  ParamViolation,
  PrivacyReport,
  PrivacyRequest,
  QualityReport,
  QualityRequest,
  TrainAccepted,
  TrainCancelled,
  TrainingList,
  TrainingProgress,
  TrainingTask,
  TrainRequest,
} from './resources.ts';
export { DEFAULT_RETRY_POLICY, type RetryPolicy, type Timers } from './retry.ts';
export type {
  BodyOf,
  CallOptions,
  ParamsOf,
  QueryOf,
  ResponseOf,
  RouteArgs,
  RouteInput,
} from './route-types.ts';
export { type JobKindOptions, type RandomParamsOptions, Session, type SubmitOptions } from './session.ts';
export { type ExtractedFile, extractZip, extractZipFile, readZip, type ZipFile } from './unzip.ts';
