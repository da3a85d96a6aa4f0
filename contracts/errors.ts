import { ERROR_STATUS, type ErrorCode } from './vocabulary.ts';
import * as z from './zod.ts';

export { ERROR_STATUS, type ErrorCode };

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
