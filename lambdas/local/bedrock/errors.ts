/**
 * Bedrock Runtime's errors: the types, the status each is answered with, and the exceptions
 * ConverseStream sends inside its stream instead once it has answered 200.
 */
import { encodeException } from '../support/event-stream.ts';

/** Bedrock's error types and the status each comes with. */
export const ERROR_STATUS = {
  ValidationException: 400,
  ServiceQuotaExceededException: 400,
  AccessDeniedException: 403,
  ResourceNotFoundException: 404,
  ModelTimeoutException: 408,
  ModelErrorException: 424,
  /** Sent only inside a stream. */
  ModelStreamErrorException: 424,
  ModelNotReadyException: 429,
  ThrottlingException: 429,
  InternalServerException: 500,
  ServiceUnavailableException: 503,
} as const;
export type BedrockErrorType = keyof typeof ERROR_STATUS;

/** The exceptions ConverseStream can send inside its stream, by their member names. */
export type StreamExceptionType =
  | 'internalServerException'
  | 'modelStreamErrorException'
  | 'validationException'
  | 'throttlingException'
  | 'serviceUnavailableException';
const STREAM_EXCEPTIONS: Record<string, StreamExceptionType> = {
  InternalServerException: 'internalServerException',
  ModelStreamErrorException: 'modelStreamErrorException',
  ValidationException: 'validationException',
  ThrottlingException: 'throttlingException',
  ServiceUnavailableException: 'serviceUnavailableException',
};

/** An error as Bedrock answers it; the runtime and the model backends throw it to answer with it. */
export class BedrockError extends Error {
  readonly status: number;

  constructor(
    readonly type: string,
    message: string,
    status?: number,
  ) {
    super(message);
    this.name = type;
    this.status = status ?? ERROR_STATUS[type as BedrockErrorType] ?? 500;
  }
}

/** A model's own error (not a BedrockError) is ModelErrorException, as Bedrock reports a model's failure. */
export function asBedrockError(error: unknown): BedrockError {
  if (error instanceof BedrockError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new BedrockError('ModelErrorException', `The model failed: ${message}`);
}

/**
 * A failure inside a stream as the exception Bedrock sends there; a type the stream has no member for
 * is the model's stream error, with its status and message as the original ones.
 */
export function streamException(error: BedrockError): Uint8Array {
  const type = STREAM_EXCEPTIONS[error.type] ?? 'modelStreamErrorException';
  if (type !== 'modelStreamErrorException') return encodeException(type, { message: error.message });
  return encodeException(type, {
    message: error.message,
    originalStatusCode: error.status,
    originalMessage: error.message,
  });
}
