/**
 * Seed 002's training routes end to end on the local platform: a tiny identity-crops batch made by
 * the `shapes` generator is trained on through `POST /api/v1/train` by the real trainer (Debian's
 * python3-torch, on CPU) behind the training state machine's ASL; progress arrives while it trains,
 * the loss falls, a model appears. A second run is cancelled mid-training: the answer comes at once,
 * then its process is gone. The documented bad inputs start nothing, and every error has seed 002's
 * body (`{"error": "<type>", "message", "details"}`); a task id that is not the caller's is a 404.
 */
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TrainingTask } from '../../contracts/training.ts';
import { expectSeed002Error, keyFor, usePlatform } from '../support/platform.ts';
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
    expectSeed002Error(negative, 422, 'validation_error');
    expect(negative.body).toMatchObject({
      details: { parameter: 'training_kwargs.learning_rate', value: -0.1 },
    });
    expectSeed002Error(unknownLayer, 422, 'validation_error');
    expect(unknownLayer.text).toContain('layer1, layer2, layer3, layer4');
    expectSeed002Error(otherTenant, 403, 'forbidden');
    expectSeed002Error(typo, 422, 'validation_error');
    expect(typo.text).toContain('learning_rte');
    expect(await trainingCount()).toBe(before);
  });

  it('refuses a run with no dataset to train on, saying how to make one', async () => {
    // Prepare: a tenant with no batch at all.
    const { key } = await keyFor(fixture.platform, 'tenant-without-data');

    // Act
    const answer = await fixture.api.withKey(key).post('/api/v1/train', { tenant_id: 'tenant-without-data' });

    // Assess
    expectSeed002Error(answer, 422, 'validation_error');
    expect(answer.text).toContain('identity_crops');
  });

  it('answers a body that is not JSON, and a bad filter, with seed 002’s 422 as FastAPI does', async () => {
    // Act
    const answer = await fixture.api.request('POST', '/api/v1/train', {
      raw: '{"training_kwargs": {',
      headers: { 'content-type': 'application/json' },
    });
    const badFilter = await fixture.api.get('/api/v1/train/jobs', { status: 'sleeping' });

    // Assess
    expectSeed002Error(answer, 422, 'validation_error');
    expectSeed002Error(badFilter, 422, 'validation_error');
    expect(badFilter.body).toMatchObject({ details: { parameter: 'status', value: 'sleeping' } });
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
    // The model: SageMaker's model.tar.gz, holding the trainer's model.pt and model.json, and not the
    // weights of every epoch that seed 002's save_intermediate (true by default) keeps.
    const model = await until(
      () => fetch(final.model_url ?? ''),
      () => true,
      10_000,
    );
    expect(model.status).toBe(200);
    const tar = gunzipSync(Buffer.from(await model.arrayBuffer()));
    expect(tar.toString('latin1')).toContain('model.pt');
    expect(tar.toString('latin1')).toContain('model.json');
    expect(tar.toString('latin1')).not.toContain('epoch_');
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

  it('cancels a run mid-training at once: the answer is the cancelled run, then its trainer process is gone', async () => {
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
    // The answer came before the stop could finish: the trainer checkpoints on SIGTERM and its
    // checkpoints are uploaded before the host lets the job go (LaxAI's client gives up after 5 s).
    const stillStopping = fixture.platform.trainingHost.running.length;
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
    expect(stillStopping).toBe(1);
    expect(gone).toBe(0);
    expect((await status(accepted.body.task_id)).body.status).toBe('cancelled');
    expectSeed002Error(again, 409, 'illegal_state');
  }, 240_000);
});

describe('unknown task ids (seed 002: 404)', () => {
  // LaxAI's task ids are UUIDs; a well-formed id of no task; another tenant's real task.
  const unknownIds = ['3f2b8c1e-9d4a-4c57-b1a2-6e0f9d8c7b6a', '01JD3X2K8Q7YV4N6B5M9T0RWZC'];

  it.each(unknownIds)('%s: status and cancel answer 404 not_found in seed 002’s body', async (taskId) => {
    // Act
    const status = await fixture.api.get(`/api/v1/train/${taskId}/status`);
    const cancel = await fixture.api.delete(`/api/v1/train/${taskId}`);

    // Assess
    expectSeed002Error(status, 404, 'not_found');
    expect(status.body).toMatchObject({ details: { task: taskId } });
    expectSeed002Error(cancel, 404, 'not_found');
  });

  it('answers any task id that is no task of yours with 404 not_found, never a 4xx about its form', async () => {
    await fc.assert(
      // `.` and `..` are path segments a URL resolves away, not ids.
      fc.asyncProperty(
        fc.stringMatching(/^[A-Za-z0-9._~-]{1,80}$/).filter((id) => !/^\.+$/.test(id)),
        async (taskId) => {
          // Act
          const answer = await fixture.api.get(`/api/v1/train/${encodeURIComponent(taskId)}/status`);

          // Assess
          expectSeed002Error(answer, 404, 'not_found');
        },
      ),
      { numRuns: 40, seed: 20_261_207 },
    );
  });

  it("answers another tenant's task as not found, and leaves it running", async () => {
    // Prepare: a run of the dev tenant, and a key of another tenant.
    const { key } = await keyFor(fixture.platform, 'tenant-who-looks');
    const accepted = await fixture.api.post<{ task_id: string }>('/api/v1/train', {
      custom_name: 'not_yours',
      dataset: { s3_prefix: 'datasets/nothing-here/' },
      ...TINY,
    });

    // Act
    const looked = await fixture.api.withKey(key).get(`/api/v1/train/${accepted.body.task_id}/status`);
    const cancel = await fixture.api.withKey(key).delete(`/api/v1/train/${accepted.body.task_id}`);

    // Assess
    expect(accepted.status, accepted.text).toBe(202);
    expectSeed002Error(looked, 404, 'not_found');
    expectSeed002Error(cancel, 404, 'not_found');
    expect((await status(accepted.body.task_id)).body.status).not.toBe('cancelled');
  });
});
