/**
 * An avatarization job (seed 004): one parameters document of a set, run by one execution of the
 * avatars machine once every job it depends on has finished. Its tables, its set and its results
 * are objects in S3 (keys.ts); the record holds where they are and how far it has come.
 */
import { AVATAR_JOB_KINDS, type AvatarJobKind } from '../../../contracts/avatars-vocabulary.ts';
import {
  arrayOf,
  type FieldChecks,
  isNumber,
  isPlainObject,
  isString,
  objectWith,
  oneOf,
  optional,
} from '../field-checks.ts';
import type { JobRecordBase, KindFields, StateFields } from '../jobs/model.ts';

export type AvatarJobParams = {
  setName: string;
  parametersName: string;
  avatarKind: AvatarJobKind;
  /** The jobs that must finish before this one runs. */
  dependsOn: string[];
};

/** Where the job's engine runs, and why there (the record says, so that a user can see it). */
export interface AvatarCompute {
  target: 'lambda' | 'processing' | 'local';
  /** The function's memory, or the Processing instance's. */
  memoryMb?: number;
  /** The Processing job's instance type. */
  instanceType?: string;
  reason: string;
}

export interface AvatarRecord {
  compute: AvatarCompute;
  /** Bytes of CSV the job reads (its runner was chosen from them). */
  inputBytes?: number;
  /** Processing jobs started for it so far (each attempt's name counts one more). */
  processingAttempts?: number;
  /**
   * The task token of the step waiting for this job's parents: a parent that ends sends it back so
   * that the job looks at its parents again (and no job polls).
   */
  waitToken?: string;
  /** Result key (the client's: `shuffled`, `privacy_metrics`...) → the objects' keys. */
  outputs?: Record<string, string[]>;
  /**
   * The tables a job read and the synthetic tables it measured or made (a standard job: its
   * avatars), so that a report finds both through the jobs it depends on.
   */
  measured?: MeasuredTable[];
}

/** A table as the engine reads it: its object, the types the schema forces, the columns left out. */
export interface TableInput {
  name: string;
  key: string;
  types: Record<string, string>;
  /** Identifiers and primary keys: never avatarized, never measured. */
  drop: string[];
}

export interface MeasuredTable {
  table: TableInput;
  synthetic: TableInput;
}

export interface AvatarJobRecord extends JobRecordBase {
  kind: 'avatars';
  params: AvatarJobParams;
  avatars: AvatarRecord;
}

/** What an avatar job's transitions and updates may change. */
export type AvatarJobState = Pick<AvatarJobRecord, 'avatars'>;

export const AVATAR_STATE_FIELDS = { avatars: true } as const satisfies StateFields<AvatarJobState>;

const isAvatarJobParams = objectWith<AvatarJobParams>({
  setName: isString,
  parametersName: isString,
  avatarKind: oneOf(AVATAR_JOB_KINDS),
  dependsOn: arrayOf(isString),
});

const isAvatarRecord = objectWith<AvatarRecord>({
  compute: objectWith<AvatarCompute>({
    target: oneOf(['lambda', 'processing', 'local']),
    memoryMb: optional(isNumber),
    instanceType: optional(isString),
    reason: isString,
  }),
  inputBytes: optional(isNumber),
  processingAttempts: optional(isNumber),
  waitToken: optional(isString),
  outputs: optional(isPlainObject as never),
  measured: optional(arrayOf(isPlainObject) as never),
});

export const AVATAR_JOB_FIELDS: FieldChecks<KindFields<AvatarJobRecord>> = {
  kind: oneOf(['avatars']),
  params: isAvatarJobParams,
  avatars: isAvatarRecord,
};

/** The error of a job whose parent did not finish (the client's `parent_error`). */
export const PARENT_ERROR = 'PARENT_ERROR';
