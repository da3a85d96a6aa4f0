/**
 * The job store's items (layout in tables.ts): the one mapping from a job record to its item and
 * back, and a log entry's item. Reading back checks the item against its kind's record type
 * (lambdas/domain/jobs/model.ts), so a record the store hands out is the type it claims to be.
 */
import { isJobRecord, type JobRecord, jobRecordProblem, type LogEntry } from '../../domain/jobs/model.ts';
import { newUlid } from '../ids.ts';
import { BATCH_INDEX, KIND_INDEX, keys, STATE_TABLE } from './tables.ts';

/** Attributes that exist only for the table's keys and bookkeeping; records never carry them. */
const STORAGE_ATTRIBUTES = [
  STATE_TABLE.partitionKey,
  STATE_TABLE.sortKey,
  BATCH_INDEX.partitionKey,
  BATCH_INDEX.sortKey,
  KIND_INDEX.partitionKey,
  KIND_INDEX.sortKey,
  'previousStatus',
] as const;

const MAX_LOG_MESSAGE_CHARS = 2_000;

/** An item of the state table that is not a job record of its kind. */
export class CorruptJobItemError extends Error {
  constructor(sortKey: unknown, field: string) {
    super(
      `item ${String(sortKey)} of the state table is not a job record: its ${field} does not fit its kind`,
    );
    this.name = 'CorruptJobItemError';
  }
}

export function jobKey(tenant: string, id: string): { pk: string; sk: string } {
  return { pk: keys.tenantPartition(tenant), sk: keys.job(id) };
}

/** The one mapping from a record to its item: the record as it is, then its keys. */
export function toItem(job: JobRecord): Record<string, unknown> {
  return {
    ...job,
    ...jobKey(job.tenant, job.id),
    [KIND_INDEX.partitionKey]: keys.kindPartition(job.tenant, job.kind),
    [KIND_INDEX.sortKey]: keys.job(job.id),
    ...(job.batchId === undefined
      ? {}
      : {
          [BATCH_INDEX.partitionKey]: keys.batchPartition(job.tenant, job.batchId),
          [BATCH_INDEX.sortKey]: keys.job(job.id),
        }),
  };
}

/** The one mapping back: the item less its storage attributes, checked against its kind's record. */
export function fromItem(item: Record<string, unknown>): JobRecord {
  const record: Record<string, unknown> = { ...item };
  for (const attribute of STORAGE_ATTRIBUTES) delete record[attribute];
  if (isJobRecord(record)) return record;
  throw new CorruptJobItemError(item[STATE_TABLE.sortKey], jobRecordProblem(record) ?? '');
}

/** A log entry's item: one partition per job, sorted by time. */
export function logItem(tenant: string, id: string, entry: LogEntry): Record<string, unknown> {
  return {
    pk: keys.logPartition(tenant, id),
    // A ULID after the time keeps entries with equal timestamps apart, and in append order.
    sk: `${entry.at}#${newUlid()}`,
    at: entry.at,
    level: entry.level,
    message: entry.message.slice(0, MAX_LOG_MESSAGE_CHARS),
  };
}

export function jobIdOfSortKey(sortKey: string): string {
  return sortKey.slice(keys.job('').length);
}
