import { describe, expect, it } from 'vitest';
import { DynamoIdempotencyStore } from '../../../../lambdas/adapters/dynamo/idempotency-store.ts';
import { useEmulators } from '../../../support/emulators.ts';
import { aTenant } from '../../../support/jobs.ts';

const fixture = useEmulators();
const T0 = new Date('2031-01-01T00:00:00.000Z');
const seconds = (count: number) => new Date(T0.getTime() + count * 1_000);
const CREATED = { status: 201, body: { id: '01JD3X2K8Q7YV4N6B5M9T0RWZC', status: 'pending' } };

function store(): DynamoIdempotencyStore {
  return new DynamoIdempotencyStore(fixture.clients.dynamo, {
    tableName: fixture.emulators.tableNames.state,
    ttlSeconds: 3_600,
    inProgressSeconds: 60,
  });
}

describe('DynamoIdempotencyStore', () => {
  it('replays an answer larger than a DynamoDB item: a 1,500-job batch', async () => {
    // Prepare: over 400 KB of JSON, the item limit, unless it is compressed.
    const idempotency = store();
    const tenant = aTenant();
    const jobRuns = Array.from({ length: 1_500 }, (_, i) => ({
      id: `01JD3X2K8Q7YV4N6B5M9T${String(i).padStart(5, '0')}`,
      name: 'shapes',
      param_values: {
        seed: i,
        min_size: 0.123456789 * i,
        max_size: 0.987654321,
        palette: 'vivid',
        background: 'gradient',
        classes: 'all',
        note: `job ${i} of a large batch, with enough text that the answer grows past the limit`,
        lighting: 1 + i / 10_000,
        blur: i / 1_000,
        noise: i / 5_000,
        max_rotation_deg: (i * 7) % 180,
      },
      status: 'pending',
    }));
    const big = { status: 202, body: { id: 'batch', job_runs: jobRuns } };
    expect(JSON.stringify(big).length).toBeGreaterThan(400 * 1024);
    await idempotency.begin(tenant, 'big', 'hash', T0);

    // Act
    await idempotency.complete(tenant, 'big', big);
    const replay = await idempotency.begin(tenant, 'big', 'hash', seconds(1));

    // Assess
    expect(replay).toEqual({ outcome: 'replay', response: big });
  });

  it('starts exactly one of 20 concurrent requests with the same key and body', async () => {
    // Prepare
    const idempotency = store();
    const tenant = aTenant();

    // Act
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () => idempotency.begin(tenant, 'key-1', 'body-hash', T0)),
    );

    // Assess
    const counts = Object.groupBy(outcomes, (outcome) => outcome.outcome);
    expect(counts.started).toHaveLength(1);
    expect(counts.in_flight).toHaveLength(19);
  });

  it('replays the stored response once the request completed', async () => {
    // Prepare
    const idempotency = store();
    const tenant = aTenant();
    await idempotency.begin(tenant, 'key-1', 'body-hash', T0);
    await idempotency.complete(tenant, 'key-1', CREATED);

    // Act
    const retry = await idempotency.begin(tenant, 'key-1', 'body-hash', seconds(10));

    // Assess
    expect(retry).toStrictEqual({ outcome: 'replay', response: CREATED });
  });

  it('reports a mismatch when the key comes back with another body, in flight or completed', async () => {
    // Prepare
    const idempotency = store();
    const tenant = aTenant();
    await idempotency.begin(tenant, 'in-flight', 'body-a', T0);
    await idempotency.begin(tenant, 'completed', 'body-a', T0);
    await idempotency.complete(tenant, 'completed', CREATED);

    // Act
    const whileInFlight = await idempotency.begin(tenant, 'in-flight', 'body-b', seconds(1));
    const afterCompletion = await idempotency.begin(tenant, 'completed', 'body-b', seconds(1));

    // Assess
    expect(whileInFlight).toStrictEqual({ outcome: 'mismatch' });
    expect(afterCompletion).toStrictEqual({ outcome: 'mismatch' });
  });

  it('starts the request again after it was abandoned', async () => {
    // Prepare
    const idempotency = store();
    const tenant = aTenant();
    await idempotency.begin(tenant, 'key-1', 'body-hash', T0);
    await idempotency.abandon(tenant, 'key-1');

    // Act
    const retry = await idempotency.begin(tenant, 'key-1', 'body-hash', seconds(1));

    // Assess
    expect(retry).toStrictEqual({ outcome: 'started' });
  });

  it('keeps a completed response when a late abandon arrives', async () => {
    // Prepare
    const idempotency = store();
    const tenant = aTenant();
    await idempotency.begin(tenant, 'key-1', 'body-hash', T0);
    await idempotency.complete(tenant, 'key-1', CREATED);

    // Act
    await idempotency.abandon(tenant, 'key-1');

    // Assess
    expect(await idempotency.begin(tenant, 'key-1', 'body-hash', seconds(1))).toStrictEqual({
      outcome: 'replay',
      response: CREATED,
    });
  });

  it('hands a stale claim (its request died) to exactly one of many retries', async () => {
    // Prepare
    const idempotency = store();
    const tenant = aTenant();
    await idempotency.begin(tenant, 'key-1', 'body-hash', T0);

    // Act
    const beforeStale = await idempotency.begin(tenant, 'key-1', 'body-hash', seconds(59));
    const retries = await Promise.all(
      Array.from({ length: 10 }, () => idempotency.begin(tenant, 'key-1', 'body-hash', seconds(61))),
    );

    // Assess
    expect(beforeStale).toStrictEqual({ outcome: 'in_flight' });
    const counts = Object.groupBy(retries, (outcome) => outcome.outcome);
    expect(counts.started).toHaveLength(1);
    expect(counts.in_flight).toHaveLength(9);
  });

  it('forgets a key once it expired, completed or not', async () => {
    // Prepare
    const idempotency = store();
    const tenant = aTenant();
    await idempotency.begin(tenant, 'completed', 'body-a', T0);
    await idempotency.complete(tenant, 'completed', CREATED);
    await idempotency.begin(tenant, 'abandoned-by-crash', 'body-a', T0);

    // Act
    const completedLater = await idempotency.begin(tenant, 'completed', 'body-b', seconds(3_601));
    const crashedLater = await idempotency.begin(tenant, 'abandoned-by-crash', 'body-b', seconds(3_601));

    // Assess
    expect(completedLater).toStrictEqual({ outcome: 'started' });
    expect(crashedLater).toStrictEqual({ outcome: 'started' });
  });

  it('keeps keys of different tenants apart', async () => {
    // Prepare
    const idempotency = store();
    const owner = aTenant('owner');
    await idempotency.begin(owner, 'shared-key', 'body-a', T0);
    await idempotency.complete(owner, 'shared-key', CREATED);

    // Act
    const otherTenant = await idempotency.begin(aTenant('other'), 'shared-key', 'body-b', seconds(1));

    // Assess
    expect(otherTenant).toStrictEqual({ outcome: 'started' });
  });
});
