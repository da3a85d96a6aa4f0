import type { APIGatewayProxyResult } from 'aws-lambda';
import type { ErrorEnvelope, Seed002Error } from '../../contracts/errors.ts';
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

/** The body of an error in each format (contracts/vocabulary.ts `ErrorFormat`). */
const BODY_OF: Record<ErrorFormat, (code: ErrorCode, error: DomainError) => ErrorEnvelope | Seed002Error> = {
  envelope: (code, error) => ({
    error: { code, message: error.message, ...(error.details ? { details: error.details } : {}) },
  }),
  seed002: (code, error) => ({
    error: code.toLowerCase() as Lowercase<ErrorCode>,
    message: error.message,
    details: error.details ?? {},
  }),
};

/** An error answered in a route family's format: its body, and its status (the format may remap a code). */
export function errorResponse(
  error: DomainError,
  requestId: string,
  format: ErrorFormat = 'envelope',
): APIGatewayProxyResult {
  const code = codeInFormat(error.code, format);
  const headers: Record<string, string> = error.retryAfter ? { 'retry-after': String(error.retryAfter) } : {};
  return jsonResponse(ERROR_STATUS[code], BODY_OF[format](code, error), requestId, headers);
}
