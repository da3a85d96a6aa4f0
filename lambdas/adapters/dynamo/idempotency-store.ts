import { gunzipSync, gzipSync } from 'node:zlib';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { IdempotencyBegin, IdempotencyStore, StoredResponse } from '../../domain/ports.ts';
import { isConditionalCheckFailure } from './errors.ts';
import { assertStorableTenant, keys } from './tables.ts';

export interface DynamoIdempotencyStoreOptions {
  tableName: string;
  /** How long a key is remembered, from the first request. Default 24 h. */
  ttlSeconds?: number;
  /** How long a claim holds before another request may take it over (the work crashed). Default 60 s. */
  inProgressSeconds?: number;
}

interface IdempotencyItem {
  status: 'IN_PROGRESS' | 'COMPLETED';
  fingerprint: string;
  /** Epoch ms; after it the key is free again. Checked in every condition, because TTL deletion lags. */
  expiresAt: number;
  /** Epoch ms; after it an IN_PROGRESS claim is stale. */
  inProgressExpiresAt: number;
  /**
   * The StoredResponse once COMPLETED: gzipped JSON, because a batch's answer lists every job and
   * a DynamoDB item holds at most 400 KB.
   */
  response?: Uint8Array;
}

/** A claim that keeps changing under us this often is reported as in flight rather than retried forever. */
const MAX_CLAIM_ATTEMPTS = 3;

/**
 * Idempotency keys in the state table (pk = T#<tenant>, sk = IDEM#<key>), with Powertools'
 * semantics: one conditional put claims a key, a completed key replays its response, and expiry is
 * decided from stored timestamps (DynamoDB's TTL only cleans up, and dynalite has none).
 */
export class DynamoIdempotencyStore implements IdempotencyStore {
  readonly #tableName: string;
  readonly #ttlMs: number;
  readonly #inProgressMs: number;

  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    options: DynamoIdempotencyStoreOptions,
  ) {
    this.#tableName = options.tableName;
    this.#ttlMs = (options.ttlSeconds ?? 24 * 60 * 60) * 1000;
    this.#inProgressMs = (options.inProgressSeconds ?? 60) * 1000;
  }

  async begin(tenant: string, key: string, fingerprint: string, now: Date): Promise<IdempotencyBegin> {
    assertStorableTenant(tenant);
    const nowMs = now.getTime();
    for (let attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; attempt++) {
      if (await this.#claimNew(tenant, key, fingerprint, nowMs)) return { outcome: 'started' };

      const existing = await this.#read(tenant, key);
      // Abandoned or expired between our put and this read: try to claim it again.
      if (existing === undefined || existing.expiresAt < nowMs) continue;
      if (existing.fingerprint !== fingerprint) return { outcome: 'mismatch' };
      if (existing.status === 'COMPLETED') {
        return { outcome: 'replay', response: decodeResponse(existing.response) };
      }
      if (existing.inProgressExpiresAt > nowMs) return { outcome: 'in_flight' };
      if (await this.#takeOverStale(tenant, key, fingerprint, nowMs)) return { outcome: 'started' };
    }
    return { outcome: 'in_flight' };
  }

  async complete(tenant: string, key: string, response: StoredResponse): Promise<void> {
    assertStorableTenant(tenant);
    try {
      await this.dynamo.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: this.#key(tenant, key),
          UpdateExpression: 'SET #status = :completed, #response = :response',
          // Never resurrect a key that was abandoned or expired and deleted meanwhile.
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#status': 'status', '#response': 'response' },
          ExpressionAttributeValues: {
            ':completed': 'COMPLETED',
            ':response': gzipSync(JSON.stringify(response)),
          },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
    }
  }

  async abandon(tenant: string, key: string): Promise<void> {
    assertStorableTenant(tenant);
    try {
      await this.dynamo.send(
        new DeleteCommand({
          TableName: this.#tableName,
          Key: this.#key(tenant, key),
          // A response stored meanwhile stays: the work it describes has happened.
          ConditionExpression: '#status = :inProgress',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':inProgress': 'IN_PROGRESS' },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
    }
  }

  async #claimNew(tenant: string, key: string, fingerprint: string, nowMs: number): Promise<boolean> {
    const expiresAt = nowMs + this.#ttlMs;
    const item: IdempotencyItem = {
      status: 'IN_PROGRESS',
      fingerprint,
      expiresAt,
      inProgressExpiresAt: nowMs + this.#inProgressMs,
    };
    try {
      await this.dynamo.send(
        new PutCommand({
          TableName: this.#tableName,
          // `ttl` (epoch seconds) lets real DynamoDB delete the item eventually; nothing reads it.
          Item: { ...this.#key(tenant, key), ...item, ttl: Math.ceil(expiresAt / 1000) },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
          ExpressionAttributeValues: { ':now': nowMs },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailure(error)) return false;
      throw error;
    }
  }

  /** The request that held the key died without completing or abandoning it. */
  async #takeOverStale(tenant: string, key: string, fingerprint: string, nowMs: number): Promise<boolean> {
    try {
      await this.dynamo.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: this.#key(tenant, key),
          UpdateExpression: 'SET inProgressExpiresAt = :claimUntil',
          // Only one of many concurrent takers can see the claim stale: the winner makes it fresh.
          ConditionExpression:
            '#status = :inProgress AND fingerprint = :fingerprint AND inProgressExpiresAt <= :now AND expiresAt >= :now',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':inProgress': 'IN_PROGRESS',
            ':fingerprint': fingerprint,
            ':now': nowMs,
            ':claimUntil': nowMs + this.#inProgressMs,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailure(error)) return false;
      throw error;
    }
  }

  async #read(tenant: string, key: string): Promise<IdempotencyItem | undefined> {
    const output = await this.dynamo.send(
      new GetCommand({ TableName: this.#tableName, Key: this.#key(tenant, key), ConsistentRead: true }),
    );
    return output.Item as IdempotencyItem | undefined;
  }

  #key(tenant: string, key: string): { pk: string; sk: string } {
    return { pk: keys.tenantPartition(tenant), sk: keys.idempotency(key) };
  }
}

function decodeResponse(stored: Uint8Array | undefined): StoredResponse {
  if (!stored) throw new Error('a completed idempotency record has no response');
  return JSON.parse(gunzipSync(stored).toString('utf8')) as StoredResponse;
}
