import { Metrics } from '@aws-lambda-powertools/metrics';
import { serviceName } from './logger.ts';

export { logger } from './logger.ts';

// Built once per process: every handler in a Lambda container shares them.
export const metrics = new Metrics({
  serviceName,
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'SynthForge',
});

/**
 * Whether Powertools' Tracer would trace in this environment, decided as it decides (Tracer
 * `setTracingEnabled`): not when `POWERTOOLS_TRACE_ENABLED` is `false`, and only inside Lambda
 * (`AWS_EXECUTION_ENV` set), never under SAM local or Amplify's mock. Decided before loading the
 * tracer: loading the X-Ray SDK installs async hooks that cost every request even with tracing off.
 */
export function tracingEnabled(env: Record<string, string | undefined> = process.env): boolean {
  if ((env.POWERTOOLS_TRACE_ENABLED ?? '').toLowerCase() === 'false') return false;
  const executionEnv = env.AWS_EXECUTION_ENV ?? '';
  return executionEnv !== '' && executionEnv !== 'AWS_Lambda_amplify-mock' && !env.AWS_SAM_LOCAL;
}
