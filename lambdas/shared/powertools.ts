import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

export { logger } from './logger.ts';

// Built once per process: every handler in a Lambda container shares them.
const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'synthforge';

export const tracer = new Tracer({ serviceName });
export const metrics = new Metrics({
  serviceName,
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'SynthForge',
});
