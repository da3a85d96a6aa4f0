/**
 * Seed 001's rate-limit counters in the state table: one item per tenant, group and minute
 * (`T#<tenant>` / `RATE#<group>#<windowStart>`). Each request is one conditional UpdateItem that
 * adds 1 only while the count is below the limit; DynamoDB applies an update and its condition
 * atomically, item by item, so any number of concurrent requests from any number of containers let
 * exactly `limit` through, and the refused ones write nothing.
 */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RateLimitCounter, RateLimitGroup, RateLimitTake } from '../../domain/rate-limits.ts';
import { isConditionalCheckFailure } from './errors.ts';
import { assertStorableTenant, keys } from './tables.ts';

export class DynamoRateLimitCounter implements RateLimitCounter {
  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    private readonly options: { tableName: string },
  ) {}

  async take(
    tenant: string,
    group: RateLimitGroup,
    windowStartSeconds: number,
    limit: number,
    expiresAtSeconds: number,
  ): Promise<RateLimitTake> {
    assertStorableTenant(tenant);
    try {
      const output = await this.dynamo.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { pk: keys.tenantPartition(tenant), sk: keys.rateLimit(group, windowStartSeconds) },
          // `ttl` (epoch seconds) lets DynamoDB delete a past window's item; nothing reads it, and
          // each window has an item of its own, so a late deletion never lets a request through.
          UpdateExpression: 'ADD #count :one SET #ttl = :ttl',
          ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
          ExpressionAttributeNames: { '#count': 'count', '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':one': 1, ':limit': limit, ':ttl': expiresAtSeconds },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      const count = output.Attributes?.count;
      if (typeof count !== 'number') throw new Error('the rate limit counter answered without its count');
      return { allowed: true, count };
    } catch (error) {
      if (isConditionalCheckFailure(error)) return { allowed: false, count: limit };
      throw error;
    }
  }
}
