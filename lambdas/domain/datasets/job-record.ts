/**
 * The jobs of seed 001's dataset routes: a whole dataset's validation, a profile, an export too large
 * for the request. Each keeps the request as the route's schema accepted it (`params`); what a run has
 * done so far is an object in S3 (run-job.ts), so that a slice cut short by a crash or a timeout is
 * the only work done twice.
 */
import type {
  BatchValidationRequest,
  CreateProfileRequest,
  ExportJsonlRequest,
  ExportS3Request,
} from '../../../contracts/datasets.ts';
import { type FieldChecks, isPlainObject, oneOf, parsedObject } from '../field-checks.ts';
import type { JobRecordBase, KindFields } from '../jobs/model.ts';

export interface ImageValidationJobRecord extends JobRecordBase {
  kind: 'image-validation';
  params: BatchValidationRequest;
}

export interface ImageProfileJobRecord extends JobRecordBase {
  kind: 'image-profile';
  params: CreateProfileRequest;
}

/** Which export, and its request. */
export type ImageExportParams =
  | { format: 'jsonl'; request: ExportJsonlRequest }
  | { format: 's3'; request: ExportS3Request };

export interface ImageExportJobRecord extends JobRecordBase {
  kind: 'image-export';
  params: ImageExportParams;
}

export type DatasetJobRecord = ImageValidationJobRecord | ImageProfileJobRecord | ImageExportJobRecord;

export const IMAGE_VALIDATION_JOB_FIELDS: FieldChecks<KindFields<ImageValidationJobRecord>> = {
  kind: oneOf(['image-validation']),
  params: parsedObject<BatchValidationRequest>(),
};

export const IMAGE_PROFILE_JOB_FIELDS: FieldChecks<KindFields<ImageProfileJobRecord>> = {
  kind: oneOf(['image-profile']),
  params: parsedObject<CreateProfileRequest>(),
};

const isExportParams = (value: unknown): value is ImageExportParams =>
  isPlainObject(value) && (value.format === 'jsonl' || value.format === 's3') && isPlainObject(value.request);

export const IMAGE_EXPORT_JOB_FIELDS: FieldChecks<KindFields<ImageExportJobRecord>> = {
  kind: oneOf(['image-export']),
  params: isExportParams,
};
