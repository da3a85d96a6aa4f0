/** Observed cold starts (dynalite): a running mean per tenant and endpoint, under the tenant's key. */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoColdStartStore } from '../../../../lambdas/adapters/dynamo/cold-start-store.ts';
import { useEmulators } from '../../../support/emulators.ts';
import { aTenant } from '../../../support/jobs.ts';

const fixture = useEmulators();
const store = () =>
  new DynamoColdStartStore(fixture.clients.dynamo, { tableName: fixture.emulators.tableNames.state });
const NOW = new Date('2031-01-01T00:00:00.000Z');

describe('DynamoColdStartStore', () => {
  it('knows nothing before the first observation, then weights the newest at 0.3', async () => {
    // Prepare
    const coldStarts = store();
    const tenant = aTenant();

    // Act
    const before = await coldStarts.estimate(tenant, 'ep');
    await coldStarts.record(tenant, 'ep', 300, NOW);
    const first = await coldStarts.estimate(tenant, 'ep');
    await coldStarts.record(tenant, 'ep', 200, NOW);
    const second = await coldStarts.estimate(tenant, 'ep');

    // Assess
    expect(before).toBeUndefined();
    expect(first).toBe(300);
    expect(second).toBe(270);
    const item = await fixture.clients.dynamo.send(
      new GetCommand({
        TableName: fixture.emulators.tableNames.state,
        Key: { pk: `T#${tenant}`, sk: 'COLD#ep' },
      }),
    );
    expect(item.Item).toMatchObject({ seconds: 270, samples: 2, updatedAt: NOW.toISOString() });
  });

  it("keeps each tenant's and each endpoint's observations apart", async () => {
    // Prepare
    const coldStarts = store();
    const [alice, bob] = [aTenant(), aTenant()];

    // Act
    await coldStarts.record(alice, 'ep-a', 120, NOW);

    // Assess
    expect(await coldStarts.estimate(bob, 'ep-a')).toBeUndefined();
    expect(await coldStarts.estimate(alice, 'ep-b')).toBeUndefined();
    expect(await coldStarts.estimate(alice, 'ep-a')).toBe(120);
  });
});
