import type { APIGatewayProxyResult } from 'aws-lambda';
import type { ErrorEnvelope, Seed002Error, Seed004Error } from '../../contracts/errors.ts';
import type { InferenceError } from '../../contracts/inference.ts';
import { echoOf } from '../../contracts/inference-vocabulary.ts';
import { codeInFormat, ERROR_STATUS, type ErrorCode, type ErrorFormat } from '../../contracts/vocabulary.ts';
import type { DomainError } from '../domain/errors.ts';

/** A body that is not JSON: the docs pages and their scripts. */
export class RawBody {
  constructor(
    readonly body: string,
    readonly contentType: string,
    readonly cacheSeconds = 0,
  ) {}
}

/** The other answer of a route that declares `accepted`: 202, its body, and where to poll. */
export class Accepted<T = unknown> {
  constructor(readonly body: T) {}
}

/** Answers 202 instead of the route's 200 (routes with `accepted` only). */
export const accepted = <T>(body: T): Accepted<T> => new Accepted(body);

const baseHeaders = (requestId: string): Record<string, string> => ({
  'x-request-id': requestId,
  'cache-control': 'no-store',
});

export function jsonResponse(
  status: number,
  body: unknown,
  requestId: string,
  extraHeaders: Record<string, string> = {},
): APIGatewayProxyResult {
  if (body instanceof RawBody) {
    return {
      statusCode: status,
      headers: {
        ...baseHeaders(requestId),
        'content-type': body.contentType,
        'cache-control': body.cacheSeconds > 0 ? `public, max-age=${body.cacheSeconds}` : 'no-store',
      },
      body: body.body,
    };
  }
  return {
    statusCode: status,
    headers: { ...baseHeaders(requestId), 'content-type': 'application/json', ...extraHeaders },
    body: JSON.stringify(body),
  };
}

/** What an error body may show besides the error: the request it answers (seed 003 echoes it). */
export interface ErrorContext {
  /** The request's body as JSON, when it could be read. */
  body?: unknown;
  now?: Date;
}

/** The body of an error in each format (contracts/vocabulary.ts `ErrorFormat`). */
const BODY_OF: Record<
  ErrorFormat,
  (
    code: ErrorCode,
    error: DomainError,
    context: ErrorContext,
  ) => ErrorEnvelope | Seed002Error | InferenceError | Seed004Error
> = {
  envelope: (code, error) => ({
    error: { code, message: error.message, ...(error.details ? { details: error.details } : {}) },
  }),
  seed002: (code, error) => ({
    error: code.toLowerCase() as Lowercase<ErrorCode>,
    message: error.message,
    details: error.details ?? {},
  }),
  // The code is the error's own (a model's failure stays `model_error`), whatever status it maps to.
  seed003: (_code, error, context) => {
    const readyAt = error.details?.estimated_ready_at;
    return {
      time: (context.now ?? new Date()).toISOString(),
      request: echoOf(context.body),
      error: error.message,
      code: error.code.toLowerCase(),
      ...(error.details ? { details: error.details } : {}),
      ...(typeof readyAt === 'string' ? { estimated_ready_at: readyAt } : {}),
    };
  },
  seed004: (code, error) => ({
    detail: {
      message: error.message,
      code: code.toLowerCase(),
      ...(error.details ? { details: error.details } : {}),
    },
  }),
};

/** An error answered in a route family's format: its body, and its status (the format may remap a code). */
export function errorResponse(
  error: DomainError,
  requestId: string,
  format: ErrorFormat = 'envelope',
  context: ErrorContext = {},
): APIGatewayProxyResult {
  const code = codeInFormat(error.code, format);
  const headers: Record<string, string> = error.retryAfter ? { 'retry-after': String(error.retryAfter) } : {};
  return jsonResponse(ERROR_STATUS[code], BODY_OF[format](code, error, context), requestId, headers);
}
