import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  type ScanCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ApiKeyRecord, KeyStore } from '../../domain/ports.ts';
import { isConditionalCheckFailure } from './errors.ts';
import { keys } from './tables.ts';

export interface DynamoKeyStoreOptions {
  tableName: string;
}

/** `create` met a key hash that is stored already. */
export class DuplicateApiKeyError extends Error {
  constructor(readonly keyId: string) {
    super(`an API key with this hash exists already (new key id ${keyId})`);
    this.name = 'DuplicateApiKeyError';
  }
}

/**
 * API keys in the keys table (pk = KEY#<sha256>). The authorizer finds a key by its hash; the admin
 * tool lists and revokes by key id, which is a Scan: fine for a table of a few keys per tenant.
 */
export class DynamoKeyStore implements KeyStore {
  readonly #tableName: string;

  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    options: DynamoKeyStoreOptions,
  ) {
    this.#tableName = options.tableName;
  }

  async findByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const output = await this.dynamo.send(
      // Consistent, so that a revocation holds from the next request on.
      new GetCommand({ TableName: this.#tableName, Key: { pk: keys.apiKey(hash) }, ConsistentRead: true }),
    );
    return output.Item === undefined ? undefined : fromItem(output.Item);
  }

  async create(record: ApiKeyRecord): Promise<void> {
    try {
      await this.dynamo.send(
        new PutCommand({
          TableName: this.#tableName,
          Item: { ...record, pk: keys.apiKey(record.hash) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailure(error)) throw new DuplicateApiKeyError(record.keyId);
      throw error;
    }
  }

  async list(): Promise<ApiKeyRecord[]> {
    return this.#scan({ TableName: this.#tableName, ConsistentRead: true });
  }

  /** Sets revokedAt once; revoking a revoked key returns it unchanged, with its first revocation time. */
  async revoke(keyId: string, at: string): Promise<ApiKeyRecord | undefined> {
    const [found] = await this.#scan({
      TableName: this.#tableName,
      ConsistentRead: true,
      FilterExpression: 'keyId = :keyId',
      ExpressionAttributeValues: { ':keyId': keyId },
    });
    if (found === undefined) return undefined;
    try {
      const output = await this.dynamo.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: { pk: keys.apiKey(found.hash) },
          UpdateExpression: 'SET revokedAt = :at',
          ConditionExpression: 'keyId = :keyId AND attribute_not_exists(revokedAt)',
          ExpressionAttributeValues: { ':keyId': keyId, ':at': at },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return fromItem(output.Attributes as Record<string, unknown>);
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
      return this.findByHash(found.hash);
    }
  }

  async #scan(input: ScanCommandInput): Promise<ApiKeyRecord[]> {
    const records: ApiKeyRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const output = await this.dynamo.send(
        new ScanCommand({ ...input, ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }) }),
      );
      records.push(...(output.Items ?? []).map(fromItem));
      startKey = output.LastEvaluatedKey;
    } while (startKey !== undefined);
    return records;
  }
}

function fromItem(item: Record<string, unknown>): ApiKeyRecord {
  const { pk: _partitionKey, ...record } = item;
  return record as unknown as ApiKeyRecord;
}
