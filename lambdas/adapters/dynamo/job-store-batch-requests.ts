/**
 * The job store's batch requests: BatchWriteItem and BatchGetItem over any number of items, each
 * round asking again, after a short backoff, for what DynamoDB handed back unprocessed (throttling,
 * the 16 MB response cap), for a bounded number of rounds.
 */
import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

const BATCH_WRITE_SIZE = 25;
/** The most keys one BatchGetItem may ask for. */
const BATCH_GET_SIZE = 100;
/** Rounds of a batch read or write before the keys DynamoDB keeps handing back count as a failure. */
const MAX_BATCH_ROUNDS = 8;

export interface BatchRequestOptions {
  tableName: string;
  /** Wait before the second round; it doubles each round after. */
  retryBaseDelayMs: number;
}

export type PutRequest = { PutRequest: { Item: Record<string, unknown> } };

/**
 * Puts items, 25 a request. Every put is a whole item, so writing one twice (a round after a
 * timeout that had landed) leaves the same item.
 */
export async function batchWriteAll(
  dynamo: DynamoDBDocumentClient,
  options: BatchRequestOptions,
  requests: PutRequest[],
): Promise<void> {
  const { tableName } = options;
  await inRounds(
    requests,
    { size: BATCH_WRITE_SIZE, options, unfinished: (left) => `${left} items were not written` },
    async (chunk) => {
      const output = await dynamo.send(new BatchWriteCommand({ RequestItems: { [tableName]: chunk } }));
      return (output.UnprocessedItems?.[tableName] ?? []) as PutRequest[];
    },
  );
}

/** The items with these keys, read with strongly consistent requests, 100 keys a request. */
export async function batchGetAll(
  dynamo: DynamoDBDocumentClient,
  options: BatchRequestOptions,
  keys: Record<string, unknown>[],
): Promise<Record<string, unknown>[]> {
  const { tableName } = options;
  const found: Record<string, unknown>[] = [];
  await inRounds(
    keys,
    { size: BATCH_GET_SIZE, options, unfinished: (left) => `${left} jobs could not be read` },
    async (chunk) => {
      const output = await dynamo.send(
        new BatchGetCommand({ RequestItems: { [tableName]: { Keys: chunk, ConsistentRead: true } } }),
      );
      found.push(...(output.Responses?.[tableName] ?? []));
      return output.UnprocessedKeys?.[tableName]?.Keys ?? [];
    },
  );
  return found;
}

/**
 * Sends `requests` `size` a request, then, after a backoff, what those handed back unprocessed, and
 * so on until none is left; after MAX_BATCH_ROUNDS rounds the rest is a failure. `send` sends one
 * request and answers what it handed back.
 */
async function inRounds<T>(
  requests: T[],
  batch: { size: number; options: BatchRequestOptions; unfinished: (left: number) => string },
  send: (chunk: T[]) => Promise<T[]>,
): Promise<void> {
  let pending = requests;
  for (let round = 0; pending.length > 0; round++) {
    if (round === MAX_BATCH_ROUNDS) throw new Error(batch.unfinished(pending.length));
    if (round > 0) await sleep(batch.options.retryBaseDelayMs * 2 ** (round - 1));
    const unprocessed: T[] = [];
    for (let start = 0; start < pending.length; start += batch.size) {
      unprocessed.push(...(await send(pending.slice(start, start + batch.size))));
    }
    pending = unprocessed;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
