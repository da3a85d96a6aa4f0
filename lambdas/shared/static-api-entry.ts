import type { APIGatewayProxyEvent } from 'aws-lambda';
import { type ApiHandler, createApiHandler, type RouteBinding } from '../http/api-handler.ts';
import { withPowertools } from './lambda-entry.ts';

/** An API Gateway entry point for routes that need no AWS service. */
export function staticApiEntry(bindings: () => RouteBinding[]) {
  let api: ApiHandler | undefined;
  return withPowertools(async (event: APIGatewayProxyEvent) => {
    api ??= createApiHandler(bindings());
    return api(event);
  }, false);
}
