/**
 * The Powertools tracer and its handler middleware. Imported only where tracing is on
 * (powertools.ts `tracingEnabled`): importing it loads the X-Ray SDK, whose async hooks (cls-hooked)
 * cost every request, traced or not.
 */
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { serviceName } from './logger.ts';

export const tracer = new Tracer({ serviceName });

/** The middleware that opens a subsegment around each invocation. */
export function captureHandler() {
  return captureLambdaHandler(tracer);
}
