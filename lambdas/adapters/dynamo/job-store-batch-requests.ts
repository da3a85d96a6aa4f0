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
  let pending = requests;
  for (let round = 0; pending.length > 0; round++) {
    if (round === MAX_BATCH_ROUNDS) throw new Error(`${pending.length} items were not written`);
    if (round > 0) await sleep(options.retryBaseDelayMs * 2 ** (round - 1));
    const unprocessed: PutRequest[] = [];
    for (let start = 0; start < pending.length; start += BATCH_WRITE_SIZE) {
      const output = await dynamo.send(
        new BatchWriteCommand({
          RequestItems: { [options.tableName]: pending.slice(start, start + BATCH_WRITE_SIZE) },
        }),
      );
      unprocessed.push(...((output.UnprocessedItems?.[options.tableName] ?? []) as PutRequest[]));
    }
    pending = unprocessed;
  }
}

/** The items with these keys, read with strongly consistent requests, 100 keys a request. */
export async function batchGetAll(
  dynamo: DynamoDBDocumentClient,
  options: BatchRequestOptions,
  keys: Record<string, unknown>[],
): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  let pending = keys;
  for (let round = 0; pending.length > 0; round++) {
    if (round === MAX_BATCH_ROUNDS) throw new Error(`${pending.length} jobs could not be read`);
    if (round > 0) await sleep(options.retryBaseDelayMs * 2 ** (round - 1));
    const unprocessed: Record<string, unknown>[] = [];
    for (let start = 0; start < pending.length; start += BATCH_GET_SIZE) {
      const output = await dynamo.send(
        new BatchGetCommand({
          RequestItems: {
            [options.tableName]: { Keys: pending.slice(start, start + BATCH_GET_SIZE), ConsistentRead: true },
          },
        }),
      );
      found.push(...(output.Responses?.[options.tableName] ?? []));
      unprocessed.push(...(output.UnprocessedKeys?.[options.tableName]?.Keys ?? []));
    }
    pending = unprocessed;
  }
  return found;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
