/**
 * The API's resources as the SDK hands them out, named once from the route table's response
 * schemas so that they cannot drift from what the client actually parses.
 */
import type { Routes } from '../../contracts/routes.ts';
import type { BodyOf, ResponseOf } from './route-types.ts';

/** A generator's description: parameters in Infinity's format, previews allowed or not. */
export type GeneratorInfo = ResponseOf<Routes['getGenerator']>;
/** One parameter of a generator: name, type, default_value, options (min, max, choices). */
export type ParameterSpec = GeneratorInfo['params'][number];
/** Parameter name to value for one job. */
export type ParamValues = Record<string, unknown>;
/** One problem with one parameter of one job. */
export type ParamViolation = NonNullable<ResponseOf<Routes['validateParams']>['results'][number]>[number];
/** A batch and its jobs (`job_runs`). */
export type BatchResource = ResponseOf<Routes['getBatch']>;
/** A batch's jobs with their status and result links. */
export type BatchSummary = ResponseOf<Routes['getBatchSummary']>;
/** One job of a batch summary: status, in_progress, result_url, error. */
export type BatchSummaryJob = BatchSummary['job_runs'][number];
/** One entry of the batch list. */
export type BatchListItem = ResponseOf<Routes['listBatches']>['batches'][number];
/** A job of any kind, as the jobs routes present it. */
export type Job = ResponseOf<Routes['getJob']>;
/** A batch's size and cost, computed without starting it. */
export type BatchEstimate = ResponseOf<Routes['estimateBatch']>;
/** What `submitBatch` takes. */
export type BatchRequest = BodyOf<Routes['submitBatch']>;
/** `POST /generate` answered 200: the image, its parameters and cost. */
export type GeneratedImage = Extract<ResponseOf<Routes['generateImage']>, { image_url: string }>;
/** An image job that is not finished: its phase (queued, warming, generating) and progress. */
export type ImageJobState = Extract<ResponseOf<Routes['getGeneratedImage']>, { phase: string }>;
/** `POST /generate/batch`: the batch and one job per prompt. */
export type ImageBatchAccepted = ResponseOf<Routes['generateImageBatch']>;
/** A batch of images in seed 001's shape. */
export type ImageBatchResult = ResponseOf<Routes['getGeneratedBatch']>;
/** What `startTraining` takes: seed 002's request, every field optional (the contract's defaults apply). */
export type TrainRequest = BodyOf<Routes['startTraining']>;
/** `POST /train` answered 202: the run's `task_id` and its first progress. */
export type TrainAccepted = ResponseOf<Routes['startTraining']>;
/** A training run: status, live progress, its request, its dataset, and `model_url` once completed. */
export type TrainingTask = ResponseOf<Routes['getTrainingStatus']>;
/** A run's live progress: epoch, loss, best loss, recall@1 and mAP, the last log lines. */
export type TrainingProgress = TrainingTask['progress'];
/** One page of training runs. */
export type TrainingList = ResponseOf<Routes['listTrainingJobs']>;
/** `DELETE /train/{task_id}`: the run and its new status. */
export type TrainCancelled = ResponseOf<Routes['cancelTraining']>;
/** `POST /validate/quality`: the image's metrics, each threshold applied, `passed`. */
export type QualityReport = ResponseOf<Routes['validateImageQuality']>;
/** `POST /validate/privacy`: faces, text and personal data found, each with its region. */
export type PrivacyReport = ResponseOf<Routes['validateImagePrivacy']>;
/** What `validateImageQuality` takes: the image, and optionally the metrics and thresholds. */
export type QualityRequest = BodyOf<Routes['validateImageQuality']>;
/** What `validateImagePrivacy` takes: the image and which checks to run. */
export type PrivacyRequest = BodyOf<Routes['validateImagePrivacy']>;
/** What `validateImageBatch` takes: the dataset and what to check in each image. */
export type BatchValidationRequest = BodyOf<Routes['validateImageBatch']>;
/** A job started by a dataset route (202): poll it with `waitForDatasetJob`. */
export type DatasetJobAccepted = ResponseOf<Routes['validateImageBatch']>;
/** One entry of the profile list. */
export type ImageProfileSummary = ResponseOf<Routes['listProfiles']>['profiles'][number];
/** What `createProfile` takes: its name and `source` (`{ batch_id }` or `{ s3_prefix }`). */
export type CreateProfileRequest = BodyOf<Routes['createProfile']>;
/** What `exportJsonl` takes. */
export type ExportJsonlRequest = BodyOf<Routes['exportJsonl']>;
/** What `exportS3` takes. */
export type ExportS3Request = BodyOf<Routes['exportS3']>;
