import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The Powertools logger, built once per process. On its own so that code that only logs (the
 * authorizer, the HTTP layer, the local platform) does not load the tracer and its X-Ray SDK.
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'synthforge' });
