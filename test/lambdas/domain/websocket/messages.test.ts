/**
 * The WebSocket server messages on the wire: every one fits in one API Gateway frame (reliability
 * matrix T12, T36), shortened only in its free text, and progress follows the job's own.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERROR_STATUS, type ErrorCode } from '../../../../contracts/errors.ts';
import { ServerMessage, WEBSOCKET_LIMITS } from '../../../../contracts/websocket.ts';
import { newJobId } from '../../../../lambdas/adapters/ids.ts';
import { DomainError } from '../../../../lambdas/domain/errors.ts';
import type { ImageJobParams, ImageJobRecord } from '../../../../lambdas/domain/images/job-record.ts';
import {
  byteLength,
  encodeServerMessage,
  errorMessageOf,
  progressOf,
  shorten,
} from '../../../../lambdas/domain/websocket/messages.ts';
import { aJob, IMAGE_JOB_PARAMS } from '../../../support/jobs.ts';

const SEED = 20_260_601;
const LIMIT = WEBSOCKET_LIMITS.maxServerMessageBytes;

/** Any text at all: ASCII, the whole of Unicode, lone surrogates and control characters. */
const anyText = (maxLength: number) =>
  fc.oneof(
    // `size: 'max'`: lengths up to maxLength, not fast-check's default of a few characters.
    fc.string({ maxLength, unit: 'grapheme', size: 'max' }),
    fc.string({ maxLength, unit: 'binary', size: 'max' }),
    fc.string({ maxLength, size: 'max' }),
    fc.integer({ min: 0, max: maxLength }).map((n) => '\u0000"\\\ud800'.repeat(Math.ceil(n / 4)).slice(0, n)),
  );
const jobId = fc.constant(null).map(() => newJobId(new Date()));
const link = fc
  .string({ minLength: 1, maxLength: 2_000, unit: fc.constantFrom(...'abcdefXYZ0123456789%&=') })
  .map((query) => `https://outputs.s3.eu-west-1.amazonaws.com/t/jobs/x/image.png?${query}`);
const code = fc.constantFrom(...(Object.keys(ERROR_STATUS) as ErrorCode[]));

const serverMessage: fc.Arbitrary<ServerMessage> = fc.oneof(
  fc.record({
    type: fc.constant('result' as const),
    job_id: jobId,
    image_path: fc.constant('s3://outputs/t/jobs/x/image.png'),
    image_url: link,
    prompt: anyText(40_000),
  }),
  fc.record(
    {
      type: fc.constant('error' as const),
      code,
      message: anyText(40_000),
      details: fc.dictionary(fc.string({ maxLength: 20 }), anyText(8_000), { maxKeys: 4 }),
      job_id: jobId,
      status: fc.constantFrom('failed' as const, 'cancelled' as const),
      request_id: fc.string({ minLength: 1, maxLength: 64 }),
    },
    { requiredKeys: ['type', 'code', 'message'] },
  ),
  fc.record({
    type: fc.constant('progress' as const),
    job_id: jobId,
    step: fc.nat(150),
    total_steps: fc.integer({ min: 150, max: 150 }),
    progress: fc.double({ min: 0, max: 1, noNaN: true }),
    status: fc.constantFrom('pending' as const, 'running' as const, 'completed' as const),
    phase: fc.constantFrom('queued' as const, 'warming' as const, 'generating' as const, 'done' as const),
  }),
);

describe('encodeServerMessage', () => {
  it('fits every message in one 32 KB frame, keeps it valid, and shortens only its free text (1,000 runs)', () => {
    let shortened = 0;
    fc.assert(
      fc.property(serverMessage, (message) => {
        // Act
        const encoded = encodeServerMessage(message);
        if (encoded !== JSON.stringify(message)) shortened++;

        // Assess
        expect(byteLength(encoded)).toBeLessThanOrEqual(LIMIT);
        const decoded = JSON.parse(encoded);
        expect(ServerMessage.safeParse(decoded).success).toBe(true);
        const { prompt: _p, message: _m, details: _d, ...fixed } = message as Record<string, unknown>;
        expect(decoded).toMatchObject(fixed);
        for (const field of ['prompt', 'message'] as const) {
          const original = (message as Record<string, unknown>)[field];
          if (typeof original !== 'string') continue;
          const sent = decoded[field] as string;
          if (sent === original) continue;
          // Shortened: a prefix of the original (never half a surrogate pair), then an ellipsis.
          expect(sent === '' || sent.endsWith('…')).toBe(true);
          expect(original.startsWith(sent.slice(0, -1))).toBe(true);
        }
        if (byteLength(JSON.stringify(message)) <= LIMIT) expect(encoded).toBe(JSON.stringify(message));
      }),
      { seed: SEED, numRuns: 1_000 },
    );
    // The runs did reach the limit, often.
    expect(shortened).toBeGreaterThan(100);
  });

  it('sends a 2,000-character prompt (the longest there is) whole', () => {
    const prompt = '雪'.repeat(2_000);
    const encoded = encodeServerMessage({
      type: 'result',
      job_id: newJobId(new Date()),
      image_path: 's3://b/k',
      image_url: `https://b.s3.amazonaws.com/k?${'X'.repeat(1_500)}`,
      prompt,
    });
    expect(JSON.parse(encoded).prompt).toBe(prompt);
  });

  it('never cuts a surrogate pair in half', () => {
    expect(shorten('ab😀cd', 3)).toBe('ab…');
    expect(shorten('ab😀cd', 4)).toBe('ab😀…');
    expect(shorten('abc', 5)).toBe('abc');
  });
});

describe('progressOf', () => {
  const job = ({
    params,
    ...patch
  }: Partial<Omit<ImageJobRecord, 'params'>> & { params?: Partial<ImageJobParams> }) =>
    aJob(
      {
        ...patch,
        tenant: 't',
        kind: 'image',
        params: { ...IMAGE_JOB_PARAMS, prompt: 'x', num_inference_steps: 50, ...params },
      },
      new Date('2031-01-01T00:00:00.000Z'),
    );
  const inference = (instancesAtInvoke: number) => ({
    endpointName: 'e',
    taskToken: 't',
    invokedAt: '2031-01-01T00:00:00.000Z',
    instancesAtInvoke,
  });

  it('derives the step from where the job stands: submitted 0, at the endpoint a tenth, done all', () => {
    expect(progressOf(job({}))).toMatchObject({ step: 0, total_steps: 50, progress: 0, phase: 'queued' });
    expect(progressOf(job({ status: 'running', progress: 10, inference: inference(0) }))).toMatchObject({
      step: 5,
      progress: 0.1,
      phase: 'warming',
    });
    expect(progressOf(job({ status: 'running', progress: 10, inference: inference(1) }))).toMatchObject({
      step: 5,
      phase: 'generating',
    });
    expect(progressOf(job({ status: 'completed', progress: 100 }))).toMatchObject({
      step: 50,
      total_steps: 50,
      progress: 1,
      status: 'completed',
      phase: 'done',
    });
  });

  it('never decreases along a job’s life, whatever its step count', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 150 }),
        fc.array(fc.nat(100), { maxLength: 10 }),
        (steps, raw) => {
          const path = [...raw].sort((a, b) => a - b);
          const messages = [
            job({ params: { num_inference_steps: steps } }),
            ...path.map((progress) =>
              job({ status: 'running', progress, params: { num_inference_steps: steps } }),
            ),
            job({ status: 'completed', progress: 100, params: { num_inference_steps: steps } }),
          ].map(progressOf);
          for (let i = 1; i < messages.length; i++) {
            expect(messages[i]?.progress).toBeGreaterThanOrEqual(messages[i - 1]?.progress ?? 0);
            expect(messages[i]?.step).toBeGreaterThanOrEqual(messages[i - 1]?.step ?? 0);
          }
          expect(messages.at(-1)).toMatchObject({ step: steps, total_steps: steps, progress: 1 });
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });
});

describe('errorMessageOf', () => {
  it('keeps a domain error’s code, message and details, and hides anything else', () => {
    expect(errorMessageOf(new DomainError('MODEL_ERROR', 'CUDA out of memory', { code: 'X' }))).toEqual({
      type: 'error',
      code: 'MODEL_ERROR',
      message: 'CUDA out of memory',
      details: { code: 'X' },
    });
    expect(errorMessageOf(new Error('connect ECONNREFUSED 10.0.0.1:443'), { request_id: 'r' })).toEqual({
      type: 'error',
      code: 'INTERNAL',
      message: 'internal error',
      request_id: 'r',
    });
  });
});
