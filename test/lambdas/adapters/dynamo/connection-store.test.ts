/**
 * WebSocket connections and subscriptions in the state table (dynalite): tenant-scoped keys,
 * expiry, the per-version delivery claim, and removal of a connection with all it held.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoConnectionStore } from '../../../../lambdas/adapters/dynamo/connection-store.ts';
import { newJobId } from '../../../../lambdas/adapters/ids.ts';
import type { JobSubscription, SocketConnection } from '../../../../lambdas/domain/ports.ts';
import { useEmulators } from '../../../support/emulators.ts';
import { aTenant } from '../../../support/jobs.ts';

const fixture = useEmulators();
const T0 = new Date('2031-01-01T00:00:00.000Z');
const HOURS_2 = new Date(T0.getTime() + 2 * 3600 * 1000).toISOString();

const store = () =>
  new DynamoConnectionStore(fixture.clients.dynamo, { tableName: fixture.emulators.tableNames.state });

function aConnection(
  tenant: string,
  connectionId = 'Ab+cD/ef012345=',
  expiresAt = HOURS_2,
): SocketConnection {
  return { tenant, connectionId, keyId: 'key_1', connectedAt: T0.toISOString(), expiresAt };
}

const subscription = (connection: SocketConnection, jobId: string): JobSubscription => ({
  tenant: connection.tenant,
  jobId,
  connectionId: connection.connectionId,
  deliveredVersion: 0,
  expiresAt: connection.expiresAt,
});

describe('DynamoConnectionStore', () => {
  it('keeps a connection under its tenant, with a TTL at its expiry', async () => {
    // Prepare
    const connections = store();
    const tenant = aTenant();
    const connection = aConnection(tenant);

    // Act
    await connections.add(connection);

    // Assess
    expect(await connections.get(tenant, connection.connectionId)).toEqual({
      ...connection,
      subscriptions: 0,
    });
    expect(await connections.get(aTenant('other'), connection.connectionId)).toBeUndefined();
    const raw = await fixture.clients.dynamo.send(
      new GetCommand({
        TableName: fixture.emulators.tableNames.state,
        Key: { pk: `T#${tenant}`, sk: `WSC#${connection.connectionId}` },
      }),
    );
    expect(raw.Item?.ttl).toBe(Date.parse(HOURS_2) / 1000);
  });

  it('claims each version once, never one older than the last, and gives a claim back', async () => {
    // Prepare
    const connections = store();
    const connection = aConnection(aTenant());
    const jobId = newJobId(T0);
    await connections.add(connection);
    await connections.subscribe(subscription(connection, jobId), 10);
    const claim = (version: number) =>
      connections.claim(connection.tenant, jobId, connection.connectionId, version);

    // Act
    const racing = await Promise.all(Array.from({ length: 20 }, () => claim(2)));
    const older = await claim(1);
    await connections.release(connection.tenant, jobId, connection.connectionId, 2, 0);
    const again = await claim(2);

    // Assess
    expect(racing.filter(Boolean)).toHaveLength(1);
    expect(older).toBe(false);
    expect(again).toBe(true);
    const [current] = await connections.subscribers(connection.tenant, jobId, T0);
    expect(current?.deliveredVersion).toBe(2);
  });

  it('subscribes only a connection that exists and has room, and keeps what was delivered on a repeat', async () => {
    // Prepare
    const connections = store();
    const connection = aConnection(aTenant());
    const [first, second] = [newJobId(T0), newJobId(T0)];

    // Act + Assess
    expect(await connections.subscribe(subscription(connection, first), 1)).toBe(false);
    await connections.add(connection);
    expect(await connections.subscribe(subscription(connection, first), 1)).toBe(true);
    expect(await connections.claim(connection.tenant, first, connection.connectionId, 3)).toBe(true);
    expect(await connections.subscribe(subscription(connection, second), 1)).toBe(false);
    expect((await connections.subscribers(connection.tenant, first, T0))[0]?.deliveredVersion).toBe(3);
    expect(await connections.get(connection.tenant, connection.connectionId)).toMatchObject({
      subscriptions: 1,
    });
  });

  it('leaves out subscriptions that expired (TTL deletion lags)', async () => {
    const connections = store();
    const connection = aConnection(aTenant(), 'expired0000000=', T0.toISOString());
    const jobId = newJobId(T0);
    await connections.add(connection);
    await connections.subscribe(subscription(connection, jobId), 10);

    expect(await connections.subscribers(connection.tenant, jobId, new Date(T0.getTime() - 1))).toHaveLength(
      1,
    );
    expect(await connections.subscribers(connection.tenant, jobId, T0)).toEqual([]);
  });

  it('removes a connection with every subscription it held, and unsubscribes one job alone', async () => {
    // Prepare
    const connections = store();
    const connection = aConnection(aTenant());
    const other = aConnection(connection.tenant, 'other000000000=');
    const jobs = [newJobId(T0), newJobId(T0), newJobId(T0)];
    await connections.add(connection);
    await connections.add(other);
    for (const jobId of jobs) await connections.subscribe(subscription(connection, jobId), 10);
    await connections.subscribe(subscription(other, jobs[0] as string), 10);

    // Act
    await connections.unsubscribe(connection.tenant, jobs[2] as string, connection.connectionId);
    const afterUnsubscribe = await connections.get(connection.tenant, connection.connectionId);
    await connections.remove(connection.tenant, connection.connectionId);
    await connections.remove(connection.tenant, connection.connectionId);

    // Assess
    expect(afterUnsubscribe?.subscriptions).toBe(2);
    expect(await connections.get(connection.tenant, connection.connectionId)).toBeUndefined();
    for (const jobId of jobs.slice(1))
      expect(await connections.subscribers(connection.tenant, jobId, T0)).toEqual([]);
    expect(
      (await connections.subscribers(connection.tenant, jobs[0] as string, T0)).map((s) => s.connectionId),
    ).toEqual([other.connectionId]);
  });

  it('refuses a connection id that could blur its keys, and a tenant with a #', async () => {
    const connections = store();
    await expect(connections.add(aConnection(aTenant(), 'a#b'))).rejects.toThrow(RangeError);
    await expect(connections.add(aConnection('a#L#x'))).rejects.toThrow(RangeError);
  });
});
