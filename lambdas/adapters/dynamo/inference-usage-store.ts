/**
 * The inference gateway's usage in the state table: one item per tenant, UTC day and model
 * (`T#<tenant>` / `USE#<yyyy-mm-dd>#<modelKey>`) holding counters. Each call adds to them in one
 * UpdateItem `ADD`, which DynamoDB applies atomically, so concurrent calls never lose a count; a
 * report reads a range of days with one Query.
 */
import { type DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { InferenceCall, InferenceUsagePort, ModelUsage } from '../../domain/inference/ports.ts';
import { assertStorableTenant, keys } from './tables.ts';

/**
 * The cost is kept in whole nano-dollars: integer sums are exact however many calls add to them (a
 * call of a few tokens costs millionths of a dollar, which binary fractions would drift on), and a
 * tiny amount never reaches DynamoDB in exponent notation.
 */
const NANO_USD_PER_USD = 1e9;

/** Above every character of a model key: the upper bound of a day's sort keys. */
const AFTER_EVERY_KEY = '\uffff';

const COUNTERS = [
  'calls',
  'failed',
  'inputTokens',
  'outputTokens',
  'estimatedNanoUsd',
  'latencyMsTotal',
] as const;
type Counters = Record<(typeof COUNTERS)[number], number>;
/** `#calls :calls, #failed :failed, …`: every counter added to in one update. */
const ADD_COUNTERS = COUNTERS.map((name) => `#${name} :${name}`).join(', ');
const zeroCounters = (): Counters => ({
  calls: 0,
  failed: 0,
  inputTokens: 0,
  outputTokens: 0,
  estimatedNanoUsd: 0,
  latencyMsTotal: 0,
});

export class DynamoInferenceUsageStore implements InferenceUsagePort {
  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    private readonly options: { tableName: string },
  ) {}

  async record(tenant: string, call: InferenceCall): Promise<void> {
    assertStorableTenant(tenant);
    if (call.modelKey.length === 0 || call.modelKey.includes('#')) {
      throw new RangeError(
        `a model key must be non-empty and contain no '#': ${JSON.stringify(call.modelKey)}`,
      );
    }
    const day = utcDay(call.at);
    const added: Counters = {
      calls: 1,
      failed: call.failed ? 1 : 0,
      inputTokens: call.inputTokens,
      outputTokens: call.outputTokens,
      estimatedNanoUsd: Math.round(call.estimatedUsd * NANO_USD_PER_USD),
      latencyMsTotal: Math.round(call.latencyMs),
    };
    await this.dynamo.send(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: { pk: keys.tenantPartition(tenant), sk: keys.inferenceUsage(day, call.modelKey) },
        UpdateExpression: `SET #modelKey = :modelKey, #day = :day ADD ${ADD_COUNTERS}`,
        ExpressionAttributeNames: {
          '#modelKey': 'modelKey',
          '#day': 'day',
          ...Object.fromEntries(COUNTERS.map((name) => [`#${name}`, name])),
        },
        ExpressionAttributeValues: {
          ':modelKey': call.modelKey,
          ':day': day,
          ...Object.fromEntries(COUNTERS.map((name) => [`:${name}`, added[name]])),
        },
      }),
    );
  }

  async totals(tenant: string, start: Date, end: Date): Promise<Record<string, ModelUsage>> {
    assertStorableTenant(tenant);
    const [first, last] = [utcDay(start), utcDay(end)];
    if (first > last) return {};
    const sums = new Map<string, Counters>();
    let startKey: Record<string, unknown> | undefined;
    do {
      const output = await this.dynamo.send(
        new QueryCommand({
          TableName: this.options.tableName,
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :first AND :last',
          ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
          ExpressionAttributeValues: {
            ':pk': keys.tenantPartition(tenant),
            ':first': keys.inferenceUsage(first, ''),
            ':last': keys.inferenceUsage(last, AFTER_EVERY_KEY),
          },
          ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
        }),
      );
      for (const item of output.Items ?? []) {
        if (typeof item.modelKey !== 'string') continue;
        const sum = sums.get(item.modelKey) ?? zeroCounters();
        for (const name of COUNTERS) sum[name] += typeof item[name] === 'number' ? item[name] : 0;
        sums.set(item.modelKey, sum);
      }
      startKey = output.LastEvaluatedKey;
    } while (startKey !== undefined);
    return Object.fromEntries(
      [...sums].map(([modelKey, { estimatedNanoUsd, ...sum }]) => [
        modelKey,
        { ...sum, estimatedUsd: estimatedNanoUsd / NANO_USD_PER_USD },
      ]),
    );
  }
}

/** `yyyy-mm-dd` of a moment, in UTC: the days of a report are UTC days. */
function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}
