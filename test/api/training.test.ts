/**
 * Seed 002's training routes end to end on the local platform: a tiny identity-crops batch made by
 * the `shapes` generator is trained on through `POST /api/v1/train` by the real trainer (Debian's
 * python3-torch, on CPU) behind the training state machine's ASL; progress arrives while it trains,
 * the loss falls, a model appears. A second run is cancelled mid-training and its process is gone.
 * The documented bad inputs start nothing.
 */
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { TrainingTask } from '../../contracts/training.ts';
import { expectError, keyFor, usePlatform } from '../support/platform.ts';
import {
  identityCropsBatch,
  TEST_TRAINING,
  TINY_TRAINING,
  trainingRunCount,
  until,
} from '../support/training.ts';

const fixture = usePlatform({ training: TEST_TRAINING });

/** The shared tiny run, trained 4 epochs here: enough for the epoch loss to fall steadily. */
const TINY = {
  ...TINY_TRAINING,
  training_kwargs: { ...TINY_TRAINING.training_kwargs, num_epochs: 4, learning_rate: 0.001 },
};
const cropsBatch = () => identityCropsBatch(fixture.api);
const trainingCount = () => trainingRunCount(fixture.api);

const status = (taskId: string) => fixture.api.get<TrainingTask>(`/api/v1/train/${taskId}/status`);

describe('POST /api/v1/train', () => {
  it('refuses the documented bad inputs with the documented errors, starting nothing', async () => {
    // Prepare
    const before = await trainingCount();

    // Act
    const negative = await fixture.api.post('/api/v1/train', { training_kwargs: { learning_rate: -0.1 } });
    const unknownLayer = await fixture.api.post('/api/v1/train', {
      model_kwargs: { attention_layers: ['layer7'] },
    });
    const otherTenant = await fixture.api.post('/api/v1/train', { tenant_id: 'someone-else' });
    const typo = await fixture.api.post('/api/v1/train', { training_kwargs: { learning_rte: 0.1 } });

    // Assess
    expectError(negative, 422, 'VALIDATION_ERROR');
    expect(negative.text).toContain('learning_rate');
    expectError(unknownLayer, 422, 'VALIDATION_ERROR');
    expect(unknownLayer.text).toContain('layer1, layer2, layer3, layer4');
    expectError(otherTenant, 403, 'FORBIDDEN');
    expectError(typo, 422, 'VALIDATION_ERROR');
    expect(typo.text).toContain('learning_rte');
    expect(await trainingCount()).toBe(before);
  });

  it('refuses a run with no dataset to train on, saying how to make one', async () => {
    // Prepare: a tenant with no batch at all.
    const { key } = await keyFor(fixture.platform, 'tenant-without-data');

    // Act
    const answer = await fixture.api.withKey(key).post('/api/v1/train', { tenant_id: 'tenant-without-data' });

    // Assess
    expectError(answer, 422, 'VALIDATION_ERROR');
    expect(answer.text).toContain('identity_crops');
  });

  it('trains on a generated identity-crops batch: progress arrives, the loss falls, a model appears', async () => {
    // Prepare
    const batchId = await cropsBatch();

    // Act
    const accepted = await fixture.api.post<{
      status: string;
      task_id: string;
      progress: { status: string };
    }>('/api/v1/train', {
      tenant_id: 'dev',
      custom_name: 'players_e2e',
      dataset: { batch_id: batchId },
      wandb_tags: ['e2e'],
      ...TINY,
    });
    const seen: TrainingTask[] = [];
    const final = await until(
      async () => {
        const answer = await status(accepted.body.task_id);
        seen.push(answer.body);
        return answer.body;
      },
      (task) => ['completed', 'failed', 'cancelled'].includes(task.status),
      180_000,
    );

    // Assess
    expect(accepted.status, accepted.text).toBe(202);
    expect(accepted.headers.get('location')).toMatch(
      new RegExp(`/api/v1/train/${accepted.body.task_id}/status$`),
    );
    expect(accepted.body).toMatchObject({ status: 'accepted', progress: { status: 'pending' } });
    expect(final.status, JSON.stringify(final)).toBe('completed');
    // Live progress: the status route showed the run mid-way, epoch by epoch.
    expect(seen.some((task) => task.status === 'running' && (task.progress.current_epoch ?? 0) >= 1)).toBe(
      true,
    );
    expect(final.progress).toMatchObject({ status: 'completed', current_epoch: 4, total_epochs: 4 });
    expect(final.progress.datasets_processed).toBe(12);
    expect(final.progress.metrics?.recall_at_1).toBeGreaterThan(0);
    const losses = final.progress.logs
      .map((line) => /^epoch \d+\/4 loss=([\d.]+)/.exec(line)?.[1])
      .filter((loss): loss is string => loss !== undefined)
      .map(Number);
    expect(losses, final.progress.logs.join('\n')).toHaveLength(4);
    expect(losses[3], final.progress.logs.join('\n')).toBeLessThan(losses[0] ?? 0);
    expect(final.dataset?.identities).toBe(12);
    expect(final.wandb_tags).toEqual(['e2e']);
    // The model: SageMaker's model.tar.gz, holding the trainer's model.pt and model.json.
    const model = await until(
      () => fetch(final.model_url ?? ''),
      () => true,
      10_000,
    );
    expect(model.status).toBe(200);
    const tar = gunzipSync(Buffer.from(await model.arrayBuffer()));
    expect(tar.toString('latin1')).toContain('model.pt');
    expect(tar.toString('latin1')).toContain('model.json');
    const listed = await fixture.api.get<{ jobs: TrainingTask[] }>('/api/v1/train/jobs');
    expect(listed.body.jobs.map((task) => task.task_id)).toContain(accepted.body.task_id);
  }, 240_000);

  it("fails a run the trainer refuses, with the trainer's own reason", async () => {
    // Prepare: pretrained weights forced, and none can be downloaded here.
    const batchId = await cropsBatch();

    // Act
    const accepted = await fixture.api.post<{ task_id: string }>('/api/v1/train', {
      dataset: { batch_id: batchId },
      ...TINY,
      training_kwargs: { ...TINY.training_kwargs, force_pretraining: true },
    });
    const final = await until(
      () => status(accepted.body.task_id),
      (answer) => ['completed', 'failed', 'cancelled'].includes(answer.body.status),
      120_000,
    );

    // Assess
    expect(final.body.status).toBe('failed');
    expect(final.body.error?.code).toBe('TRAINING_FAILED');
    expect(final.body.error?.message).toMatch(/force_pretraining/);
    expect(final.body.progress.status).toBe('failed');
  }, 180_000);

  it('cancels a run mid-training: it ends cancelled and its trainer process is gone', async () => {
    // Prepare: a long run on the same data.
    const batchId = await cropsBatch();
    const accepted = await fixture.api.post<{ task_id: string }>('/api/v1/train', {
      custom_name: 'players_cancelled',
      dataset: { batch_id: batchId },
      ...TINY,
      training_kwargs: { ...TINY.training_kwargs, num_epochs: 500, early_stopping_patience: 500 },
    });
    await until(
      () => status(accepted.body.task_id),
      (answer) => (answer.body.progress.current_epoch ?? 0) >= 1,
      120_000,
    );
    const runningBefore = fixture.platform.trainingHost.running.length;

    // Act
    const cancelled = await fixture.api.delete<{ status: string }>(`/api/v1/train/${accepted.body.task_id}`);
    const gone = await until(
      async () => fixture.platform.trainingHost.running.length,
      (running) => running === 0,
      30_000,
    );
    const again = await fixture.api.delete(`/api/v1/train/${accepted.body.task_id}`);

    // Assess
    expect(runningBefore).toBe(1);
    expect(cancelled.status, cancelled.text).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    expect(gone).toBe(0);
    expect((await status(accepted.body.task_id)).body.status).toBe('cancelled');
    expectError(again, 409, 'ILLEGAL_STATE');
  }, 240_000);
});
