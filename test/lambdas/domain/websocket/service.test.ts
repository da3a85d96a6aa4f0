/**
 * The generation socket over the real connection store on dynalite, with a messenger that records
 * what it is asked to send and can play API Gateway's 410 GoneException (reliability matrix T36):
 * each job version is delivered once and in order, a gone connection is removed with its
 * subscriptions after one attempt and never retried, failures are retried by the event.
 */
import { describe, expect, it } from 'vitest';
import type { ServerMessage } from '../../../../contracts/websocket.ts';
import { DynamoConnectionStore } from '../../../../lambdas/adapters/dynamo/connection-store.ts';
import { newJobId } from '../../../../lambdas/adapters/ids.ts';
import { DomainError } from '../../../../lambdas/domain/errors.ts';
import { presentImage } from '../../../../lambdas/domain/images/service.ts';
import type { JobRecord, JobStatus } from '../../../../lambdas/domain/jobs/model.ts';
import type { BlobStore, ConnectionMessenger, JobStateChange } from '../../../../lambdas/domain/ports.ts';
import { GenerationSocket, type GenerationSocketDeps } from '../../../../lambdas/domain/websocket/service.ts';
import { useEmulators } from '../../../support/emulators.ts';
import { aJob, aTenant, IMAGE_JOB_PARAMS } from '../../../support/jobs.ts';

const fixture = useEmulators();

/** Records every attempt; a connection in `gone` answers 410, one in `failing` throws. */
class RecordingMessenger implements ConnectionMessenger {
  readonly attempts: string[] = [];
  readonly sent: { connectionId: string; message: ServerMessage }[] = [];
  readonly gone = new Set<string>();
  readonly failing = new Set<string>();

  async send(connectionId: string, data: string): Promise<'sent' | 'gone'> {
    this.attempts.push(connectionId);
    if (this.gone.has(connectionId)) return 'gone';
    if (this.failing.has(connectionId)) throw new Error('LimitExceededException');
    this.sent.push({ connectionId, message: JSON.parse(data) });
    return 'sent';
  }

  to(connectionId: string): ServerMessage[] {
    return this.sent.filter((entry) => entry.connectionId === connectionId).map((entry) => entry.message);
  }
}

const blobs: BlobStore = {
  size: async () => undefined,
  bucket: 'outputs',
  presignGet: async (key) => `https://outputs.example/${key}?signature=1`,
  presignPut: async (key) => `https://outputs.example/${key}?signature=1`,
  put: async () => undefined,
  get: async () => undefined,
  copy: async () => ({ bytes: 0 }),
  delete: async () => undefined,
  list: async () => [],
};

let connectionCounter = 0;
const aConnectionId = () => `c${String(++connectionCounter).padStart(14, '0')}=`;

function setup(overrides: Partial<GenerationSocketDeps> = {}) {
  const messenger = new RecordingMessenger();
  const jobs = new Map<string, JobRecord>();
  const connections = new DynamoConnectionStore(fixture.clients.dynamo, {
    tableName: fixture.emulators.tableNames.state,
  });
  const reports: string[] = [];
  const socket = new GenerationSocket({
    connections,
    messenger,
    jobs: { get: async (tenant, id) => jobs.get(`${tenant}/${id}`) },
    generate: async () => {
      throw new Error('not used');
    },
    image: (job) => presentImage(job, blobs, 60),
    clock: { now: () => new Date() },
    report: (message) => reports.push(message),
    ...overrides,
  });
  const save = (job: JobRecord) => {
    jobs.set(`${job.tenant}/${job.id}`, job);
    return job;
  };
  return { socket, messenger, connections, jobs, save, reports };
}

/** A batch holding `job`, as the service's `generate` answers it. */
function aBatchOf(job: JobRecord) {
  const { tenant, status, progress, createdAt, updatedAt } = job;
  return aJob({ tenant, kind: 'batch', status, progress, createdAt, updatedAt });
}

/** The job moves on: status, version and what comes with it. */
function advance<J extends JobRecord>(job: J, status: JobStatus, patch: Partial<J> = {}): J {
  const progress = status === 'running' ? 10 : status === 'completed' ? 100 : job.progress;
  return { ...job, status, version: job.version + 1, progress, ...patch };
}

const changeOf = (job: JobRecord, previousStatus: JobStatus = 'pending'): JobStateChange => ({
  tenant: job.tenant,
  jobId: job.id,
  kind: job.kind,
  previousStatus,
  status: job.status,
  version: job.version,
  at: job.updatedAt,
});

async function subscribed(setupResult: ReturnType<typeof setup>, tenant: string, jobIds: string[]) {
  const connectionId = aConnectionId();
  const connection = await setupResult.socket.connect({ tenant, connectionId });
  for (const jobId of jobIds) {
    const ok = await setupResult.connections.subscribe(
      { tenant, jobId, connectionId, deliveredVersion: 0, expiresAt: connection.expiresAt },
      100,
    );
    expect(ok).toBe(true);
  }
  return connectionId;
}

describe('GenerationSocket.push', () => {
  it('tries a gone connection once, never again, and removes it with every subscription it held', async () => {
    // Prepare
    const s = setup();
    const tenant = aTenant();
    const first = s.save(aJob({ tenant, kind: 'image' }));
    const second = s.save(aJob({ tenant, kind: 'image' }));
    const connectionId = await subscribed(s, tenant, [first.id, second.id]);
    s.messenger.gone.add(connectionId);

    // Act
    const outcome = await s.socket.push(changeOf(s.save(advance(first, 'running'))));
    const later = await s.socket.push(changeOf(s.save(advance(second, 'running'))));

    // Assess: one PostToConnection, answered 410; nothing retried; nothing left behind.
    expect(outcome).toEqual({ delivered: 0, gone: 1 });
    expect(later).toEqual({ delivered: 0, gone: 0 });
    expect(s.messenger.attempts).toEqual([connectionId]);
    expect(await s.connections.get(tenant, connectionId)).toBeUndefined();
    expect(await s.connections.subscribers(tenant, first.id, new Date())).toEqual([]);
    expect(await s.connections.subscribers(tenant, second.id, new Date())).toEqual([]);
  });

  it('delivers each version once and never an older state after a newer one', async () => {
    // Prepare
    const s = setup();
    const tenant = aTenant();
    let job = s.save(aJob({ tenant, kind: 'image' }));
    const connectionId = await subscribed(s, tenant, [job.id]);

    // Act: running, the same event again, then completion announced by a late "running" event
    // first (the record already says completed) and by its own event after.
    job = s.save(advance(job, 'running'));
    const running = changeOf(job);
    await s.socket.push(running);
    await s.socket.push(running);
    job = s.save(
      advance(job, 'completed', {
        result: { key: `${tenant}/jobs/${job.id}/image.png`, bytes: 10, contentType: 'image/png' },
      }),
    );
    await s.socket.push(running);
    await s.socket.push(changeOf(job, 'running'));

    // Assess
    expect(s.messenger.to(connectionId)).toEqual([
      expect.objectContaining({ type: 'progress', step: 2, total_steps: 20, progress: 0.1 }),
      expect.objectContaining({
        type: 'progress',
        step: 20,
        total_steps: 20,
        progress: 1,
        status: 'completed',
      }),
      {
        type: 'result',
        job_id: job.id,
        image_path: `s3://outputs/${tenant}/jobs/${job.id}/image.png`,
        image_url: `https://outputs.example/${tenant}/jobs/${job.id}/image.png?signature=1`,
        prompt: 'a red circle',
      },
    ]);
    // The job has ended: its subscription is gone, the connection stays.
    expect(await s.connections.subscribers(tenant, job.id, new Date())).toEqual([]);
    expect(await s.connections.get(tenant, connectionId)).toMatchObject({ subscriptions: 0 });
  });

  it('sends one copy of a version however many deliveries of its event race', async () => {
    // Prepare
    const s = setup();
    const tenant = aTenant();
    const job = s.save(advance(aJob({ tenant, kind: 'image' }), 'running'));
    const connectionId = await subscribed(s, tenant, [job.id]);

    // Act: EventBridge delivers at least once; 20 deliveries at the same moment.
    await Promise.all(Array.from({ length: 20 }, () => s.socket.push(changeOf(job))));

    // Assess
    expect(s.messenger.to(connectionId)).toHaveLength(1);
  });

  it('ends a failed job with its error and a cancelled one with ILLEGAL_STATE, as GET /generate/{id} does', async () => {
    // Prepare
    const s = setup();
    const tenant = aTenant();
    const failed = s.save(
      advance(advance(aJob({ tenant, kind: 'image' }), 'running'), 'failed', {
        error: { code: 'MODEL_ERROR', message: 'CUDA out of memory' },
      }),
    );
    const cancelled = s.save(advance(aJob({ tenant, kind: 'image' }), 'cancelled'));
    const connectionId = await subscribed(s, tenant, [failed.id, cancelled.id]);

    // Act
    await s.socket.push(changeOf(failed, 'running'));
    await s.socket.push(changeOf(cancelled));

    // Assess: the final message says how the job ended; no progress after it.
    expect(s.messenger.to(connectionId)).toEqual([
      expect.objectContaining({
        type: 'error',
        code: 'MODEL_ERROR',
        message: 'CUDA out of memory',
        job_id: failed.id,
        status: 'failed',
      }),
      expect.objectContaining({
        type: 'error',
        code: 'ILLEGAL_STATE',
        job_id: cancelled.id,
        status: 'cancelled',
      }),
    ]);
    expect(await s.connections.get(tenant, connectionId)).toMatchObject({ subscriptions: 0 });
  });

  it('throws when a send fails for another reason, and the retried event delivers it', async () => {
    // Prepare
    const s = setup();
    const tenant = aTenant();
    const job = s.save(advance(aJob({ tenant, kind: 'image' }), 'running'));
    const connectionId = await subscribed(s, tenant, [job.id]);
    s.messenger.failing.add(connectionId);

    // Act
    const first = s.socket.push(changeOf(job));
    await expect(first).rejects.toThrow('LimitExceededException');
    s.messenger.failing.delete(connectionId);
    await s.socket.push(changeOf(job));

    // Assess
    expect(s.messenger.to(connectionId)).toEqual([
      expect.objectContaining({ type: 'progress', progress: 0.1 }),
    ]);
    expect(await s.connections.get(tenant, connectionId)).toBeDefined();
  });

  it('reaches only the subscriptions of the event’s tenant', async () => {
    // Prepare: two tenants whose connections wait for the same job id (ids are unique; the store
    // would keep them apart even if they were not).
    const s = setup();
    const [mine, theirs] = [aTenant('mine'), aTenant('theirs')];
    const job = s.save(advance(aJob({ tenant: mine, kind: 'image' }), 'running'));
    s.save({ ...job, tenant: theirs });
    const myConnection = await subscribed(s, mine, [job.id]);
    const theirConnection = await subscribed(s, theirs, [job.id]);

    // Act
    await s.socket.push(changeOf(job));

    // Assess
    expect(s.messenger.to(myConnection)).toHaveLength(1);
    expect(s.messenger.to(theirConnection)).toEqual([]);
  });

  it('ignores events of other kinds of jobs', async () => {
    const s = setup();
    const outcome = await s.socket.push({
      ...changeOf(aJob({ tenant: aTenant(), kind: 'image' })),
      kind: 'batch',
    });
    expect(outcome).toEqual({ delivered: 0, gone: 0 });
    expect(s.messenger.attempts).toEqual([]);
  });
});

describe('GenerationSocket.generate', () => {
  it('answers accepted, then the job as it stands: a job that ended before the subscription still reaches it', async () => {
    // Prepare: the job completes (and its events go by, with nobody subscribed) before generate returns.
    const tenant = aTenant();
    const s = setup();
    let stored: JobRecord | undefined;
    s.socket.deps.generate = async (t, request) => {
      const job = aJob({ tenant: t, kind: 'image', params: { ...IMAGE_JOB_PARAMS, prompt: request.prompt } });
      stored = s.save(
        advance(advance(job, 'running'), 'completed', {
          result: { key: `${t}/jobs/${job.id}/image.png`, bytes: 1, contentType: 'image/png' },
        }),
      );
      await s.socket.push(changeOf(stored, 'running'));
      return { job, batch: aBatchOf(job) };
    };
    const connectionId = aConnectionId();
    await s.socket.connect({ tenant, connectionId });

    // Act
    await s.socket.generate(
      { tenant, connectionId },
      { prompt: 'fast', width: 64, height: 64, guidance_scale: 7.5 },
      'r-1',
    );

    // Assess
    const messages = s.messenger.to(connectionId);
    expect(messages.map((message) => message.type)).toEqual(['accepted', 'progress', 'result']);
    expect(messages[0]).toMatchObject({ request_id: 'r-1', job_id: stored?.id });
    expect(messages[2]).toMatchObject({ job_id: stored?.id, prompt: 'fast' });
  });

  it('answers a refused request with its error and subscribes nothing', async () => {
    // Prepare
    const tenant = aTenant();
    const s = setup({
      generate: async () => {
        throw new DomainError('UNAVAILABLE', 'the model is not deployed here', { reason: 'no endpoint' });
      },
    });
    const connectionId = aConnectionId();
    await s.socket.connect({ tenant, connectionId });

    // Act
    await s.socket.generate(
      { tenant, connectionId },
      { prompt: 'x', width: 64, height: 64, guidance_scale: 7.5 },
      'r-2',
    );

    // Assess
    expect(s.messenger.to(connectionId)).toEqual([
      {
        type: 'error',
        code: 'UNAVAILABLE',
        message: 'the model is not deployed here',
        details: { reason: 'no endpoint' },
        request_id: 'r-2',
      },
    ]);
    expect(await s.connections.get(tenant, connectionId)).toMatchObject({ subscriptions: 0 });
  });

  it('refuses, before starting anything, a connection that already waits for its maximum of jobs', async () => {
    // Prepare
    const tenant = aTenant();
    let started = 0;
    const s = setup({
      maxJobsPerConnection: 1,
      generate: async (t) => {
        started++;
        const job = aJob({ tenant: t, kind: 'image' });
        return { job, batch: aBatchOf(job) };
      },
    });
    const connectionId = aConnectionId();
    await s.socket.connect({ tenant, connectionId });
    const request = { prompt: 'x', width: 64, height: 64, guidance_scale: 7.5 };

    // Act
    await s.socket.generate({ tenant, connectionId }, request, 'first');
    await s.socket.generate({ tenant, connectionId }, request, 'second');

    // Assess
    expect(started).toBe(1);
    expect(s.messenger.to(connectionId).at(-1)).toMatchObject({
      type: 'error',
      code: 'RATE_LIMITED',
      request_id: 'second',
    });
  });

  it('refuses a connection that is not recorded (it expired or never connected) with UNAUTHORIZED', async () => {
    const s = setup();
    const caller = { tenant: aTenant(), connectionId: aConnectionId() };
    await s.socket.generate(caller, { prompt: 'x', width: 64, height: 64, guidance_scale: 7.5 });
    expect(s.messenger.to(caller.connectionId)).toEqual([expect.objectContaining({ code: 'UNAUTHORIZED' })]);
  });
});

describe('GenerationSocket.subscribe', () => {
  /** A connection of `tenant` that follows nothing yet (a client that has just connected again). */
  async function connected(s: ReturnType<typeof setup>, tenant: string) {
    const caller = { tenant, connectionId: aConnectionId() };
    await s.socket.connect(caller);
    return caller;
  }
  /** A running job that has stored its image. */
  const completed = (job: JobRecord) =>
    advance(job, 'completed', {
      result: { key: `${job.tenant}/jobs/${job.id}/image.png`, bytes: 1, contentType: 'image/png' },
    });

  it('sends a running job as it stands, then every later change, as if this connection had started it', async () => {
    // Prepare: the job was started on a connection that has gone.
    const s = setup();
    const tenant = aTenant();
    let job = s.save(advance(aJob({ tenant, kind: 'image' }), 'running'));
    const caller = await connected(s, tenant);

    // Act
    await s.socket.subscribe(caller, [job.id], 'again-1');
    job = s.save(completed(job));
    await s.socket.push(changeOf(job, 'running'));

    // Assess
    expect(s.messenger.to(caller.connectionId)).toEqual([
      expect.objectContaining({ type: 'progress', job_id: job.id, status: 'running', step: 2 }),
      expect.objectContaining({ type: 'progress', job_id: job.id, status: 'completed', step: 20 }),
      expect.objectContaining({ type: 'result', job_id: job.id, prompt: 'a red circle' }),
    ]);
    expect(await s.connections.get(tenant, caller.connectionId)).toMatchObject({ subscriptions: 0 });
  });

  it('sends a job that has ended its last progress and its result (or error), and follows neither', async () => {
    // Prepare
    const s = setup();
    const tenant = aTenant();
    const done = s.save(completed(advance(aJob({ tenant, kind: 'image' }), 'running')));
    const failed = s.save(
      advance(advance(aJob({ tenant, kind: 'image' }), 'running'), 'failed', {
        error: { code: 'MODEL_ERROR', message: 'CUDA out of memory' },
      }),
    );
    const caller = await connected(s, tenant);

    // Act
    await s.socket.subscribe(caller, [done.id, failed.id]);

    // Assess
    expect(s.messenger.to(caller.connectionId)).toEqual([
      expect.objectContaining({ type: 'progress', job_id: done.id, status: 'completed', progress: 1 }),
      {
        type: 'result',
        job_id: done.id,
        image_path: `s3://outputs/${tenant}/jobs/${done.id}/image.png`,
        image_url: `https://outputs.example/${tenant}/jobs/${done.id}/image.png?signature=1`,
        prompt: 'a red circle',
      },
      expect.objectContaining({ type: 'error', code: 'MODEL_ERROR', job_id: failed.id, status: 'failed' }),
    ]);
    expect(await s.connections.get(tenant, caller.connectionId)).toMatchObject({ subscriptions: 0 });
  });

  it("answers NOT_FOUND, with the id, for an unknown id, another tenant's job and a job of another kind, and follows none of them", async () => {
    // Prepare
    const s = setup();
    const [mine, theirs] = [aTenant('mine'), aTenant('theirs')];
    const theirJob = s.save(advance(aJob({ tenant: theirs, kind: 'image' }), 'running'));
    const myBatch = s.save(aBatchOf(aJob({ tenant: mine, kind: 'image' })));
    const myJob = s.save(advance(aJob({ tenant: mine, kind: 'image' }), 'running'));
    const unknown = newJobId(new Date());
    const caller = await connected(s, mine);

    // Act
    await s.socket.subscribe(caller, [unknown, theirJob.id, myBatch.id, myJob.id], 'r-9');

    // Assess: the same answer for each, whoever's the id is; the tenant's own job is served.
    const notFound = (id: string) => ({
      type: 'error',
      code: 'NOT_FOUND',
      message: `job "${id}" was not found`,
      details: { job: id },
      job_id: id,
      request_id: 'r-9',
    });
    expect(s.messenger.to(caller.connectionId)).toEqual([
      notFound(unknown),
      notFound(theirJob.id),
      notFound(myBatch.id),
      expect.objectContaining({ type: 'progress', job_id: myJob.id }),
    ]);
    expect(await s.connections.get(mine, caller.connectionId)).toMatchObject({ subscriptions: 1 });
    expect(await s.connections.subscribers(theirs, theirJob.id, new Date())).toEqual([]);
    expect(await s.connections.subscribers(mine, theirJob.id, new Date())).toEqual([]);
  });

  it('never sends a state twice or an older one after a newer, whichever of subscribe and push comes first', async () => {
    // Prepare
    const s = setup();
    const tenant = aTenant();
    let job = s.save(advance(aJob({ tenant, kind: 'image' }), 'running'));
    const running = changeOf(job);
    const caller = await connected(s, tenant);

    // Act: subscribe twice at one version; the job moves on before its event arrives; then that
    // event, and the late one of the earlier version.
    await s.socket.subscribe(caller, [job.id]);
    await s.socket.subscribe(caller, [job.id, job.id]);
    job = s.save(
      advance(job, 'running', {
        inference: { endpointName: 'e', taskToken: 't', invokedAt: job.updatedAt, instancesAtInvoke: 0 },
      }),
    );
    await s.socket.subscribe(caller, [job.id]);
    await s.socket.push(changeOf(job, 'running'));
    await s.socket.push(running);

    // Assess
    expect(s.messenger.to(caller.connectionId)).toEqual([
      expect.objectContaining({ type: 'progress', phase: 'queued', status: 'running' }),
      expect.objectContaining({ type: 'progress', phase: 'warming', status: 'running' }),
    ]);
  });

  it('answers ids beyond what the connection may follow with RATE_LIMITED, each with its id', async () => {
    // Prepare
    const s = setup({ maxJobsPerConnection: 1 });
    const tenant = aTenant();
    const first = s.save(advance(aJob({ tenant, kind: 'image' }), 'running'));
    const second = s.save(advance(aJob({ tenant, kind: 'image' }), 'running'));
    const caller = await connected(s, tenant);

    // Act
    await s.socket.subscribe(caller, [first.id, second.id], 'many');

    // Assess
    expect(s.messenger.to(caller.connectionId)).toEqual([
      expect.objectContaining({ type: 'progress', job_id: first.id }),
      expect.objectContaining({ type: 'error', code: 'RATE_LIMITED', job_id: second.id, request_id: 'many' }),
    ]);
    expect(await s.connections.subscribers(tenant, second.id, new Date())).toEqual([]);
  });

  it('refuses a connection that is not recorded with UNAUTHORIZED, and reads no job', async () => {
    // Prepare
    const reads: string[] = [];
    const s = setup({
      jobs: {
        get: async (_tenant, id) => {
          reads.push(id);
          return undefined;
        },
      },
    });
    const caller = { tenant: aTenant(), connectionId: aConnectionId() };

    // Act
    await s.socket.subscribe(caller, [newJobId(new Date())], 'late');

    // Assess
    expect(s.messenger.to(caller.connectionId)).toEqual([
      expect.objectContaining({ type: 'error', code: 'UNAUTHORIZED', request_id: 'late' }),
    ]);
    expect(reads).toEqual([]);
  });

  it('answers an id whose job cannot be read with INTERNAL, saying nothing of the cause, and serves the others', async () => {
    // Prepare
    const s = setup();
    const tenant = aTenant();
    const broken = newJobId(new Date());
    const job = s.save(advance(aJob({ tenant, kind: 'image' }), 'running'));
    const read = s.socket.deps.jobs.get;
    s.socket.deps.jobs = {
      get: async (t, id) => {
        if (id === broken) throw new Error('ProvisionedThroughputExceededException at 10.0.0.1');
        return read(t, id);
      },
    };
    const caller = await connected(s, tenant);

    // Act
    await s.socket.subscribe(caller, [broken, job.id], 'r-5');

    // Assess
    expect(s.messenger.to(caller.connectionId)).toEqual([
      { type: 'error', code: 'INTERNAL', message: 'internal error', job_id: broken, request_id: 'r-5' },
      expect.objectContaining({ type: 'progress', job_id: job.id }),
    ]);
    expect(s.reports).toEqual(['a subscribe message failed for one job']);
  });
});
