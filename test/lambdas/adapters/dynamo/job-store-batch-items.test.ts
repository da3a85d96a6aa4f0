import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandInput,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoJobStore } from '../../../../lambdas/adapters/dynamo/job-store.ts';
import { keys } from '../../../../lambdas/adapters/dynamo/tables.ts';
import type { JobRecord } from '../../../../lambdas/domain/jobs/model.ts';
import { aJob } from '../../../support/jobs.ts';

// What listBatchItems asks DynamoDB, which the emulator cannot show: dynalite updates its indexes
// synchronously, so only a mocked client can tell a read of the index from a read of the table.
const dynamoMock = mockClient(DynamoDBDocumentClient);
const TABLE = 'state';
const TENANT = 'acme';
const BATCH_ID = '01JD3X2K8Q7YV4N6B5M9T0RWZC';

function store(): DynamoJobStore {
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } }),
  );
  return new DynamoJobStore(client, {
    tableName: TABLE,
    cursorSecret: 'mock-cursor-secret-0123456789',
    retryBaseDelayMs: 0,
  });
}

/** `count` jobs of the batch, oldest first, one second apart. */
function batchJobs(count: number, overrides: Partial<JobRecord> = {}): JobRecord[] {
  const start = Date.parse('2030-01-01T00:00:00.000Z');
  return Array.from({ length: count }, (_, index) =>
    aJob({ tenant: TENANT, batchId: BATCH_ID, ...overrides }, new Date(start + index * 1_000)),
  );
}

/** The job as the table holds it. */
function itemOf(job: JobRecord): Record<string, unknown> {
  return {
    ...job,
    pk: keys.tenantPartition(job.tenant),
    sk: keys.job(job.id),
    gsi1pk: keys.batchPartition(job.tenant, BATCH_ID),
    gsi1sk: keys.job(job.id),
  };
}

function keyOf(job: JobRecord): Record<string, unknown> {
  return { pk: keys.tenantPartition(job.tenant), sk: keys.job(job.id) };
}

function batchGetKeys(): Record<string, unknown>[][] {
  return dynamoMock
    .commandCalls(BatchGetCommand)
    .map((call) => (call.args[0].input.RequestItems?.[TABLE]?.Keys ?? []) as Record<string, unknown>[]);
}

describe('DynamoJobStore.listBatchItems against a mocked DynamoDB', () => {
  beforeEach(() => {
    dynamoMock.reset();
  });

  it('takes the statuses from strongly consistent reads of the table, not from the index', async () => {
    // Prepare: the index still shows every job running; the table already has them completed.
    const running = batchJobs(3, { status: 'running' });
    const completed = running.map((job) => ({ ...job, status: 'completed' as const, version: 2 }));
    dynamoMock.on(QueryCommand).resolves({ Items: running.map(itemOf) });
    dynamoMock.on(BatchGetCommand).resolves({
      // BatchGetItem answers in any order.
      Responses: {
        [TABLE]: [completed[2], completed[0], completed[1]].map((job) => itemOf(job as JobRecord)),
      },
    });

    // Act
    const listed = await store().listBatchItems(TENANT, BATCH_ID);

    // Assess
    expect(listed).toStrictEqual(completed);
    expect(dynamoMock).toHaveReceivedCommandWith(QueryCommand, { TableName: TABLE, IndexName: 'gsi1' });
    expect(dynamoMock).toHaveReceivedCommandTimes(BatchGetCommand, 1);
    expect(dynamoMock).toHaveReceivedCommandWith(BatchGetCommand, {
      RequestItems: { [TABLE]: { Keys: running.map(keyOf), ConsistentRead: true } },
    });
  });

  it('asks again for the keys DynamoDB hands back unprocessed, consistently again', async () => {
    // Prepare
    const jobs = batchJobs(3);
    dynamoMock.on(QueryCommand).resolves({ Items: jobs.map(itemOf) });
    dynamoMock
      .on(BatchGetCommand)
      .resolvesOnce({
        Responses: { [TABLE]: [itemOf(jobs[1] as JobRecord)] },
        UnprocessedKeys: { [TABLE]: { Keys: [keyOf(jobs[0] as JobRecord), keyOf(jobs[2] as JobRecord)] } },
      })
      .resolvesOnce({
        Responses: { [TABLE]: [itemOf(jobs[2] as JobRecord), itemOf(jobs[0] as JobRecord)] },
      });

    // Act
    const listed = await store().listBatchItems(TENANT, BATCH_ID);

    // Assess
    expect(listed).toStrictEqual(jobs);
    expect(batchGetKeys()).toEqual([
      jobs.map(keyOf),
      [keyOf(jobs[0] as JobRecord), keyOf(jobs[2] as JobRecord)],
    ]);
    for (const call of dynamoMock.commandCalls(BatchGetCommand)) {
      expect(call.args[0].input.RequestItems?.[TABLE]?.ConsistentRead).toBe(true);
    }
  });

  it('reads at most 100 keys a request, every index page of the batch included', async () => {
    // Prepare: the index answers in two pages.
    const jobs = batchJobs(250);
    dynamoMock
      .on(QueryCommand)
      .resolvesOnce({
        Items: jobs.slice(0, 130).map(itemOf),
        LastEvaluatedKey: keyOf(jobs[129] as JobRecord),
      })
      .resolvesOnce({ Items: jobs.slice(130).map(itemOf) });
    dynamoMock.on(BatchGetCommand).callsFake((input: BatchGetCommandInput) => {
      const requested = (input.RequestItems?.[TABLE]?.Keys ?? []) as { sk: string }[];
      const wanted = new Set(requested.map((key) => key.sk));
      return { Responses: { [TABLE]: jobs.filter((job) => wanted.has(keys.job(job.id))).map(itemOf) } };
    });

    // Act
    const listed = await store().listBatchItems(TENANT, BATCH_ID);

    // Assess
    expect(listed).toStrictEqual(jobs);
    expect(batchGetKeys().map((requested) => requested.length)).toEqual([100, 100, 50]);
    expect(dynamoMock.commandCalls(QueryCommand)[1]?.args[0].input.ExclusiveStartKey).toEqual(
      keyOf(jobs[129] as JobRecord),
    );
  });

  it('gives up with an error after 8 rounds of keys handed back, rather than returning a partial batch', async () => {
    // Prepare
    const jobs = batchJobs(2);
    dynamoMock.on(QueryCommand).resolves({ Items: jobs.map(itemOf) });
    dynamoMock.on(BatchGetCommand).resolves({
      Responses: { [TABLE]: [itemOf(jobs[0] as JobRecord)] },
      UnprocessedKeys: { [TABLE]: { Keys: [keyOf(jobs[1] as JobRecord)] } },
    });

    // Act
    const listing = store().listBatchItems(TENANT, BATCH_ID);

    // Assess
    await expect(listing).rejects.toThrow('1 jobs could not be read');
    expect(dynamoMock).toHaveReceivedCommandTimes(BatchGetCommand, 8);
  });

  it('sends no BatchGetItem for a batch without jobs', async () => {
    // Prepare
    dynamoMock.on(QueryCommand).resolves({ Items: [] });

    // Act
    const listed = await store().listBatchItems(TENANT, BATCH_ID);

    // Assess
    expect(listed).toEqual([]);
    expect(dynamoMock).toHaveReceivedCommandTimes(BatchGetCommand, 0);
  });
});

describe('DynamoJobStore.createUnstarted against a mocked DynamoDB', () => {
  beforeEach(() => {
    dynamoMock.reset();
  });

  it('writes again the items DynamoDB hands back unprocessed, until every one is written', async () => {
    // Prepare: the first request leaves two jobs unwritten (throttling), the second writes them.
    const jobs = batchJobs(3);
    const putOf = (job: JobRecord) => ({
      PutRequest: {
        Item: { ...itemOf(job), gsi2pk: keys.kindPartition(job.tenant, job.kind), gsi2sk: keys.job(job.id) },
      },
    });
    dynamoMock
      .on(BatchWriteCommand)
      .resolvesOnce({
        UnprocessedItems: {
          [TABLE]: [
            { PutRequest: { Item: itemOf(jobs[0] as JobRecord) } },
            { PutRequest: { Item: itemOf(jobs[2] as JobRecord) } },
          ],
        },
      })
      .resolvesOnce({});

    // Act
    await store().createUnstarted(jobs);

    // Assess
    const written = dynamoMock
      .commandCalls(BatchWriteCommand)
      .map((call) => call.args[0].input.RequestItems?.[TABLE]?.length);
    expect(written).toEqual([3, 2]);
    expect(dynamoMock.commandCalls(BatchWriteCommand)[0]?.args[0].input.RequestItems?.[TABLE]).toEqual(
      jobs.map(putOf),
    );
  });

  it('fails, rather than answering as if stored, when DynamoDB keeps handing items back', async () => {
    // Prepare
    const jobs = batchJobs(2);
    dynamoMock.on(BatchWriteCommand).resolves({
      UnprocessedItems: { [TABLE]: [{ PutRequest: { Item: itemOf(jobs[1] as JobRecord) } }] },
    });

    // Act
    const creating = store().createUnstarted(jobs);

    // Assess
    await expect(creating).rejects.toThrow('1 items were not written');
    expect(dynamoMock).toHaveReceivedCommandTimes(BatchWriteCommand, 8);
  });
});
