/**
 * The local WebSocket API's own behaviour, apart from the platform: API Gateway's limits (idle
 * and lifetime closes with 1001, a message over 128 KB closes with 1009), the upgrade refused on
 * another path, and `$disconnect` on close.
 */
import { createServer, type Server } from 'node:http';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEBSOCKET_LIMITS, WEBSOCKET_PATH } from '../../../contracts/vocabulary.ts';
import { DynamoConnectionStore } from '../../../lambdas/adapters/dynamo/connection-store.ts';
import { DynamoKeyStore } from '../../../lambdas/adapters/dynamo/key-store.ts';
import { createApiKey } from '../../../lambdas/domain/keys.ts';
import type { JobStateChange } from '../../../lambdas/domain/ports.ts';
import { listen } from '../../../lambdas/local/server.ts';
import { attachWebSocketApi, type LocalWebSocketApi } from '../../../lambdas/local/websocket.ts';
import { useEmulators } from '../../support/emulators.ts';
import { connectionsOnlySocket, SocketClient, UpgradeRefused } from '../../support/websocket.ts';

const fixture = useEmulators();
let server: Server;
let api: LocalWebSocketApi;
let url: string;
let key: string;
let connections: DynamoConnectionStore;

beforeAll(async () => {
  const keys = new DynamoKeyStore(fixture.clients.dynamo, { tableName: fixture.emulators.tableNames.keys });
  ({ key } = await createApiKey(keys, { tenant: 'local-ws', now: new Date() }));
  connections = new DynamoConnectionStore(fixture.clients.dynamo, {
    tableName: fixture.emulators.tableNames.state,
  });
  server = createServer((_request, response) => response.writeHead(404).end());
  api = attachWebSocketApi({
    server,
    keys,
    events: { subscribe: (_listener: (event: JobStateChange) => void) => () => undefined },
    socketFor: (messenger) => connectionsOnlySocket(connections, messenger),
    limits: { idleMs: 600, lifetimeMs: 1_500 },
  });
  const port = await listen(server, 0, '127.0.0.1');
  url = `ws://127.0.0.1:${port}${WEBSOCKET_PATH}`;
});

afterAll(async () => {
  await api.close();
  await new Promise((resolve) => server.close(resolve));
});

/** Connection records of the test's tenant in the state table. */
async function recordedConnections(): Promise<number> {
  const output = await fixture.clients.dynamo.send(
    new QueryCommand({
      TableName: fixture.emulators.tableNames.state,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': 'T#local-ws', ':prefix': 'WSC#' },
      ConsistentRead: true,
    }),
  );
  return output.Count ?? 0;
}

/** Waits until the server has seen every connection close and handled its `$disconnect`. */
async function closedOnServer(): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (api.connections > 0 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 10));
  await api.idle();
  expect(api.connections).toBe(0);
}

describe('the local WebSocket API', () => {
  it('closes a connection idle for longer than the idle limit with 1001, and disconnects it', async () => {
    const client = await SocketClient.open(url, key);
    await client.until(() => client.closed, 5_000);
    expect(client.closed?.code).toBe(1001);
    await closedOnServer();
    expect(await recordedConnections()).toBe(0);
  });

  it('closes a busy connection at the end of its lifetime with 1001', async () => {
    // Prepare: a ping every 200 ms keeps it from idling out.
    const client = await SocketClient.open(url, key);
    const started = Date.now();
    const pinging = setInterval(() => client.send({ type: 'ping' }), 200);

    // Act
    await client.until(() => client.closed, 5_000).finally(() => clearInterval(pinging));

    // Assess
    expect(client.closed?.code).toBe(1001);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
    expect(client.ofType('pong').length).toBeGreaterThan(3);
    await closedOnServer();
  });

  it('closes with 1009 on a message larger than 128 KB, as API Gateway does', async () => {
    const client = await SocketClient.open(url, key);
    client.send({ type: 'generate', prompt: 'x'.repeat(WEBSOCKET_LIMITS.maxClientMessageBytes) });
    await client.until(() => client.closed, 5_000);
    expect(client.closed?.code).toBe(1009);
    await closedOnServer();
  });

  it('refuses an upgrade on another path with 404', async () => {
    const refused = await SocketClient.open(url.replace('/generation', '/other'), key).catch(
      (error) => error,
    );
    expect(refused).toBeInstanceOf(UpgradeRefused);
    expect((refused as UpgradeRefused).status).toBe(404);
  });

  it('records the connection before the upgrade completes, and removes it when the client closes', async () => {
    // Prepare
    const before = await recordedConnections();
    const client = await SocketClient.open(url, key);
    const open = await recordedConnections();

    // Act
    await client.close();
    await closedOnServer();

    // Assess
    expect(before).toBe(0);
    expect(open).toBe(1);
    expect(await recordedConnections()).toBe(0);
  });
});
