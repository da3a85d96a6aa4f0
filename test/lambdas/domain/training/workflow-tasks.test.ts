import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TrainRequest } from '../../../../contracts/training.ts';
import { parseProgress } from '../../../../lambdas/domain/training/progress.ts';
import {
  failureOf,
  hyperParameters,
  suspendMarginSeconds,
} from '../../../../lambdas/domain/training/workflow-tasks.ts';

describe('hyperParameters', () => {
  it("sends every value as SageMaker's strings, lists as JSON, and stops the trainer before the limit", () => {
    // Prepare
    const request = TrainRequest.parse({
      frames: 12,
      training_kwargs: { learning_rate: 0.0005, num_epochs: 7 },
      model_kwargs: { attention_layers: ['layer2', 'layer3'], use_cbam: false },
    });

    // Act
    const values = hyperParameters(request, { resume: true, maxRuntimeSeconds: 3600 });

    // Assess
    expect(Object.values(values).every((value) => typeof value === 'string')).toBe(true);
    expect(values).toMatchObject({
      learning_rate: '0.0005',
      num_epochs: '7',
      attention_layers: '["layer2","layer3"]',
      use_cbam: 'false',
      max_images_per_identity: '12',
      resume_from_checkpoint: 'true',
      max_runtime_seconds: String(3600 - 180),
    });
    // The trainer reads the flat union of the two tables: nothing nested reaches it.
    expect(Object.keys(values)).not.toContain('training_kwargs');
  });

  it('leaves the trainer a margin to checkpoint of at least two minutes, and 5 % of long runs', () => {
    expect(suspendMarginSeconds(600)).toBe(120);
    expect(suspendMarginSeconds(86_400)).toBe(4320);
  });
});

describe('failureOf', () => {
  it("reads the trainer's own reason from a failed training job's description", () => {
    // Prepare: what createTrainingJob.sync fails with (Error States.TaskFailed, Cause the description).
    const cause = JSON.stringify({
      TrainingJobName: 'sf-01j-1',
      TrainingJobStatus: 'Failed',
      FailureReason: 'AlgorithmError: learning_rate must be > 0, got -1',
    });

    // Act
    const failure = failureOf({ Error: 'States.TaskFailed', Cause: cause });

    // Assess
    expect(failure).toEqual({
      code: 'TRAINING_FAILED',
      message: 'AlgorithmError: learning_rate must be > 0, got -1',
    });
  });

  it('keeps the name and cause of any other error', () => {
    expect(failureOf({ Error: 'States.Timeout', Cause: 'took too long' })).toEqual({
      code: 'TRAINING_FAILED',
      message: 'States.Timeout: took too long',
    });
    expect(failureOf(undefined).code).toBe('TRAINING_FAILED');
  });
});

describe('parseProgress', () => {
  it('never throws, and yields only well-typed fields, whatever the file holds', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        // Act
        const progress = parseProgress(new TextEncoder().encode(JSON.stringify(value)));

        // Assess
        if (progress === undefined) return;
        expect(typeof progress.status).toBe('string');
        for (const field of [
          'current_epoch',
          'total_epochs',
          'datasets_found',
          'datasets_processed',
        ] as const) {
          const number = progress[field];
          expect(number === null || Number.isInteger(number)).toBe(true);
        }
        expect(progress.logs.every((line) => typeof line === 'string')).toBe(true);
      }),
    );
  });

  it('reads what the trainer writes', () => {
    const written = {
      status: 'running',
      current_epoch: 2,
      total_epochs: 10,
      current_loss: 0.31,
      best_loss: 0.3,
      message: 'epoch 2/10 done',
      datasets_found: 8,
      datasets_processed: 7,
      metrics: { recall_at_1: 0.5, mean_average_precision: 0.4 },
      images_per_second: 20,
      logs: ['epoch 1/10 loss=0.4', 'epoch 2/10 loss=0.31'],
      updated_at: '2026-11-23T01:00:00Z',
    };
    expect(parseProgress(new TextEncoder().encode(JSON.stringify(written)))).toMatchObject({
      status: 'running',
      current_epoch: 2,
      metrics: { recall_at_1: 0.5, mean_average_precision: 0.4 },
      logs: written.logs,
    });
    expect(parseProgress(new TextEncoder().encode('not json'))).toBeUndefined();
  });
});
