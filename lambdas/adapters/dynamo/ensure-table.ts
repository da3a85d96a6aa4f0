import {
  type AttributeDefinition,
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { TableLayout } from './tables.ts';

/** The CreateTable request for a layout from tables.ts: string keys, on-demand billing, GSIs project all. */
export function createTableInput(tableName: string, layout: TableLayout): CreateTableCommandInput {
  const keyNames = new Set<string>([layout.partitionKey]);
  if (layout.sortKey !== undefined) keyNames.add(layout.sortKey);
  for (const index of layout.globalSecondaryIndexes) {
    keyNames.add(index.partitionKey);
    keyNames.add(index.sortKey);
  }
  const attributeDefinitions: AttributeDefinition[] = [...keyNames].map((name) => ({
    AttributeName: name,
    AttributeType: 'S',
  }));

  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: attributeDefinitions,
    KeySchema: [
      { AttributeName: layout.partitionKey, KeyType: 'HASH' },
      ...(layout.sortKey === undefined ? [] : [{ AttributeName: layout.sortKey, KeyType: 'RANGE' as const }]),
    ],
    ...(layout.globalSecondaryIndexes.length === 0
      ? {}
      : {
          GlobalSecondaryIndexes: layout.globalSecondaryIndexes.map((index) => ({
            IndexName: index.indexName,
            KeySchema: [
              { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
              { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
            ],
            Projection: { ProjectionType: 'ALL' as const },
          })),
        }),
  };
}

/**
 * Creates the table unless it exists already (an on-disk emulator keeps its tables across restarts).
 * A table kept from an older layout that lacks one of its indexes is refused: the emulator cannot
 * add an index to a table, and queries on the missing one would fail later, far from the cause.
 */
export async function ensureTable(
  client: DynamoDBClient,
  tableName: string,
  layout: TableLayout,
): Promise<void> {
  try {
    await client.send(new CreateTableCommand(createTableInput(tableName, layout)));
  } catch (error) {
    if ((error as Error).name !== 'ResourceInUseException') throw error;
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const present = new Set((Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
    const missing = layout.globalSecondaryIndexes.filter((index) => !present.has(index.indexName));
    if (missing.length > 0) {
      throw new Error(
        `table ${tableName} exists without the index(es) ${missing.map((index) => index.indexName).join(', ')}: ` +
          'it was created from an older layout; delete it (or the local data directory) to recreate it',
      );
    }
  }
}
