/**
 * The WebSocket API's REQUEST authorizer (on `$connect`, the only route that takes one): the key
 * comes in the `api_key` query parameter, as seed 001 documents (browsers cannot set headers on a
 * WebSocket). The same key lookup as the REST authorizer; the tenant it returns in the context
 * reaches every later message of the connection.
 */
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { authenticate } from '../../domain/keys.ts';
import type { KeyStore } from '../../domain/ports.ts';
import { allowKey, keyAuthorizerHandler } from '../authorizer.ts';

export async function authorizeConnection(
  event: Pick<APIGatewayRequestAuthorizerEvent, 'queryStringParameters' | 'methodArn'>,
  keys: KeyStore,
) {
  const record = await authenticate(keys, event.queryStringParameters?.api_key ?? undefined);
  // The method ARN ends in `$connect`: the policy allows exactly this connection request.
  return allowKey(record, event.methodArn);
}

export const handler = keyAuthorizerHandler<APIGatewayRequestAuthorizerEvent>(authorizeConnection);
