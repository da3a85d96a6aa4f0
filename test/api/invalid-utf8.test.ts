/**
 * Bodies that are not valid UTF-8, over real HTTP against the local platform: each is a 400 that
 * says so and where, and nothing is stored or started; text in any plane still round-trips.
 */
import { describe, expect, it } from 'vitest';
import { expectError, usePlatform } from '../support/platform.ts';

const fixture = usePlatform();

/** JSON text with raw bytes between two parts (bytes that no JavaScript string can hold). */
function jsonWithBytes(before: string, raw: number[], after: string): Uint8Array {
  return new Uint8Array(Buffer.concat([Buffer.from(before), Buffer.from(raw), Buffer.from(after)]));
}

const RUN = '"job_runs":[{"name":"shapes","param_values":{"frames":1,"image_width":64,"image_height":64}}]';

describe('a body that is not valid UTF-8', () => {
  it.each([
    ['POST /api/v1/batches', '/api/v1/batches', jsonWithBytes('{"name":"bad', [0xff, 0xfe], `",${RUN}}`), 12],
    [
      'POST /api/v1/jobs/standard',
      '/api/v1/jobs/standard',
      jsonWithBytes('{"name":"shapes","batch_name":"', [0xc0, 0xaf], '"}'),
      31,
    ],
    [
      'POST /api/v1/generators/shapes/random',
      '/api/v1/generators/shapes/random',
      jsonWithBytes('{"param_values":{"palette":"', [0xed, 0xa0, 0x80], '"}}'),
      28,
    ],
  ])(
    '%s answers 400 INVALID_REQUEST with the offset of the first bad byte',
    async (_, path, body, offset) => {
      // Act
      const answer = await fixture.api.request<{ error: { message: string; details: unknown } }>(
        'POST',
        path,
        {
          raw: body,
          headers: { 'content-type': 'application/json' },
        },
      );

      // Assess
      expectError(answer, 400, 'INVALID_REQUEST');
      expect(answer.body.error.message).toMatch(/not valid UTF-8/);
      expect(answer.body.error.details).toEqual({ byte_offset: offset });
    },
  );

  it('stores no batch and starts nothing', async () => {
    // Prepare
    const body = jsonWithBytes('{"name":"bad', [0xff, 0xfe, 0x80], `",${RUN}}`);

    // Act
    const submitted = await fixture.api.request('POST', '/api/v1/batches', {
      raw: body,
      headers: { 'content-type': 'application/json', 'idempotency-key': 'utf8-check-1' },
    });
    const batches = await fixture.api.get<{ batches: unknown[] }>('/api/v1/batches');

    // Assess
    expectError(submitted, 400, 'INVALID_REQUEST');
    expect(batches.status).toBe(200);
    expect(batches.body.batches).toEqual([]);
    expect(fixture.platform.workflows.generationBatch.executions.size).toBe(0);
  });

  it('leaves valid UTF-8 in every plane as it was sent', async () => {
    // Prepare
    const palette = 'naïve ✓ 漢字 😀';

    // Act
    const answer = await fixture.api.request<{ results: { value: unknown }[][] }>(
      'POST',
      '/api/v1/generators/shapes/validate',
      {
        raw: Buffer.from(JSON.stringify({ job_params: [{ palette }] })),
        headers: { 'content-type': 'application/json' },
      },
    );

    // Assess
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.results[0]?.[0]?.value).toBe(palette);
  });
});
