import { Logger } from '@aws-lambda-powertools/logger';

/** The service every log line, metric and trace names (the stack sets it on each function). */
export const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'synthforge';

/**
 * The Powertools logger, built once per process. On its own so that code that only logs (the
 * authorizer, the HTTP layer, the local platform) does not load the metrics library.
 */
export const logger = new Logger({ serviceName });
