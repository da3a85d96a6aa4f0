/**
 * The jobs engine over the real store on dynalite: one event and one log line per applied
 * transition, nothing for an illegal one, cancellation of jobs and batches, and a model-based run
 * of start/complete/fail/cancel/progress (reliability matrix T20, T21, T27).
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { JOB_STATUSES, type JobStatus } from '../../../../contracts/jobs.ts';
import { DynamoJobStore } from '../../../../lambdas/adapters/dynamo/job-store.ts';
import { DomainError } from '../../../../lambdas/domain/errors.ts';
import { JobsEngine } from '../../../../lambdas/domain/jobs/engine.ts';
import type { JobRecord } from '../../../../lambdas/domain/jobs/model.ts';
import type {
  BatchExecutionInput,
  BatchWorkflow,
  EventPublisher,
  JobStateChange,
} from '../../../../lambdas/domain/ports.ts';
import { useEmulators } from '../../../support/emulators.ts';
import { aJob, aTenant } from '../../../support/jobs.ts';

const fixture = useEmulators();
const SEED = Number(process.env.FC_SEED ?? 27_182);

/**
 * The lifecycle the README documents, written out here rather than read from `lifecycle.ts`: a
 * test that asked the code under test which edges are legal would agree with any mutant of it.
 * `Record<JobStatus, …>` makes the compiler demand a row for every status the contracts declare.
 */
const LEGAL: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  pending: ['running', 'failed', 'cancelled'],
  running: ['completed', 'failed', 'cancelled'],
  completed: [],
  failed: [],
  cancelled: [],
};
const TERMINAL: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];
const isLegal = (from: JobStatus, to: JobStatus) => LEGAL[from].includes(to);
const isFinal = (status: JobStatus) => TERMINAL.includes(status);

class RecordingEvents implements EventPublisher {
  readonly published: JobStateChange[] = [];
  async publishJobStateChanges(events: JobStateChange[]): Promise<void> {
    this.published.push(...events);
  }
}

class RecordingWorkflow implements BatchWorkflow {
  readonly started: BatchExecutionInput[] = [];
  readonly stopped: { executionId: string; cause: string }[] = [];
  async start(input: BatchExecutionInput) {
    this.started.push(input);
    return { executionId: this.executionIdOf(input.batchId) };
  }
  executionIdOf(batchId: string) {
    return `execution-${batchId}`;
  }
  async stop(executionId: string, cause: string) {
    this.stopped.push({ executionId, cause });
  }
}

/** A clock that moves one millisecond per reading, so every write has its own instant. */
function steppingClock(start = Date.parse('2031-01-01T00:00:00.000Z')) {
  let now = start;
  return { now: () => new Date(now++) };
}

function anEngine() {
  const clock = steppingClock();
  const store = new DynamoJobStore(fixture.clients.dynamo, {
    tableName: fixture.emulators.tableNames.state,
    cursorSecret: 'engine-test-cursor-secret-0123',
    clock,
  });
  const events = new RecordingEvents();
  const workflow = new RecordingWorkflow();
  return { engine: new JobsEngine({ store, events, executions: workflow, clock }), store, events, workflow };
}

type Setup = ReturnType<typeof anEngine>;

async function aStoredJob(setup: Setup, overrides: Partial<JobRecord> = {}): Promise<JobRecord> {
  const job = aJob({ tenant: aTenant(), ...overrides });
  await setup.store.create([job]);
  return job;
}

const logMessages = async (setup: Setup, job: Pick<JobRecord, 'tenant' | 'id'>) =>
  (await setup.store.tailLog(job.tenant, job.id, 100)).map((entry) => `${entry.level}: ${entry.message}`);

describe('JobsEngine.transition', () => {
  let setup: Setup;
  beforeAll(() => {
    setup = anEngine();
  });

  it('publishes exactly one Job State Change and writes one log line per applied transition', async () => {
    // Prepare
    const job = await aStoredJob(setup, { batchId: aJob({ tenant: 'x' }).id });

    // Act
    const started = await setup.engine.transition(job.tenant, job.id, 'running', { progress: 0 });
    const completed = await setup.engine.transition(
      job.tenant,
      job.id,
      'completed',
      { progress: 100 },
      'done: 3 frames',
    );

    // Assess
    expect(started.applied && completed.applied).toBe(true);
    const mine = setup.events.published.filter((event) => event.jobId === job.id);
    expect(mine).toEqual([
      expect.objectContaining({
        tenant: job.tenant,
        kind: 'generation',
        batchId: job.batchId,
        previousStatus: 'pending',
        status: 'running',
        version: 2,
      }),
      expect.objectContaining({ previousStatus: 'running', status: 'completed', version: 3 }),
    ]);
    expect(await logMessages(setup, job)).toEqual([
      'info: status: pending -> running',
      'info: done: 3 frames',
    ]);
  });

  it('logs a failure as an error and carries the error in its event', async () => {
    // Prepare
    const job = await aStoredJob(setup);
    const error = { code: 'RENDER_FAILED', message: 'out of memory' };

    // Act
    await setup.engine.transition(job.tenant, job.id, 'failed', { error }, 'failed: out of memory');

    // Assess
    expect(setup.events.published.filter((event) => event.jobId === job.id)).toEqual([
      expect.objectContaining({ previousStatus: 'pending', status: 'failed', error }),
    ]);
    expect(await logMessages(setup, job)).toEqual(['error: failed: out of memory']);
  });

  const pairs = JOB_STATUSES.flatMap((from) => JOB_STATUSES.map((to) => [from, to] as const));
  const legal = Object.entries(LEGAL).flatMap(([from, targets]) =>
    targets.map((to) => [from as JobStatus, to] as const),
  );
  const refused = pairs.filter(([from, to]) => !isLegal(from, to));

  it('covers every pair of statuses: 6 legal edges, the 19 others refused', () => {
    // Assess: guards the tables below against a status added to the contracts but not here.
    expect(legal).toHaveLength(6);
    expect(refused).toHaveLength(19);
    expect(Object.keys(LEGAL).sort()).toEqual([...JOB_STATUSES].sort());
  });

  it.each(refused)('refuses %s -> %s: no write, no event, no log line', async (from, to) => {
    // Prepare
    const job = await aStoredJob(setup, { status: from });
    const before = await setup.store.get(job.tenant, job.id);
    const eventsBefore = setup.events.published.length;

    // Act
    const outcome = await setup.engine.transition(job.tenant, job.id, to, {
      progress: 42,
      message: 'late',
    });

    // Assess
    expect(outcome).toEqual({ applied: false, reason: 'illegal', job: before });
    expect(await setup.store.get(job.tenant, job.id)).toEqual(before);
    expect(setup.events.published.length).toBe(eventsBefore);
    expect(await logMessages(setup, job)).toEqual([]);
  });

  it.each(legal)('applies %s -> %s', async (from, to) => {
    // Prepare
    const job = await aStoredJob(setup, { status: from });

    // Act
    const outcome = await setup.engine.transition(job.tenant, job.id, to);

    // Assess
    expect(outcome).toMatchObject({ applied: true, previous: from, job: { status: to, version: 2 } });
    expect(setup.events.published.filter((event) => event.jobId === job.id)).toHaveLength(1);
  });

  it('answers not_found for a job that does not exist, and publishes nothing', async () => {
    // Prepare
    const ghost = aJob({ tenant: aTenant() });
    const eventsBefore = setup.events.published.length;

    // Act
    const outcome = await setup.engine.transition(ghost.tenant, ghost.id, 'running');

    // Assess
    expect(outcome).toEqual({ applied: false, reason: 'not_found' });
    expect(setup.events.published.length).toBe(eventsBefore);
  });
});

describe('JobsEngine.cancel', () => {
  let setup: Setup;
  beforeAll(() => {
    setup = anEngine();
  });

  it.each(['completed', 'failed', 'cancelled'] as const)(
    'refuses to cancel a %s job with ILLEGAL_STATE (409) and changes nothing',
    async (status) => {
      // Prepare
      const job = await aStoredJob(setup, { status });
      const eventsBefore = setup.events.published.length;

      // Act
      const cancelling = setup.engine.cancel(job.tenant, job.id);

      // Assess
      await expect(cancelling).rejects.toThrow(DomainError);
      await expect(cancelling).rejects.toMatchObject({ code: 'ILLEGAL_STATE', status: 409 });
      expect(await setup.store.get(job.tenant, job.id)).toEqual(job);
      expect(setup.events.published.length).toBe(eventsBefore);
      expect(setup.workflow.stopped).toEqual([]);
    },
  );

  it('answers NOT_FOUND (404) for a job that does not exist', async () => {
    // Act
    const cancelling = setup.engine.cancel(aTenant(), aJob({ tenant: 'x' }).id);

    // Assess
    await expect(cancelling).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
  });

  it.each(['pending', 'running'] as const)(
    'cancels a %s job alone, without touching any workflow',
    async (status) => {
      // Prepare
      const job = await aStoredJob(setup, { status });

      // Act
      const cancelled = await setup.engine.cancel(job.tenant, job.id);

      // Assess
      expect(cancelled).toMatchObject({ id: job.id, status: 'cancelled', version: 2 });
      expect(setup.events.published.filter((event) => event.jobId === job.id)).toEqual([
        expect.objectContaining({ previousStatus: status, status: 'cancelled' }),
      ]);
      expect(await logMessages(setup, job)).toEqual(['info: cancelled by the user']);
      expect(setup.workflow.stopped).toEqual([]);
    },
  );

  it('stops the batch workflow once and cancels only the open jobs of the batch', async () => {
    // Prepare
    const tenant = aTenant();
    const batch = aJob({ tenant, kind: 'batch', status: 'running', executionId: 'execution-42', total: 4 });
    const items = (['completed', 'running', 'pending', 'failed'] as const).map((status) =>
      aJob({ tenant, batchId: batch.id, status }),
    );
    const elsewhere = aJob({ tenant, status: 'running' });
    await setup.store.create([...items, elsewhere, batch]);
    const stoppedBefore = setup.workflow.stopped.length;

    // Act
    const cancelled = await setup.engine.cancel(tenant, batch.id);

    // Assess
    expect(setup.workflow.stopped.slice(stoppedBefore)).toEqual([
      { executionId: 'execution-42', cause: expect.any(String) },
    ]);
    expect(cancelled).toMatchObject({
      status: 'cancelled',
      counts: { pending: 0, running: 0, completed: 1, failed: 1, cancelled: 2 },
    });
    const after = await Promise.all(items.map((item) => setup.store.get(tenant, item.id)));
    expect(after.map((item) => item?.status)).toEqual(['completed', 'cancelled', 'cancelled', 'failed']);
    expect((await setup.store.get(tenant, elsewhere.id))?.status).toBe('running');
    const transitions = setup.events.published
      .filter((event) => event.tenant === tenant)
      .map(
        (event) => `${event.jobId === batch.id ? 'batch' : 'item'}:${event.previousStatus}->${event.status}`,
      );
    expect(transitions.sort()).toEqual([
      'batch:running->cancelled',
      'item:pending->cancelled',
      'item:running->cancelled',
    ]);
    expect((await setup.store.get(tenant, batch.id))?.counts).toEqual(cancelled.counts);
  });

  it('closes the jobs of a batch before it stops their execution, so that none can start after it', async () => {
    // Prepare: a workflow that notes, when it is asked to stop, whether a job of the batch could
    // still start (a worker that picked it up in between).
    const base = anEngine();
    const tenant = aTenant();
    const batch = aJob({ tenant, kind: 'batch', status: 'running', executionId: 'execution-7', total: 2 });
    const items = [
      aJob({ tenant, batchId: batch.id }),
      aJob({ tenant, batchId: batch.id, status: 'running' }),
    ];
    await base.store.create([batch, ...items]);
    const startableAtStop: string[] = [];
    const engine = new JobsEngine({
      store: base.store,
      events: base.events,
      clock: steppingClock(),
      executions: {
        stop: async () => {
          for (const item of items) {
            const started = await base.store.transition(tenant, item.id, 'running', {});
            if (started.applied) startableAtStop.push(item.id);
          }
        },
      },
    });

    // Act
    const cancelled = await engine.cancel(tenant, batch.id);
    const after = await Promise.all(items.map((item) => base.store.get(tenant, item.id)));

    // Assess
    expect(startableAtStop).toEqual([]);
    expect(after.map((item) => item?.status)).toEqual(['cancelled', 'cancelled']);
    expect(cancelled).toMatchObject({ status: 'cancelled', message: 'cancelled by the user' });
  });
});

describe('JobsEngine when a follow-up fails', () => {
  it('still stops and closes a cancelled batch when its event cannot be published', async () => {
    // Prepare: a bus that is down, and a workflow that fails to stop.
    const base = anEngine();
    const reports: string[] = [];
    const engine = new JobsEngine({
      store: base.store,
      events: {
        publishJobStateChanges: async () => {
          throw new Error('EventBridge is unavailable');
        },
      },
      executions: base.workflow,
      clock: steppingClock(),
      report: (message) => reports.push(message),
    });
    const tenant = aTenant();
    const batch = aJob({ tenant, kind: 'batch', status: 'running', executionId: 'execution-7', total: 2 });
    const items = (['running', 'pending'] as const).map((status) =>
      aJob({ tenant, batchId: batch.id, status }),
    );
    await base.store.create([...items, batch]);

    // Act
    const cancelled = await engine.cancel(tenant, batch.id);

    // Assess
    expect(cancelled.status).toBe('cancelled');
    expect(base.workflow.stopped).toEqual([{ executionId: 'execution-7', cause: expect.any(String) }]);
    const after = await Promise.all(items.map((item) => base.store.get(tenant, item.id)));
    expect(after.map((item) => item?.status)).toEqual(['cancelled', 'cancelled']);
    expect(reports).toContain('publishing a Job State Change failed');
  });
});

// ---------------------------------------------------------------------------------------------
// Model-based: one job, a random sequence of operations, and a model of what each must do.

interface Model {
  status: JobStatus;
  version: number;
  progress: number;
  /** Events the job has published so far. */
  events: number;
}

interface Real {
  setup: Setup;
  job: JobRecord;
  /** The job as last read, to compare the next read against. */
  last: JobRecord;
}

async function assessInvariants(model: Model, real: Real): Promise<void> {
  const job = await real.setup.store.get(real.job.tenant, real.job.id);
  if (!job) throw new Error('the job disappeared');
  expect(job.status).toBe(model.status);
  expect(job.version).toBe(model.version);
  expect(job.progress).toBe(model.progress);
  // Versions strictly increase with every write and never move otherwise.
  expect(job.version).toBeGreaterThanOrEqual(real.last.version);
  if (job.version === real.last.version) expect(job).toEqual(real.last);
  // A terminal status never changes; progress never goes back; time never goes back.
  if (isFinal(real.last.status)) expect(job.status).toBe(real.last.status);
  expect(job.progress).toBeGreaterThanOrEqual(real.last.progress);
  expect(job.updatedAt >= real.last.updatedAt).toBe(true);
  expect(real.setup.events.published.filter((event) => event.jobId === job.id)).toHaveLength(model.events);
  real.last = job;
}

/** A transition through the engine; applies only from the statuses the lifecycle allows. */
class TransitionCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly to: 'running' | 'completed' | 'failed') {}
  check(): boolean {
    return true;
  }
  async run(model: Model, real: Real): Promise<void> {
    const patch =
      this.to === 'completed'
        ? { progress: 100 }
        : this.to === 'failed'
          ? { error: { code: 'X', message: 'failed by the model' } }
          : {};
    const outcome = await real.setup.engine.transition(real.job.tenant, real.job.id, this.to, patch);
    const legal = isLegal(model.status, this.to);
    expect(outcome.applied).toBe(legal);
    if (legal) {
      model.status = this.to;
      model.version++;
      model.events++;
      if (this.to === 'completed') model.progress = 100;
    }
    await assessInvariants(model, real);
  }
  toString(): string {
    return `transition(${this.to})`;
  }
}

class CancelCommand implements fc.AsyncCommand<Model, Real> {
  check(): boolean {
    return true;
  }
  async run(model: Model, real: Real): Promise<void> {
    const cancelling = real.setup.engine.cancel(real.job.tenant, real.job.id);
    if (isFinal(model.status)) {
      await expect(cancelling).rejects.toMatchObject({ code: 'ILLEGAL_STATE' });
    } else {
      await expect(cancelling).resolves.toMatchObject({ status: 'cancelled' });
      model.status = 'cancelled';
      model.version++;
      model.events++;
    }
    await assessInvariants(model, real);
  }
  toString(): string {
    return 'cancel';
  }
}

/** A worker's progress report: never lower than its last one (run-job only reports forward). */
class ProgressCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly step: number) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, real: Real): Promise<void> {
    const progress = Math.min(99, real.last.progress + this.step);
    const updated = await real.setup.store.update(real.job.tenant, real.job.id, {
      progress,
      message: 'rendering',
    });
    if (isFinal(model.status)) {
      expect(updated).toBeUndefined();
    } else {
      expect(updated).toBeDefined();
      model.version++;
      model.progress = progress;
    }
    await assessInvariants(model, real);
  }
  toString(): string {
    return `progress(+${this.step})`;
  }
}

describe('JobsEngine against a model', () => {
  it(`keeps versions increasing, terminal statuses final and progress monotone (seed ${SEED})`, async () => {
    // Prepare
    const setup = anEngine();
    const commands = fc.commands(
      [
        fc
          .constantFrom('running', 'completed', 'failed')
          .map((to) => new TransitionCommand(to) as fc.AsyncCommand<Model, Real>),
        fc.constant(new CancelCommand()),
        fc.integer({ min: 0, max: 30 }).map((step) => new ProgressCommand(step)),
      ],
      { maxCommands: 30 },
    );

    // Act + Assess
    await fc.assert(
      fc.asyncProperty(commands, async (sequence) => {
        const job = await aStoredJob(setup);
        const setupModel = () => ({
          model: {
            status: job.status,
            version: job.version,
            progress: job.progress,
            events: 0,
          } satisfies Model,
          real: { setup, job, last: job } satisfies Real,
        });
        await fc.asyncModelRun(setupModel, sequence);
      }),
      { seed: SEED, numRuns: 100 },
    );
  });
});
