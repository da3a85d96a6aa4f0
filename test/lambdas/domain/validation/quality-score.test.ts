import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { QualityMetrics } from '../../../../lambdas/domain/validation/quality.ts';
import { assessQuality, DEFAULT_THRESHOLDS } from '../../../../lambdas/domain/validation/quality-score.ts';

const sharpPhoto: QualityMetrics = {
  sharpness: 450,
  contrast: 0.4,
  noise_level: 0.01,
  brightness: 0.5,
  colourfulness: 40,
};

describe('assessQuality', () => {
  it('passes a sharp, contrasted, clean image on every metric by default', () => {
    // Act
    const assessment = assessQuality(sharpPhoto, undefined, undefined);

    // Assess
    expect(assessment.passed).toBe(true);
    expect(assessment.quality_score).toBeGreaterThan(0.95);
    expect(Object.keys(assessment.metrics)).toEqual([
      'sharpness',
      'contrast',
      'noise_level',
      'brightness',
      'colourfulness',
    ]);
  });

  it('fails a blurred image on sharpness alone and names the threshold it missed', () => {
    // Act
    const assessment = assessQuality({ ...sharpPhoto, sharpness: 20 }, undefined, undefined);

    // Assess
    expect(assessment.passed).toBe(false);
    expect(assessment.checks.filter((check) => !check.passed)).toEqual([
      { metric: 'sharpness', value: 20, threshold: 100, comparison: 'min', passed: false },
    ]);
  });

  it("answers only the requested metrics and applies the request's thresholds", () => {
    // Act
    const assessment = assessQuality({ ...sharpPhoto, sharpness: 20 }, ['contrast', 'noise_level'], {
      noise_level_max: 0.005,
    });

    // Assess
    expect(Object.keys(assessment.metrics)).toEqual(['contrast', 'noise_level']);
    expect(assessment.passed).toBe(false);
    expect(assessment.checks.map((check) => [check.metric, check.passed])).toEqual([
      ['contrast', true],
      ['noise_level', false],
    ]);
  });

  it('scores every metric 0.5 exactly at its threshold, and passed agrees with the checks', () => {
    fc.assert(
      fc.property(
        fc.record({
          sharpness: fc.double({ min: 0, max: 5000, noNaN: true }),
          contrast: fc.double({ min: 0, max: 1, noNaN: true }),
          noise_level: fc.double({ min: 0, max: 1, noNaN: true }),
          brightness: fc.double({ min: 0, max: 1, noNaN: true }),
          colourfulness: fc.double({ min: 0, max: 200, noNaN: true }),
        }),
        (metrics) => {
          const assessment = assessQuality(metrics, undefined, { quality_score_min: 0 });
          expect(assessment.quality_score).toBeGreaterThanOrEqual(0);
          expect(assessment.quality_score).toBeLessThanOrEqual(1);
          expect(assessment.passed).toBe(assessment.checks.every((check) => check.passed));
        },
      ),
    );
    const atThreshold = assessQuality(
      { ...sharpPhoto, sharpness: DEFAULT_THRESHOLDS.sharpness_min },
      ['sharpness'],
      undefined,
    );
    expect(atThreshold.quality_score).toBe(0.5);
    const noiseAtThreshold = assessQuality({ ...sharpPhoto, noise_level: 0.05 }, ['noise_level'], undefined);
    expect(noiseAtThreshold.quality_score).toBe(0.5);
    expect(noiseAtThreshold.passed).toBe(true);
  });
});
