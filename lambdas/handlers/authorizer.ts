/**
 * The REQUEST authorizer: maps the hashed API key to its tenant. The tenant reaches the handlers
 * only through the context returned here; `usageIdentifierKey` ties the request to the tenant's
 * usage plan key (throttling and quota).
 *
 * API Gateway's own authorizer cache is off (keys come in either of two headers, and it can cache
 * on only the ones it requires), so this function runs before every request. It remembers the keys
 * it has verified for `KEY_CACHE_TTL_SECONDS` instead (lambdas/domain/keys.ts: CachingKeyStore), and
 * a revoked key stops working within that time.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { createDynamoClients } from '../adapters/clients.ts';
import { DynamoKeyStore } from '../adapters/dynamo/key-store.ts';
import { authenticate, CachingKeyStore, extractApiKey, MAX_KEY_CACHE_TTL_SECONDS } from '../domain/keys.ts';
import type { ApiKeyRecord, KeyStore } from '../domain/ports.ts';
import { logger } from '../shared/logger.ts';

/** `arn:aws:execute-api:region:account:apiId/stage/METHOD/path` -> every method of that stage. */
export function stageWildcardArn(methodArn: string): string {
  const [prefix, stage] = methodArn.split('/');
  return `${prefix}/${stage}/*/*`;
}

export async function authorize(
  event: Pick<APIGatewayRequestAuthorizerEvent, 'headers' | 'methodArn'>,
  keys: KeyStore,
): Promise<APIGatewayAuthorizerResult> {
  const record = await authenticate(keys, extractApiKey(event.headers));
  return {
    ...allowKey(record, stageWildcardArn(event.methodArn)),
    ...(record?.usageKey ? { usageIdentifierKey: record.usageKey } : {}),
  };
}

/**
 * The answer for an authenticated key: allowed on `resource`, with the tenant in the context the
 * handlers read it from. No key, or a bad one, throws the one error API Gateway answers 401 for
 * (a Deny would be a 403).
 */
export function allowKey(record: ApiKeyRecord | undefined, resource: string): APIGatewayAuthorizerResult {
  if (!record) throw new Error('Unauthorized');
  return {
    principalId: record.keyId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: resource }],
    },
    context: { tenant: record.tenant, keyId: record.keyId },
  };
}

/**
 * An authorizer Lambda handler over `decide`, with the key store of the function's KEYS_TABLE. A
 * key store that cannot answer is an outage, not a bad key: rethrown, API Gateway answers 500
 * instead of telling a valid caller their key is wrong.
 */
export function keyAuthorizerHandler<E>(
  decide: (event: E, keys: KeyStore) => Promise<APIGatewayAuthorizerResult>,
) {
  return async (event: E) => {
    try {
      return await decide(event, keysFromEnv());
    } catch (error) {
      if ((error as Error).message !== 'Unauthorized')
        logger.error('authorizer failed', { error: error as Error });
      throw error;
    }
  };
}

/**
 * Built without the shared runtime: the authorizer runs before every request, so its bundle holds
 * only the DynamoDB client and the key lookup. One per container, so that the key cache outlives
 * the invocation.
 */
let keyStore: KeyStore | undefined;
function keysFromEnv(): KeyStore {
  const tableName = process.env.KEYS_TABLE;
  if (!tableName) throw new Error('environment variable KEYS_TABLE is not set for this function');
  keyStore ??= new CachingKeyStore(
    new DynamoKeyStore(createDynamoClients({ region: process.env.AWS_REGION ?? 'us-east-1' }).dynamo, {
      tableName,
    }),
    { ttlSeconds: keyCacheTtlFromEnv() },
  );
  return keyStore;
}

/**
 * The key cache's TTL from `KEY_CACHE_TTL_SECONDS` (the stage's `api.keyCacheTtlSeconds`, which the
 * stack sets). Unset: no cache, so that a function deployed without it checks every key.
 */
export function keyCacheTtlFromEnv(env: Record<string, string | undefined> = process.env): number {
  const raw = env.KEY_CACHE_TTL_SECONDS;
  if (raw === undefined || raw === '') return 0;
  const seconds = Number(raw);
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_KEY_CACHE_TTL_SECONDS) {
    throw new Error(
      `environment variable KEY_CACHE_TTL_SECONDS must be a whole number of seconds from 0 to ${MAX_KEY_CACHE_TTL_SECONDS}, got "${raw}"`,
    );
  }
  return seconds;
}

export const handler = keyAuthorizerHandler<APIGatewayRequestAuthorizerEvent>(authorize);
