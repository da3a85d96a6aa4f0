/**
 * `ApiClient`'s training methods (seed 002) against the local platform, whose trainer runs on CPU:
 * a run is started, shows live progress, is listed and cancelled; a run on a missing folder fails
 * with its reason; bad parameters arrive as a typed 422 and start nothing.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { usePlatform } from '../../test/support/platform.ts';
import {
  ENDED,
  identityCropsBatch,
  TEST_TRAINING,
  TINY_TRAINING,
  trainingRunCount,
  until,
} from '../../test/support/training.ts';
import { ApiClient } from '../src/api-client.ts';
import { SynthForgeError } from '../src/errors.ts';
import type { TrainingTask } from '../src/index.ts';

const fixture = usePlatform({ training: TEST_TRAINING });
let client: ApiClient;

beforeAll(() => {
  client = new ApiClient({ baseUrl: fixture.platform.url, apiKey: fixture.platform.devKey });
});

async function failureOf(promise: Promise<unknown>): Promise<SynthForgeError> {
  const error = await promise.catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(SynthForgeError);
  return error as SynthForgeError;
}

describe('training runs', () => {
  it('starts a run, shows its epochs as it trains, lists it, and cancels it', async () => {
    // Prepare: a run far longer than the test.
    const batchId = await identityCropsBatch(fixture.api);

    // Act
    const accepted = await client.startTraining({
      custom_name: 'sdk_cancelled',
      dataset: { batch_id: batchId },
      wandb_tags: ['sdk'],
      ...TINY_TRAINING,
      training_kwargs: { ...TINY_TRAINING.training_kwargs, num_epochs: 500, early_stopping_patience: 500 },
    });
    const training = await until(
      () => client.getTrainingStatus(accepted.task_id),
      (task) => (task.progress.current_epoch ?? 0) >= 1 || ENDED.includes(task.status),
      120_000,
    );
    const listed = await client.listTrainingJobs({ status: 'running' });
    const cancelled = await client.cancelTraining(accepted.task_id);
    const after = await client.getTrainingStatus(accepted.task_id);
    const again = await failureOf(client.cancelTraining(accepted.task_id));

    // Assess
    expect(accepted).toMatchObject({ status: 'accepted', progress: { status: 'pending' } });
    expect(training.status, JSON.stringify(training)).toBe('running');
    expect(training.progress).toMatchObject({ total_epochs: 500, datasets_found: 12 });
    expect(training.progress.current_loss).toBeGreaterThan(0);
    expect(training.progress.logs.some((line) => /^epoch 1\/500 loss=/.test(line))).toBe(true);
    expect(training).toMatchObject({ custom_name: 'sdk_cancelled', wandb_tags: ['sdk'] });
    expect(training.model_kwargs.attention_layers).toEqual(['layer1', 'layer4']);
    expect(listed.jobs.map((task) => task.task_id)).toContain(accepted.task_id);
    expect(cancelled).toMatchObject({ task_id: accepted.task_id, status: 'cancelled' });
    expect(after.status).toBe('cancelled');
    expect(after.model_url).toBeUndefined();
    expect(again).toMatchObject({ status: 409, code: 'ILLEGAL_STATE' });
  }, 180_000);

  it('fails a run on a dataset folder that does not exist, saying why', async () => {
    // Act
    const accepted = await client.startTraining({
      custom_name: 'sdk_missing_data',
      dataset: { s3_prefix: 'datasets/nowhere/' },
      ...TINY_TRAINING,
    });
    const final = await until(
      () => client.getTrainingStatus(accepted.task_id),
      (task) => ENDED.includes(task.status),
      60_000,
    );
    const failed = await client.listTrainingJobs({ status: 'failed', limit: 5 });

    // Assess
    expect(final.status, JSON.stringify(final)).toBe('failed');
    expect(final.error?.message).toMatch(/datasets\/nowhere/);
    expect(final.progress.status).toBe('failed');
    expect(failed.jobs.map((task: TrainingTask) => task.task_id)).toContain(accepted.task_id);
  }, 90_000);

  it('refuses bad parameters with a typed 422 naming the parameter, starting nothing', async () => {
    // Prepare
    const before = await trainingRunCount(fixture.api);

    // Act
    const error = await failureOf(client.startTraining({ training_kwargs: { learning_rate: -1 } }));

    // Assess
    expect(error).toMatchObject({ status: 422, code: 'VALIDATION_ERROR', retryable: false });
    expect(error.details).toMatchObject({ parameter: 'training_kwargs.learning_rate' });
    expect(await trainingRunCount(fixture.api)).toBe(before);
  });
});
