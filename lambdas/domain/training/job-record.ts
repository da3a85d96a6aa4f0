/**
 * A training job (seed 002): one run, each attempt of it a SageMaker training job that one
 * execution of the training machine starts, resumes and records.
 */
import type { TrainRequest } from '../../../contracts/training.ts';
import {
  arrayOf,
  type FieldChecks,
  isBoolean,
  isNumber,
  isPlainObject,
  isString,
  objectWith,
  oneOf,
  optional,
  parsedObject,
} from '../field-checks.ts';
import type { JobRecordBase, KindFields, StateFields } from '../jobs/model.ts';

/** The request as accepted, with the run name it was given when it named none. */
export type TrainingJobParams = TrainRequest & { custom_name: string };

/** A training job's run. Internal, like every storage key: the API presents it in seed 002's shape. */
export interface TrainingRecord {
  /** The run name: its checkpoints live under it, so a later run of this name can resume them. */
  customName: string;
  /** The `train` channel: a manifest of result archives (a batch) or a folder of identity folders. */
  dataset: TrainingDataset;
  /**
   * Training jobs started so far: the first, each resume after a suspension, and each restart after
   * an interruption (a local platform that stopped). It names them: SageMaker never reuses a name.
   */
  attempts: number;
  /** Suspensions resumed so far: what `maxAutoResumes` limits. An interruption is not one. */
  autoResumes?: number;
  /** Set when a suspension was granted its resume; the next attempt reads and clears it. */
  resumingAfterSuspension?: boolean;
  /** The current (or last) SageMaker training job. */
  trainingJobName?: string;
  instanceType: string;
  spot: boolean;
  maxRuntimeSeconds: number;
  /** Billable instance seconds of the attempts that ended. */
  billableSeconds?: number;
  /** The trainer's last progress, kept when the run ends (live progress is read from its checkpoints). */
  progress?: Record<string, unknown>;
}

export interface TrainingDataset {
  type: 'ManifestFile' | 'S3Prefix';
  key: string;
  identities?: number;
  batchId?: string;
}

export interface TrainingJobRecord extends JobRecordBase {
  kind: 'training';
  params: TrainingJobParams;
  training: TrainingRecord;
}

/** What a training job's transitions and updates may change. */
export type TrainingJobState = Pick<TrainingJobRecord, 'training'>;

/** The fields of its state, for the store's list of what a patch may set (jobs/model.ts). */
export const TRAINING_STATE_FIELDS = { training: true } as const satisfies StateFields<TrainingJobState>;

const isTrainingJobParams = objectWith<TrainingJobParams>({
  tenant_id: optional(isString),
  frames: isNumber,
  verbose: isBoolean,
  save_intermediate: isBoolean,
  custom_name: isString,
  resume_from_checkpoint: isBoolean,
  wandb_tags: arrayOf(isString),
  training_kwargs: parsedObject(),
  model_kwargs: parsedObject(),
  dataset: optional(parsedObject()),
  compute: parsedObject(),
});

const isTrainingRecord = objectWith<TrainingRecord>({
  customName: isString,
  dataset: objectWith<TrainingDataset>({
    type: oneOf(['ManifestFile', 'S3Prefix']),
    key: isString,
    identities: optional(isNumber),
    batchId: optional(isString),
  }),
  attempts: isNumber,
  autoResumes: optional(isNumber),
  resumingAfterSuspension: optional(isBoolean),
  trainingJobName: optional(isString),
  instanceType: isString,
  spot: isBoolean,
  maxRuntimeSeconds: isNumber,
  billableSeconds: optional(isNumber),
  progress: optional(isPlainObject),
});

export const TRAINING_JOB_FIELDS: FieldChecks<KindFields<TrainingJobRecord>> = {
  kind: oneOf(['training']),
  params: isTrainingJobParams,
  training: isTrainingRecord,
};
