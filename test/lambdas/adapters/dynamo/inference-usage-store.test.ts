/** The inference gateway's usage (dynalite): counters per tenant, UTC day and model, summed over days. */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoInferenceUsageStore } from '../../../../lambdas/adapters/dynamo/inference-usage-store.ts';
import type { InferenceCall } from '../../../../lambdas/domain/inference/ports.ts';
import { useEmulators } from '../../../support/emulators.ts';
import { aTenant } from '../../../support/jobs.ts';

const fixture = useEmulators();
const store = () =>
  new DynamoInferenceUsageStore(fixture.clients.dynamo, { tableName: fixture.emulators.tableNames.state });

function aCall(overrides: Partial<InferenceCall> = {}): InferenceCall {
  return {
    modelKey: 'claude4',
    inputTokens: 1000,
    outputTokens: 100,
    latencyMs: 800,
    // 1000 × $3 / M + 100 × $15 / M
    estimatedUsd: 0.0045,
    failed: false,
    at: new Date('2031-01-02T12:00:00.000Z'),
    ...overrides,
  };
}

describe('DynamoInferenceUsageStore', () => {
  it('adds each call to its day and model under the tenant, losing none under concurrency', async () => {
    // Prepare
    const usage = store();
    const tenant = aTenant();
    const calls = Array.from({ length: 20 }, (_, i) =>
      aCall(
        i % 4 === 0 ? { failed: true, inputTokens: 0, outputTokens: 0, estimatedUsd: 0, latencyMs: 100 } : {},
      ),
    );

    // Act
    await Promise.all(calls.map((call) => usage.record(tenant, call)));

    // Assess
    const item = await fixture.clients.dynamo.send(
      new GetCommand({
        TableName: fixture.emulators.tableNames.state,
        Key: { pk: `T#${tenant}`, sk: 'USE#2031-01-02#claude4' },
      }),
    );
    expect(item.Item).toMatchObject({
      modelKey: 'claude4',
      day: '2031-01-02',
      calls: 20,
      failed: 5,
      inputTokens: 15_000,
      outputTokens: 1500,
      estimatedNanoUsd: 67_500_000,
      latencyMsTotal: 15 * 800 + 5 * 100,
    });
  });

  it('sums the days asked for (UTC, both ends included) by model, and nothing outside them', async () => {
    // Prepare
    const usage = store();
    const [tenant, other] = [aTenant(), aTenant()];
    const at = (iso: string) => new Date(iso);
    await usage.record(tenant, aCall({ at: at('2031-01-31T23:59:59.999Z') }));
    await usage.record(tenant, aCall({ at: at('2031-02-01T00:00:00.000Z') }));
    await usage.record(
      tenant,
      aCall({ at: at('2031-02-01T10:00:00.000Z'), modelKey: 'qwen2.5-vl-32b', estimatedUsd: 0 }),
    );
    await usage.record(tenant, aCall({ at: at('2031-02-03T23:00:00.000Z'), estimatedUsd: 0.0000008 }));
    await usage.record(tenant, aCall({ at: at('2031-02-04T00:00:00.000Z') }));
    await usage.record(other, aCall({ at: at('2031-02-02T00:00:00.000Z') }));

    // Act: 1 to 3 February, given as moments inside those days
    const totals = await usage.totals(tenant, at('2031-02-01T08:00:00.000Z'), at('2031-02-03T01:00:00.000Z'));

    // Assess
    expect(totals).toEqual({
      claude4: {
        calls: 2,
        failed: 0,
        inputTokens: 2000,
        outputTokens: 200,
        estimatedUsd: 0.0045008,
        latencyMsTotal: 1600,
      },
      'qwen2.5-vl-32b': {
        calls: 1,
        failed: 0,
        inputTokens: 1000,
        outputTokens: 100,
        estimatedUsd: 0,
        latencyMsTotal: 800,
      },
    });
    expect(await usage.totals(other, at('2031-02-01T00:00:00.000Z'), at('2031-02-01T23:00:00.000Z'))).toEqual(
      {},
    );
    expect(
      await usage.totals(tenant, at('2031-02-03T00:00:00.000Z'), at('2031-02-01T00:00:00.000Z')),
    ).toEqual({});
  });

  it('refuses a tenant or a model key that could reach into other keys', async () => {
    // Prepare
    const usage = store();

    // Act & Assess
    await expect(usage.record('a#USE', aCall())).rejects.toThrow(RangeError);
    await expect(usage.record(aTenant(), aCall({ modelKey: 'x#y' }))).rejects.toThrow(RangeError);
    await expect(usage.totals('', new Date(), new Date())).rejects.toThrow(RangeError);
  });
});
