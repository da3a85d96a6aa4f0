import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { estimateModelRuns, validateModelParams } from '../../../../lambdas/domain/images/model-runs.ts';
import type { ImageJobParams } from '../../../../lambdas/domain/images/service.ts';
import { SD15_MODEL } from '../../../support/models.ts';

const MODEL = SD15_MODEL;

const params = (overrides: Partial<ImageJobParams> = {}): ImageJobParams => ({
  prompt: 'a lighthouse at dusk',
  model_id: MODEL.modelId,
  width: 512,
  height: 512,
  num_inference_steps: 50,
  guidance_scale: 7.5,
  seed: 1,
  ...overrides,
});

describe('validateModelParams', () => {
  it('accepts exactly the widths seed 001 allows: 64–1024, multiples of 8', () => {
    fc.assert(
      fc.property(fc.integer({ min: -100, max: 2000 }), (width) => {
        // Act
        const violations = validateModelParams({ prompt: 'x', width });

        // Assess
        const allowed = width >= 64 && width <= 1024 && width % 8 === 0;
        if (allowed) expect(violations).toBeNull();
        else {
          // Out of bounds and off the grid at once is two problems, both about width.
          expect(violations?.length).toBeGreaterThan(0);
          for (const violation of violations ?? []) {
            expect(violation).toMatchObject({ parameter: 'width', kind: 'range', value: width });
          }
        }
      }),
    );
  });

  it('names every unknown key, and a missing prompt, each once', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.stringMatching(/^[a-z_]{1,12}$/).filter((key) => !KNOWN.has(key)),
          { minLength: 1, maxLength: 4 },
        ),
        (unknown) => {
          // Act
          const violations = validateModelParams(Object.fromEntries(unknown.map((key) => [key, 1])));

          // Assess
          expect(violations?.map((violation) => violation.parameter).sort()).toEqual(
            ['prompt', ...unknown].sort(),
          );
          expect(violations?.filter((violation) => violation.kind === 'unsupported')).toHaveLength(
            unknown.length,
          );
        },
      ),
    );
  });
});

const KNOWN = new Set([
  'prompt',
  'negative_prompt',
  'width',
  'height',
  'num_inference_steps',
  'guidance_scale',
  'seed',
  // Inherited from Object.prototype: a key of that name would be another test's subject.
  'constructor',
  'toString',
  'valueOf',
]);

describe('estimateModelRuns', () => {
  it('bills instance time in proportion to pixels times steps, at the configured price', () => {
    // Act
    const estimate = estimateModelRuns([
      { model: MODEL, params: params() },
      { model: MODEL, params: params({ width: 1024, num_inference_steps: 25 }) },
      { model: MODEL, params: params({ width: 256, height: 256 }) },
    ]);

    // Assess: 1 + 1 + 0.25 images' worth of 4 s at $1.408 an hour.
    expect(estimate.gpu_seconds).toBeCloseTo(9, 6);
    expect(estimate.cost_breakdown.compute_usd).toBeCloseTo((9 / 3600) * 1.408, 6);
    expect(estimate.frames_per_job).toEqual([1, 1, 1]);
    expect(estimate.assumptions.state_transitions).toBe(3 + 3);
    expect(estimate.estimated_cost_usd).toBeGreaterThan(
      estimate.cost_breakdown.compute_usd + estimate.cost_breakdown.orchestration_usd,
    );
  });
});
