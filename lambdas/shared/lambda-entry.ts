/**
 * How every Lambda entry point is made: Powertools (logger context, tracing, metrics) around a
 * handler that is built on the first invocation, so that importing a handler module never needs
 * its environment (the local platform and the tests import them freely). Entries that need AWS
 * services use runtime-entry.ts; this module imports no AWS client, so the public and generator
 * bundles carry none.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { type ApiHandler, createApiHandler, type RouteBinding } from '../http/api-handler.ts';
import { logger, metrics, tracer } from './powertools.ts';

/** `emitsMetrics`: only then is the metrics middleware added (it warns on every empty flush). */
export function withPowertools<E, R>(handler: (event: E) => Promise<R>, emitsMetrics = true) {
  const wrapped = middy(handler)
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger, { resetKeys: true }));
  return emitsMetrics ? wrapped.use(logMetrics(metrics)) : wrapped;
}

/** An API Gateway entry point for routes that need no AWS service. */
export function staticApiEntry(bindings: () => RouteBinding[]) {
  let api: ApiHandler | undefined;
  return withPowertools(async (event: APIGatewayProxyEvent) => {
    api ??= createApiHandler(bindings());
    return api(event);
  }, false);
}
