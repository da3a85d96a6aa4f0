/**
 * LaxAI's auto-suspend and resume, as the training workflow's steps run it against the real state
 * table and bucket: a trainer that suspended itself before its runtime ran out is prepared again,
 * resuming its checkpoint, while attempts remain; then the run fails, keeping its checkpoint.
 */
import { describe, expect, it } from 'vitest';
import { TrainingConfigSchema, TrainRequest, trainingSettingsOf } from '../../../../contracts/training.ts';
import { S3BlobStore } from '../../../../lambdas/adapters/s3/blob-store.ts';
import { trainingKeys } from '../../../../lambdas/domain/training/keys.ts';
import { prepareTraining, recordTraining } from '../../../../lambdas/domain/training/workflow-tasks.ts';
import { useEmulators } from '../../../support/emulators.ts';
import { aJob, aTenant, engineOver } from '../../../support/jobs.ts';

const fixture = useEmulators();

function deps(maxAutoResumes: number) {
  const blobs = new S3BlobStore(fixture.clients.s3, { bucket: fixture.emulators.bucketName });
  const settings = trainingSettingsOf(TrainingConfigSchema.parse({ maxAutoResumes }));
  return { engine: engineOver(fixture), blobs, settings };
}

async function aTrainingTask(taskDeps: ReturnType<typeof deps>) {
  const tenant = aTenant();
  const job = aJob({
    tenant,
    kind: 'training',
    params: { ...TrainRequest.parse({ resume_from_checkpoint: false }), custom_name: 'nightly' },
    training: {
      customName: 'nightly',
      dataset: { type: 'S3Prefix', key: `${tenant}/datasets/players/` },
      attempts: 0,
      instanceType: 'ml.g5.xlarge',
      spot: true,
      maxRuntimeSeconds: 3600,
    },
  });
  await taskDeps.engine.store.create([job]);
  const suspend = (epoch: number) =>
    taskDeps.blobs.put(
      trainingKeys(tenant, job.id, 'nightly').progress,
      new TextEncoder().encode(
        JSON.stringify({ status: 'suspended', current_epoch: epoch, total_epochs: 50 }),
      ),
      'application/json',
    );
  const trained = { status: 'Completed', modelArtifacts: 's3://x/y', billableSeconds: 3400 };
  return { tenant, jobId: job.id, suspend, trained };
}

describe('the training workflow steps', () => {
  it('resume a suspended run while attempts remain, then fail it keeping the checkpoint', async () => {
    // Prepare
    const taskDeps = deps(1);
    const { tenant, jobId, suspend, trained } = await aTrainingTask(taskDeps);

    // Act: attempt 1 runs out of time at epoch 3; attempt 2 at epoch 6.
    const first = await prepareTraining(taskDeps, { tenant, jobId });
    await suspend(3);
    const afterFirst = await recordTraining(taskDeps, { tenant, jobId, trained });
    const second = await prepareTraining(taskDeps, { tenant, jobId });
    await suspend(6);
    const afterSecond = await recordTraining(taskDeps, { tenant, jobId, trained });
    const job = await taskDeps.engine.get(tenant, jobId);

    // Assess
    expect(first.trainingJobName).toMatch(/^sf-[0-9a-z]{26}-1$/);
    expect(first.hyperParameters.resume_from_checkpoint).toBe('false');
    expect(first.stoppingCondition).toEqual({ MaxRuntimeInSeconds: 3600, MaxWaitTimeInSeconds: 172_800 });
    // ml.g5 has local NVMe storage: SageMaker refuses a volume key for it, so none is sent.
    expect(first.resourceConfig).toEqual({
      InstanceCount: 1,
      InstanceType: 'ml.g5.xlarge',
      VolumeSizeInGB: 30,
    });
    expect(first.checkpointUri).toBe(
      `s3://${fixture.emulators.bucketName}/${tenant}/training/runs/nightly/checkpoints`,
    );
    expect(afterFirst).toEqual({ resume: true, status: 'running' });
    expect(second.trainingJobName).toMatch(/-2$/);
    // Every later attempt resumes its own checkpoint, whatever the first asked.
    expect(second.hyperParameters.resume_from_checkpoint).toBe('true');
    expect(afterSecond).toEqual({ resume: false, status: 'failed' });
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('RUNTIME_EXHAUSTED');
    expect(job.error?.message).toContain('custom_name nightly');
    expect(job.training?.billableSeconds).toBe(6800);
  });

  it('count a restart of the platform as no attempt: the run keeps every resume it had', async () => {
    // Prepare: one resume allowed; the platform is restarted three times during the first attempt,
    // and each restart prepares the running task again.
    const taskDeps = deps(1);
    const { tenant, jobId, suspend, trained } = await aTrainingTask(taskDeps);
    await prepareTraining(taskDeps, { tenant, jobId });
    const restarts = [];
    for (let restart = 0; restart < 3; restart++)
      restarts.push(await prepareTraining(taskDeps, { tenant, jobId }));
    const afterRestarts = await taskDeps.engine.get(tenant, jobId);

    // Act: the first attempt then runs out of time, and the one resume it was granted runs.
    await suspend(3);
    const afterSuspension = await recordTraining(taskDeps, { tenant, jobId, trained });
    const resumed = await prepareTraining(taskDeps, { tenant, jobId });
    const job = await taskDeps.engine.get(tenant, jobId);
    const log = (await taskDeps.engine.store.tailLog(tenant, jobId, 20)).map((entry) => entry.message);

    // Assess
    // Each training job still has a name of its own: SageMaker never reuses one.
    expect(restarts.map((prepared) => prepared.trainingJobName.split('-').pop())).toEqual(['2', '3', '4']);
    expect(restarts.every((prepared) => prepared.hyperParameters.resume_from_checkpoint === 'true')).toBe(
      true,
    );
    expect(afterRestarts.message).toBe(
      'resuming from the checkpoint after an interruption (attempt 1 of 2 continues)',
    );
    expect(afterSuspension).toEqual({ resume: true, status: 'running' });
    expect(resumed.trainingJobName).toMatch(/-5$/);
    expect(job.message).toBe('resuming from the checkpoint (attempt 2 of 2)');
    expect(log.join('\n')).not.toMatch(/attempt [3-9] of 2/);
  });

  it('do not prepare a task that has ended (cancelled while a resume was on its way)', async () => {
    // Prepare
    const taskDeps = deps(2);
    const { tenant, jobId } = await aTrainingTask(taskDeps);
    await taskDeps.engine.cancel(tenant, jobId);

    // Act
    const error = await prepareTraining(taskDeps, { tenant, jobId }).catch((caught: Error) => caught);

    // Assess
    expect(error).toMatchObject({ name: 'TaskEnded' });
  });
});
