/**
 * The batch workflow executing the real ASL (statemachines/generation-batch.asl.json) on
 * aws-local-stepfunctions, with faults injected into its tasks: a failing job, a cancel mid-batch,
 * a worker killed between its S3 write and its job update, failing Catch paths, and the reconciler.
 */

import { createRequire } from 'node:module';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { EventBridgeEvent } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Batch, BatchSummary } from '../../../../contracts/batches.ts';
import type { Job } from '../../../../contracts/jobs.ts';
import { resultKey } from '../../../../lambdas/domain/generation/run-job.ts';
import type { BatchExecutionInput } from '../../../../lambdas/domain/ports.ts';
import { BATCH_TRANSITIONS } from '../../../../lambdas/domain/pricing.ts';
import { generationLambdas } from '../../../../lambdas/families/generation/family.ts';
import { type ExecutionStatusChange, reconcileTask } from '../../../../lambdas/handlers/reconciler.ts';
import type { PlatformRuntime as Runtime } from '../../../../lambdas/local/platform.ts';
import {
  type ExecutionRecord,
  LocalWorkflow,
  type TaskFunction,
} from '../../../../lambdas/local/stepfunctions/runner.ts';
import { STATE_MACHINE_FILES, type StateMachineName } from '../../../../statemachines/definitions.ts';
import { loadEvent } from '../../../support/fixtures.ts';
import { expectError, usePlatform } from '../../../support/platform.ts';

interface TaskEvent {
  tenant: string;
  batchId?: string;
  jobId?: string;
}
type Fault = (task: TaskFunction<Runtime>, runtime: Runtime, event: TaskEvent) => Promise<unknown>;

/** Faults by placeholder; each test installs its own and they are removed after it. */
const faults = new Map<string, Fault>();
/** Every task invocation, as the local Lambda saw it. */
const invocations: { placeholder: string; event: TaskEvent }[] = [];
/** Gates still closed; afterEach opens them, so a failed test never leaves an execution waiting. */
const gates: (() => void)[] = [];

const fixture = usePlatform({
  wrapTask: (placeholder, task) => async (runtime, event: TaskEvent) => {
    invocations.push({ placeholder, event });
    const fault = faults.get(placeholder);
    return fault ? fault(task, runtime, event) : task(runtime, event);
  },
});

afterEach(async () => {
  for (const open of gates.splice(0)) open();
  faults.clear();
  invocations.length = 0;
  vi.restoreAllMocks();
  await fixture.platform.workflows.generationBatch.idle();
});

/** Jobs a fault applies to carry this seed. */
const MARKED_SEED = 4242;

const isMarkedJob = async (runtime: Runtime, event: TaskEvent) => {
  const job = event.jobId === undefined ? undefined : await runtime.store.get(event.tenant, event.jobId);
  return (job?.kind === 'generation' || job?.kind === 'image') && job.params.seed === MARKED_SEED;
};

const isBatchNamed = async (runtime: Runtime, event: TaskEvent, name: string) =>
  event.batchId !== undefined && (await runtime.store.get(event.tenant, event.batchId))?.name === name;

/** An error as Lambda reports a crashed or killed function. */
function lambdaUnknown(message = 'Process exited before completing request'): Error {
  const error = new Error(message);
  error.name = 'Lambda.Unknown';
  return error;
}

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  gates.push(open);
  return { open, opened };
}

/** `promise`, or a clear failure after `ms` (a fault that never fires must not hang the file). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Submits `n` small jobs; the ones at `marked` get MARKED_SEED. */
async function submit(
  n: number,
  options: { marked?: number[]; name?: string; frames?: number } = {},
): Promise<Batch> {
  const jobRuns = Array.from({ length: n }, (_, index) => ({
    name: 'shapes',
    param_values: {
      image_width: 64,
      image_height: 64,
      frames: options.frames ?? 1,
      seed: options.marked?.includes(index) ? MARKED_SEED : index + 1,
    },
  }));
  const response = await fixture.api.post<Batch>('/api/v1/batches', {
    job_runs: jobRuns,
    ...(options.name ? { name: options.name } : {}),
  });
  if (response.status !== 202) throw new Error(`submission answered ${response.status}: ${response.text}`);
  return response.body;
}

function executionOf(batchId: string): ExecutionRecord {
  const record = [...fixture.platform.workflows.generationBatch.executions.values()].find(
    (e) => e.jobId === batchId,
  );
  if (!record) throw new Error(`no execution for batch ${batchId}`);
  return record;
}

/** Waits for the execution to close (the reconciler included) and returns what the user sees. */
async function settle(
  batchId: string,
): Promise<{ execution: ExecutionRecord; summary: BatchSummary; jobs: Job[] }> {
  const execution = executionOf(batchId);
  await execution.done;
  const summary = (await fixture.api.get<BatchSummary>(`/api/v1/batches/${batchId}/summary`)).body;
  const jobs = await Promise.all(
    [batchId, ...summary.job_runs.map((job) => job.id)].map(
      async (id) => (await fixture.api.get<Job>(`/api/v1/jobs/${id}`)).body,
    ),
  );
  return { execution, summary, jobs };
}

/** The EventBridge event Step Functions sends when an execution fails, for one of our batches. */
function executionFailed(tenant: string, batchId: string, itemIds: string[]) {
  const event = loadEvent<EventBridgeEvent<'Step Functions Execution Status Change', ExecutionStatusChange>>(
    'stepfunctions/execution-failed.json',
  );
  const arn = event.detail.executionArn.replace(/[^:]+$/, batchId);
  event.resources = [arn];
  event.detail.executionArn = arn;
  event.detail.input = JSON.stringify({
    tenant,
    batchId,
    items: itemIds.map((jobId) => ({ jobId })),
    maxConcurrency: 4,
  });
  return event;
}

const counts = (
  partial: Partial<Record<'pending' | 'running' | 'completed' | 'failed' | 'cancelled', number>>,
) => ({
  pending: 0,
  running: 0,
  completed: 0,
  failed: 0,
  cancelled: 0,
  ...partial,
});

describe('the batch workflow on the happy path', () => {
  it.each([1, 3, 6])('completes every job of a batch of %i, each with a result', async (n) => {
    // Act
    const batch = await submit(n);
    const { execution, summary, jobs } = await settle(batch.id);

    // Assess
    expect(execution.status).toBe('SUCCEEDED');
    expect(summary.status).toBe('completed');
    expect(summary.counts).toEqual(counts({ completed: n }));
    const [batchJob, ...items] = jobs;
    expect(batchJob).toMatchObject({ kind: 'batch', status: 'completed', counts: counts({ completed: n }) });
    for (const job of items) {
      expect(job).toMatchObject({ status: 'completed', progress: 100, result: { frames: 1 } });
      expect(job.result?.bytes).toBeGreaterThan(0);
    }
    expect(summary.job_runs.every((job) => job.result_url !== null)).toBe(true);
  });

  it('enters perBatch + perJob x n states, as the cost model bills', async () => {
    // Act
    const measured: Record<number, number> = {};
    for (const n of [1, 2, 5, 8]) {
      const batch = await submit(n);
      measured[n] = (await settle(batch.id)).execution.statesEntered;
    }

    // Assess: StartBatch, the Map and FinishBatch once; RunJob once per job.
    const perJob = ((measured[8] ?? 0) - (measured[1] ?? 0)) / 7;
    const perBatch = (measured[1] ?? 0) - perJob;
    expect({ perBatch, perJob }).toEqual(BATCH_TRANSITIONS);
    for (const [n, entered] of Object.entries(measured)) {
      expect(entered, `batch of ${n}`).toBe(
        BATCH_TRANSITIONS.perBatch + BATCH_TRANSITIONS.perJob * Number(n),
      );
    }
  });

  it('publishes one event per transition: pending -> running -> completed for the batch and each job', async () => {
    // Prepare
    const before = fixture.platform.events.recent.length;

    // Act
    const batch = await submit(3);
    await settle(batch.id);

    // Assess
    const events = fixture.platform.events.recent.slice(before);
    const byJob = new Map<string, string[]>();
    for (const event of events) {
      byJob.set(event.jobId, [...(byJob.get(event.jobId) ?? []), `${event.previousStatus}->${event.status}`]);
    }
    expect(byJob.size).toBe(4);
    for (const [, transitions] of byJob)
      expect(transitions).toEqual(['pending->running', 'running->completed']);
  });
});

describe('a job that fails', () => {
  it('fails alone with its error message; the others complete and so does the batch', async () => {
    // Prepare
    faults.set('RunJobFunctionArn', async (task, runtime, event) => {
      if (await isMarkedJob(runtime, event)) throw new Error('renderer ran out of memory');
      return task(runtime, event);
    });

    // Act
    const batch = await submit(4, { marked: [2] });
    const { execution, summary, jobs } = await settle(batch.id);

    // Assess
    expect(execution.status).toBe('SUCCEEDED');
    expect(summary.status).toBe('completed');
    expect(summary.counts).toEqual(counts({ completed: 3, failed: 1 }));
    const failed = summary.job_runs[2];
    expect(failed).toMatchObject({ status: 'failed', in_progress: false, result_url: null });
    expect(failed?.error).toEqual({ code: 'Error', message: 'renderer ran out of memory' });
    expect(jobs[3]).toMatchObject({ status: 'failed', error: { message: 'renderer ran out of memory' } });
    // Not a Lambda service error: no retries.
    const attempts = invocations.filter(
      (i) => i.placeholder === 'RunJobFunctionArn' && i.event.jobId === failed?.id,
    );
    expect(attempts).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ status: 'completed', counts: counts({ completed: 3, failed: 1 }) });
  });
});

describe('cancelling a batch while it runs', () => {
  it('stops the execution, cancels every open job, leaves none pending or running, and refuses a second cancel', async () => {
    // Prepare: every RunJob of the batch waits; the marked one marks itself running first.
    const release = gate();
    const started = gate();
    faults.set('RunJobFunctionArn', async (task, runtime, event) => {
      if (await isMarkedJob(runtime, event)) {
        await runtime.engine.transition(event.tenant, event.jobId ?? '', 'running', {}, 'started');
        started.open();
      }
      await release.opened;
      return task(runtime, event);
    });
    const batch = await submit(6, { marked: [0] });
    await within(started.opened, 10_000, 'the marked RunJob to start');

    // Act
    const cancelled = await fixture.api.delete<Job>(`/api/v1/jobs/${batch.id}`);
    release.open();
    const { execution, summary, jobs } = await settle(batch.id);
    const again = await fixture.api.delete(`/api/v1/jobs/${batch.id}`);
    const oneJob = await fixture.api.delete(`/api/v1/jobs/${batch.job_runs[1]?.id}`);
    const listed = await fixture.api.get<{ jobs: Job[] }>('/api/v1/jobs', { kind: 'batch', limit: 100 });

    // Assess
    expect(cancelled.status, cancelled.text).toBe(200);
    expect(cancelled.body).toMatchObject({
      id: batch.id,
      status: 'cancelled',
      counts: counts({ cancelled: 6 }),
    });
    expect(execution.status).toBe('ABORTED');
    expect(summary.status).toBe('cancelled');
    expect(summary.job_runs.map((job) => job.status)).toEqual(Array(6).fill('cancelled'));
    expect(jobs.every((job) => job.status === 'cancelled')).toBe(true);
    expectError(again, 409, 'ILLEGAL_STATE');
    expectError(oneJob, 409, 'ILLEGAL_STATE');
    // The batch keeps its final counts, as a completed batch does.
    expect(listed.body.jobs.find((job) => job.id === batch.id)?.counts).toEqual(counts({ cancelled: 6 }));
  });
});

describe('a worker killed between writing its result and updating its job', () => {
  /** RunJob of the marked job: marks itself running, writes the result, then dies, on every attempt. */
  const crashAfterWrite: Fault = async (task, runtime, event) => {
    if (!(await isMarkedJob(runtime, event))) return task(runtime, event);
    const jobId = event.jobId ?? '';
    await runtime.engine.transition(event.tenant, jobId, 'running', {}, 'started');
    await runtime.blobs.put(
      resultKey(event.tenant, jobId),
      new Uint8Array([0x50, 0x4b, 5, 6]),
      'application/zip',
    );
    throw lambdaUnknown();
  };

  async function objectsUnder(prefix: string): Promise<string[]> {
    const listed = await fixture.platform.runtime.clients.s3.send(
      new ListObjectsV2Command({ Bucket: fixture.platform.emulators.bucketName, Prefix: prefix }),
    );
    return (listed.Contents ?? []).map((object) => object.Key ?? '');
  }

  it('is retried up to MaxAttempts, then FailJob fails the job; it is never left running', async () => {
    // Prepare
    faults.set('RunJobFunctionArn', crashAfterWrite);

    // Act
    const batch = await submit(3, { marked: [1] });
    const { execution, summary } = await settle(batch.id);

    // Assess
    const victim = batch.job_runs[1]?.id ?? '';
    const attempts = invocations.filter(
      (i) => i.placeholder === 'RunJobFunctionArn' && i.event.jobId === victim,
    );
    expect(attempts).toHaveLength(1 + 6);
    expect(execution.status).toBe('SUCCEEDED');
    expect(summary).toMatchObject({ status: 'completed', counts: counts({ completed: 2, failed: 1 }) });
    expect(summary.job_runs[1]).toMatchObject({
      status: 'failed',
      result_url: null,
      error: { code: 'Lambda.Unknown', message: 'Process exited before completing request' },
    });
    // One object per job at its deterministic key, however many attempts wrote it.
    expect(await objectsUnder(`dev/jobs/${victim}/`)).toEqual([resultKey('dev', victim)]);
  });

  it('is failed by FinishBatch when FailJob fails too', async () => {
    // Prepare
    faults.set('RunJobFunctionArn', crashAfterWrite);
    faults.set('FailJobFunctionArn', async (task, runtime, event) => {
      if (await isMarkedJob(runtime, event)) throw lambdaUnknown();
      return task(runtime, event);
    });

    // Act
    const batch = await submit(3, { marked: [0] });
    const { execution, summary } = await settle(batch.id);

    // Assess
    expect(execution.status).toBe('SUCCEEDED');
    expect(summary).toMatchObject({ status: 'completed', counts: counts({ completed: 2, failed: 1 }) });
    expect(summary.job_runs[0]).toMatchObject({ status: 'failed', error: { code: 'NOT_REPORTED' } });
    expect(summary.job_runs.some((job) => job.in_progress)).toBe(false);
  });

  it('is failed with its batch by the reconciler when FinishBatch fails too and the execution fails', async () => {
    // Prepare
    faults.set('RunJobFunctionArn', crashAfterWrite);
    faults.set('FailJobFunctionArn', async (task, runtime, event) => {
      if (await isMarkedJob(runtime, event)) throw lambdaUnknown();
      return task(runtime, event);
    });
    faults.set('FinishBatchFunctionArn', async (task, runtime, event) => {
      if (await isBatchNamed(runtime, event, 'doomed')) throw lambdaUnknown();
      return task(runtime, event);
    });

    // Act
    const batch = await submit(3, { marked: [2], name: 'doomed' });
    const { execution, summary, jobs } = await settle(batch.id);

    // Assess
    expect(execution.status).toBe('FAILED');
    expect(summary.status).toBe('failed');
    expect(summary.counts).toEqual(counts({ completed: 2, failed: 1 }));
    expect(summary.job_runs[2]).toMatchObject({ status: 'failed', error: { code: 'EXECUTION_FAILED' } });
    expect(jobs[0]).toMatchObject({ status: 'failed', error: { code: 'EXECUTION_FAILED' } });
    expect(jobs.some((job) => job.status === 'running' || job.status === 'pending')).toBe(false);

    // Act: EventBridge delivers the same event again, three times.
    const event = executionFailed(
      'dev',
      batch.id,
      batch.job_runs.map((job) => job.id),
    );
    const replays = [];
    for (let i = 0; i < 3; i++)
      replays.push(await reconcileTask(fixture.platform.runtime, structuredClone(event)));
    const after = await settle(batch.id);

    // Assess: nothing new is written.
    for (const replay of replays)
      expect(replay).toMatchObject({ reconciled: true, jobsFailed: 0, ownerFailed: false });
    expect(after.jobs.map((job) => [job.id, job.status, job.version])).toEqual(
      jobs.map((job) => [job.id, job.status, job.version]),
    );
  });
});

/** A running batch whose jobs wait, before running for real, until `release.open()`. */
async function runningBatchWithHeldJobs(n: number) {
  const release = gate();
  faults.set('RunJobFunctionArn', async (task, runtime, event) => {
    await release.opened;
    return task(runtime, event);
  });
  const batch = await submit(n);
  await vi.waitFor(async () => {
    expect((await fixture.api.get<Job>(`/api/v1/jobs/${batch.id}`)).body.status).toBe('running');
  });
  return { batch, release };
}

describe('the reconciler', () => {
  it('fails a running batch and its open jobs after one event, and writes nothing when the event is replayed', async () => {
    // Prepare: a batch whose jobs hang, as if its execution had died in the cloud.
    const { batch, release } = await runningBatchWithHeldJobs(2);
    const event = executionFailed(
      'dev',
      batch.id,
      batch.job_runs.map((job) => job.id),
    );
    const view = async () =>
      Promise.all(
        [batch.id, ...batch.job_runs.map((job) => job.id)].map(
          async (id) => (await fixture.api.get<Job>(`/api/v1/jobs/${id}`)).body,
        ),
      );

    // Act
    const first = await reconcileTask(fixture.platform.runtime, event);
    const afterFirst = await view();
    const eventsAfterFirst = fixture.platform.events.recent.length;
    const replays = [];
    for (let i = 0; i < 3; i++)
      replays.push(await reconcileTask(fixture.platform.runtime, structuredClone(event)));
    const afterReplays = await view();
    release.open();
    await executionOf(batch.id).done;
    const afterExecution = await view();

    // Assess
    expect(first).toMatchObject({ reconciled: true, jobsFailed: 2, ownerFailed: true });
    expect(afterFirst.map((job) => job.status)).toEqual(['failed', 'failed', 'failed']);
    expect(afterFirst[0]?.error).toEqual({
      code: 'EXECUTION_FAILED',
      message: 'the batch execution ended FAILED: BatchFailed',
    });
    for (const replay of replays)
      expect(replay).toMatchObject({ reconciled: true, jobsFailed: 0, ownerFailed: false });
    expect(afterReplays).toEqual(afterFirst);
    expect(fixture.platform.events.recent.length).toBe(eventsAfterFirst);
    // The workers that wake up late find their jobs failed and change nothing.
    expect(afterExecution.map((job) => [job.status, job.version])).toEqual(
      afterFirst.map((job) => [job.status, job.version]),
    );
  });

  it('cancels, not fails, the open jobs of a batch the user cancelled, whichever comes first', async () => {
    // Prepare: a cancelled batch whose jobs were still open when the ABORTED event arrived.
    const { batch, release } = await runningBatchWithHeldJobs(2);
    await fixture.platform.runtime.engine.transition('dev', batch.id, 'cancelled');
    const event = executionFailed(
      'dev',
      batch.id,
      batch.job_runs.map((job) => job.id),
    );
    event.detail.status = 'ABORTED';

    // Act
    const result = await reconcileTask(fixture.platform.runtime, event);
    release.open();
    await executionOf(batch.id).done;

    // Assess
    expect(result).toMatchObject({ reconciled: true, jobsFailed: 0, ownerFailed: false });
    const statuses = await Promise.all(
      [batch.id, ...batch.job_runs.map((job) => job.id)].map(
        async (id) => (await fixture.api.get<Job>(`/api/v1/jobs/${id}`)).body.status,
      ),
    );
    expect(statuses).toEqual(['cancelled', 'cancelled', 'cancelled']);
  });

  it('ignores an execution whose input names no batch', async () => {
    // Prepare
    const event = executionFailed('dev', 'x', []);
    event.detail.input = '{"something":"else"}';

    // Act
    const result = await reconcileTask(fixture.platform.runtime, event);

    // Assess
    expect(result).toEqual({ reconciled: false });
  });
});

describe('a worker restarted after a crash', () => {
  it('never shows less progress than the interrupted attempt had reached', async () => {
    // Prepare: the first attempt reaches 50 % and dies; the retry runs the real worker.
    const attempts = new Map<string, number>();
    faults.set('RunJobFunctionArn', async (task, runtime, event) => {
      const jobId = event.jobId ?? '';
      const attempt = (attempts.get(jobId) ?? 0) + 1;
      attempts.set(jobId, attempt);
      if (attempt === 1 && (await isMarkedJob(runtime, event))) {
        await runtime.engine.transition(event.tenant, jobId, 'running', {}, 'started');
        await runtime.store.update(event.tenant, jobId, { progress: 50, message: 'rendered frame 5 of 10' });
        throw lambdaUnknown();
      }
      return task(runtime, event);
    });
    const updates = vi.spyOn(fixture.platform.runtime.store, 'update');

    // Act
    const batch = await submit(1, { marked: [0], frames: 10 });
    const { summary } = await settle(batch.id);

    // Assess
    const jobId = batch.job_runs[0]?.id ?? '';
    const progress = updates.mock.calls
      .filter(([, id, patch]) => id === jobId && patch.progress !== undefined)
      .map(([, , patch]) => patch.progress);
    expect(summary.job_runs[0]?.status).toBe('completed');
    expect(progress[0]).toBe(50);
    expect(progress.every((value, index) => index === 0 || (value ?? 0) >= (progress[index - 1] ?? 0))).toBe(
      true,
    );
  });
});

describe('stopping an execution', () => {
  it('answers at once, as StopExecution does, and stops what its step waits for in the background', async () => {
    // Prepare: an execution whose job hangs, and a stop of its work (a trainer that checkpoints
    // before it exits) that takes as long as the test says.
    const { runtime } = fixture.platform;
    const stopWork = gate();
    const hang = gate();
    let stopsRequested = 0;
    const workflow = new LocalWorkflow<BatchExecutionInput, Runtime>({
      runtime: () => runtime,
      machine: 'generationBatch',
      tasks: generationLambdas.tasks.generationBatch,
      jobIdOf: (input) => input.batchId,
      maxConcurrency: 1,
      retryIntervalMs: 0,
      onClosedAbnormally: (event) => reconcileTask(runtime, event),
      wrapTask: (placeholder, task) => (placeholder === 'RunJobFunctionArn' ? async () => hang.opened : task),
      onStop: async () => {
        stopsRequested++;
        await stopWork.opened;
      },
    });
    const batch = await submit(1);
    const { executionId } = await workflow.start({ tenant: 'dev', batchId: batch.id, items: [] });

    // Act
    await within(workflow.stop(executionId), 5_000, 'the stop to answer while its work still stops');
    const shutdown = workflow.shutdown();
    stopWork.open();
    hang.open();
    await shutdown;

    // Assess
    expect(stopsRequested).toBe(1);
    expect(workflow.executions.get(executionId)?.status).toBe('ABORTED');
  });
});

// asl-validator ships no types: this is the part of its API the test uses.
type AslValidator = (
  definition: unknown,
  options: { checkArn: boolean; checkPaths: boolean },
) => { isValid: boolean; errors: unknown[]; errorsText: (separator?: string) => string };
const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;

describe('localDefinition', () => {
  it.each(Object.keys(STATE_MACHINE_FILES) as StateMachineName[])(
    'is a valid definition of %s as the local runner gets it (the platform does not validate at start)',
    (machine) => {
      // Prepare: the local function names are not ARNs, as the platform's runner has them.
      const definition = fixture.platform.workflows[machine].definition;

      // Act
      const result = aslValidator(definition, { checkArn: false, checkPaths: true });

      // Assess
      expect(result.errors, result.errorsText('\n')).toEqual([]);
      expect(result.isValid).toBe(true);
    },
  );
});
