/** Entry points for API routes that use the AWS-backed runtime (tables, bucket, workflows, bus). */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { type ApiHandler, createApiHandler, type RouteBinding } from '../http/api-handler.ts';
import { type CoreRuntime, type RuntimeBuilder, runtimeFromEnvOnce } from '../runtime/core.ts';
import { withPowertools } from './lambda-entry.ts';

/**
 * An API Gateway entry point for a family of routes, over the runtime `build` composes from the
 * function's environment (the core alone, or with the parts of the families its routes use).
 */
export function apiEntry<R extends CoreRuntime>(
  bindingsFor: (runtime: R) => RouteBinding[],
  build: RuntimeBuilder<R>,
) {
  const runtimeFromEnv = runtimeFromEnvOnce(build);
  let api: ApiHandler | undefined;
  return withPowertools(async (event: APIGatewayProxyEvent) => {
    if (!api) {
      const runtime = await runtimeFromEnv();
      api = createApiHandler(bindingsFor(runtime), { idempotency: () => runtime.idempotency });
    }
    return api(event);
  });
}
