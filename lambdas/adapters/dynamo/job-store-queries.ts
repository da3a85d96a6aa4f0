/**
 * The job store's reads of many jobs: where a list reads (the table, the batch index or the kind
 * index), its Query and the key it resumes after, and the Scan of every open job.
 */
import type { QueryCommandInput, ScanCommandInput } from '@aws-sdk/lib-dynamodb';
import type { JobRecord } from '../../domain/jobs/model.ts';
import type { JobQuery } from '../../domain/ports.ts';
import { ExpressionAttributes } from './expressions.ts';
import { jobKey } from './job-store-codec.ts';
import { notTerminal } from './job-store-updates.ts';
import { BATCH_INDEX, KIND_INDEX, keys, STATE_TABLE } from './tables.ts';
import { ulidBoundsFor } from './ulid-bounds.ts';

/** Where a list reads: an index (none for the table itself), its key names, and the partition. */
export interface ListSource {
  indexName?: string;
  partitionKey: string;
  sortKey: string;
  partition: string;
  /** The index holds only jobs of this kind: no filter on the kind is needed. */
  kind?: JobRecord['kind'];
}

/** What makes two list requests the same query; the limit may change from page to page. */
export function queryFingerprint(query: JobQuery): string {
  return JSON.stringify([
    query.kind ?? null,
    query.status ?? null,
    query.batchId ?? null,
    query.since ?? null,
    query.until ?? null,
  ]);
}

export function idRangeOf(query: JobQuery): { lowest: string; highest: string } | undefined {
  return ulidBoundsFor({
    ...(query.since === undefined ? {} : { since: new Date(query.since) }),
    ...(query.until === undefined ? {} : { until: new Date(query.until) }),
  });
}

/**
 * A batch's jobs are read from the batch index, the jobs of one kind from the kind index (filtering
 * the whole tenant partition for its few batches could spend a list's reads and find none), and
 * everything else from the tenant's partition. Every source is sorted by job id.
 */
export function listSource(tenant: string, query: JobQuery): ListSource {
  if (query.batchId !== undefined) {
    return { ...BATCH_INDEX, partition: keys.batchPartition(tenant, query.batchId) };
  }
  if (query.kind !== undefined) {
    return { ...KIND_INDEX, partition: keys.kindPartition(tenant, query.kind), kind: query.kind };
  }
  return {
    partitionKey: STATE_TABLE.partitionKey,
    sortKey: STATE_TABLE.sortKey,
    partition: keys.tenantPartition(tenant),
  };
}

export function listRequest(
  tableName: string,
  source: ListSource,
  query: JobQuery,
  range: 'all' | { lowest: string; highest: string },
): QueryCommandInput {
  const attributes = new ExpressionAttributes();
  const sort = attributes.name(source.sortKey);
  const sortCondition =
    range === 'all'
      ? `begins_with(${sort}, ${attributes.value(keys.job(''))})`
      : `${sort} BETWEEN ${attributes.value(keys.job(range.lowest))} AND ${attributes.value(keys.job(range.highest))}`;
  const filters = [
    ...(query.kind === undefined || source.kind === query.kind
      ? []
      : [`${attributes.name('kind')} = ${attributes.value(query.kind)}`]),
    ...(query.status === undefined
      ? []
      : [`${attributes.name('status')} = ${attributes.value(query.status)}`]),
  ];
  return {
    TableName: tableName,
    ...(source.indexName === undefined ? {} : { IndexName: source.indexName }),
    KeyConditionExpression: `${attributes.name(source.partitionKey)} = ${attributes.value(source.partition)} AND ${sortCondition}`,
    ...(filters.length === 0 ? {} : { FilterExpression: filters.join(' AND ') }),
    ...attributes.toRequest(),
    ScanIndexForward: false,
  };
}

/**
 * The key a list resumes after: a job's table key, plus its key in the index the list reads (an
 * index's ExclusiveStartKey holds both).
 */
export function listPosition(tenant: string, source: ListSource, jobId: string): Record<string, unknown> {
  return {
    ...jobKey(tenant, jobId),
    ...(source.indexName === undefined
      ? {}
      : { [source.partitionKey]: source.partition, [source.sortKey]: keys.job(jobId) }),
  };
}

/** A Scan of the whole state table for the jobs, of every tenant, that have not ended. */
export function openJobsScan(tableName: string): ScanCommandInput {
  const attributes = new ExpressionAttributes();
  const open = [
    `begins_with(${attributes.name(STATE_TABLE.sortKey)}, ${attributes.value(keys.job(''))})`,
    notTerminal(attributes),
  ].join(' AND ');
  return { TableName: tableName, FilterExpression: open, ...attributes.toRequest() };
}
