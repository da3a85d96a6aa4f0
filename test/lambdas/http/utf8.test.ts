import { isUtf8 } from 'node:buffer';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { routes } from '../../../contracts/routes.ts';
import { bind, createApiHandler, MAX_BODY_BYTES } from '../../../lambdas/http/api-handler.ts';
import { decodeUtf8, firstInvalidUtf8 } from '../../../lambdas/http/utf8.ts';
import { loadEvent } from '../../support/fixtures.ts';

const bytes = (...values: number[]) => Uint8Array.from(values);

/** Bytes that are mostly UTF-8 text, with stray bytes spliced in: the interesting cases for a decoder. */
const mostlyText = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }).map((text) => Buffer.from(text)) },
      { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 3 }).map((raw) => Buffer.from(raw)) },
    ),
    { maxLength: 8 },
  )
  .map((parts) => new Uint8Array(Buffer.concat(parts)));
const anyBytes = fc.oneof(mostlyText, fc.uint8Array({ maxLength: 32 }));

describe('decodeUtf8', () => {
  it('decodes text in every plane, and keeps a byte-order mark for JSON.parse to refuse', () => {
    // Prepare
    const text = '\ufeff{"name": "naïve ✓ 漢字 😀"}';

    // Act
    const decoded = decodeUtf8(Buffer.from(text));

    // Assess
    expect(decoded).toEqual({ ok: true, text });
  });

  it.each([
    ['a stray byte after text', bytes(0x61, 0x62, 0x63, 0xff, 0xfe), 3],
    ['a lone continuation byte', bytes(0x7b, 0x80), 1],
    ['an overlong encoding of "/"', bytes(0x41, 0xc0, 0xaf), 1],
    ['an overlong three-byte form', bytes(0xe0, 0x80, 0xaf), 0],
    ['an encoded UTF-16 surrogate', bytes(0x20, 0xed, 0xa0, 0x80), 1],
    ['a code point above U+10FFFF', bytes(0xf4, 0x90, 0x80, 0x80), 0],
    ['a sequence cut short by the end', bytes(0x61, 0xe2, 0x82), 1],
    ['a sequence cut short by ASCII', bytes(0xe2, 0x82, 0x41), 0],
    ['a lead byte never used (0xf5)', bytes(0xf5, 0x80, 0x80, 0x80), 0],
  ])('refuses %s, giving the offset where it starts', (_, input, offset) => {
    // Act
    const decoded = decodeUtf8(input);

    // Assess
    expect(decoded).toEqual({ ok: false, offset });
  });

  it('for any bytes, decodes exactly the well-formed ones, as Buffer would when nothing is replaced', () => {
    fc.assert(
      fc.property(anyBytes, (input) => {
        // Act
        const decoded = decodeUtf8(input);

        // Assess: node:buffer's isUtf8 (simdutf) is the oracle.
        expect(decoded.ok).toBe(isUtf8(input));
        if (decoded.ok) expect(decoded.text).toBe(Buffer.from(input).toString('utf8'));
      }),
      { numRuns: 2_000 },
    );
  });

  it('for any invalid bytes, the offset ends a well-formed prefix and starts no well-formed sequence', () => {
    fc.assert(
      fc.property(anyBytes, (input) => {
        fc.pre(!isUtf8(input));

        // Act
        const offset = firstInvalidUtf8(input);

        // Assess
        expect(offset).toBeGreaterThanOrEqual(0);
        expect(isUtf8(input.subarray(0, offset))).toBe(true);
        for (let length = 1; length <= 4 && offset + length <= input.length; length++) {
          expect(isUtf8(input.subarray(offset, offset + length))).toBe(false);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('finds nothing invalid in the encoding of any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        // Act + Assess: lone surrogates are encoded as U+FFFD by Buffer, so every encoding is well formed.
        expect(firstInvalidUtf8(Buffer.from(text))).toBe(-1);
      }),
    );
  });
});

describe('the API handler', () => {
  const received: unknown[] = [];
  const handler = createApiHandler([
    bind(routes.submitBatch, async ({ body }) => {
      received.push(body);
      return { ok: true } as never;
    }),
  ]);
  /** The POST /api/v1/batches proxy event, with `body` as bytes in base64 as a binary body arrives. */
  const bytesEvent = (body: Uint8Array): APIGatewayProxyEvent => ({
    ...loadEvent<APIGatewayProxyEvent>('apigateway/rest-proxy-post.json'),
    body: Buffer.from(body).toString('base64'),
    isBase64Encoded: true,
  });
  const RUNS = '"job_runs":[{"name":"shapes"}]';

  it('reads a body of UTF-8 bytes with its characters intact', async () => {
    // Prepare
    received.length = 0;

    // Act
    const response = await handler(bytesEvent(Buffer.from(`{"name":"naïve ✓ 😀",${RUNS}}`)));

    // Assess
    expect(response.statusCode, response.body).toBe(202);
    expect(received).toMatchObject([{ name: 'naïve ✓ 😀' }]);
  });

  it('answers 400 INVALID_REQUEST naming the offset of the first invalid byte, and runs nothing', async () => {
    // Prepare
    received.length = 0;
    const body = Buffer.concat([Buffer.from('{"name":"bad'), bytes(0xff, 0xfe), Buffer.from(`",${RUNS}}`)]);

    // Act
    const response = await handler(bytesEvent(body));

    // Assess
    expect(response.statusCode).toBe(400);
    const { error } = JSON.parse(response.body);
    expect(error).toMatchObject({ code: 'INVALID_REQUEST', details: { byte_offset: 12 } });
    expect(error.message).toMatch(/not valid UTF-8/);
    expect(received).toEqual([]);
  });

  it('answers 413 for a base64 body whose bytes are over the limit', async () => {
    // Act
    const response = await handler(bytesEvent(new Uint8Array(MAX_BODY_BYTES + 1).fill(0x20)));

    // Assess
    expect(response.statusCode).toBe(413);
  });
});
