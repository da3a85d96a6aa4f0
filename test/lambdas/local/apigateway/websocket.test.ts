/**
 * The local WebSocket API's own behaviour, apart from the platform: API Gateway's limits (idle
 * and lifetime closes with 1001, a message over 128 KB closes with 1009), the upgrade refused on
 * another path, `$disconnect` on close, and the stop that closes every connection with 1001. The
 * limits run on timers the tests advance, so they are API Gateway's own (10 min, 2 h) and are
 * reached exactly, without waiting for them.
 */
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEBSOCKET_LIMITS, WEBSOCKET_PATH } from '../../../../contracts/vocabulary.ts';
import { DynamoConnectionStore } from '../../../../lambdas/adapters/dynamo/connection-store.ts';
import { DynamoKeyStore } from '../../../../lambdas/adapters/dynamo/key-store.ts';
import { createApiKey } from '../../../../lambdas/domain/keys.ts';
import type { JobStateChange } from '../../../../lambdas/domain/ports.ts';
import {
  attachWebSocketApi,
  type LocalWebSocketApi,
  STOPPING_REASON,
} from '../../../../lambdas/local/apigateway/websocket.ts';
import { listen } from '../../../../lambdas/local/support/http.ts';
import { useEmulators } from '../../../support/emulators.ts';
import {
  connectionsOnlySocket,
  ManualTimers,
  SocketClient,
  UpgradeRefused,
} from '../../../support/websocket.ts';

const IDLE_MS = WEBSOCKET_LIMITS.idleSeconds * 1000;
const LIFETIME_MS = WEBSOCKET_LIMITS.connectionSeconds * 1000;
const CLOSE_GRACE_MS = 1_000;
/** How long a test waits for a close it has caused before it fails (it comes at once when it does). */
const CLOSE_TIMEOUT_MS = 5_000;

const fixture = useEmulators();
let keys: DynamoKeyStore;
let connections: DynamoConnectionStore;
let key: string;
let timers: ManualTimers;
let served: Served;

interface Served {
  server: Server;
  api: LocalWebSocketApi;
  url: string;
}

/** The WebSocket API alone on its own HTTP server, with API Gateway's limits on `timers`. */
async function serve(timers: ManualTimers): Promise<Served> {
  const server = createServer((_request, response) => response.writeHead(404).end());
  const api = attachWebSocketApi({
    server,
    keys,
    events: { subscribe: (_listener: (event: JobStateChange) => void) => () => undefined },
    socketFor: (messenger) => connectionsOnlySocket(connections, messenger),
    limits: { closeGraceMs: CLOSE_GRACE_MS },
    timers,
  });
  const port = await listen(server, 0, '127.0.0.1');
  return { server, api, url: `ws://127.0.0.1:${port}${WEBSOCKET_PATH}` };
}

async function unserve({ server, api }: Served): Promise<void> {
  await api.close();
  await new Promise((resolve) => server.close(resolve));
}

beforeAll(async () => {
  keys = new DynamoKeyStore(fixture.clients.dynamo, { tableName: fixture.emulators.tableNames.keys });
  ({ key } = await createApiKey(keys, { tenant: 'local-ws', now: new Date() }));
  connections = new DynamoConnectionStore(fixture.clients.dynamo, {
    tableName: fixture.emulators.tableNames.state,
  });
  timers = new ManualTimers();
  served = await serve(timers);
});

afterAll(async () => {
  await unserve(served);
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

/** What a client that completes the upgrade and then never answers anything sees. */
interface SilentClient {
  /** The first frame the server sends after the 101. */
  firstFrame: Promise<Buffer>;
  /** Resolves when the server drops the TCP connection. */
  dropped: Promise<void>;
}

/** A WebSocket client that never answers a close frame: the straggler a stop must not wait for. */
function openSilentClient(url: string, apiKey: string): Promise<SilentClient> {
  const { hostname, port, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    const tcp = connect(Number(port), hostname);
    let buffered = Buffer.alloc(0);
    let upgraded = false;
    let onFrame: (frame: Buffer) => void = () => undefined;
    let onDrop: () => void = () => undefined;
    const firstFrame = new Promise<Buffer>((resolveFrame, rejectFrame) => {
      onFrame = resolveFrame;
      // Settles nothing once a frame has come.
      onDrop = () => rejectFrame(new Error('dropped without a close frame'));
    });
    const dropped = new Promise<void>((resolveDropped) =>
      tcp.once('close', () => {
        onDrop();
        resolveDropped();
      }),
    );
    tcp.on('error', reject);
    tcp.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (!upgraded) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffered.subarray(0, end).toString();
        if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(head));
        upgraded = true;
        buffered = buffered.subarray(end + 4);
        resolve({ firstFrame, dropped });
      }
      if (buffered.length >= 2) onFrame(buffered);
    });
    tcp.write(
      [
        `GET ${pathname}?api_key=${encodeURIComponent(apiKey)} HTTP/1.1`,
        `Host: ${hostname}:${port}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version: 13',
        '',
        '',
      ].join('\r\n'),
    );
  });
}

/** The code and reason of a server's (unmasked, short) close frame. */
function closeFrameOf(frame: Buffer): { opcode: number; code: number; reason: string } {
  const length = (frame[1] ?? 0) & 0x7f;
  return {
    opcode: (frame[0] ?? 0) & 0x0f,
    code: frame.readUInt16BE(2),
    reason: frame.subarray(4, 2 + length).toString(),
  };
}

describe('the local WebSocket API', () => {
  it('closes a connection idle for the idle limit with 1001, not a moment before, and disconnects it', async () => {
    // Prepare
    const client = await SocketClient.open(served.url, key);

    // Act: a ping just before the limit keeps it open; the limit after that closes it.
    timers.advance(IDLE_MS - 1);
    await client.roundTrip('before-the-limit');
    timers.advance(IDLE_MS);
    const closed = await client.until(() => client.closed, CLOSE_TIMEOUT_MS);
    await served.api.drained();

    // Assess
    expect(closed).toEqual({ code: 1001, reason: 'Idle timeout' });
    expect(served.api.connections).toBe(0);
    expect(await recordedConnections()).toBe(0);
  });

  it('closes a busy connection at the end of its lifetime with 1001, not a moment before', async () => {
    // Prepare: a ping every 5 minutes keeps it from idling out.
    const client = await SocketClient.open(served.url, key);
    const every = 5 * 60 * 1000;
    let elapsed = 0;
    let pings = 0;

    // Act
    while (elapsed + every < LIFETIME_MS) {
      timers.advance(every);
      elapsed += every;
      await client.roundTrip(`ping-${++pings}`);
    }
    timers.advance(LIFETIME_MS - elapsed - 1);
    await client.roundTrip('just-before-the-end');
    timers.advance(1);
    const closed = await client.until(() => client.closed, CLOSE_TIMEOUT_MS);
    await served.api.drained();

    // Assess: open (answering) until the last millisecond of its 2 h, then closed for its age.
    expect(closed).toEqual({ code: 1001, reason: 'Connection lifetime exceeded' });
    expect(client.ofType('pong')).toHaveLength(pings + 1);
    expect(pings).toBe(23);
    expect(served.api.connections).toBe(0);
  });

  it('closes with 1009 on a message larger than 128 KB, as API Gateway does', async () => {
    const client = await SocketClient.open(served.url, key);
    client.send({ type: 'generate', prompt: 'x'.repeat(WEBSOCKET_LIMITS.maxClientMessageBytes) });
    const closed = await client.until(() => client.closed, CLOSE_TIMEOUT_MS);
    await served.api.drained();
    expect(closed.code).toBe(1009);
    expect(served.api.connections).toBe(0);
  });

  it('refuses an upgrade on another path with 404', async () => {
    const refused = await SocketClient.open(served.url.replace('/generation', '/other'), key).catch(
      (error) => error,
    );
    expect(refused).toBeInstanceOf(UpgradeRefused);
    expect((refused as UpgradeRefused).status).toBe(404);
  });

  it('records the connection before the upgrade completes, and removes it when the client closes', async () => {
    // Prepare
    const before = await recordedConnections();
    const client = await SocketClient.open(served.url, key);
    const open = await recordedConnections();

    // Act
    await client.close();
    await served.api.drained();

    // Assess
    expect(before).toBe(0);
    expect(open).toBe(1);
    expect(await recordedConnections()).toBe(0);
  });
});

describe('closing the local WebSocket API (the platform stops)', () => {
  it('closes every connection with 1001 and its reason, drops one that does not answer after the grace, and disconnects each', async () => {
    // Prepare: its own API (closing is for good), a client that answers the close and one that never does.
    const stopTimers = new ManualTimers();
    const stopping = await serve(stopTimers);
    const polite = await SocketClient.open(stopping.url, key);
    const silent = await openSilentClient(stopping.url, key);
    const openBefore = stopping.api.connections;

    // Act
    const closing = stopping.api.close();
    const politeClosed = await polite.until(() => polite.closed, CLOSE_TIMEOUT_MS);
    const frame = closeFrameOf(await silent.firstFrame);
    // Only the grace ends the silent one: the stop cannot finish without this.
    stopTimers.advance(CLOSE_GRACE_MS);
    await silent.dropped;
    await closing;
    const late = await SocketClient.open(stopping.url, key).catch((error) => error);
    await stopping.api.idle();
    await new Promise((resolve) => stopping.server.close(resolve));

    // Assess
    expect(openBefore).toBe(2);
    expect(politeClosed).toEqual({ code: 1001, reason: STOPPING_REASON });
    expect(frame).toEqual({ opcode: 0x8, code: 1001, reason: STOPPING_REASON });
    expect(stopping.api.connections).toBe(0);
    expect(stopTimers.pending).toBe(0);
    expect(await recordedConnections()).toBe(0);
    // A connection that arrives once the stop has begun is refused and leaves no record.
    expect(late).toBeInstanceOf(UpgradeRefused);
    expect((late as UpgradeRefused).status).toBe(503);
  });
});
