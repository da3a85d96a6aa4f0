import { isDeepStrictEqual } from 'node:util';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { allowedSources, isTerminal } from '../../domain/jobs/lifecycle.ts';
import type { JobPatch, JobRecord, JobStatus, LogEntry } from '../../domain/jobs/model.ts';
import type { Clock, JobLogLine, JobQuery, JobStore, Page, TransitionOutcome } from '../../domain/ports.ts';
import { logger } from '../../shared/logger.ts';
import { settleWithConcurrency } from '../concurrency.ts';
import { CursorCodec } from './cursor.ts';
import { isConditionalCheckFailure } from './errors.ts';
import { ExpressionAttributes } from './expressions.ts';
import { type BatchRequestOptions, batchGetAll, batchWriteAll } from './job-store-batch-requests.ts';
import { CorruptJobItemError, fromItem, jobIdOfSortKey, jobKey, logItem, toItem } from './job-store-codec.ts';
import {
  idRangeOf,
  listPosition,
  listRequest,
  listSource,
  openJobsScan,
  queryFingerprint,
} from './job-store-queries.ts';
import { type JobWrite, transitionWrite, updateWrite } from './job-store-updates.ts';
import { assertStorableTenant, BATCH_INDEX, keys } from './tables.ts';

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
  /**
   * Told of each item a list or scan leaves out because it is not a job record of its kind: one
   * such item must not fail every page (or a platform's start) it falls in. A read of that one job
   * still fails, naming the field.
   * @default logs it as an error
   */
  reportCorrupt?: (error: CorruptJobItemError) => void;
}

/** `create` met a job id that exists already; the other jobs of the call were written. */
export class DuplicateJobError extends Error {
  constructor(readonly jobIds: string[]) {
    super(`jobs already exist: ${jobIds.join(', ')}`);
    this.name = 'DuplicateJobError';
  }
}

const CREATE_CONCURRENCY = 10;
/** A list answers within bounded time: after this many reads it returns what it has, with a cursor. */
const MAX_QUERIES_PER_LIST = 10;

const systemClock: Clock = { now: () => new Date() };

/**
 * The job store over the state table (layout in tables.ts). Every write that can race is one
 * conditional request, so concurrent workers never lose an update and a terminal status never changes.
 * Its items (job-store-codec.ts), update expressions (job-store-updates.ts), list queries
 * (job-store-queries.ts) and batch requests (job-store-batch-requests.ts) are built next to it.
 */
export class DynamoJobStore implements JobStore {
  readonly #tableName: string;
  readonly #cursors: CursorCodec;
  readonly #clock: Clock;
  readonly #queryPageSize: number;
  readonly #batchRequests: BatchRequestOptions;
  readonly #reportCorrupt: (error: CorruptJobItemError) => void;

  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    options: DynamoJobStoreOptions,
  ) {
    this.#tableName = options.tableName;
    this.#cursors = new CursorCodec(options.cursorSecret);
    this.#clock = options.clock ?? systemClock;
    this.#queryPageSize = options.queryPageSize ?? 100;
    this.#batchRequests = { tableName: this.#tableName, retryBaseDelayMs: options.retryBaseDelayMs ?? 50 };
    this.#reportCorrupt =
      options.reportCorrupt ??
      ((error) => logger.error('left out an item that is not a job record', { error }));
  }

  /** The job records among listed items; an item that is not one is reported and left out. */
  #listed(items: readonly Record<string, unknown>[] | undefined): JobRecord[] {
    return (items ?? []).flatMap((item) => {
      try {
        return [fromItem(item)];
      } catch (error) {
        if (!(error instanceof CorruptJobItemError)) throw error;
        this.#reportCorrupt(error);
        return [];
      }
    });
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
    await batchWriteAll(this.dynamo, this.#batchRequests, [
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
      matches.push(...this.#listed(output.Items));
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

  /** The jobs with these ids, by id, read strongly consistently. */
  async #getConsistently(tenant: string, ids: readonly string[]): Promise<Map<string, JobRecord>> {
    const items = await batchGetAll(
      this.dynamo,
      this.#batchRequests,
      ids.map((id) => jobKey(tenant, id)),
    );
    return new Map(items.map(fromItem).map((job) => [job.id, job]));
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

    const attributes = new ExpressionAttributes();
    const now = this.#clock.now().toISOString();
    const write = transitionWrite(
      attributes,
      { to, sources, starts: to === 'running', ends: isTerminal(to), now },
      patch,
    );
    const after = await this.#conditionalUpdate(tenant, id, attributes, write);
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
    const write = updateWrite(attributes, this.#clock.now().toISOString(), patch, options);
    const after = await this.#conditionalUpdate(tenant, id, attributes, write);
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
    { assignments, conditions }: JobWrite,
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
    await batchWriteAll(
      this.dynamo,
      this.#batchRequests,
      entries.map((entry) => ({ PutRequest: { Item: logItem(tenant, id, entry) } })),
    );
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

  /**
   * Every job of every tenant that has not ended, read with one paged Scan of the state table. The
   * one read across tenants: for the local platform's start, which settles what its last run left
   * open, and for nothing that serves a tenant.
   */
  async listOpen(): Promise<JobRecord[]> {
    const request = openJobsScan(this.#tableName);
    const jobs: JobRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.dynamo.send(
        new ScanCommand({ ...request, ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }) }),
      );
      jobs.push(...this.#listed(page.Items));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return jobs;
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
