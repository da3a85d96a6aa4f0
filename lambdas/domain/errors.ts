import { ERROR_STATUS, type ErrorCode } from '../../contracts/vocabulary.ts';

/**
 * An error the API answers in its documented envelope. The domain throws these; the HTTP layer
 * turns them into `{"error": {code, message, details}}` with the status fixed for the code.
 */
export class DomainError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    /** Seconds, for 429 and 503. */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'DomainError';
    this.status = ERROR_STATUS[code];
  }
}

export const notFound = (what: string, id: string) =>
  new DomainError('NOT_FOUND', `${what} ${JSON.stringify(id)} was not found`, { [what]: id });

export const invalidParameters = (message: string, details: Record<string, unknown>) =>
  new DomainError('INVALID_PARAMETERS', message, details);

export const illegalState = (message: string, details: Record<string, unknown>) =>
  new DomainError('ILLEGAL_STATE', message, details);

export const unavailable = (message: string, details: Record<string, unknown>, retryAfter?: number) =>
  new DomainError('UNAVAILABLE', message, details, retryAfter);

/**
 * A service's message with its ARNs and account ids taken out: such a message can reach a caller (a
 * Bedrock or SageMaker AccessDeniedException names the role's ARN, and so the account; an endpoint's
 * failure reason names its resources), and no answer may carry either.
 */
export const withoutAwsIdentifiers = (message: string): string =>
  message.replace(/\barn:aws[\w-]*:[^\s"',)]*/gi, '<arn>').replace(/\b\d{12}\b/g, '<account>');
