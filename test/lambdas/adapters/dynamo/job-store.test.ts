import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { JOB_KINDS, JOB_STATUSES, type JobStatus } from '../../../../contracts/jobs.ts';
import { TrainRequest } from '../../../../contracts/training.ts';
import { InvalidCursorError } from '../../../../lambdas/adapters/dynamo/cursor.ts';
import { DuplicateJobError, DynamoJobStore } from '../../../../lambdas/adapters/dynamo/job-store.ts';
import { CorruptJobItemError } from '../../../../lambdas/adapters/dynamo/job-store-codec.ts';
import { keys } from '../../../../lambdas/adapters/dynamo/tables.ts';
import type { JobKind, JobOfKind, JobPatch, JobRecord } from '../../../../lambdas/domain/jobs/model.ts';
import type { JobQuery } from '../../../../lambdas/domain/ports.ts';
import { useEmulators } from '../../../support/emulators.ts';
import { aJob, aTenant } from '../../../support/jobs.ts';

const fixture = useEmulators();
const CURSOR_SECRET = 'test-cursor-secret-0123456789';
const FIXED_NOW = new Date('2030-05-06T07:08:09.000Z');

function storeWith(
  options: { queryPageSize?: number; reportCorrupt?: (error: CorruptJobItemError) => void } = {},
): DynamoJobStore {
  return new DynamoJobStore(fixture.clients.dynamo, {
    tableName: fixture.emulators.tableNames.state,
    cursorSecret: CURSOR_SECRET,
    clock: { now: () => FIXED_NOW },
    ...options,
  });
}

/** The item exactly as DynamoDB holds it, attribute types included. */
async function rawItem(tenant: string, id: string): Promise<string> {
  const output = await fixture.clients.dynamo.send(
    new GetItemCommand({
      TableName: fixture.emulators.tableNames.state,
      Key: { pk: { S: keys.tenantPartition(tenant) }, sk: { S: keys.job(id) } },
      ConsistentRead: true,
    }),
  );
  return JSON.stringify(output.Item);
}

async function listAll(
  store: DynamoJobStore,
  tenant: string,
  query: Omit<JobQuery, 'cursor'>,
): Promise<JobRecord[]> {
  const jobs: JobRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list(tenant, { ...query, ...(cursor === undefined ? {} : { cursor }) });
    expect(page.items.length).toBeLessThanOrEqual(query.limit);
    jobs.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return jobs;
}

/** `count` jobs one second apart, oldest first. */
function jobsOverTime(
  tenant: string,
  count: number,
  shape: (index: number) => Partial<JobRecord> = () => ({}),
) {
  const start = Date.parse('2029-01-01T00:00:00.000Z');
  return Array.from({ length: count }, (_, index) =>
    aJob({ tenant, ...shape(index) }, new Date(start + index * 1_000)),
  );
}

describe('DynamoJobStore: create and get', () => {
  it('returns a created job exactly as it was written, without storage keys', async () => {
    // Prepare
    const store = storeWith();
    const job = aJob({
      tenant: aTenant(),
      name: 'circles',
      batchId: aJob({ tenant: 'x' }).id,
      message: 'queued',
    });

    // Act
    await store.create([job]);
    const read = await store.get(job.tenant, job.id);

    // Assess
    expect(read).toStrictEqual(job);
  });

  it('refuses a job id that exists and leaves the stored job as it was', async () => {
    // Prepare
    const store = storeWith();
    const original = aJob({ tenant: aTenant(), name: 'first' });
    const fresh = aJob({ tenant: original.tenant });
    await store.create([original]);

    // Act
    const creating = store.create([{ ...original, name: 'second' }, fresh]);

    // Assess
    await expect(creating).rejects.toThrow(DuplicateJobError);
    await expect(creating).rejects.toMatchObject({ jobIds: [original.id] });
    expect((await store.get(original.tenant, original.id))?.name).toBe('first');
    expect(await store.get(fresh.tenant, fresh.id)).toStrictEqual(fresh);
  });

  it('accepts the same create twice, as when the SDK retries a put whose first attempt landed', async () => {
    // Prepare
    const store = storeWith();
    const job = aJob({ tenant: aTenant() });
    await store.create([job]);

    // Act
    const repeating = store.create([job]);

    // Assess
    await expect(repeating).resolves.toBeUndefined();
    expect(await store.get(job.tenant, job.id)).toStrictEqual(job);
  });

  it("answers undefined for another tenant's job id", async () => {
    // Prepare
    const store = storeWith();
    const job = aJob({ tenant: aTenant('owner') });
    await store.create([job]);

    // Act
    const read = await store.get(aTenant('intruder'), job.id);

    // Assess
    expect(read).toBeUndefined();
  });

  it('refuses a tenant that could forge another key (a # in it)', async () => {
    // Prepare
    const store = storeWith();
    const victim = aTenant('victim');
    const job = aJob({ tenant: `${victim}#L#someJob` });

    // Act
    const creating = store.create([job]);

    // Assess
    await expect(creating).rejects.toThrow(RangeError);
    expect(await store.tailLog(victim, 'someJob', 10)).toEqual([]);
  });

  it('writes hundreds of jobs in one call', async () => {
    // Prepare
    const store = storeWith();
    const tenant = aTenant();
    const jobs = jobsOverTime(tenant, 120);

    // Act
    await store.create(jobs);

    // Assess
    const listed = await listAll(store, tenant, { limit: 50 });
    expect(listed.map((job) => job.id)).toEqual(jobs.map((job) => job.id).reverse());
  });
});

describe('DynamoJobStore: createUnstarted', () => {
  it('stores a batch, its jobs and its log line in one request for every 25 items', async () => {
    // Prepare: a client that counts what it sends.
    const sent: string[] = [];
    const counting = {
      send: (command: { constructor: { name: string } }) => {
        sent.push(command.constructor.name);
        return fixture.clients.dynamo.send(command as never);
      },
    } as unknown as typeof fixture.clients.dynamo;
    const store = new DynamoJobStore(counting, {
      tableName: fixture.emulators.tableNames.state,
      cursorSecret: CURSOR_SECRET,
    });
    const tenant = aTenant();
    const batch = aJob({ tenant, kind: 'batch' });
    const items = Array.from({ length: 60 }, () => aJob({ tenant, batchId: batch.id }));
    const line = {
      tenant,
      jobId: batch.id,
      entry: { at: FIXED_NOW.toISOString(), level: 'info' as const, message: 'submitted 60 jobs' },
    };

    // Act
    await store.createUnstarted([batch, ...items], [line]);

    // Assess: 62 items in 3 requests, where a conditional put per job took 61.
    expect(sent).toEqual(['BatchWriteCommand', 'BatchWriteCommand', 'BatchWriteCommand']);
    expect(await store.get(tenant, batch.id)).toEqual(batch);
    expect((await store.listBatchItems(tenant, batch.id)).map((job) => job.id)).toEqual(
      items.map((job) => job.id).sort(),
    );
    expect(await store.tailLog(tenant, batch.id, 5)).toEqual([line.entry]);
  });

  it('refuses a tenant that could forge another key, and writes nothing', async () => {
    // Prepare
    const store = storeWith();
    const victim = aTenant();
    const forged = aJob({ tenant: `${victim}#JOB#x` });

    // Act
    const creating = store.createUnstarted([forged]);

    // Assess
    await expect(creating).rejects.toThrow(RangeError);
    expect(await listAll(store, victim, { limit: 10 })).toEqual([]);
  });
});

describe('DynamoJobStore: list', () => {
  it('lists newest first, one page per limit, with every job exactly once', async () => {
    // Prepare
    const store = storeWith();
    const tenant = aTenant();
    const jobs = jobsOverTime(tenant, 7);
    await store.create(jobs);

    // Act
    const first = await store.list(tenant, { limit: 3 });
    const second = await store.list(tenant, { limit: 3, cursor: first.nextCursor });
    const third = await store.list(tenant, { limit: 3, cursor: second.nextCursor });

    // Assess
    const newestFirst = jobs.map((job) => job.id).reverse();
    expect(first.items.map((job) => job.id)).toEqual(newestFirst.slice(0, 3));
    expect(second.items.map((job) => job.id)).toEqual(newestFirst.slice(3, 6));
    expect(third.items.map((job) => job.id)).toEqual(newestFirst.slice(6));
    expect(third.nextCursor).toBeUndefined();
  });

  it('gives no cursor when the last page is exactly full', async () => {
    // Prepare
    const store = storeWith();
    const tenant = aTenant();
    await store.create(jobsOverTime(tenant, 4));

    // Act
    const page = await store.list(tenant, { limit: 4 });

    // Assess
    expect(page.items).toHaveLength(4);
    expect(page.nextCursor).toBeUndefined();
  });

  it('pages through filtered results that span many reads without losing or repeating a job', async () => {
    // Prepare: few matches spread thin, and reads of 3 items, so each page needs several queries.
    const store = storeWith({ queryPageSize: 3 });
    const tenant = aTenant();
    const statuses: JobStatus[] = ['pending', 'running', 'failed', 'completed', 'running'];
    const jobs = jobsOverTime(tenant, 40, (index) => ({
      status: statuses[index % statuses.length] as JobStatus,
      kind: index % 3 === 0 ? 'batch' : 'generation',
    }));
    await store.create(jobs);
    const expected = (predicate: (job: JobRecord) => boolean) =>
      jobs
        .filter(predicate)
        .map((job) => job.id)
        .reverse();

    // Act
    const running = await listAll(store, tenant, { status: 'running', limit: 4 });
    const runningBatches = await listAll(store, tenant, { status: 'running', kind: 'batch', limit: 2 });
    const failed = await listAll(store, tenant, { status: 'failed', limit: 100 });

    // Assess
    expect(running.map((job) => job.id)).toEqual(expected((job) => job.status === 'running'));
    expect(runningBatches.map((job) => job.id)).toEqual(
      expected((job) => job.status === 'running' && job.kind === 'batch'),
    );
    expect(failed.map((job) => job.id)).toEqual(expected((job) => job.status === 'failed'));
  });

  it('answers an empty page for a filter nothing matches', async () => {
    // Prepare
    const store = storeWith({ queryPageSize: 5 });
    const tenant = aTenant();
    await store.create(jobsOverTime(tenant, 12));

    // Act
    const jobs = await listAll(store, tenant, { status: 'cancelled', limit: 10 });

    // Assess
    expect(jobs).toEqual([]);
  });

  it('hands back a cursor, not a wait, when a sparse filter needs more reads than one call makes', async () => {
    // Prepare: reads of 2 items, and 40 newer jobs that do not match: one call stops before a match.
    const store = storeWith({ queryPageSize: 2 });
    const tenant = aTenant();
    const jobs = jobsOverTime(tenant, 42, (index) => ({ status: index < 2 ? 'failed' : 'running' }));
    await store.create(jobs);

    // Act
    const first = await store.list(tenant, { status: 'failed', limit: 1 });
    const all = await listAll(store, tenant, { status: 'failed', limit: 1 });

    // Assess
    expect(first.items).toEqual([]);
    expect(first.nextCursor).toBeDefined();
    expect(all.map((job) => job.id)).toEqual([jobs[1]?.id, jobs[0]?.id]);
  });

  it('lists jobs created in [since, until)', async () => {
    // Prepare
    const store = storeWith();
    const tenant = aTenant();
    const hour = 3_600_000;
    const start = Date.parse('2028-02-29T00:00:00.000Z');
    const at = (offsetMs: number) => new Date(start + offsetMs);
    const jobs = [0, 1, 2, 3, 4, 5, 6, 7, 8].map((hours) => aJob({ tenant }, at(hours * hour)));
    const lastMillisecondInside = aJob({ tenant }, at(7 * hour - 1));
    await store.create([...jobs, lastMillisecondInside]);

    // Act
    const listed = await listAll(store, tenant, {
      since: at(3 * hour).toISOString(),
      until: at(7 * hour).toISOString(),
      limit: 2,
    });

    // Assess
    const expected = [lastMillisecondInside, ...jobs.slice(3, 7).reverse()];
    expect(listed.map((job) => job.createdAt)).toEqual(expected.map((job) => job.createdAt));
  });

  it('answers an empty page when until is not after since', async () => {
    // Prepare
    const store = storeWith();
    const tenant = aTenant();
    await store.create(jobsOverTime(tenant, 3));

    // Act
    const page = await store.list(tenant, {
      since: '2029-01-01T00:00:02.000Z',
      until: '2029-01-01T00:00:01.000Z',
      limit: 10,
    });

    // Assess
    expect(page).toEqual({ items: [] });
  });

  it("lists one batch's jobs newest first, page by page", async () => {
    // Prepare
    const store = storeWith();
    const tenant = aTenant();
    const batchId = aJob({ tenant }).id;
    const jobs = jobsOverTime(tenant, 9, (index) =>
      index % 3 === 0 ? {} : { batchId, status: 'completed' },
    );
    await store.create(jobs);

    // Act
    const listed = await listAll(store, tenant, { batchId, status: 'completed', limit: 2 });

    // Assess
    expect(listed.map((job) => job.id)).toEqual(
      jobs
        .filter((job) => job.batchId === batchId)
        .map((job) => job.id)
        .reverse(),
    );
  });

  it('finds the only batch of a tenant on the first page, under 300 newer generation jobs', async () => {
    // Prepare: reads of 10 items, so a list that filtered the tenant's partition by kind would spend
    // its reads on generation jobs and answer an empty page with a cursor.
    const store = storeWith({ queryPageSize: 10 });
    const tenant = aTenant();
    const jobs = jobsOverTime(tenant, 301, (index) => (index === 0 ? { kind: 'batch' } : {}));
    await store.create(jobs);

    // Act
    const batches = await store.list(tenant, { kind: 'batch', limit: 3 });
    const generation = await store.list(tenant, { kind: 'generation', limit: 3 });

    // Assess
    expect(batches).toEqual({ items: [jobs[0]] });
    expect(generation.items.map((job) => job.id)).toEqual(
      jobs
        .slice(-3)
        .map((job) => job.id)
        .reverse(),
    );
    expect(generation.nextCursor).toBeDefined();
  });

  it('pages through one kind with a status filter, resuming where a call ran out of reads', async () => {
    // Prepare: 30 batches, 3 of them running, among 60 generation jobs that all run; reads of 2 items,
    // so some calls end on their read budget and the next resumes inside the kind index.
    const store = storeWith({ queryPageSize: 2 });
    const tenant = aTenant();
    const runningBatches = [3, 42, 81];
    const jobs = jobsOverTime(tenant, 90, (index): Partial<JobRecord> => {
      if (index % 3 !== 0) return { status: 'running' };
      return { kind: 'batch', status: runningBatches.includes(index) ? 'running' : 'completed' };
    });
    await store.create(jobs);
    const idsAt = (indexes: number[]) => indexes.map((index) => jobs[index]?.id);

    // Act
    const first = await store.list(tenant, { kind: 'batch', status: 'running', limit: 1 });
    const all = await listAll(store, tenant, { kind: 'batch', status: 'running', limit: 1 });

    // Assess
    expect(first.items.map((job) => job.id)).toEqual(idsAt([81]));
    expect(first.nextCursor).toBeDefined();
    expect(all.map((job) => job.id)).toEqual(idsAt([81, 42, 3]));
  });

  it('lists one kind created in [since, until)', async () => {
    // Prepare
    const store = storeWith();
    const tenant = aTenant();
    const jobs = jobsOverTime(tenant, 20, (index) => (index % 2 === 0 ? { kind: 'batch' } : {}));
    await store.create(jobs);

    // Act
    const listed = await listAll(store, tenant, {
      kind: 'batch',
      since: jobs[5]?.createdAt as string,
      until: jobs[15]?.createdAt as string,
      limit: 2,
    });

    // Assess
    expect(listed.map((job) => job.id)).toEqual(
      jobs
        .slice(5, 15)
        .filter((job) => job.kind === 'batch')
        .map((job) => job.id)
        .reverse(),
    );
  });

  it('rejects a cursor replayed by another tenant', async () => {
    // Prepare
    const store = storeWith();
    const owner = aTenant('owner');
    const intruder = aTenant('intruder');
    await store.create(jobsOverTime(owner, 3));
    await store.create(jobsOverTime(intruder, 3));
    const { nextCursor } = await store.list(owner, { limit: 1 });

    // Act
    const replay = store.list(intruder, { limit: 1, cursor: nextCursor });

    // Assess
    expect(nextCursor).toBeDefined();
    await expect(replay).rejects.toThrow(InvalidCursorError);
  });

  it.each<[string, Partial<JobQuery>]>([
    ['another status', { status: 'failed' }],
    ['another kind', { kind: 'batch' }],
    ['another batch', { batchId: '01JD3X2K8Q7YV4N6B5M9T0RWZC' }],
    ['another time range', { since: '2029-01-01T00:00:00.000Z' }],
  ])('rejects a cursor replayed with %s', async (_, otherFilters) => {
    // Prepare
    const store = storeWith();
    const tenant = aTenant();
    await store.create(jobsOverTime(tenant, 3, () => ({ status: 'running' })));
    const { nextCursor } = await store.list(tenant, { status: 'running', limit: 1 });

    // Act
    const replay = store.list(tenant, { status: 'running', ...otherFilters, limit: 1, cursor: nextCursor });

    // Assess
    await expect(replay).rejects.toThrow(InvalidCursorError);
  });

  it('accepts a cursor with another page size', async () => {
    // Prepare
    const store = storeWith();
    const tenant = aTenant();
    const jobs = jobsOverTime(tenant, 5);
    await store.create(jobs);
    const first = await store.list(tenant, { limit: 1 });

    // Act
    const rest = await store.list(tenant, { limit: 10, cursor: first.nextCursor });

    // Assess
    expect(rest.items.map((job) => job.id)).toEqual(
      jobs
        .slice(0, 4)
        .map((job) => job.id)
        .reverse(),
    );
  });

  it.each([
    ['garbage', 'not-a-cursor'],
    ['an edited payload', 'eyJhZnRlciI6IjAxIn0.c2lnbmF0dXJl'],
  ])('rejects %s as a cursor', async (_, cursor) => {
    // Prepare
    const store = storeWith();

    // Act
    const listing = store.list(aTenant(), { limit: 1, cursor });

    // Assess
    await expect(listing).rejects.toThrow(InvalidCursorError);
  });

  it('rejects a cursor signed with another secret', async () => {
    // Prepare
    const tenant = aTenant();
    const store = storeWith();
    await store.create(jobsOverTime(tenant, 2));
    const { nextCursor } = await store.list(tenant, { limit: 1 });
    const otherDeployment = new DynamoJobStore(fixture.clients.dynamo, {
      tableName: fixture.emulators.tableNames.state,
      cursorSecret: 'another-secret-of-enough-length',
    });

    // Act
    const replay = otherDeployment.list(tenant, { limit: 1, cursor: nextCursor });

    // Assess
    await expect(replay).rejects.toThrow(InvalidCursorError);
  });
});

describe('DynamoJobStore: listBatchItems', () => {
  it("returns every job of the batch oldest first, and nothing of another tenant's batch", async () => {
    // Prepare
    const store = storeWith();
    const tenant = aTenant();
    const batchId = aJob({ tenant }).id;
    const items = jobsOverTime(tenant, 30, () => ({ batchId }));
    const sameBatchIdElsewhere = aJob({ tenant: aTenant('other'), batchId });
    const unrelated = aJob({ tenant });
    await store.create([...items.slice().reverse(), sameBatchIdElsewhere, unrelated]);

    // Act
    const listed = await store.listBatchItems(tenant, batchId);

    // Assess
    expect(listed).toStrictEqual(items);
  });

  it('reflects the transitions made just before the read, across more jobs than one request reads', async () => {
    // Prepare: 250 jobs take three BatchGetItem requests; jobs at both ends of each have just moved.
    // (dynalite updates its indexes at once, so this cannot tell the index from the table; the
    // mocked-client tests in job-store-batch-items.test.ts do.)
    const store = storeWith();
    const tenant = aTenant();
    const batchId = aJob({ tenant }).id;
    const items = jobsOverTime(tenant, 250, () => ({ batchId }));
    await store.create(items.slice().reverse());
    const moved = [0, 99, 100, 199, 200, 249].map((index) => items[index]?.id as string);
    for (const id of moved) await store.transition(tenant, id, 'running');

    // Act
    const listed = await store.listBatchItems(tenant, batchId);

    // Assess
    expect(listed.map((job) => job.id)).toEqual(items.map((job) => job.id));
    expect(listed.filter((job) => job.status === 'running').map((job) => job.id)).toEqual(moved);
    expect(listed[99]).toStrictEqual(await store.get(tenant, moved[1] as string));
  });
});

describe('DynamoJobStore: transition', () => {
  const allowed = new Set([
    'pending->running',
    'pending->failed',
    'pending->cancelled',
    'running->completed',
    'running->failed',
    'running->cancelled',
  ]);
  const pairs = JOB_STATUSES.flatMap((from) => JOB_STATUSES.map((to) => [from, to] as const));

  it('covers all 25 pairs, 6 of them allowed', () => {
    expect(pairs).toHaveLength(25);
    expect(pairs.filter(([from, to]) => allowed.has(`${from}->${to}`))).toHaveLength(6);
  });

  it.each(pairs.filter(([from, to]) => allowed.has(`${from}->${to}`)))(
    'applies %s -> %s',
    async (from, to) => {
      // Prepare
      const store = storeWith();
      const job = aJob({ tenant: aTenant(), status: from });
      await store.create([job]);

      // Act
      const outcome = await store.transition(job.tenant, job.id, to, { message: `now ${to}` });

      // Assess
      expect(outcome).toMatchObject({ applied: true, previous: from });
      const stored = await store.get(job.tenant, job.id);
      expect(stored).toMatchObject({
        status: to,
        version: job.version + 1,
        message: `now ${to}`,
        updatedAt: FIXED_NOW.toISOString(),
      });
      expect(outcome.applied && outcome.job).toStrictEqual(stored);
    },
  );

  it.each(pairs.filter(([from, to]) => !allowed.has(`${from}->${to}`)))(
    'refuses %s -> %s and leaves the item byte-identical',
    async (from, to) => {
      // Prepare
      const store = storeWith();
      const job = aJob({ tenant: aTenant(), status: from });
      await store.create([job]);
      const before = await rawItem(job.tenant, job.id);

      // Act
      const outcome = await store.transition(job.tenant, job.id, to, {
        message: 'must not land',
        progress: 99,
      });

      // Assess
      expect(outcome).toStrictEqual({ applied: false, reason: 'illegal', job });
      expect(await rawItem(job.tenant, job.id)).toBe(before);
    },
  );

  it('ignores a late completed after cancelled', async () => {
    // Prepare
    const store = storeWith();
    const job = aJob({ tenant: aTenant(), status: 'running' });
    await store.create([job]);
    await store.transition(job.tenant, job.id, 'cancelled');

    // Act
    const late = await store.transition(job.tenant, job.id, 'completed', {
      progress: 100,
      result: { key: 'results/x.zip', bytes: 10, contentType: 'application/zip' },
    });

    // Assess
    expect(late).toMatchObject({ applied: false, reason: 'illegal', job: { status: 'cancelled' } });
    const stored = await store.get(job.tenant, job.id);
    expect(stored?.status).toBe('cancelled');
    expect(stored?.result).toBeUndefined();
  });

  it('answers not_found for a missing job, and for a job of another tenant', async () => {
    // Prepare
    const store = storeWith();
    const job = aJob({ tenant: aTenant('owner') });
    await store.create([job]);

    // Act
    const missing = await store.transition(job.tenant, aJob({ tenant: 'x' }).id, 'running');
    const foreign = await store.transition(aTenant('intruder'), job.id, 'running');

    // Assess
    expect(missing).toStrictEqual({ applied: false, reason: 'not_found' });
    expect(foreign).toStrictEqual({ applied: false, reason: 'not_found' });
    expect((await store.get(job.tenant, job.id))?.status).toBe('pending');
  });

  it('stamps startedAt on running and finishedAt on a terminal status, unless the patch sets them', async () => {
    // Prepare
    const store = storeWith();
    const job = aJob({ tenant: aTenant() });
    const reported = aJob({ tenant: job.tenant });
    await store.create([job, reported]);

    // Act
    await store.transition(job.tenant, job.id, 'running');
    const finished = await store.transition(job.tenant, job.id, 'failed', {
      error: { code: 'RENDER_FAILED', message: 'out of memory' },
    });
    await store.transition(reported.tenant, reported.id, 'running', {
      startedAt: '2030-01-01T00:00:00.000Z',
    });

    // Assess
    expect(finished.applied && finished.job).toMatchObject({
      startedAt: FIXED_NOW.toISOString(),
      finishedAt: FIXED_NOW.toISOString(),
      version: 3,
      error: { code: 'RENDER_FAILED', message: 'out of memory' },
    });
    expect((await store.get(reported.tenant, reported.id))?.startedAt).toBe('2030-01-01T00:00:00.000Z');
  });
});

describe('DynamoJobStore: update', () => {
  it('changes fields and the version of a job that is not terminal', async () => {
    // Prepare
    const store = storeWith();
    const job = aJob({ tenant: aTenant(), status: 'running' });
    await store.create([job]);

    // Act
    const updated = await store.update(job.tenant, job.id, { progress: 40, message: 'frame 4 of 10' });

    // Assess
    expect(updated).toStrictEqual({
      ...job,
      progress: 40,
      message: 'frame 4 of 10',
      version: 2,
      updatedAt: FIXED_NOW.toISOString(),
    });
  });

  it('applies only while the expected version matches', async () => {
    // Prepare
    const store = storeWith();
    const job = aJob({ tenant: aTenant(), status: 'running' });
    await store.create([job]);
    await store.update(job.tenant, job.id, { progress: 10 }, { expectedVersion: 1 });

    // Act
    const stale = await store.update(job.tenant, job.id, { progress: 5 }, { expectedVersion: 1 });

    // Assess
    expect(stale).toBeUndefined();
    expect(await store.get(job.tenant, job.id)).toMatchObject({ progress: 10, version: 2 });
  });

  it.each(['completed', 'failed', 'cancelled'] as const)('never changes a %s job', async (status) => {
    // Prepare
    const store = storeWith();
    const job = aJob({ tenant: aTenant(), status, progress: 100 });
    await store.create([job]);
    const before = await rawItem(job.tenant, job.id);

    // Act
    const updated = await store.update(job.tenant, job.id, { progress: 3, message: 'late' });

    // Assess
    expect(updated).toBeUndefined();
    expect(await rawItem(job.tenant, job.id)).toBe(before);
  });

  it('never lowers progress, even when an overlapping attempt reports an older figure', async () => {
    // Prepare
    const store = storeWith();
    const job = aJob({ tenant: aTenant(), status: 'running' });
    await store.create([job]);
    await store.update(job.tenant, job.id, { progress: 50 });

    // Act
    const lower = await store.update(job.tenant, job.id, { progress: 30, message: 'stale attempt' });
    const higher = await store.update(job.tenant, job.id, { progress: 60 });

    // Assess
    expect(lower).toBeUndefined();
    expect(higher).toMatchObject({ progress: 60 });
    expect((await store.get(job.tenant, job.id))?.message).toBeUndefined();
  });

  it('records the final counts of an ended batch only in the status it names', async () => {
    // Prepare
    const store = storeWith();
    const batch = aJob({ tenant: aTenant(), kind: 'batch', status: 'cancelled' });
    await store.create([batch]);
    const counts = { pending: 0, running: 0, completed: 1, failed: 0, cancelled: 2 };

    // Act
    const wrongStatus = await store.update(batch.tenant, batch.id, { counts }, { whenStatus: 'completed' });
    const recorded = await store.update(batch.tenant, batch.id, { counts }, { whenStatus: 'cancelled' });

    // Assess
    expect(wrongStatus).toBeUndefined();
    expect(recorded).toMatchObject({ status: 'cancelled', counts, version: batch.version + 1 });
  });

  it('answers undefined for a missing job and creates nothing', async () => {
    // Prepare
    const store = storeWith();
    const tenant = aTenant();
    const id = aJob({ tenant }).id;

    // Act
    const updated = await store.update(tenant, id, { progress: 1 });

    // Assess
    expect(updated).toBeUndefined();
    expect(await store.get(tenant, id)).toBeUndefined();
  });

  it('writes only patchable fields, whatever a caller slips into the patch', async () => {
    // Prepare
    const store = storeWith();
    const job = aJob({ tenant: aTenant(), status: 'running' });
    await store.create([job]);
    const smuggled = { progress: 50, status: 'completed', tenant: 'someone-else', pk: 'T#someone-else' };

    // Act
    const updated = await store.update(job.tenant, job.id, smuggled as JobPatch);

    // Assess
    expect(updated).toMatchObject({ status: 'running', tenant: job.tenant, progress: 50 });
  });
});

describe('DynamoJobStore: logs', () => {
  it('tails the last entries in the order they were written', async () => {
    // Prepare
    const store = storeWith();
    const tenant = aTenant();
    const id = aJob({ tenant }).id;
    const entries = Array.from({ length: 30 }, (_, index) => ({
      // Pairs of entries share a timestamp: they must still keep their order.
      at: new Date(Date.parse('2029-03-01T00:00:00.000Z') + Math.floor(index / 2) * 1_000).toISOString(),
      level: index === 29 ? ('error' as const) : ('info' as const),
      message: `step ${index}`,
    }));
    await store.appendLog(tenant, id, entries.slice(0, 10));
    await store.appendLog(tenant, id, entries.slice(10));

    // Act
    const tail = await store.tailLog(tenant, id, 5);

    // Assess
    expect(tail).toEqual(entries.slice(25));
  });

  it('returns every entry when the tail is longer than the log, and nothing to another tenant', async () => {
    // Prepare
    const store = storeWith();
    const tenant = aTenant();
    const id = aJob({ tenant }).id;
    const entries = [
      { at: '2029-03-01T00:00:00.000Z', level: 'info' as const, message: 'started' },
      { at: '2029-03-01T00:00:01.000Z', level: 'warn' as const, message: 'slow' },
    ];
    await store.appendLog(tenant, id, entries);

    // Act
    const everything = await store.tailLog(tenant, id, 100);
    const foreign = await store.tailLog(aTenant('intruder'), id, 100);

    // Assess
    expect(everything).toEqual(entries);
    expect(foreign).toEqual([]);
  });

  it('caps a message at 2,000 characters', async () => {
    // Prepare
    const store = storeWith();
    const tenant = aTenant();
    const id = aJob({ tenant }).id;

    // Act
    await store.appendLog(tenant, id, [
      { at: '2029-03-01T00:00:00.000Z', level: 'error', message: 'x'.repeat(5_000) },
    ]);

    // Assess
    const [entry] = await store.tailLog(tenant, id, 1);
    expect(entry?.message).toHaveLength(2_000);
  });
});

describe('DynamoJobStore.listOpen', () => {
  it("reads every tenant's open jobs as records, and nothing that has ended or is not a job", async () => {
    // Prepare: two tenants, each with an open and an ended job, and a log line beside them.
    const store = storeWith();
    const [alice, bob] = [aTenant('alice'), aTenant('bob')];
    const open = [
      aJob({ tenant: alice, batchId: aJob({ tenant: alice }).id }),
      aJob({ tenant: bob, status: 'running' }),
    ];
    const ended = [aJob({ tenant: alice, status: 'completed' }), aJob({ tenant: bob, status: 'cancelled' })];
    await store.create([...open, ...ended]);
    await store.appendLog(alice, open[0]?.id ?? '', [
      { at: FIXED_NOW.toISOString(), level: 'info', message: 'x' },
    ]);

    // Act
    const scanned = await store.listOpen();
    const ours = scanned.filter((job) => job.tenant === alice || job.tenant === bob);

    // Assess: the records as the store reads them, without their storage keys.
    expect(ours.sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      await Promise.all(
        open.sort((a, b) => a.id.localeCompare(b.id)).map((job) => store.get(job.tenant, job.id)),
      ),
    );
    expect(ours.every((job) => !('pk' in job) && !('gsi1pk' in job))).toBe(true);
    // Log lines (and any other item of the table) are not jobs: each record scanned is an open job.
    expect(scanned.filter((job) => job.status !== 'pending' && job.status !== 'running')).toEqual([]);
  });
});

describe('DynamoJobStore: records of every kind', () => {
  const tenant = aTenant('kinds');
  const batch = aJob({
    tenant,
    kind: 'batch',
    name: '2 images',
    generator: 'sd15',
    total: 2,
    executionId: 'execution-1',
  });
  const records = {
    generation: aJob({ tenant, batchId: batch.id, generator: 'shapes', preview: true, params: { seed: 7 } }),
    batch,
    image: aJob({ tenant, kind: 'image', batchId: batch.id, name: 'a red circle' }),
    training: aJob({
      tenant,
      kind: 'training',
      name: 'nightly',
      params: { ...TrainRequest.parse({ wandb_tags: ['nightly'] }), custom_name: 'nightly' },
      training: {
        customName: 'nightly',
        dataset: {
          type: 'ManifestFile',
          key: `${tenant}/training/manifest.json`,
          identities: 12,
          batchId: batch.id,
        },
        attempts: 2,
        autoResumes: 1,
        resumingAfterSuspension: true,
        trainingJobName: 'sf-job-2',
        instanceType: 'ml.g5.xlarge',
        spot: true,
        maxRuntimeSeconds: 3600,
        billableSeconds: 120,
        progress: { status: 'running', current_epoch: 3 },
      },
    }),
    inference: aJob({
      tenant,
      kind: 'inference',
      name: 'nova',
      params: { model_key: 'nova', provider: 'bedrock' },
    }),
    avatars: aJob({
      tenant,
      kind: 'avatars',
      params: {
        setName: 'set',
        parametersName: 'standard',
        avatarKind: 'standard',
        dependsOn: ['01J0000000000000000000000A'],
      },
      avatars: { compute: { target: 'lambda', memoryMb: 2048, reason: 'a table of 1 MB' } },
    }),
    'image-validation': aJob({
      tenant,
      kind: 'image-validation',
      params: { dataset_dir: 'uploads/', quality: true, privacy: false, check_faces: true, check_text: true },
    }),
    'image-profile': aJob({
      tenant,
      kind: 'image-profile',
      params: { name: 'nature', source: { batch_id: '01J0000000000000000000000A' } },
    }),
    'image-export': aJob({
      tenant,
      kind: 'image-export',
      params: {
        format: 's3',
        request: {
          dataset_dir: 'uploads/',
          bucket_name: 'mine',
          s3_prefix: 'v1',
          include_metadata: true,
          public_read: false,
          require_privacy_validation: false,
        },
      },
    }),
  } satisfies { [K in JobKind]: JobOfKind<K> };
  /** Each kind's state, as its workflow writes it while the job runs. */
  const states: { [K in JobKind]: JobPatch } = {
    generation: { progress: 40, message: 'rendering' },
    batch: { counts: { pending: 0, running: 0, completed: 2, failed: 0, cancelled: 0 } },
    image: {
      inference: {
        endpointName: 'sd15-endpoint',
        taskToken: 'token',
        invokedAt: FIXED_NOW.toISOString(),
        instancesAtInvoke: 0,
      },
    },
    training: { training: { ...records.training.training, attempts: 3, resumingAfterSuspension: false } },
    inference: { progress: 100, message: 'model nova answered' },
    'image-validation': { progress: 50, message: '5 of 10 images' },
    'image-profile': { progress: 20, message: '2 of 10 images' },
    'image-export': { progress: 90, message: '9 of 10 images' },
    avatars: {
      avatars: {
        ...records.avatars.avatars,
        waitToken: 'token',
        outputs: { shuffled: ['tenant/avatars/results/x/t.shuffled-0.csv'] },
      },
    },
  };

  it.each(JOB_KINDS)(
    'gives back a record of kind %s with its typed fields as written, then as patched',
    async (kind) => {
      // Prepare
      const store = storeWith();
      const job = records[kind];
      await store.create([job]);

      // Act
      const read = await store.get(tenant, job.id);
      const listed = await store.list(tenant, { kind, limit: 10 });
      const patched = await store.update(tenant, job.id, states[kind]);

      // Assess
      expect(read).toStrictEqual(job);
      expect(listed.items).toStrictEqual([job]);
      expect(patched).toStrictEqual({
        ...job,
        ...states[kind],
        version: 2,
        updatedAt: FIXED_NOW.toISOString(),
      });
      expect(await store.get(tenant, job.id)).toStrictEqual(patched);
    },
  );

  it.each([
    ['an image job without its parameters', { kind: 'image', generator: 'sd15' }, 'params'],
    ['a training job whose run has no name', { ...records.training, training: { attempts: 0 } }, 'training'],
    ['a job of a kind no family registers', { kind: 'avatar' }, 'kind'],
    [
      'a generation job holding a training run',
      { ...records.generation, training: records.training.training },
      'training',
    ],
    ['a job with a status outside the lifecycle', { ...records.generation, status: 'paused' }, 'status'],
  ])(
    'refuses to read back %s, naming the field, and lists the others without it',
    async (_case, fields, field) => {
      // Prepare: an item written around the store, as a faulty writer would, next to a sound job.
      const reported: CorruptJobItemError[] = [];
      const store = storeWith({ reportCorrupt: (error) => reported.push(error) });
      const sound = aJob({ tenant });
      await store.create([sound]);
      const id = aJob({ tenant }).id;
      const key = { pk: keys.tenantPartition(tenant), sk: keys.job(id) };
      const item = { ...records.generation, ...fields, id, ...key };
      await fixture.clients.dynamo.send(
        new PutCommand({ TableName: fixture.emulators.tableNames.state, Item: item }),
      );

      try {
        // Act
        const listed = await store.list(tenant, { limit: 10 });
        const open = await store.listOpen();
        const reading = store.get(tenant, id);

        // Assess
        await expect(reading).rejects.toThrow(CorruptJobItemError);
        await expect(reading).rejects.toThrow(`its ${field} does not fit its kind`);
        expect(listed.items.map((job) => job.id)).toContain(sound.id);
        expect(listed.items.map((job) => job.id)).not.toContain(id);
        expect(open.map((job) => job.id)).toContain(sound.id);
        expect(open.map((job) => job.id)).not.toContain(id);
        expect(reported.length).toBeGreaterThanOrEqual(1);
        expect(reported.every((error) => error.message.includes(`its ${field} does not fit its kind`))).toBe(
          true,
        );
      } finally {
        // Other tests read the whole table (listOpen): the corrupt item must not outlive this one.
        await fixture.clients.dynamo.send(
          new DeleteCommand({ TableName: fixture.emulators.tableNames.state, Key: key }),
        );
      }
    },
  );
});
