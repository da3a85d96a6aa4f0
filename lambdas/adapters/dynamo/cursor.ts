import { createHmac, timingSafeEqual } from 'node:crypto';
import { DomainError } from '../../domain/errors.ts';

/** A list cursor that this store did not issue for this tenant and this query: the API answers 400. */
export class InvalidCursorError extends DomainError {
  constructor(message = 'the cursor is not valid for this query') {
    super('INVALID_PARAMETERS', message, { parameter: 'cursor' });
    this.name = 'InvalidCursorError';
  }
}

/** Where a page ended: the next page starts after this job id. */
export interface CursorPosition {
  after: string;
}

/**
 * Cursors are `<payload>.<signature>`, both base64url. The signature is an HMAC-SHA256 over the tenant,
 * a fingerprint of the query and the payload, so a cursor cannot be forged, read back by another
 * tenant, or replayed with other filters (which would silently skip or repeat jobs).
 */
export class CursorCodec {
  readonly #secret: Buffer;

  constructor(secret: string | Uint8Array) {
    this.#secret = Buffer.from(secret);
    if (this.#secret.length < 16) throw new RangeError('the cursor secret must be at least 16 bytes');
  }

  encode(tenant: string, queryFingerprint: string, position: CursorPosition): string {
    const payload = Buffer.from(JSON.stringify(position)).toString('base64url');
    return `${payload}.${this.#sign(tenant, queryFingerprint, payload).toString('base64url')}`;
  }

  /** Throws InvalidCursorError unless `cursor` came from `encode` with the same tenant and fingerprint. */
  decode(tenant: string, queryFingerprint: string, cursor: string): CursorPosition {
    const [payload, signature, ...rest] = cursor.split('.');
    if (payload === undefined || signature === undefined || rest.length > 0) throw new InvalidCursorError();
    const expected = this.#sign(tenant, queryFingerprint, payload);
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new InvalidCursorError();

    const position: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    if (!isPosition(position)) throw new InvalidCursorError();
    return position;
  }

  #sign(tenant: string, queryFingerprint: string, payload: string): Buffer {
    // A JSON array keeps the parts apart: no two different triples sign the same message.
    return createHmac('sha256', this.#secret)
      .update(JSON.stringify([tenant, queryFingerprint, payload]))
      .digest();
  }
}

function isPosition(value: unknown): value is CursorPosition {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as CursorPosition).after === 'string' &&
    (value as CursorPosition).after.length > 0
  );
}
