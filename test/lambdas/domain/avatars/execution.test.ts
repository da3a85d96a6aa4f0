import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  chooseCompute,
  defaultComputeSettings,
  MAX_JOB_INPUT_BYTES,
  PROCESSING_INSTANCE_MEMORY_MB,
  processingSettingsFor,
  stageMaxInputBytes,
} from '../../../../lambdas/domain/avatars/execution.ts';

const RUNNERS = ['lambda', 'lambda-large', 'processing'] as const;

describe('where an avatar job runs', () => {
  const withProcessing = defaultComputeSettings('lambda', processingSettingsFor());
  const lambdaOnly = defaultComputeSettings('lambda');

  it('runs tables larger than the 10 GB function as a processing job, saying on which instance and why', () => {
    // Prepare
    const bytes = lambdaOnly.maxInputBytes.large + 1;

    // Act
    const chosen = chooseCompute(withProcessing, bytes);

    // Assess
    expect(chosen?.runner).toBe('processing');
    expect(chosen?.compute).toMatchObject({ target: 'processing', instanceType: 'ml.m5.2xlarge' });
    expect(chosen?.compute.reason).toMatch(
      /more than the 10240 MB function holds: a SageMaker Processing job on ml\.m5\.2xlarge/,
    );
  });

  it('refuses such tables in a stage without an avatarizer image', () => {
    expect(chooseCompute(lambdaOnly, lambdaOnly.maxInputBytes.large + 1)).toBeUndefined();
    expect(stageMaxInputBytes(lambdaOnly)).toBe(lambdaOnly.maxInputBytes.large);
  });

  it('never gives a job more than one string of CSV, whatever the instance', () => {
    for (const instanceType of Object.keys(PROCESSING_INSTANCE_MEMORY_MB)) {
      expect(processingSettingsFor(instanceType).maxInputBytes).toBeLessThanOrEqual(MAX_JOB_INPUT_BYTES);
    }
    expect(chooseCompute(withProcessing, MAX_JOB_INPUT_BYTES + 1)).toBeUndefined();
  });

  it('refuses an instance type it knows no memory of', () => {
    expect(() => processingSettingsFor('ml.t3.medium')).toThrow(/ml\.m5\.2xlarge/);
  });

  it('goes to a larger runner, never a smaller one, as the input grows (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: MAX_JOB_INPUT_BYTES }),
        fc.integer({ min: 0, max: MAX_JOB_INPUT_BYTES }),
        (a, b) => {
          const [small, large] = a <= b ? [a, b] : [b, a];
          const first = chooseCompute(withProcessing, small);
          const second = chooseCompute(withProcessing, large);
          if (!second) return true;
          expect(first).toBeDefined();
          const rank = (runner: string) => RUNNERS.indexOf(runner as (typeof RUNNERS)[number]);
          expect(rank(first!.runner)).toBeLessThanOrEqual(rank(second.runner));
          return true;
        },
      ),
    );
  });

  it('keeps the local platform on worker threads up to the large function’s size, then on its processing host', () => {
    const local = defaultComputeSettings('local', processingSettingsFor());
    expect(chooseCompute(local, local.maxInputBytes.large)?.runner).toBe('local');
    expect(chooseCompute(local, local.maxInputBytes.large + 1)?.runner).toBe('processing');
  });
});
