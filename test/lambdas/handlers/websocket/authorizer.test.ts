import { describe, expect, it } from 'vitest';
import { DynamoKeyStore } from '../../../../lambdas/adapters/dynamo/key-store.ts';
import { createApiKey } from '../../../../lambdas/domain/keys.ts';
import { authorizeConnection } from '../../../../lambdas/handlers/websocket/authorizer.ts';
import { useEmulators } from '../../../support/emulators.ts';

const CONNECT_ARN = 'arn:aws:execute-api:eu-west-1:123456789012:abcdef123/dev/$connect';

describe('authorizeConnection (WebSocket $connect)', () => {
  const fixture = useEmulators();
  const store = () =>
    new DynamoKeyStore(fixture.clients.dynamo, { tableName: fixture.emulators.tableNames.keys });

  it('maps the api_key query parameter to its tenant, allowing exactly this $connect', async () => {
    // Prepare
    const keys = store();
    const { key, record } = await createApiKey(keys, { tenant: 'acme', now: new Date() });

    // Act
    const result = await authorizeConnection(
      { queryStringParameters: { api_key: key }, methodArn: CONNECT_ARN },
      keys,
    );

    // Assess
    expect(result).toEqual({
      principalId: record.keyId,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: CONNECT_ARN }],
      },
      context: { tenant: 'acme', keyId: record.keyId },
    });
  });

  it('refuses a missing, unknown or revoked key with "Unauthorized" (API Gateway answers 401)', async () => {
    const keys = store();
    const { key, record } = await createApiKey(keys, { tenant: 'acme', now: new Date() });
    await keys.revoke(record.keyId, new Date().toISOString());

    for (const queryStringParameters of [null, {}, { api_key: `${key}x` }, { api_key: key }]) {
      await expect(
        authorizeConnection({ queryStringParameters, methodArn: CONNECT_ARN }, keys),
      ).rejects.toThrow(/^Unauthorized$/);
    }
  });
});
