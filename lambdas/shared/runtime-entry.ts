/** Entry points for API routes that use the AWS-backed runtime (tables, bucket, workflow, bus). */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { type ApiHandler, createApiHandler, type RouteBinding } from '../http/api-handler.ts';
import { type Runtime, runtimeFromEnv } from '../runtime.ts';
import { withPowertools } from './lambda-entry.ts';

/** An API Gateway entry point for a family of routes. */
export function apiEntry(bindingsFor: (runtime: Runtime) => RouteBinding[]) {
  let api: ApiHandler | undefined;
  return withPowertools(async (event: APIGatewayProxyEvent) => {
    if (!api) {
      const runtime = await runtimeFromEnv();
      api = createApiHandler(bindingsFor(runtime), { idempotency: () => runtime.idempotency });
    }
    return api(event);
  });
}
