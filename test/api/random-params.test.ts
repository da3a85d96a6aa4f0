/**
 * `POST /api/v1/generators/{name}/random` over real HTTP: the kept `param_values` pass the
 * validation a job run with them passes, or get the 400 that job run gets; every set it answers
 * with passes validation. Bodies are sent as raw text, so that JSON only a client can write
 * (`1e400`, escaped lone surrogates) reaches the server as it was written.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ParamValues, ParamViolation } from '../../contracts/generators.ts';
import { getGenerator } from '../../lambdas/domain/generators/catalogue.ts';
import { validateJobs, validateParams } from '../../lambdas/domain/generators/params.ts';
import { type ApiResponse, expectError, usePlatform } from '../support/platform.ts';

const fixture = usePlatform();

/** Fixed so that a failure can be replayed; override with FC_SEED=<n>. */
const SEED = Number(process.env.FC_SEED ?? 20_261_207);

const shapes = getGenerator('shapes');
if (!shapes) throw new Error('the catalogue has no shapes generator');
const SHAPES = shapes;

interface InvalidKept {
  details: {
    generator: string;
    parameter: string;
    value: unknown;
    constraint: string;
    violations: ParamViolation[];
  };
}
interface BatchRefusal {
  details: { job_runs: { index: number; violations: ParamViolation[] }[] };
}

const postRaw = <T>(path: string, raw: string): Promise<ApiResponse<T>> =>
  fixture.api.request<T>('POST', path, { raw, headers: { 'content-type': 'application/json' } });

/** `param_values` as JSON text: the marker strings become numbers JSON.stringify cannot write. */
function paramValuesJson(values: Record<string, unknown>): string {
  return JSON.stringify(values).replaceAll('"__+INF__"', '1e400').replaceAll('"__-INF__"', '-1e400');
}

/** What `param_values` mean once the server has parsed them. */
const parsed = (json: string) => JSON.parse(json) as Record<string, unknown>;

/** A JSON round trip, as the answer's details make one. */
const asJson = <T>(value: T): T => JSON.parse(JSON.stringify(value));

describe('POST /api/v1/generators/shapes/random', () => {
  it.each([
    ['a number beyond a double (1e400)', '{"frames": 1e400}', 'frames', 'Infinity', 'an integer'],
    ['a string for an integer', '{"frames": "x"}', 'frames', 'x', 'an integer'],
    ['a number for a choice', '{"classes": 5}', 'classes', 5, 'a string'],
    [
      'a lone surrogate for a choice',
      '{"palette": "\\ud800"}',
      'palette',
      '\ud800',
      expect.stringMatching(/^one of:/),
    ],
    [
      'a lone surrogate for output',
      '{"output": "\\udfffx"}',
      'output',
      '\udfffx',
      expect.stringMatching(/^one of:/),
    ],
    ['a huge negative number', '{"frames": -1e308}', 'frames', -1e308, '>= 1 and <= 64'],
    ['an unknown key', '{"colour": "red"}', 'colour', 'red', expect.stringMatching(/^one of: output, /)],
    [
      'values over the crop budget together',
      '{"output": "identity_crops", "identities": 500, "crops_per_identity": 200}',
      'crops_per_identity',
      200,
      expect.stringMatching(/^identities x crops_per_identity <= /),
    ],
  ])('answers %s with the 400 a job run with it gets', async (_, json, parameter, value, constraint) => {
    // Act
    const random = await postRaw<{ error: InvalidKept }>(
      '/api/v1/generators/shapes/random',
      `{"n": 3, "seed": 7, "param_values": ${json}}`,
    );
    const submission = await postRaw<{ error: BatchRefusal }>(
      '/api/v1/batches/estimate',
      `{"job_runs": [{"name": "shapes", "param_values": ${json}}]}`,
    );

    // Assess
    expectError(random, 400, 'INVALID_PARAMETERS');
    expectError(submission, 400, 'INVALID_PARAMETERS');
    expect(random.body.error.details).toMatchObject({ generator: 'shapes', parameter, value, constraint });
    expect(random.body.error.details.violations).toEqual(
      submission.body.error.details.job_runs[0]?.violations,
    );
    expect(random.body.error.details.violations).toEqual(asJson(validateParams(SHAPES, parsed(json))));
  });

  it('keeps one bound of a pair, drawing the other bound around it', async () => {
    // Act: min_objects 40 is above the default max_objects (8); random sets draw max_objects >= 40.
    const random = await postRaw<{ job_params: ParamValues[] }>(
      '/api/v1/generators/shapes/random',
      '{"n": 5, "seed": 3, "param_values": {"min_objects": 40}}',
    );

    // Assess
    expect(random.status, random.text).toBe(200);
    expect(random.body.job_params).toHaveLength(5);
    for (const values of random.body.job_params) {
      expect(values.min_objects).toBe(40);
      expect(values.max_objects).toBeGreaterThanOrEqual(40);
    }
    expect(validateJobs(SHAPES, random.body.job_params)).toEqual([null, null, null, null, null]);
  });

  it(`for any param_values answers the 400 of a job run with them, or n sets that all validate (seed ${SEED})`, async () => {
    const names = SHAPES.parameters.map((spec) => spec.name);
    const value = fc.oneof(
      fc.constantFrom(
        ...SHAPES.parameters.flatMap((spec) => [
          spec.default_value,
          spec.options?.min,
          spec.options?.max,
          ...(spec.options?.choices ?? []),
        ]),
      ),
      fc.integer({ min: -5, max: 3000 }),
      fc.double({ min: -10, max: 10, noNaN: true, noDefaultInfinity: true }),
      fc.constantFrom('__+INF__', '__-INF__', -1e308, 1e308, '\ud800', 'x\udc00', '', null, true, [], {}),
      fc.string({ unit: 'binary', maxLength: 6 }),
    );
    const key = fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom(...names) },
      fc.constantFrom('colour', 'Frames'),
    );
    const kept = fc.dictionary(key, value, { maxKeys: 4 });

    await fc.assert(
      fc.asyncProperty(kept, fc.integer({ min: 1, max: 5 }), async (values, n) => {
        // Prepare
        const json = paramValuesJson(values);

        // Act
        const answer = await postRaw<{ job_params: ParamValues[] } & { error: InvalidKept }>(
          '/api/v1/generators/shapes/random',
          `{"n": ${n}, "param_values": ${json}}`,
        );

        // Assess
        const submission = validateParams(SHAPES, parsed(json));
        if (answer.status === 400) {
          expectError(answer, 400, 'INVALID_PARAMETERS');
          expect(submission, `refused valid values ${json}: ${answer.text}`).not.toBeNull();
          expect(answer.body.error.details.violations).toEqual(asJson(submission));
          return;
        }
        expect(answer.status, `${json} -> ${answer.text}`).toBe(200);
        expect(answer.body.job_params).toHaveLength(n);
        expect(validateJobs(SHAPES, answer.body.job_params)).toEqual(answer.body.job_params.map(() => null));
        for (const set of answer.body.job_params) expect(set).toMatchObject(parsed(json));
      }),
      { seed: SEED, numRuns: 150 },
    );
  });
});
