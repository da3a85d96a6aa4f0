import { describe, expect, it } from 'vitest';
import { DynamoJobStore } from '../../../../lambdas/adapters/dynamo/job-store.ts';
import { newJobId } from '../../../../lambdas/adapters/ids.ts';
import { BatchService } from '../../../../lambdas/domain/batches/service.ts';
import { DomainError } from '../../../../lambdas/domain/errors.ts';
import { JobsEngine } from '../../../../lambdas/domain/jobs/engine.ts';
import type { BatchExecutionInput, BatchWorkflow, BlobStore } from '../../../../lambdas/domain/ports.ts';
import { useEmulators } from '../../../support/emulators.ts';
import { aJob, aTenant } from '../../../support/jobs.ts';

const fixture = useEmulators();
const clock = { now: () => new Date() };
const unusedBlobs: BlobStore = {
  size: async () => undefined,
  put: async () => undefined,
  get: async () => undefined,
  presignGet: async () => 'unused',
  presignPut: async () => 'unused',
  copy: async () => ({ bytes: 0 }),
  delete: async () => undefined,
  list: async () => [],
  bucket: 'unused',
};

/** A service over the emulators whose workflow starts with `start` and names executions `arn:execution:<batch>`. */
function serviceWith(start: BatchWorkflow['start']) {
  const workflow: BatchWorkflow = {
    start,
    executionIdOf: (batchId) => `arn:execution:${batchId}`,
    stop: async () => undefined,
  };
  const store = new DynamoJobStore(fixture.clients.dynamo, {
    tableName: fixture.emulators.tableNames.state,
    cursorSecret: 'service-test-cursor-secret-01234',
  });
  const engine = new JobsEngine({
    store,
    executions: workflow,
    clock,
    events: { publishJobStateChanges: async () => undefined },
  });
  const service = new BatchService({
    engine,
    workflow,
    blobs: unusedBlobs,
    clock,
    newId: () => newJobId(clock.now()),
    newSeed: () => 7,
    resultUrlTtlSeconds: 60,
    workerMemoryMb: 2048,
    resultRetentionDays: 30,
  });
  return { service, store };
}

const request = {
  job_runs: [
    { name: 'shapes', is_preview: false, param_values: {} },
    { name: 'shapes', is_preview: true, param_values: {} },
  ],
};

describe('BatchService.submit', () => {
  it('stores the batch with the execution that runs it, before starting it', async () => {
    // Prepare
    const started: BatchExecutionInput[] = [];
    const storedAtStart: (string | undefined)[] = [];
    const { service, store } = serviceWith(async (input) => {
      started.push(input);
      storedAtStart.push((await store.get(input.tenant, input.batchId))?.executionId);
      return { executionId: `arn:execution:${input.batchId}` };
    });
    const tenant = aTenant();

    // Act
    const batch = await service.submit(tenant, request);

    // Assess
    expect(started).toEqual([
      { tenant, batchId: batch.id, items: batch.job_runs.map((job) => ({ jobId: job.id })) },
    ]);
    expect(storedAtStart).toEqual([`arn:execution:${batch.id}`]);
    expect((await store.get(tenant, batch.id))?.executionId).toBe(`arn:execution:${batch.id}`);
    expect(batch.job_runs.map((job) => job.param_values.seed)).toEqual([7, 7]);
  });

  it('records the id the workflow gave the execution when it is not the one expected', async () => {
    // Prepare
    const { service, store } = serviceWith(async () => ({ executionId: 'named-otherwise' }));
    const tenant = aTenant();

    // Act
    const batch = await service.submit(tenant, request);

    // Assess
    expect((await store.get(tenant, batch.id))?.executionId).toBe('named-otherwise');
  });

  it('answers 503 and fails the batch and every job when the workflow cannot start', async () => {
    // Prepare
    const { service, store } = serviceWith(async () => {
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
      details: { cause: 'ThrottlingException' },
    });
    const { items } = await store.list(tenant, { limit: 10 });
    expect(items).toHaveLength(3);
    expect(items.map((job) => job.status)).toEqual(['failed', 'failed', 'failed']);
    expect(items.every((job) => job.error?.code === 'WORKFLOW_UNAVAILABLE')).toBe(true);
    const batchId = items.find((job) => job.kind === 'batch')?.id;
    expect((error as DomainError).details).toEqual({ batch_id: batchId, cause: 'ThrottlingException' });
    expect(error).toMatchObject({ message: 'the batch workflow could not be started', retryAfter: 5 });
  });
});

describe('BatchService.summary', () => {
  it('links a result while it is kept, and says it expired once the bucket has deleted it', async () => {
    // Prepare
    const { service, store } = serviceWith(async () => ({ executionId: 'x' }));
    const tenant = aTenant();
    const batch = aJob({ tenant, kind: 'batch', status: 'completed' });
    const result = {
      key: `${tenant}/jobs/x/result.zip`,
      bytes: 10,
      frames: 1,
      contentType: 'application/zip',
    };
    const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();
    const fresh = aJob({ tenant, batchId: batch.id, status: 'completed', result, finishedAt: daysAgo(29) });
    const old = aJob({ tenant, batchId: batch.id, status: 'completed', result, finishedAt: daysAgo(31) });
    await store.create([batch, fresh, old]);

    // Act
    const summary = await service.summary(tenant, batch.id);

    // Assess
    const byId = new Map(summary.job_runs.map((job) => [job.id, job]));
    expect(byId.get(fresh.id)).toMatchObject({ result_url: 'unused' });
    expect(byId.get(fresh.id)?.error).toBeUndefined();
    expect(byId.get(old.id)).toMatchObject({ result_url: null, error: { code: 'RESULT_EXPIRED' } });
  });
});

describe('BatchService.estimate', () => {
  it('bills an identity-crops job by its crops, not by a scene frame', () => {
    // Prepare: 50 jobs of 64 crops of 64² against 50 jobs of 64 frames of 512²: the same frames.
    const { service } = serviceWith(async () => ({ executionId: 'x' }));
    const jobs = (param_values: Record<string, unknown>) => ({
      job_runs: Array.from({ length: 50 }, () => ({ name: 'shapes', is_preview: false, param_values })),
    });

    // Act
    const crops = service.estimate(
      jobs({ output: 'identity_crops', identities: 8, crops_per_identity: 8, crop_size: 64 }),
    );
    const scenes = service.estimate(jobs({ frames: 64 }));

    // Assess: the same frames, each 64 times fewer pixels (requests cost the same for both).
    expect(crops.total_frames).toBe(scenes.total_frames);
    expect(crops.cost_breakdown.compute_usd).toBeLessThan(scenes.cost_breakdown.compute_usd / 30);
    expect(crops.cost_breakdown.compute_usd).toBeGreaterThan(0);
  });
});
