import { isDeepStrictEqual } from 'node:util';
import {
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { TERMINAL_STATUSES } from '../../../contracts/vocabulary.ts';
import { allowedSources, isTerminal } from '../../domain/jobs/lifecycle.ts';
import type { JobPatch, JobRecord, JobStatus, LogEntry } from '../../domain/jobs/model.ts';
import type { Clock, JobLogLine, JobQuery, JobStore, Page, TransitionOutcome } from '../../domain/ports.ts';
import { settleWithConcurrency } from '../concurrency.ts';
import { newUlid } from '../ids.ts';
import { CursorCodec } from './cursor.ts';
import { isConditionalCheckFailure } from './errors.ts';
import { ExpressionAttributes } from './expressions.ts';
import { assertStorableTenant, BATCH_INDEX, KIND_INDEX, keys, STATE_TABLE } from './tables.ts';
import { ulidBoundsFor } from './ulid-bounds.ts';

export interface DynamoJobStoreOptions {
  tableName: string;
  /** Signs list cursors (HMAC-SHA256), at least 16 bytes. Changing it invalidates the cursors handed out. */
  cursorSecret: string;
  clock?: Clock;
  /** Items one Query reads while a filtered list fills its page (filters apply after the read). */
  queryPageSize?: number;
  /**
   * Wait before the second round of a batch read or write whose keys DynamoDB handed back; it
   * doubles each round after.
   * @default 50
   */
  retryBaseDelayMs?: number;
}

/** `create` met a job id that exists already; the other jobs of the call were written. */
export class DuplicateJobError extends Error {
  constructor(readonly jobIds: string[]) {
    super(`jobs already exist: ${jobIds.join(', ')}`);
    this.name = 'DuplicateJobError';
  }
}

/** What a patch may set. Anything else a caller slips in (status, tenant, keys) is never written. */
const PATCHABLE_FIELDS = [
  'progress',
  'message',
  'result',
  'error',
  'executionId',
  'inference',
  'training',
  'counts',
  'startedAt',
  'finishedAt',
] as const satisfies readonly (keyof JobPatch)[];

/** Attributes that exist only for the table's keys and bookkeeping; records never carry them. */
const STORAGE_ATTRIBUTES = [
  STATE_TABLE.partitionKey,
  STATE_TABLE.sortKey as string,
  BATCH_INDEX.partitionKey,
  BATCH_INDEX.sortKey,
  KIND_INDEX.partitionKey,
  KIND_INDEX.sortKey,
  'previousStatus',
] as const;

const CREATE_CONCURRENCY = 10;
const MAX_LOG_MESSAGE_CHARS = 2_000;
const BATCH_WRITE_SIZE = 25;
/** The most keys one BatchGetItem may ask for. */
const BATCH_GET_SIZE = 100;
/** Rounds of a batch read or write before the keys DynamoDB keeps handing back count as a failure. */
const MAX_BATCH_ROUNDS = 8;
/** A list answers within bounded time: after this many reads it returns what it has, with a cursor. */
const MAX_QUERIES_PER_LIST = 10;

const systemClock: Clock = { now: () => new Date() };

/**
 * The job store over the state table (layout in tables.ts). Every write that can race is one
 * conditional request, so concurrent workers never lose an update and a terminal status never changes.
 */
export class DynamoJobStore implements JobStore {
  readonly #tableName: string;
  readonly #cursors: CursorCodec;
  readonly #clock: Clock;
  readonly #queryPageSize: number;
  readonly #retryBaseDelayMs: number;

  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    options: DynamoJobStoreOptions,
  ) {
    this.#tableName = options.tableName;
    this.#cursors = new CursorCodec(options.cursorSecret);
    this.#clock = options.clock ?? systemClock;
    this.#queryPageSize = options.queryPageSize ?? 100;
    this.#retryBaseDelayMs = options.retryBaseDelayMs ?? 50;
  }

  async create(jobs: JobRecord[]): Promise<void> {
    for (const job of jobs) assertStorableTenant(job.tenant);
    // BatchWriteItem cannot be conditional, and ids are never reused: one conditional put per job.
    const failures = await settleWithConcurrency(jobs, CREATE_CONCURRENCY, async (job) => {
      try {
        await this.dynamo.send(
          new PutCommand({
            TableName: this.#tableName,
            Item: toItem(job),
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      } catch (error) {
        // The SDK retries a put that timed out; if the first attempt landed, the item is ours already.
        if (isConditionalCheckFailure(error) && (await this.#holdsExactly(job))) return;
        throw error;
      }
    });
    const unexpected = failures.find((failure) => !isConditionalCheckFailure(failure.error));
    if (unexpected !== undefined) throw unexpected.error;
    if (failures.length > 0) throw new DuplicateJobError(failures.map((failure) => failure.item.id));
  }

  /**
   * BatchWriteItem, 25 items a request, jobs and log entries together: a batch of 3 jobs is one
   * request where conditional puts took 4, and a batch of 100 takes 5 instead of 101. BatchWriteItem
   * cannot be conditional; see the port for why these jobs need no condition.
   */
  async createUnstarted(jobs: JobRecord[], logs: readonly JobLogLine[] = []): Promise<void> {
    for (const job of jobs) assertStorableTenant(job.tenant);
    for (const log of logs) assertStorableTenant(log.tenant);
    await this.#batchWrite([
      ...jobs.map((job) => ({ PutRequest: { Item: toItem(job) } })),
      ...logs.map((log) => ({ PutRequest: { Item: logItem(log.tenant, log.jobId, log.entry) } })),
    ]);
  }

  async get(tenant: string, id: string): Promise<JobRecord | undefined> {
    assertStorableTenant(tenant);
    const output = await this.dynamo.send(
      new GetCommand({ TableName: this.#tableName, Key: jobKey(tenant, id), ConsistentRead: true }),
    );
    return output.Item === undefined ? undefined : fromItem(output.Item);
  }

  async list(tenant: string, query: JobQuery): Promise<Page<JobRecord>> {
    assertStorableTenant(tenant);
    if (!Number.isInteger(query.limit) || query.limit < 1) {
      throw new RangeError('limit must be a positive integer');
    }
    const fingerprint = queryFingerprint(query);
    const after =
      query.cursor === undefined ? undefined : this.#cursors.decode(tenant, fingerprint, query.cursor).after;
    const range = query.since === undefined && query.until === undefined ? 'all' : idRangeOf(query);
    if (range === undefined) return { items: [] };

    const source = listSource(tenant, query);
    const request = listRequest(this.#tableName, source, query, range);
    const filtered = request.FilterExpression !== undefined;
    // One item beyond the page tells whether another page exists without an extra empty one.
    const wanted = query.limit + 1;
    const matches: JobRecord[] = [];
    let startKey = after === undefined ? undefined : listPosition(tenant, source, after);
    for (let queries = 0; queries < MAX_QUERIES_PER_LIST; queries++) {
      const stillWanted = wanted - matches.length;
      const output = await this.dynamo.send(
        new QueryCommand({
          ...request,
          Limit: filtered ? Math.max(stillWanted, this.#queryPageSize) : stillWanted,
          ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
        }),
      );
      matches.push(...(output.Items ?? []).map(fromItem));
      startKey = output.LastEvaluatedKey;
      if (matches.length >= wanted || startKey === undefined) break;
    }

    if (matches.length > query.limit) {
      const items = matches.slice(0, query.limit);
      const last = items[items.length - 1] as JobRecord;
      return { items, nextCursor: this.#cursors.encode(tenant, fingerprint, { after: last.id }) };
    }
    if (startKey !== undefined) {
      // The read budget ran out before the page filled: resume where reading stopped.
      const resumeAfter = jobIdOfSortKey(String(startKey.sk));
      return {
        items: matches,
        nextCursor: this.#cursors.encode(tenant, fingerprint, { after: resumeAfter }),
      };
    }
    return { items: matches };
  }

  /**
   * The batch index is eventually consistent, and callers count the statuses right after writing them
   * and keep those counts for good. So the index gives only which jobs belong to the batch (written
   * with the jobs, at submission, long before), and the jobs themselves come from the table, read
   * strongly consistently.
   */
  async listBatchItems(tenant: string, batchId: string): Promise<JobRecord[]> {
    assertStorableTenant(tenant);
    const ids = await this.#batchMemberIds(tenant, batchId);
    const jobs = await this.#getConsistently(tenant, ids);
    return ids.flatMap((id) => {
      const job = jobs.get(id);
      return job === undefined ? [] : [job];
    });
  }

  /** The ids of a batch's jobs, oldest first (ULIDs), from the batch index. */
  async #batchMemberIds(tenant: string, batchId: string): Promise<string[]> {
    const attributes = new ExpressionAttributes();
    const condition = `${attributes.name(BATCH_INDEX.partitionKey)} = ${attributes.value(keys.batchPartition(tenant, batchId))} AND begins_with(${attributes.name(BATCH_INDEX.sortKey)}, ${attributes.value(keys.job(''))})`;
    const projection = attributes.name(BATCH_INDEX.sortKey);
    const ids: string[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const output = await this.dynamo.send(
        new QueryCommand({
          TableName: this.#tableName,
          IndexName: BATCH_INDEX.indexName,
          KeyConditionExpression: condition,
          ProjectionExpression: projection,
          ...attributes.toRequest(),
          ScanIndexForward: true,
          ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
        }),
      );
      for (const item of output.Items ?? []) ids.push(jobIdOfSortKey(String(item[BATCH_INDEX.sortKey])));
      startKey = output.LastEvaluatedKey;
    } while (startKey !== undefined);
    return ids;
  }

  /**
   * The jobs with these ids, by id, read with strongly consistent BatchGetItem requests. Keys that
   * DynamoDB hands back unprocessed (throttling, the 16 MB response cap) are asked for again after a
   * short backoff, for a bounded number of rounds.
   */
  async #getConsistently(tenant: string, ids: readonly string[]): Promise<Map<string, JobRecord>> {
    const found = new Map<string, JobRecord>();
    let pending: Record<string, unknown>[] = ids.map((id) => jobKey(tenant, id));
    for (let round = 0; pending.length > 0; round++) {
      if (round === MAX_BATCH_ROUNDS) throw new Error(`${pending.length} jobs could not be read`);
      if (round > 0) await sleep(this.#retryBaseDelayMs * 2 ** (round - 1));
      const unprocessed: Record<string, unknown>[] = [];
      for (let start = 0; start < pending.length; start += BATCH_GET_SIZE) {
        const output = await this.dynamo.send(
          new BatchGetCommand({
            RequestItems: {
              [this.#tableName]: { Keys: pending.slice(start, start + BATCH_GET_SIZE), ConsistentRead: true },
            },
          }),
        );
        for (const item of output.Responses?.[this.#tableName] ?? []) {
          const job = fromItem(item);
          found.set(job.id, job);
        }
        unprocessed.push(...(output.UnprocessedKeys?.[this.#tableName]?.Keys ?? []));
      }
      pending = unprocessed;
    }
    return found;
  }

  async transition(
    tenant: string,
    id: string,
    to: JobStatus,
    patch: JobPatch = {},
  ): Promise<TransitionOutcome> {
    assertStorableTenant(tenant);
    const sources = allowedSources(to);
    // Nothing may enter `pending`; DynamoDB would reject an empty IN list, so answer from a read.
    if (sources.length === 0) return this.#rejectedTransition(tenant, id);

    const now = this.#clock.now().toISOString();
    const fields: JobPatch = { ...patch };
    if (to === 'running') fields.startedAt ??= now;
    if (isTerminal(to)) fields.finishedAt ??= now;

    const attributes = new ExpressionAttributes();
    const status = attributes.name('status');
    const version = attributes.name('version');
    const assignments = [
      `${status} = ${attributes.value(to)}`,
      // SET reads the item as it was before the update, so this keeps the status we moved away from.
      `${attributes.name('previousStatus')} = ${status}`,
      `${version} = ${version} + ${attributes.value(1)}`,
      `${attributes.name('updatedAt')} = ${attributes.value(now)}`,
      ...patchAssignments(fields, attributes),
    ];
    const allowed = sources.map((source) => attributes.value(source)).join(', ');
    const after = await this.#conditionalUpdate(tenant, id, attributes, assignments, [
      `${status} IN (${allowed})`,
    ]);
    // dynalite ignores ReturnValuesOnConditionCheckFailure, so one read tells missing from illegal.
    if (!after) return this.#rejectedTransition(tenant, id);
    return { applied: true, job: fromItem(after), previous: after.previousStatus as JobStatus };
  }

  async update(
    tenant: string,
    id: string,
    patch: JobPatch,
    options: { expectedVersion?: number; whenStatus?: JobStatus } = {},
  ): Promise<JobRecord | undefined> {
    assertStorableTenant(tenant);
    const attributes = new ExpressionAttributes();
    const version = attributes.name('version');
    const assignments = [
      `${version} = ${version} + ${attributes.value(1)}`,
      `${attributes.name('updatedAt')} = ${attributes.value(this.#clock.now().toISOString())}`,
      ...patchAssignments(patch, attributes),
    ];
    const statusCondition =
      options.whenStatus === undefined
        ? `NOT (${attributes.name('status')} IN (${TERMINAL_STATUSES.map((s) => attributes.value(s)).join(', ')}))`
        : `${attributes.name('status')} = ${attributes.value(options.whenStatus)}`;
    const conditions = [
      statusCondition,
      ...(options.expectedVersion === undefined
        ? []
        : [`${version} = ${attributes.value(options.expectedVersion)}`]),
      // Progress only moves forward, even when two attempts at one job overlap.
      ...(patch.progress === undefined ? [] : [progressDoesNotDrop(attributes, patch.progress)]),
    ];
    const after = await this.#conditionalUpdate(tenant, id, attributes, assignments, conditions);
    return after ? fromItem(after) : undefined;
  }

  /**
   * One UpdateItem on an existing job, applied only if every condition holds. Returns the item as
   * written, or undefined when a condition (existence included) failed.
   */
  async #conditionalUpdate(
    tenant: string,
    id: string,
    attributes: ExpressionAttributes,
    assignments: string[],
    conditions: string[],
  ): Promise<Record<string, unknown> | undefined> {
    try {
      const output = await this.dynamo.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: jobKey(tenant, id),
          UpdateExpression: `SET ${assignments.join(', ')}`,
          ConditionExpression: [`attribute_exists(${attributes.name('pk')})`, ...conditions].join(' AND '),
          ...attributes.toRequest(),
          ReturnValues: 'ALL_NEW',
        }),
      );
      return output.Attributes as Record<string, unknown>;
    } catch (error) {
      if (isConditionalCheckFailure(error)) return undefined;
      throw error;
    }
  }

  async appendLog(tenant: string, id: string, entries: LogEntry[]): Promise<void> {
    assertStorableTenant(tenant);
    await this.#batchWrite(entries.map((entry) => ({ PutRequest: { Item: logItem(tenant, id, entry) } })));
  }

  /**
   * Puts items with BatchWriteItem, 25 a request. Items DynamoDB hands back unprocessed (throttling)
   * are written again after a short backoff, for a bounded number of rounds. Every put is a whole
   * item, so writing one twice (a round after a timeout that had landed) leaves the same item.
   */
  async #batchWrite(requests: { PutRequest: { Item: Record<string, unknown> } }[]): Promise<void> {
    let pending = requests;
    for (let round = 0; pending.length > 0; round++) {
      if (round === MAX_BATCH_ROUNDS) throw new Error(`${pending.length} items were not written`);
      if (round > 0) await sleep(this.#retryBaseDelayMs * 2 ** (round - 1));
      const unprocessed: typeof pending = [];
      for (let start = 0; start < pending.length; start += BATCH_WRITE_SIZE) {
        const output = await this.dynamo.send(
          new BatchWriteCommand({
            RequestItems: { [this.#tableName]: pending.slice(start, start + BATCH_WRITE_SIZE) },
          }),
        );
        unprocessed.push(...((output.UnprocessedItems?.[this.#tableName] ?? []) as typeof pending));
      }
      pending = unprocessed;
    }
  }

  async tailLog(tenant: string, id: string, tail: number): Promise<LogEntry[]> {
    assertStorableTenant(tenant);
    const wanted = Math.floor(tail);
    const newestFirst: LogEntry[] = [];
    let startKey: Record<string, unknown> | undefined;
    while (newestFirst.length < wanted) {
      const output = await this.dynamo.send(
        new QueryCommand({
          TableName: this.#tableName,
          KeyConditionExpression: 'pk = :log',
          ExpressionAttributeValues: { ':log': keys.logPartition(tenant, id) },
          ScanIndexForward: false,
          Limit: wanted - newestFirst.length,
          ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
        }),
      );
      for (const item of output.Items ?? []) {
        newestFirst.push({ at: item.at, level: item.level, message: item.message });
      }
      startKey = output.LastEvaluatedKey;
      if (startKey === undefined) break;
    }
    return newestFirst.reverse();
  }

  async #holdsExactly(job: JobRecord): Promise<boolean> {
    const stored = await this.get(job.tenant, job.id);
    // A JSON round trip drops the undefined fields that the stored item never had.
    return stored !== undefined && isDeepStrictEqual(stored, JSON.parse(JSON.stringify(job)));
  }

  async #rejectedTransition(tenant: string, id: string): Promise<TransitionOutcome> {
    const job = await this.get(tenant, id);
    return job === undefined
      ? { applied: false, reason: 'not_found' }
      : { applied: false, reason: 'illegal', job };
  }
}

/**
 * Every job of every tenant that has not ended, read with one paged Scan of the state table. Not
 * part of the JobStore port, which only ever reads one tenant: this is for the local platform's
 * start, which settles what its last run left open, and for nothing that serves a tenant.
 */
export async function scanOpenJobs(dynamo: DynamoDBDocumentClient, tableName: string): Promise<JobRecord[]> {
  const attributes = new ExpressionAttributes();
  const open = [
    `begins_with(${attributes.name(STATE_TABLE.sortKey as string)}, ${attributes.value(keys.job(''))})`,
    `NOT (${attributes.name('status')} IN (${TERMINAL_STATUSES.map((s) => attributes.value(s)).join(', ')}))`,
  ].join(' AND ');
  const jobs: JobRecord[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamo.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: open,
        ...attributes.toRequest(),
        ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
      }),
    );
    jobs.push(...(page.Items ?? []).map(fromItem));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return jobs;
}

function jobKey(tenant: string, id: string): { pk: string; sk: string } {
  return { pk: keys.tenantPartition(tenant), sk: keys.job(id) };
}

/** The one mapping from a record to its item: the record as it is, then its keys. */
function toItem(job: JobRecord): Record<string, unknown> {
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

/** A log entry's item: one partition per job, sorted by time. */
function logItem(tenant: string, id: string, entry: LogEntry): Record<string, unknown> {
  return {
    pk: keys.logPartition(tenant, id),
    // A ULID after the time keeps entries with equal timestamps apart, and in append order.
    sk: `${entry.at}#${newUlid()}`,
    at: entry.at,
    level: entry.level,
    message: entry.message.slice(0, MAX_LOG_MESSAGE_CHARS),
  };
}

/** The one mapping back: the item less its storage attributes. */
function fromItem(item: Record<string, unknown>): JobRecord {
  const record: Record<string, unknown> = { ...item };
  for (const attribute of STORAGE_ATTRIBUTES) delete record[attribute];
  return record as unknown as JobRecord;
}

function patchAssignments(patch: JobPatch, attributes: ExpressionAttributes): string[] {
  return PATCHABLE_FIELDS.filter((field) => patch[field] !== undefined).map(
    (field) => `${attributes.name(field)} = ${attributes.value(patch[field])}`,
  );
}

/** What makes two list requests the same query; the limit may change from page to page. */
function queryFingerprint(query: JobQuery): string {
  return JSON.stringify([
    query.kind ?? null,
    query.status ?? null,
    query.batchId ?? null,
    query.since ?? null,
    query.until ?? null,
  ]);
}

function idRangeOf(query: JobQuery): { lowest: string; highest: string } | undefined {
  return ulidBoundsFor({
    ...(query.since === undefined ? {} : { since: new Date(query.since) }),
    ...(query.until === undefined ? {} : { until: new Date(query.until) }),
  });
}

/** Where a list reads: an index (none for the table itself), its key names, and the partition. */
interface ListSource {
  indexName?: string;
  partitionKey: string;
  sortKey: string;
  partition: string;
  /** The index holds only jobs of this kind: no filter on the kind is needed. */
  kind?: JobRecord['kind'];
}

/**
 * A batch's jobs are read from the batch index, the jobs of one kind from the kind index (filtering
 * the whole tenant partition for its few batches could spend a list's reads and find none), and
 * everything else from the tenant's partition. Every source is sorted by job id.
 */
function listSource(tenant: string, query: JobQuery): ListSource {
  if (query.batchId !== undefined) {
    return { ...BATCH_INDEX, partition: keys.batchPartition(tenant, query.batchId) };
  }
  if (query.kind !== undefined) {
    return { ...KIND_INDEX, partition: keys.kindPartition(tenant, query.kind), kind: query.kind };
  }
  return {
    partitionKey: STATE_TABLE.partitionKey,
    sortKey: STATE_TABLE.sortKey as string,
    partition: keys.tenantPartition(tenant),
  };
}

function listRequest(
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
function listPosition(tenant: string, source: ListSource, jobId: string): Record<string, unknown> {
  return {
    ...jobKey(tenant, jobId),
    ...(source.indexName === undefined
      ? {}
      : { [source.partitionKey]: source.partition, [source.sortKey]: keys.job(jobId) }),
  };
}

function jobIdOfSortKey(sortKey: string): string {
  return sortKey.slice(keys.job('').length);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function progressDoesNotDrop(attributes: ExpressionAttributes, progress: number): string {
  const name = attributes.name('progress');
  return `(attribute_not_exists(${name}) OR ${name} <= ${attributes.value(progress)})`;
}
