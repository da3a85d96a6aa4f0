import { BatchWriteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DynamoIdempotencyStore } from '../../../../lambdas/adapters/dynamo/idempotency-store.ts';
import { DynamoJobStore } from '../../../../lambdas/adapters/dynamo/job-store.ts';
import { useEmulators } from '../../../support/emulators.ts';
import { aJob } from '../../../support/jobs.ts';

// This file's emulators hold only what its properties write, so a Scan sees exactly that.
const fixture = useEmulators();

const tenantArbitrary = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 24 })
  .filter((tenant) => !tenant.includes('#'));
const idArbitrary = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 });

function stores() {
  const tableName = fixture.emulators.tableNames.state;
  return {
    jobs: new DynamoJobStore(fixture.clients.dynamo, {
      tableName,
      cursorSecret: 'isolation-secret-0123456789',
    }),
    idempotency: new DynamoIdempotencyStore(fixture.clients.dynamo, { tableName }),
  };
}

async function scanTable(): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const output = await fixture.clients.dynamo.send(
      new ScanCommand({
        TableName: fixture.emulators.tableNames.state,
        ConsistentRead: true,
        ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
      }),
    );
    items.push(...(output.Items ?? []));
    startKey = output.LastEvaluatedKey;
  } while (startKey !== undefined);
  return items;
}

async function emptyTable(items: Record<string, unknown>[]): Promise<void> {
  for (let start = 0; start < items.length; start += 25) {
    await fixture.clients.dynamo.send(
      new BatchWriteCommand({
        RequestItems: {
          [fixture.emulators.tableNames.state]: items
            .slice(start, start + 25)
            .map((item) => ({ DeleteRequest: { Key: { pk: item.pk, sk: item.sk } } })),
        },
      }),
    );
  }
}

describe('tenant isolation in the state table', () => {
  it('starts every key written for a tenant with that tenant', async () => {
    const { jobs, idempotency } = stores();
    await fc.assert(
      fc.asyncProperty(
        tenantArbitrary,
        idArbitrary,
        idArbitrary,
        idArbitrary,
        async (tenant, jobId, batchId, key) => {
          // Prepare
          const single = { ...aJob({ tenant }), id: jobId };
          const inBatch = aJob({ tenant, batchId });

          // Act
          await jobs.create([single, inBatch]);
          await jobs.transition(tenant, jobId, 'running');
          await jobs.update(tenant, inBatch.id, { progress: 10 });
          await jobs.appendLog(tenant, jobId, [{ at: single.createdAt, level: 'info', message: 'hello' }]);
          await idempotency.begin(tenant, key, 'fingerprint', new Date());
          await idempotency.complete(tenant, key, { status: 201, body: { id: jobId } });

          // Assess
          const items = await scanTable();
          await emptyTable(items);
          // 2 jobs, 1 log entry, 1 idempotency record: the check below cannot pass on an empty table.
          expect(items).toHaveLength(4);
          for (const item of items) {
            expect(String(item.pk).startsWith(`T#${tenant}`)).toBe(true);
            if (item.gsi1pk !== undefined) expect(String(item.gsi1pk).startsWith(`T#${tenant}#`)).toBe(true);
            if (item.gsi2pk !== undefined) expect(String(item.gsi2pk).startsWith(`T#${tenant}#`)).toBe(true);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('writes nothing for a tenant that contains a #', async () => {
    const { jobs, idempotency } = stores();
    await fc.assert(
      fc.asyncProperty(tenantArbitrary, tenantArbitrary, async (left, right) => {
        // Prepare
        const tenant = `${left}#${right}`;

        // Act
        const attempts = await Promise.allSettled([
          jobs.create([aJob({ tenant })]),
          jobs.appendLog(tenant, 'job', [{ at: new Date().toISOString(), level: 'info', message: 'x' }]),
          idempotency.begin(tenant, 'key', 'fingerprint', new Date()),
        ]);

        // Assess
        expect(attempts.map((attempt) => attempt.status)).toEqual(['rejected', 'rejected', 'rejected']);
        expect(await scanTable()).toEqual([]);
      }),
      { numRuns: 20 },
    );
  });
});
