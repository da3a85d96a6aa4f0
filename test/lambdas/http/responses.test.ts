/**
 * Every domain error, in every route family's format, is a body of that format's documented schema
 * with the status the format gives its code: the one mapping behind seed 001's envelope and seed
 * 002's `{"error": "<type>", "message", "details"}`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERROR_BODY, ERROR_STATUS, type ErrorCode, type ErrorFormat } from '../../../contracts/errors.ts';
import { DomainError } from '../../../lambdas/domain/errors.ts';
import { errorResponse } from '../../../lambdas/http/responses.ts';

const codes = Object.keys(ERROR_STATUS) as ErrorCode[];
const formats: ErrorFormat[] = ['envelope', 'seed002'];
const details = fc.option(fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 })), {
  nil: undefined,
});

describe('errorResponse', () => {
  it('writes every error as its format documents it, with the status of the code it answers', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...codes),
        fc.string(),
        details,
        fc.constantFrom(...formats),
        (code, message, extra, format) => {
          // Act
          const response = errorResponse(new DomainError(code, message, extra), 'request-1', format);
          const body = JSON.parse(response.body);

          // Assess
          expect(ERROR_BODY[format].safeParse(body).success, response.body).toBe(true);
          expect(response.headers?.['content-type']).toBe('application/json');
          const answered: string = format === 'seed002' ? body.error.toUpperCase() : body.error.code;
          expect(response.statusCode).toBe(ERROR_STATUS[answered as ErrorCode]);
          expect(format === 'seed002' ? body.message : body.error.message).toBe(message);
        },
      ),
    );
  });

  it.each([
    ['INVALID_PARAMETERS', 400, 422, 'validation_error'],
    ['INVALID_REQUEST', 400, 422, 'validation_error'],
    ['NOT_FOUND', 404, 404, 'not_found'],
    ['ILLEGAL_STATE', 409, 409, 'illegal_state'],
    ['IDEMPOTENCY_KEY_REUSED', 422, 422, 'idempotency_key_reused'],
  ] as const)(
    '%s: %i in the envelope, %i %s in seed 002’s body',
    (code, envelopeStatus, seedStatus, type) => {
      // Act
      const envelope = errorResponse(new DomainError(code, 'why'), 'request-1', 'envelope');
      const seed002 = errorResponse(new DomainError(code, 'why'), 'request-1', 'seed002');

      // Assess
      expect(envelope.statusCode).toBe(envelopeStatus);
      expect(JSON.parse(envelope.body)).toEqual({ error: { code, message: 'why' } });
      expect(seed002.statusCode).toBe(seedStatus);
      expect(JSON.parse(seed002.body)).toEqual({ error: type, message: 'why', details: {} });
    },
  );
});
