import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ConnectionStore, JobSubscription, SocketConnection } from '../../domain/ports.ts';
import { settleWithConcurrency } from '../concurrency.ts';
import { isConditionalCheckFailure } from './errors.ts';
import { assertStorableTenant, keys } from './tables.ts';

export interface DynamoConnectionStoreOptions {
  tableName: string;
}

/** What a connection item holds besides the record: the jobs it is subscribed to. */
interface ConnectionItem extends SocketConnection {
  jobs?: Set<string>;
}

/** Subscriptions removed at once when a connection goes. */
const REMOVE_CONCURRENCY = 10;

/**
 * WebSocket connections and their job subscriptions in the state table, under the tenant's
 * partition (layout in tables.ts). A connection lists the jobs it waits for, so that removing it
 * finds its subscriptions without a scan; a subscription records the last job version delivered, so
 * that a repeated or late event never sends a message twice or goes back in time. Items carry
 * `ttl` (epoch seconds): DynamoDB deletes them some time after the connection's 2 h are over, and
 * reads ignore an expired subscription before that.
 */
export class DynamoConnectionStore implements ConnectionStore {
  readonly #tableName: string;

  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    options: DynamoConnectionStoreOptions,
  ) {
    this.#tableName = options.tableName;
  }

  async add(connection: SocketConnection): Promise<void> {
    assertConnectionId(connection.connectionId);
    await this.dynamo.send(
      new PutCommand({
        TableName: this.#tableName,
        Item: {
          ...connectionKey(connection.tenant, connection.connectionId),
          ...connection,
          ttl: epochSeconds(connection.expiresAt),
        },
      }),
    );
  }

  async get(
    tenant: string,
    connectionId: string,
  ): Promise<(SocketConnection & { subscriptions: number }) | undefined> {
    const item = await this.#getItem(tenant, connectionId);
    if (item === undefined) return undefined;
    const { jobs, ...connection } = item;
    return { ...connection, subscriptions: jobs?.size ?? 0 };
  }

  async remove(tenant: string, connectionId: string): Promise<void> {
    const item = await this.#getItem(tenant, connectionId);
    if (item === undefined) return;
    const failures = await settleWithConcurrency([...(item.jobs ?? [])], REMOVE_CONCURRENCY, (jobId) =>
      this.#deleteSubscription(tenant, jobId, connectionId),
    );
    if (failures.length > 0) throw failures[0]?.error;
    await this.dynamo.send(
      new DeleteCommand({ TableName: this.#tableName, Key: connectionKey(tenant, connectionId) }),
    );
  }

  async subscribe(subscription: JobSubscription, maxPerConnection: number): Promise<boolean> {
    const { tenant, jobId, connectionId } = subscription;
    assertConnectionId(connectionId);
    try {
      await this.dynamo.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: connectionKey(tenant, connectionId),
          UpdateExpression: 'ADD jobs :job',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(jobs) OR size(jobs) < :max)',
          ExpressionAttributeValues: { ':job': new Set([jobId]), ':max': maxPerConnection },
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailure(error)) return false;
      throw error;
    }
    try {
      await this.dynamo.send(
        new PutCommand({
          TableName: this.#tableName,
          Item: {
            ...subscriptionKey(tenant, jobId, connectionId),
            ...subscription,
            ttl: epochSeconds(subscription.expiresAt),
          },
          // Subscribing again keeps what was delivered.
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
    }
    return true;
  }

  async subscribers(tenant: string, jobId: string, now: Date): Promise<JobSubscription[]> {
    assertStorableTenant(tenant);
    const subscriptions: JobSubscription[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const output = await this.dynamo.send(
        new QueryCommand({
          TableName: this.#tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: {
            ':pk': keys.tenantPartition(tenant),
            ':prefix': keys.jobSubscribers(jobId),
          },
          // The subscription written just before the event must be seen.
          ConsistentRead: true,
          ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
        }),
      );
      for (const item of output.Items ?? []) {
        const { pk: _pk, sk: _sk, ttl: _ttl, ...subscription } = item;
        subscriptions.push(subscription as JobSubscription);
      }
      startKey = output.LastEvaluatedKey;
    } while (startKey !== undefined);
    // TTL deletion lags by hours: expiry is decided here.
    return subscriptions.filter((subscription) => Date.parse(subscription.expiresAt) > now.getTime());
  }

  async claim(tenant: string, jobId: string, connectionId: string, version: number): Promise<boolean> {
    return this.#setDelivered(tenant, jobId, connectionId, version, 'deliveredVersion < :version', version);
  }

  async release(
    tenant: string,
    jobId: string,
    connectionId: string,
    version: number,
    previous: number,
  ): Promise<void> {
    await this.#setDelivered(tenant, jobId, connectionId, previous, 'deliveredVersion = :version', version);
  }

  async unsubscribe(tenant: string, jobId: string, connectionId: string): Promise<void> {
    await this.#deleteSubscription(tenant, jobId, connectionId);
    try {
      await this.dynamo.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: connectionKey(tenant, connectionId),
          UpdateExpression: 'DELETE jobs :job',
          // Never recreate a connection that was removed meanwhile.
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':job': new Set([jobId]) },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
    }
  }

  async #setDelivered(
    tenant: string,
    jobId: string,
    connectionId: string,
    value: number,
    condition: string,
    version: number,
  ): Promise<boolean> {
    try {
      await this.dynamo.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: subscriptionKey(tenant, jobId, connectionId),
          UpdateExpression: 'SET deliveredVersion = :value',
          ConditionExpression: `attribute_exists(pk) AND ${condition}`,
          ExpressionAttributeValues: { ':value': value, ':version': version },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailure(error)) return false;
      throw error;
    }
  }

  async #getItem(tenant: string, connectionId: string): Promise<ConnectionItem | undefined> {
    const output = await this.dynamo.send(
      new GetCommand({
        TableName: this.#tableName,
        Key: connectionKey(tenant, connectionId),
        ConsistentRead: true,
      }),
    );
    if (output.Item === undefined) return undefined;
    const { pk: _pk, sk: _sk, ttl: _ttl, ...item } = output.Item;
    return item as ConnectionItem;
  }

  async #deleteSubscription(tenant: string, jobId: string, connectionId: string): Promise<void> {
    await this.dynamo.send(
      new DeleteCommand({ TableName: this.#tableName, Key: subscriptionKey(tenant, jobId, connectionId) }),
    );
  }
}

function connectionKey(tenant: string, connectionId: string) {
  assertStorableTenant(tenant);
  return { pk: keys.tenantPartition(tenant), sk: keys.socketConnection(connectionId) };
}

function subscriptionKey(tenant: string, jobId: string, connectionId: string) {
  assertStorableTenant(tenant);
  return { pk: keys.tenantPartition(tenant), sk: keys.jobSubscription(jobId, connectionId) };
}

/** API Gateway's connection ids are base64; a `#` would blur the sort keys built from them. */
function assertConnectionId(connectionId: string): void {
  if (!/^[A-Za-z0-9+/=_-]{1,128}$/.test(connectionId)) {
    throw new RangeError(`not a connection id: ${JSON.stringify(connectionId.slice(0, 40))}`);
  }
}

function epochSeconds(iso: string): number {
  return Math.ceil(Date.parse(iso) / 1000);
}
