import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMULATOR_CREDENTIALS } from '../../../../lambdas/adapters/clients.ts';
import { ensureTable } from '../../../../lambdas/adapters/dynamo/ensure-table.ts';
import { BATCH_INDEX, STATE_TABLE } from '../../../../lambdas/adapters/dynamo/tables.ts';
import { useEmulators } from '../../../support/emulators.ts';

const fixture = useEmulators();
let client: DynamoDBClient;

beforeAll(() => {
  client = new DynamoDBClient({
    endpoint: fixture.emulators.dynamoEndpoint,
    region: fixture.emulators.region,
    credentials: EMULATOR_CREDENTIALS,
  });
});

afterAll(() => {
  client.destroy();
});

async function indexesOf(tableName: string): Promise<string[]> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  return (Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName as string).sort();
}

describe('ensureTable', () => {
  it('creates the table with every index of the layout, and accepts it when it exists', async () => {
    // Prepare
    const tableName = `state-${crypto.randomUUID()}`;

    // Act
    await ensureTable(client, tableName, STATE_TABLE);
    const again = ensureTable(client, tableName, STATE_TABLE);

    // Assess
    await expect(again).resolves.toBeUndefined();
    expect(await indexesOf(tableName)).toEqual(
      STATE_TABLE.globalSecondaryIndexes.map((index) => index.indexName).sort(),
    );
  });

  it('refuses a table kept from an older layout that lacks an index, naming the index', async () => {
    // Prepare: the state table as it was before the kind index.
    const tableName = `state-${crypto.randomUUID()}`;
    await ensureTable(client, tableName, { ...STATE_TABLE, globalSecondaryIndexes: [BATCH_INDEX] });

    // Act
    const ensuring = ensureTable(client, tableName, STATE_TABLE);

    // Assess
    await expect(ensuring).rejects.toThrow(/without the index\(es\) gsi2/);
  });
});
