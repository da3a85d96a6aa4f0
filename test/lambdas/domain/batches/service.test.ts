import { describe, expect, it } from 'vitest';
import { DynamoJobStore } from '../../../../lambdas/adapters/dynamo/job-store.ts';
import { newJobId } from '../../../../lambdas/adapters/ids.ts';
import { BatchService } from '../../../../lambdas/domain/batches/service.ts';
import { DomainError } from '../../../../lambdas/domain/errors.ts';
import { JobsEngine } from '../../../../lambdas/domain/jobs/engine.ts';
import type { BatchExecutionInput, BatchWorkflow, BlobStore } from '../../../../lambdas/domain/ports.ts';
import { useEmulators } from '../../../support/emulators.ts';
import { aTenant } from '../../../support/jobs.ts';

const fixture = useEmulators();
const clock = { now: () => new Date() };
const unusedBlobs: BlobStore = {
  put: async () => undefined,
  get: async () => undefined,
  presignGet: async () => 'unused',
};

function serviceWith(workflow: BatchWorkflow) {
  const store = new DynamoJobStore(fixture.clients.dynamo, {
    tableName: fixture.emulators.tableNames.state,
    cursorSecret: 'service-test-cursor-secret-01234',
  });
  const engine = new JobsEngine({
    store,
    workflow,
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
  it('records the execution that runs the batch as soon as it has started', async () => {
    // Prepare
    const started: BatchExecutionInput[] = [];
    const { service, store } = serviceWith({
      start: async (input) => {
        started.push(input);
        return { executionId: `arn:execution:${input.batchId}` };
      },
      stop: async () => undefined,
    });
    const tenant = aTenant();

    // Act
    const batch = await service.submit(tenant, request);

    // Assess
    expect(started).toEqual([
      { tenant, batchId: batch.id, items: batch.job_runs.map((job) => ({ jobId: job.id })) },
    ]);
    expect((await store.get(tenant, batch.id))?.executionId).toBe(`arn:execution:${batch.id}`);
    expect(batch.job_runs.map((job) => job.param_values.seed)).toEqual([7, 7]);
  });

  it('answers 503 and fails the batch and every job when the workflow cannot start', async () => {
    // Prepare
    const { service, store } = serviceWith({
      start: async () => {
        throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      },
      stop: async () => undefined,
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
  });
});
