/**
 * A job as the store keeps it: the fields every job has (JobRecordBase), and one record type per
 * kind, each in its family's folder (`<family>/job-record.ts`) with the checks that read it back.
 * RecordsByKind below is the one place a kind of job is added.
 */
import type { JobKind, JobStatus, LogEntry, StatusCounts } from '../../../contracts/jobs.ts';
import { JOB_STATUSES } from '../../../contracts/vocabulary.ts';
import {
  AVATAR_JOB_FIELDS,
  AVATAR_STATE_FIELDS,
  type AvatarJobRecord,
  type AvatarJobState,
} from '../avatars/job-record.ts';
import {
  BATCH_JOB_FIELDS,
  BATCH_STATE_FIELDS,
  type BatchJobRecord,
  type BatchJobState,
} from '../batches/job-record.ts';
import {
  IMAGE_EXPORT_JOB_FIELDS,
  IMAGE_PROFILE_JOB_FIELDS,
  IMAGE_VALIDATION_JOB_FIELDS,
  type ImageExportJobRecord,
  type ImageProfileJobRecord,
  type ImageValidationJobRecord,
} from '../datasets/job-record.ts';
import {
  type FieldChecks,
  invalidField,
  isNumber,
  isPlainObject,
  isString,
  NOT_AN_OBJECT,
  objectWith,
  oneOf,
  optional,
} from '../field-checks.ts';
import { GENERATION_JOB_FIELDS, type GenerationJobRecord } from '../generation/job-record.ts';
import {
  IMAGE_JOB_FIELDS,
  IMAGE_STATE_FIELDS,
  type ImageJobRecord,
  type ImageJobState,
} from '../images/job-record.ts';
import { INFERENCE_JOB_FIELDS, type InferenceJobRecord } from '../inference/job-record.ts';
import {
  TRAINING_JOB_FIELDS,
  TRAINING_STATE_FIELDS,
  type TrainingJobRecord,
  type TrainingJobState,
} from '../training/job-record.ts';

/**
 * What every job holds, whatever its kind. `tenant` is set only from the authorizer and is the
 * first part of every storage key; nothing in a request can choose it.
 */
export interface JobRecordBase {
  tenant: string;
  id: string;
  kind: JobKind;
  status: JobStatus;
  /** Incremented by every write; conditional updates compare it. */
  version: number;
  name?: string;
  /** Set on jobs that belong to a batch. */
  batchId?: string;
  /** 0..100. Monotone while the job runs. */
  progress: number;
  message?: string;
  result?: JobResult;
  error?: JobError;
  /** Handle of the workflow execution that runs this job (batches, training runs). */
  executionId?: string;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
}

/** What a job made: an object of the outputs bucket. */
interface JobResult {
  key: string;
  bytes: number;
  frames?: number;
  contentType: string;
}

interface JobError {
  code: string;
  message: string;
}

/** Each kind's record: the one place a kind of job is added (with its checks in KIND_FIELDS). */
interface RecordsByKind {
  generation: GenerationJobRecord;
  batch: BatchJobRecord;
  image: ImageJobRecord;
  training: TrainingJobRecord;
  inference: InferenceJobRecord;
  avatars: AvatarJobRecord;
  'image-validation': ImageValidationJobRecord;
  'image-profile': ImageProfileJobRecord;
  'image-export': ImageExportJobRecord;
}

/** A kind's own fields: its `kind` and what only records of some kinds hold. */
export type KindFields<R extends JobRecordBase> = Omit<R, Exclude<keyof JobRecordBase, 'kind'>>;

/** Every field that some kind's records hold and not every kind's. */
type KindFieldName = { [K in JobKind]: keyof KindFields<RecordsByKind[K]> }[JobKind];

/**
 * A kind's record with every other kind's own fields absent: a job's `params` or `preview` reads
 * as undefined where its kind has none, so that the readers of every kind (the jobs API, usage)
 * need no narrowing, while a record of one kind cannot be given another kind's field.
 */
type Exclusive<R> = R extends unknown ? R & { [F in Exclude<KindFieldName, keyof R>]?: never } : never;

/** A job as the store keeps it: one record type per kind, told apart by `kind`. */
export type JobRecord = Exclusive<RecordsByKind[JobKind]>;

/** The record of a job of kind `K`. */
export type JobOfKind<K extends JobKind> = Extract<JobRecord, { kind: K }>;

/**
 * Fields a transition or an update may set besides status and version: the lifecycle's, and each
 * kind's state. The store writes exactly these (its list is checked against this type).
 */
export type JobPatch = Partial<
  Pick<
    JobRecordBase,
    'progress' | 'message' | 'result' | 'error' | 'executionId' | 'startedAt' | 'finishedAt'
  > &
    BatchJobState &
    ImageJobState &
    TrainingJobState &
    AvatarJobState
>;

/** One entry per field of a kind's state (`<Kind>JobState`): what its record lists for the store. */
export type StateFields<S> = { readonly [F in keyof S]-?: true };

/**
 * Every field a patch may set, one entry per field of JobPatch: the lifecycle's and each kind's
 * state. A field added to the type and not here fails to compile instead of being silently dropped
 * by the store, which writes exactly these (adapters/dynamo/job-store-updates.ts).
 */
export const PATCHABLE_FIELDS = Object.keys({
  progress: true,
  message: true,
  result: true,
  error: true,
  executionId: true,
  startedAt: true,
  finishedAt: true,
  ...BATCH_STATE_FIELDS,
  ...IMAGE_STATE_FIELDS,
  ...TRAINING_STATE_FIELDS,
  ...AVATAR_STATE_FIELDS,
} as const satisfies StateFields<JobPatch>) as readonly (keyof JobPatch)[];

const BASE_FIELDS: FieldChecks<Omit<JobRecordBase, 'kind'>> = {
  tenant: isString,
  id: isString,
  status: oneOf(JOB_STATUSES),
  version: isNumber,
  name: optional(isString),
  batchId: optional(isString),
  progress: isNumber,
  message: optional(isString),
  result: optional(
    objectWith<JobResult>({
      key: isString,
      bytes: isNumber,
      frames: optional(isNumber),
      contentType: isString,
    }),
  ),
  error: optional(objectWith<JobError>({ code: isString, message: isString })),
  executionId: optional(isString),
  createdAt: isString,
  updatedAt: isString,
  startedAt: optional(isString),
  finishedAt: optional(isString),
};

const KIND_FIELDS: { readonly [K in JobKind]: FieldChecks<KindFields<RecordsByKind[K]>> } = {
  generation: GENERATION_JOB_FIELDS,
  batch: BATCH_JOB_FIELDS,
  image: IMAGE_JOB_FIELDS,
  training: TRAINING_JOB_FIELDS,
  inference: INFERENCE_JOB_FIELDS,
  avatars: AVATAR_JOB_FIELDS,
  'image-validation': IMAGE_VALIDATION_JOB_FIELDS,
  'image-profile': IMAGE_PROFILE_JOB_FIELDS,
  'image-export': IMAGE_EXPORT_JOB_FIELDS,
};

const KIND_FIELD_NAMES = [...new Set(Object.values(KIND_FIELDS).flatMap((fields) => Object.keys(fields)))];

const isJobKind = (value: unknown): value is JobKind =>
  typeof value === 'string' && Object.hasOwn(KIND_FIELDS, value);

/**
 * The first field of `value` that does not fit a job record of its kind (a field of another kind
 * counts), or undefined when it is one. Fields no record type names are left as they are.
 */
export function jobRecordProblem(value: unknown): string | undefined {
  if (!isPlainObject(value)) return NOT_AN_OBJECT;
  if (!isJobKind(value.kind)) return 'kind';
  const own = KIND_FIELDS[value.kind];
  return (
    invalidField(value, BASE_FIELDS) ??
    invalidField(value, own) ??
    KIND_FIELD_NAMES.find((field) => !Object.hasOwn(own, field) && value[field] !== undefined)
  );
}

export function isJobRecord(value: unknown): value is JobRecord {
  return jobRecordProblem(value) === undefined;
}

export function isJobOfKind<K extends JobKind>(job: JobRecord, kind: K): job is JobOfKind<K> {
  return job.kind === kind;
}

export type {
  AvatarJobRecord,
  BatchJobRecord,
  GenerationJobRecord,
  ImageJobRecord,
  InferenceJobRecord,
  JobKind,
  JobStatus,
  LogEntry,
  StatusCounts,
  TrainingJobRecord,
};
