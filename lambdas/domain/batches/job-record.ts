/**
 * A batch: the job that owns its items (generation or image jobs) and whose workflow execution
 * runs them. While it runs its counts are computed from its items; they are written when it ends.
 */
import type { StatusCounts } from '../../../contracts/jobs.ts';
import { type FieldChecks, isNumber, isString, objectWith, oneOf, optional } from '../field-checks.ts';
import type { JobRecordBase, KindFields, StateFields } from '../jobs/model.ts';

export interface BatchJobRecord extends JobRecordBase {
  kind: 'batch';
  /** How many jobs the batch holds. */
  total: number;
  /** Final counts, written when the batch ends. */
  counts?: StatusCounts;
  /** The model every image of the batch is made with, when there is one. */
  generator?: string;
}

/** What a batch's transitions and updates may change. */
export type BatchJobState = Pick<BatchJobRecord, 'counts'>;

/** The fields of its state, for the store's list of what a patch may set (jobs/model.ts). */
export const BATCH_STATE_FIELDS = { counts: true } as const satisfies StateFields<BatchJobState>;

const isStatusCounts = objectWith<StatusCounts>({
  pending: isNumber,
  running: isNumber,
  completed: isNumber,
  failed: isNumber,
  cancelled: isNumber,
});

export const BATCH_JOB_FIELDS: FieldChecks<KindFields<BatchJobRecord>> = {
  kind: oneOf(['batch']),
  total: isNumber,
  counts: optional(isStatusCounts),
  generator: optional(isString),
};
