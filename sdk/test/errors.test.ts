/**
 * `SynthForgeError.fromResponse` reads every error body the API answers: seed 001's envelope, on
 * the training routes seed 002's `{"error": "<type>", "message", "details"}`, and on the inference
 * routes seed 003's `{time, request, error, code}`; the code a program tests is the same for all.
 */
import { describe, expect, it } from 'vitest';
import { SynthForgeError } from '../src/errors.ts';

const headers = new Headers({ 'x-request-id': 'request-1', 'retry-after': '5' });

describe('SynthForgeError.fromResponse', () => {
  it("reads seed 002's body with the envelope's code, details and Retry-After", () => {
    // Act
    const error = SynthForgeError.fromResponse(
      503,
      JSON.stringify({
        error: 'unavailable',
        message: 'training cannot run here',
        details: { reason: 'no torch' },
      }),
      headers,
    );

    // Assess
    expect(error).toMatchObject({
      status: 503,
      code: 'UNAVAILABLE',
      message: 'training cannot run here',
      details: { reason: 'no torch' },
      requestId: 'request-1',
      retryAfterMs: 5_000,
      retryable: true,
    });
  });

  it("reads seed 003's wrapper: its error as the message, its code upper-cased, a waking model's ready time", () => {
    // Act
    const error = SynthForgeError.fromResponse(
      503,
      JSON.stringify({
        time: '2026-11-22T10:00:00.000Z',
        request: { text: 'hi', frames_count: 0, media_type: 'image', max_tokens: 64, temperature: 0.1 },
        error: 'model qwen2-vl-7b is scaled to zero and waking',
        code: 'unavailable',
        estimated_ready_at: '2026-11-22T10:02:00.000Z',
      }),
      headers,
    );

    // Assess
    expect(error).toMatchObject({
      status: 503,
      code: 'UNAVAILABLE',
      message: 'model qwen2-vl-7b is scaled to zero and waking',
      details: undefined,
      requestId: 'request-1',
      retryAfter: 5,
      retryAfterMs: 5_000,
      estimatedReadyAt: '2026-11-22T10:02:00.000Z',
      retryable: true,
    });
  });

  it('reads the envelope as before', () => {
    // Act
    const error = SynthForgeError.fromResponse(
      404,
      JSON.stringify({
        error: { code: 'NOT_FOUND', message: 'job "x" was not found', details: { job: 'x' } },
      }),
      headers,
    );

    // Assess
    expect(error).toMatchObject({ status: 404, code: 'NOT_FOUND', details: { job: 'x' }, retryable: false });
  });

  it('keeps an answer in neither shape as HTTP_ERROR with an excerpt', () => {
    // Act
    const error = SynthForgeError.fromResponse(502, '<html>Bad Gateway</html>', new Headers());

    // Assess
    expect(error).toMatchObject({
      status: 502,
      code: 'HTTP_ERROR',
      message: 'HTTP 502: <html>Bad Gateway</html>',
    });
  });
});
