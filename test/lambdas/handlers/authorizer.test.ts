import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DynamoKeyStore } from '../../../lambdas/adapters/dynamo/key-store.ts';
import { createApiKey, MAX_KEY_CACHE_TTL_SECONDS } from '../../../lambdas/domain/keys.ts';
import { authorize, keyCacheTtlFromEnv, stageWildcardArn } from '../../../lambdas/handlers/authorizer.ts';
import { useEmulators } from '../../support/emulators.ts';
import { loadEvent } from '../../support/fixtures.ts';

const eventWith = (headers: Record<string, string>): APIGatewayRequestAuthorizerEvent => ({
  ...loadEvent<APIGatewayRequestAuthorizerEvent>('apigateway/request-authorizer.json'),
  headers,
});

describe('authorize', () => {
  const fixture = useEmulators();
  const store = () =>
    new DynamoKeyStore(fixture.clients.dynamo, { tableName: fixture.emulators.tableNames.keys });

  it('maps a key to its tenant, for every method of the stage, with the usage-plan key', async () => {
    // Prepare
    const keys = store();
    const { key, record } = await createApiKey(keys, {
      tenant: 'acme',
      usageKey: 'plan-key-value',
      now: new Date(),
    });

    // Act
    const result = await authorize(eventWith({ 'X-API-Key': key }), keys);

    // Assess
    expect(result.context).toEqual({ tenant: 'acme', keyId: record.keyId });
    expect(result.usageIdentifierKey).toBe('plan-key-value');
    expect(result.policyDocument.Statement).toEqual([
      {
        Action: 'execute-api:Invoke',
        Effect: 'Allow',
        Resource: 'arn:aws:execute-api:us-east-1:123456789012:abc123defg/dev/*/*',
      },
    ]);
  });

  it('accepts the key as Authorization: Token and Bearer', async () => {
    const keys = store();
    const { key } = await createApiKey(keys, { tenant: 'acme', now: new Date() });

    for (const scheme of ['Token', 'Bearer']) {
      const result = await authorize(eventWith({ Authorization: `${scheme} ${key}` }), keys);
      expect(result.context?.tenant).toBe('acme');
    }
  });

  it('refuses a missing, unknown or revoked key with "Unauthorized" (API Gateway answers 401)', async () => {
    const keys = store();
    const { key, record } = await createApiKey(keys, { tenant: 'acme', now: new Date() });
    await keys.revoke(record.keyId, new Date().toISOString());

    await expect(authorize(eventWith({}), keys)).rejects.toThrow(/^Unauthorized$/);
    await expect(authorize(eventWith({ 'X-API-Key': `${key}x` }), keys)).rejects.toThrow(/^Unauthorized$/);
    await expect(authorize(eventWith({ 'X-API-Key': key }), keys)).rejects.toThrow(/^Unauthorized$/);
  });
});

describe('stageWildcardArn', () => {
  it('widens a method ARN to the whole stage, so a cached decision fits every route', () => {
    expect(
      stageWildcardArn('arn:aws:execute-api:eu-west-1:111122223333:api1/prod/DELETE/api/v1/jobs/X'),
    ).toBe('arn:aws:execute-api:eu-west-1:111122223333:api1/prod/*/*');
  });
});

describe('keyCacheTtlFromEnv', () => {
  it('reads KEY_CACHE_TTL_SECONDS as whole seconds up to the maximum, and no cache when unset', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_KEY_CACHE_TTL_SECONDS }), (seconds) => {
        expect(keyCacheTtlFromEnv({ KEY_CACHE_TTL_SECONDS: String(seconds) })).toBe(seconds);
      }),
    );
    expect(keyCacheTtlFromEnv({})).toBe(0);
    expect(keyCacheTtlFromEnv({ KEY_CACHE_TTL_SECONDS: '' })).toBe(0);
  });

  it('refuses anything else, naming the variable', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: MAX_KEY_CACHE_TTL_SECONDS + 1 }).map(String),
          fc.integer({ max: -1 }).map(String),
          fc.double({ noInteger: true, noDefaultInfinity: true, noNaN: true }).map(String),
          fc.constantFrom('sixty', '60s', 'Infinity', 'NaN'),
        ),
        (raw) => {
          expect(() => keyCacheTtlFromEnv({ KEY_CACHE_TTL_SECONDS: raw })).toThrow(/KEY_CACHE_TTL_SECONDS/);
        },
      ),
    );
  });
});

describe('the authorizer handler', () => {
  const fixture = useEmulators();

  it('reports a key store that cannot answer as a failure, not as a bad key', async () => {
    // Prepare: a keys table that does not exist, on the emulator.
    process.env.AWS_ENDPOINT_URL_DYNAMODB = fixture.emulators.dynamoEndpoint;
    process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
    process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
    process.env.KEYS_TABLE = 'no-such-keys-table';
    const { handler } = await import('../../../lambdas/handlers/authorizer.ts');

    // Act
    const outcome = await handler(eventWith({ 'X-API-Key': 'sf_any' })).catch((error: Error) => error);

    // Assess
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).not.toBe('Unauthorized');
  });
});
