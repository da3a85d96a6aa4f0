import { InferenceError } from './inference.ts';
import { ERROR_STATUS, type ErrorCode, type ErrorFormat } from './vocabulary.ts';
import * as z from './zod.ts';

export { ERROR_STATUS, type ErrorCode, type ErrorFormat };

export const ErrorCodeSchema = z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]);

/** The one error envelope of seed 001: `{"error": {"code", "message", "details"}}`. */
export const ErrorEnvelope = z
  .object({
    error: z.object({
      code: ErrorCodeSchema,
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .openapi('Error');
export type ErrorEnvelope = z.infer<typeof ErrorEnvelope>;

/**
 * Seed 002's error body, on the training routes: `{"error": "<type>", "message", "details"}`. The
 * type is the code of the envelope in lower case, so one list of codes serves both.
 */
export const Seed002Error = z
  .object({
    error: z
      .enum(
        Object.keys(ERROR_STATUS).map((code) => code.toLowerCase()) as [
          Lowercase<ErrorCode>,
          ...Lowercase<ErrorCode>[],
        ],
      )
      .describe(
        'the error type: validation_error (422), not_found (404), forbidden (403), illegal_state (409), …',
      ),
    message: z.string().describe('what went wrong, for a person'),
    details: z
      .record(z.string(), z.unknown())
      .describe('context: for invalid input the parameter, the value and the constraint'),
  })
  .openapi('TrainingError');
export type Seed002Error = z.infer<typeof Seed002Error>;

/**
 * Seed 004's error body, FastAPI's `detail`, as the avatars client reads it: `detail.message` is what
 * it shows. An invalid set's `details.errors` lists each document and field at fault.
 */
export const Seed004Error = z
  .object({
    detail: z.object({
      message: z.string().describe('what went wrong, for a person'),
      code: z.string().describe('the error code in lower case: invalid_parameters, not_found, …'),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .openapi('AvatarsError');
export type Seed004Error = z.infer<typeof Seed004Error>;

/** The error body of each format (contracts/vocabulary.ts `ErrorFormat`). */
export const ERROR_BODY: Readonly<Record<ErrorFormat, z.ZodType>> = {
  envelope: ErrorEnvelope,
  seed002: Seed002Error,
  seed003: InferenceError,
  seed004: Seed004Error,
};
