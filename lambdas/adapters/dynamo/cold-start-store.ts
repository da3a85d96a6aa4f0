/**
 * Observed cold starts in the state table, one item per tenant and endpoint (`T#<tenant>` /
 * `COLD#<endpoint>`): an exponentially weighted mean, so recent starts count most and one slow start
 * does not dominate.
 */
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ColdStartStore } from '../../domain/ports.ts';
import { keys } from './tables.ts';

/** The weight of the newest observation. */
const NEWEST_WEIGHT = 0.3;

export class DynamoColdStartStore implements ColdStartStore {
  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    private readonly options: { tableName: string },
  ) {}

  async record(tenant: string, endpointName: string, seconds: number, now: Date): Promise<void> {
    const key = { pk: keys.tenantPartition(tenant), sk: keys.coldStart(endpointName) };
    const previous = await this.estimate(tenant, endpointName);
    const mean = previous === undefined ? seconds : NEWEST_WEIGHT * seconds + (1 - NEWEST_WEIGHT) * previous;
    await this.dynamo.send(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: key,
        UpdateExpression: 'SET #seconds = :seconds, #updatedAt = :now ADD #samples :one',
        ExpressionAttributeNames: { '#seconds': 'seconds', '#updatedAt': 'updatedAt', '#samples': 'samples' },
        ExpressionAttributeValues: {
          ':seconds': Math.round(mean * 10) / 10,
          ':now': now.toISOString(),
          ':one': 1,
        },
      }),
    );
  }

  async estimate(tenant: string, endpointName: string): Promise<number | undefined> {
    const output = await this.dynamo.send(
      new GetCommand({
        TableName: this.options.tableName,
        Key: { pk: keys.tenantPartition(tenant), sk: keys.coldStart(endpointName) },
      }),
    );
    const seconds = output.Item?.seconds;
    return typeof seconds === 'number' ? seconds : undefined;
  }
}
