/**
 * How every Lambda entry point is made: Powertools (logger context, tracing, metrics) around a
 * handler that is built on the first invocation, so that importing a handler module never needs
 * its environment (the local platform and the tests import them freely). The entries themselves
 * live apart, so each bundle carries only what its kind needs: static-api-entry.ts (no AWS client),
 * runtime-entry.ts (API routes on the runtime), task-entry.ts (no HTTP layer, no schema library).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { CoreRuntime, RuntimeBuilder } from '../runtime/core.ts';
import { logger, metrics, tracingEnabled } from './powertools.ts';

// Loaded while the module loads (in Lambda, during Init), and only where tracing is on: locally,
// in the tests and in the benchmark the X-Ray SDK and its async hooks are never loaded.
const tracing = tracingEnabled() ? await import('./tracing.ts') : undefined;

/** `emitsMetrics`: only then is the metrics middleware added (it warns on every empty flush). */
export function withPowertools<E, R>(handler: (event: E) => Promise<R>, emitsMetrics = true) {
  const wrapped = middy(handler);
  if (tracing) wrapped.use(tracing.captureHandler());
  wrapped.use(injectLambdaContext(logger, { resetKeys: true }));
  return emitsMetrics ? wrapped.use(logMetrics(metrics)) : wrapped;
}

export type LambdaEntry<E, R> = ReturnType<typeof withPowertools<E, R>>;

/** The runtime of a function that uses no family's part: the core alone. */
export const coreOnly: RuntimeBuilder<CoreRuntime> = (core) => core;
