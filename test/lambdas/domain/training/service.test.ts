/**
 * The training service's view of a task (seed 002's status) over the real state table and bucket:
 * what a user reads about a run once it has ended the way no step recorded (cancelled).
 */
import { describe, expect, it } from 'vitest';
import { TrainingConfigSchema, TrainRequest, trainingSettingsOf } from '../../../../contracts/training.ts';
import { S3BlobStore } from '../../../../lambdas/adapters/s3/blob-store.ts';
import { trainingKeys } from '../../../../lambdas/domain/training/keys.ts';
import { TrainingService } from '../../../../lambdas/domain/training/service.ts';
import { prepareTraining } from '../../../../lambdas/domain/training/workflow-tasks.ts';
import { useEmulators } from '../../../support/emulators.ts';
import { aJob, aTenant, engineOver } from '../../../support/jobs.ts';

const fixture = useEmulators();

function aService() {
  const engine = engineOver(fixture);
  const blobs = new S3BlobStore(fixture.clients.s3, { bucket: fixture.emulators.bucketName });
  const settings = trainingSettingsOf(TrainingConfigSchema.parse({}));
  const service = new TrainingService({
    engine,
    workflow: {
      start: async () => ({ executionId: 'unused' }),
      executionIdOf: () => 'unused',
      stop: async () => undefined,
    },
    blobs,
    clock: { now: () => new Date() },
    newId: () => 'unused',
    settings,
    resultUrlTtlSeconds: 900,
  });
  return { engine, blobs, settings, service };
}

describe('TrainingService.present', () => {
  it('shows a cancelled run where its trainer got to: its epochs, its logs, and why it stopped', async () => {
    // Prepare: a run that is training; its trainer has synced the progress of epoch 2.
    const { engine, blobs, settings, service } = aService();
    const tenant = aTenant();
    const job = aJob({
      tenant,
      kind: 'training',
      params: { ...TrainRequest.parse({}), custom_name: 'evening' },
      training: {
        customName: 'evening',
        dataset: { type: 'S3Prefix', key: `${tenant}/datasets/players/` },
        attempts: 0,
        instanceType: 'ml.m5.xlarge',
        spot: false,
        maxRuntimeSeconds: 3600,
      },
    });
    await engine.store.create([job]);
    await prepareTraining({ engine, blobs, settings }, { tenant, jobId: job.id });
    const progress = {
      status: 'running',
      current_epoch: 2,
      total_epochs: 10,
      current_loss: 0.41,
      best_loss: 0.39,
      message: 'epoch 2/10',
      logs: ['epoch 1/10 loss 0.52', 'epoch 2/10 loss 0.41'],
      updated_at: new Date().toISOString(),
    };
    await blobs.put(
      trainingKeys(tenant, job.id, 'evening').progress,
      new TextEncoder().encode(JSON.stringify(progress)),
      'application/json',
    );

    // Act
    await service.cancel(tenant, job.id);
    const shown = await service.present(await service.task(tenant, job.id));

    // Assess
    expect(shown.status).toBe('cancelled');
    expect(shown.message).toBe('cancelled by the user');
    expect(shown.progress).toMatchObject({
      status: 'cancelled',
      current_epoch: 2,
      total_epochs: 10,
      best_loss: 0.39,
      logs: progress.logs,
      message: 'cancelled by the user',
    });
  });
});
