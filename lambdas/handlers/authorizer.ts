/**
 * The REQUEST authorizer: maps the hashed API key to its tenant. The tenant reaches the handlers
 * only through the context returned here; `usageIdentifierKey` ties the request to the tenant's
 * usage plan key (throttling and quota).
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { authenticate, extractApiKey } from '../domain/keys.ts';
import type { KeyStore } from '../domain/ports.ts';
import { runtimeFromEnv } from '../runtime.ts';
import { logger } from '../shared/powertools.ts';

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
  // API Gateway answers 401 for exactly this message; a Deny would be a 403.
  if (!record) throw new Error('Unauthorized');
  return {
    principalId: record.keyId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [
        { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: stageWildcardArn(event.methodArn) },
      ],
    },
    context: { tenant: record.tenant, keyId: record.keyId },
    ...(record.usageKey ? { usageIdentifierKey: record.usageKey } : {}),
  };
}

export const handler = async (event: APIGatewayRequestAuthorizerEvent) => {
  try {
    return await authorize(event, (await runtimeFromEnv()).keys);
  } catch (error) {
    if ((error as Error).message !== 'Unauthorized')
      logger.error('authorizer failed', { error: error as Error });
    throw new Error('Unauthorized');
  }
};
