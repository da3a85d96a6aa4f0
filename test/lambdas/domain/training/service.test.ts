/**
 * The training service over the real state table and bucket: how a run is stored and started, and
 * its view of a task (seed 002's status): what a user reads about a run once it has ended the way no
 * step recorded (cancelled).
 */
import { describe, expect, it } from 'vitest';
import { TrainingConfigSchema, TrainRequest, trainingSettingsOf } from '../../../../contracts/training.ts';
import { newJobId } from '../../../../lambdas/adapters/ids.ts';
import { S3BlobStore } from '../../../../lambdas/adapters/s3/blob-store.ts';
import { DomainError } from '../../../../lambdas/domain/errors.ts';
import type {
  TrainingExecutionInput,
  TrainingWorkflow,
} from '../../../../lambdas/domain/training/execution.ts';
import { trainingKeys } from '../../../../lambdas/domain/training/keys.ts';
import { TrainingService } from '../../../../lambdas/domain/training/service.ts';
import { prepareTraining } from '../../../../lambdas/domain/training/workflow-tasks.ts';
import { useEmulators } from '../../../support/emulators.ts';
import { aJob, aTenant, engineOver } from '../../../support/jobs.ts';

const fixture = useEmulators();

/** A service over the emulators whose workflow starts with `start` and names executions `arn:execution:<task>`. */
function aService(start: TrainingWorkflow['start'] = async () => ({ executionId: 'unused' })) {
  const engine = engineOver(fixture);
  const blobs = new S3BlobStore(fixture.clients.s3, { bucket: fixture.emulators.bucketName });
  const settings = trainingSettingsOf(TrainingConfigSchema.parse({}));
  const service = new TrainingService({
    engine,
    workflow: {
      start,
      executionIdOf: (taskId) => `arn:execution:${taskId}`,
      stop: async () => undefined,
    },
    blobs,
    clock: { now: () => new Date() },
    newId: () => newJobId(new Date()),
    settings,
    resultUrlTtlSeconds: 900,
  });
  return { engine, blobs, settings, service };
}

const request = TrainRequest.parse({ custom_name: 'dawn', dataset: { s3_prefix: 'datasets/players/' } });

describe('TrainingService.submit', () => {
  it('stores the run with the execution that runs it, before starting it', async () => {
    // Prepare
    const started: TrainingExecutionInput[] = [];
    const storedAtStart: (string | undefined)[] = [];
    const { engine, service } = aService(async (input) => {
      started.push(input);
      storedAtStart.push((await engine.store.get(input.tenant, input.taskId))?.executionId);
      return { executionId: `arn:execution:${input.taskId}` };
    });
    const tenant = aTenant();

    // Act
    const { job, accepted } = await service.submit(tenant, request);

    // Assess
    expect(started).toEqual([{ tenant, taskId: job.id }]);
    expect(storedAtStart).toEqual([`arn:execution:${job.id}`]);
    expect(job.executionId).toBe(`arn:execution:${job.id}`);
    expect(accepted).toMatchObject({ status: 'accepted', task_id: job.id });
    expect(await engine.store.get(tenant, job.id)).toMatchObject({ status: 'pending', name: 'dawn' });
  });

  it('records the id the workflow gave the execution when it is not the one expected', async () => {
    // Prepare
    const { engine, service } = aService(async () => ({ executionId: 'named-otherwise' }));
    const tenant = aTenant();

    // Act
    const { job } = await service.submit(tenant, request);

    // Assess
    expect((await engine.store.get(tenant, job.id))?.executionId).toBe('named-otherwise');
  });

  it('answers 503 naming the task and fails it when the workflow cannot start', async () => {
    // Prepare
    const { engine, service } = aService(async () => {
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    });
    const tenant = aTenant();

    // Act
    const error = await service.submit(tenant, request).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({
      status: 503,
      code: 'UNAVAILABLE',
      message: 'the training workflow could not be started',
      retryAfter: 5,
    });
    const { items } = await engine.store.list(tenant, { limit: 10 });
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      kind: 'training',
      status: 'failed',
      error: { code: 'WORKFLOW_UNAVAILABLE', message: 'the training workflow could not be started' },
    });
    expect((error as DomainError).details).toEqual({ task_id: items[0]?.id, cause: 'ThrottlingException' });
  });
});

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
