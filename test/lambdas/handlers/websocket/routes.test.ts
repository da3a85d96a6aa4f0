/**
 * The WebSocket route handlers as API Gateway invokes them (proxy events with the authorizer's
 * context), over the real connection store and a recording messenger.
 */
import { describe, expect, it } from 'vitest';
import { DynamoConnectionStore } from '../../../../lambdas/adapters/dynamo/connection-store.ts';
import type { ConnectionMessenger } from '../../../../lambdas/domain/ports.ts';
import { connectionsRoute } from '../../../../lambdas/handlers/websocket/connections.ts';
import { messagesRoute } from '../../../../lambdas/handlers/websocket/messages.ts';
import type { WebSocketRouteEvent } from '../../../../lambdas/handlers/websocket/routes.ts';
import { useEmulators } from '../../../support/emulators.ts';
import { aTenant } from '../../../support/jobs.ts';
import { connectionsOnlySocket } from '../../../support/websocket.ts';

const fixture = useEmulators();

function setup() {
  const sent: { connectionId: string; data: string }[] = [];
  const messenger: ConnectionMessenger = {
    send: async (connectionId, data) => {
      sent.push({ connectionId, data });
      return 'sent';
    },
  };
  const connections = new DynamoConnectionStore(fixture.clients.dynamo, {
    tableName: fixture.emulators.tableNames.state,
  });
  const socket = connectionsOnlySocket(connections, messenger);
  return { socket, connections, sent };
}

const event = (
  routeKey: string,
  tenant: string | undefined,
  body?: string,
  isBase64Encoded = false,
): WebSocketRouteEvent => ({
  requestContext: {
    routeKey,
    connectionId: 'L0SM9cOFvHcCIhw=',
    authorizer: tenant ? { tenant, keyId: 'key_1', principalId: 'key_1' } : null,
  },
  body: body ?? null,
  isBase64Encoded,
});

describe('WebSocket routes', () => {
  it('records the connection on $connect with the tenant of the authorizer, and removes it on $disconnect', async () => {
    const { socket, connections } = setup();
    const tenant = aTenant();

    expect(await connectionsRoute(socket, event('$connect', tenant))).toEqual({ statusCode: 200 });
    const recorded = await connections.get(tenant, 'L0SM9cOFvHcCIhw=');
    expect(recorded).toMatchObject({ tenant, keyId: 'key_1', subscriptions: 0 });
    expect(Date.parse(recorded?.expiresAt ?? '') - Date.parse(recorded?.connectedAt ?? '')).toBe(
      2 * 3600 * 1000,
    );

    expect(await connectionsRoute(socket, event('$disconnect', tenant))).toEqual({ statusCode: 200 });
    expect(await connections.get(tenant, 'L0SM9cOFvHcCIhw=')).toBeUndefined();
  });

  it('answers messages on $default and generate, base64 frames included', async () => {
    const { socket, sent } = setup();
    const tenant = aTenant();

    await messagesRoute(socket, event('$default', tenant, '{"type":"ping","request_id":"1"}'));
    await messagesRoute(
      socket,
      event('$default', tenant, Buffer.from('{"type":"ping","request_id":"2"}').toString('base64'), true),
    );
    await messagesRoute(socket, event('generate', tenant, '{"type":"generate","width":2048}'));

    expect(sent.map(({ data }) => JSON.parse(data))).toEqual([
      { type: 'pong', request_id: '1' },
      { type: 'pong', request_id: '2' },
      expect.objectContaining({ type: 'error', code: 'INVALID_PARAMETERS' }),
    ]);
  });

  it('serves subscribe on $default, the route every type but generate takes, for the tenant of the authorizer', async () => {
    // Prepare: a recorded connection (the connections-only socket knows no job at all).
    const { socket, sent } = setup();
    const tenant = aTenant();
    await connectionsRoute(socket, event('$connect', tenant));

    // Act
    const answer = await messagesRoute(
      socket,
      event(
        '$default',
        tenant,
        '{"type":"subscribe","job_ids":["01JD3X2K8Q7YV4N6B5M9T0RWZC"],"request_id":"s"}',
      ),
    );

    // Assess
    expect(answer).toEqual({ statusCode: 200 });
    expect(sent.map(({ data }) => JSON.parse(data))).toEqual([
      expect.objectContaining({
        type: 'error',
        code: 'NOT_FOUND',
        job_id: '01JD3X2K8Q7YV4N6B5M9T0RWZC',
        request_id: 's',
      }),
    ]);
  });

  it('refuses to serve a route without the tenant of the authorizer', async () => {
    const { socket } = setup();
    await expect(connectionsRoute(socket, event('$connect', undefined))).rejects.toThrow(/no tenant/);
    await expect(messagesRoute(socket, event('generate', undefined, '{}'))).rejects.toThrow(/no tenant/);
  });
});
