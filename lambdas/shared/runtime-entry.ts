/** Entry points for API routes that use the AWS-backed runtime (tables, bucket, workflows, bus). */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { type ApiHandler, createApiHandler, type RouteBinding } from '../http/api-handler.ts';
import { type CoreRuntime, type RuntimeBuilder, runtimeFromEnvOnce } from '../runtime/core.ts';
import { coreOnly, type LambdaEntry, withPowertools } from './lambda-entry.ts';

type ApiEntry = LambdaEntry<APIGatewayProxyEvent, APIGatewayProxyResult>;

/** An API Gateway entry point for a family of routes over the core runtime alone. */
export function apiEntry(bindingsFor: (runtime: CoreRuntime) => RouteBinding[]): ApiEntry;
/**
 * An API Gateway entry point for a family of routes, over the runtime `build` composes from the
 * function's environment (the core with the parts of the families its routes use).
 */
export function apiEntry<R extends CoreRuntime>(
  bindingsFor: (runtime: R) => RouteBinding[],
  build: RuntimeBuilder<R>,
): ApiEntry;
export function apiEntry<R extends CoreRuntime>(
  bindingsFor: (runtime: R) => RouteBinding[],
  // Only the first signature leaves it out, and its routes take the core.
  build = coreOnly as RuntimeBuilder<R>,
): ApiEntry {
  const runtimeFromEnv = runtimeFromEnvOnce(build);
  let api: ApiHandler | undefined;
  return withPowertools(async (event: APIGatewayProxyEvent) => {
    if (!api) {
      const runtime = await runtimeFromEnv();
      api = createApiHandler(bindingsFor(runtime), {
        idempotency: () => runtime.idempotency,
        rateLimiter: () => runtime.rateLimiter,
      });
    }
    return api(event);
  });
}
