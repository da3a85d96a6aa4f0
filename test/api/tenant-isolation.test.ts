/**
 * Two tenants on one platform: the tenant comes only from the API key, another tenant's jobs are
 * "not found" (no existence oracle), and nothing in a request can choose the tenant.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { JobList, Usage } from '../../contracts/api.ts';
import type { Batch, BatchList } from '../../contracts/batches.ts';
import type { Job } from '../../contracts/jobs.ts';
import { newJobId } from '../../lambdas/adapters/ids.ts';
import { aJob } from '../support/jobs.ts';
import { type Api, expectError, keyFor, usePlatform, waitForBatch } from '../support/platform.ts';

/** The clock of the platform's key cache: tests move it instead of waiting out its TTL. */
const keyCacheClock = { ms: Date.now() };
const fixture = usePlatform({ keyCache: { ttlSeconds: 60, now: () => keyCacheClock.ms } });

const SMALL_JOB = { name: 'shapes', param_values: { image_width: 64, image_height: 64, frames: 1, seed: 7 } };

describe('tenant isolation', () => {
  let alice: Api;
  let bob: Api;
  /** Alice's batch (ended) and its jobs. */
  let aliceBatch: Batch;
  let aliceIds: string[];
  /** Alice's jobs as she saw them before Bob tried anything. */
  let aliceBefore: Map<string, Job>;

  const aliceView = async () =>
    new Map(
      await Promise.all(
        aliceIds.map(async (id) => [id, (await alice.get<Job>(`/api/v1/jobs/${id}`)).body] as const),
      ),
    );

  beforeAll(async () => {
    const { platform, api } = fixture;
    alice = api.withKey((await keyFor(platform, 'alice')).key);
    bob = api.withKey((await keyFor(platform, 'bob')).key);
    const submitted = await alice.post<Batch>('/api/v1/batches', { job_runs: [SMALL_JOB, SMALL_JOB] });
    if (submitted.status !== 202)
      throw new Error(`submission answered ${submitted.status}: ${submitted.text}`);
    await waitForBatch(alice, submitted.body.id);
    aliceBatch = (await alice.get<Batch>(`/api/v1/batches/${submitted.body.id}`)).body;
    aliceIds = [aliceBatch.id, ...aliceBatch.job_runs.map((job) => job.id)];
    aliceBefore = await aliceView();
  });

  /** Every route that names a job or a batch, for `id`. */
  const routesFor = (id: string) =>
    [
      ['GET', `/api/v1/batches/${id}`],
      ['GET', `/api/v1/batches/${id}/summary`],
      ['GET', `/api/v1/jobs/${id}`],
      ['GET', `/api/v1/jobs/${id}/logs?tail=5`],
      ['DELETE', `/api/v1/jobs/${id}`],
    ] as const;

  it("answers 404 in the envelope to every route Bob calls with Alice's ids, exactly as for ids nobody has", async () => {
    // Prepare
    const guessed = Array.from({ length: 3 }, () => newJobId());

    // Act
    const answers = await Promise.all(
      [...aliceIds, ...guessed].map(async (id) =>
        Promise.all(
          routesFor(id).map(async ([method, path]) => ({ id, response: await bob.request(method, path) })),
        ),
      ),
    );

    // Assess
    for (const perRoute of answers)
      for (const { response } of perRoute) expectError(response, 404, 'NOT_FOUND');
    // The same answer, word for word, whether the id exists for someone else or for no one.
    routesFor('<id>').forEach(([method, path], route) => {
      const shapes = new Set(
        answers.map((perRoute) =>
          perRoute[route]?.response.text.replaceAll(perRoute[route]?.id ?? '', '<id>'),
        ),
      );
      expect([...shapes], `${method} ${path}`).toHaveLength(1);
    });
  });

  it("leaves Alice's jobs exactly as they were after Bob's reads and cancels", async () => {
    // Act
    await Promise.all(aliceIds.map((id) => bob.delete(`/api/v1/jobs/${id}`)));
    const after = await aliceView();

    // Assess
    for (const id of aliceIds) {
      expect(after.get(id)?.version, id).toBe(aliceBefore.get(id)?.version);
      expect(after.get(id)).toEqual(aliceBefore.get(id));
    }
    expect(after.get(aliceBatch.id)?.status).toBe('completed');
  });

  it("cannot cancel another tenant's job while it is still open: a job a cancel would end stays pending", async () => {
    // Prepare: an open job of a third tenant, which a cancel would end if the tenant check failed.
    const open = aJob({ tenant: 'carol', status: 'pending' });
    await fixture.platform.runtime.store.create([open]);

    // Act
    const bobs = await bob.delete(`/api/v1/jobs/${open.id}`);
    const stored = await fixture.platform.runtime.store.get('carol', open.id);

    // Assess
    expectError(bobs, 404, 'NOT_FOUND');
    expect(stored).toMatchObject({ status: 'pending', version: open.version });
  });

  it("shows Bob none of Alice's jobs, batches or usage in any list", async () => {
    // Act
    const jobs = await bob.get<z.infer<typeof JobList>>('/api/v1/jobs', { limit: 100 });
    const byBatch = await bob.get<z.infer<typeof JobList>>('/api/v1/jobs', { batch: aliceBatch.id });
    const batches = await bob.get<z.infer<typeof BatchList>>('/api/v1/batches');
    const usage = await bob.get<z.infer<typeof Usage>>('/api/v1/usage');

    // Assess
    expect(jobs.status).toBe(200);
    expect(jobs.body.jobs.map((job) => job.id).filter((id) => aliceIds.includes(id))).toEqual([]);
    expect(byBatch.body.jobs).toEqual([]);
    expect(batches.body.batches.map((batch) => batch.id)).not.toContain(aliceBatch.id);
    expect(usage.body).toMatchObject({ batches: 0, jobs: { total: 0 }, frames: 0, result_bytes: 0 });
  });

  it("refuses Alice's next_cursor from Bob with 400", async () => {
    // Prepare
    const page = await alice.get<z.infer<typeof JobList>>('/api/v1/jobs', { limit: 1 });
    const cursor = page.body.next_cursor ?? '';
    expect(cursor).not.toBe('');

    // Act
    const stolen = await bob.get('/api/v1/jobs', { limit: 1, cursor });

    // Assess
    expectError(stolen, 400);
  });

  it('ignores or refuses a tenant named in a header, the query or the body', async () => {
    // Act
    const spoofHeaders = {
      'x-tenant': 'alice',
      'x-tenant-id': 'alice',
      tenant: 'alice',
      'x-amzn-tenant': 'alice',
    };
    const reads = await Promise.all([
      ...aliceIds.map((id) => bob.get(`/api/v1/jobs/${id}`, undefined, spoofHeaders)),
      ...aliceIds.map((id) => bob.get(`/api/v1/jobs/${id}`, { tenant: 'alice' })),
      bob.get(`/api/v1/batches/${aliceBatch.id}/summary`, { tenant: 'alice' }, spoofHeaders),
    ]);
    const lists = await Promise.all([
      bob.get<z.infer<typeof JobList>>('/api/v1/jobs', undefined, spoofHeaders),
      bob.get('/api/v1/jobs', { tenant: 'alice' }),
      bob.get('/api/v1/batches', { tenant: 'alice' }),
      bob.get('/api/v1/usage', { tenant: 'alice' }),
    ]);
    const withTenantInBody = await bob.post('/api/v1/batches', { tenant: 'alice', job_runs: [SMALL_JOB] });
    const withTenantInParams = await bob.post('/api/v1/jobs/standard', {
      name: 'shapes',
      param_values: { ...SMALL_JOB.param_values, tenant: 'alice' },
    });
    const spoofedSubmission = await bob.post<Batch>(
      '/api/v1/batches',
      { job_runs: [SMALL_JOB] },
      spoofHeaders,
    );
    await waitForBatch(bob, spoofedSubmission.body.id);

    // Assess
    for (const read of reads) expectError(read, 404, 'NOT_FOUND');
    expect(lists[0].status).toBe(200);
    expect((lists[0].body as z.infer<typeof JobList>).jobs.map((job) => job.id)).not.toEqual(
      expect.arrayContaining([aliceBatch.id]),
    );
    for (const strict of lists.slice(1)) expectError(strict, 400, 'INVALID_PARAMETERS');
    expectError(withTenantInBody, 400, 'INVALID_PARAMETERS');
    expectError(withTenantInParams, 400, 'INVALID_PARAMETERS');
    // A submission with spoofing headers is Bob's own: Bob sees it, Alice does not.
    expect(spoofedSubmission.status).toBe(202);
    expect((await bob.get(`/api/v1/batches/${spoofedSubmission.body.id}`)).status).toBe(200);
    expectError(await alice.get(`/api/v1/batches/${spoofedSubmission.body.id}`), 404, 'NOT_FOUND');
    const aliceJobs = await alice.get<z.infer<typeof JobList>>('/api/v1/jobs', { limit: 100 });
    expect(aliceJobs.body.jobs.map((job) => job.id).sort()).toEqual([...aliceIds].sort());
  });

  it('stores every record of a tenant under its own partition only', async () => {
    // Act: a raw look at the table, as the adapters wrote it.
    const scan = await fixture.platform.runtime.clients.dynamo.send(
      new ScanCommand({ TableName: fixture.platform.emulators.tableNames.state }),
    );

    // Assess
    const items = scan.Items ?? [];
    const aliceItems = items.filter((item) => aliceIds.includes(String(item.id)));
    expect(aliceItems).toHaveLength(aliceIds.length);
    for (const item of aliceItems) {
      expect(String(item.pk)).toBe('T#alice');
      expect(item.tenant).toBe('alice');
    }
    for (const item of items) expect(String(item.pk)).toMatch(/^T#(alice|bob|carol)(#|$)/);
  });
});

describe('authentication', () => {
  const paths = ['/api/v1/jobs', '/api/v1/batches', '/api/v1/usage', '/api/v1/generators'];

  it.each([
    ['no key', {}],
    ['an unknown key', { 'x-api-key': 'sf_not-a-key-anyone-was-given-0000000000000000' }],
    ['an empty bearer token', { authorization: 'Bearer ' }],
    ['a key in the wrong scheme', { authorization: 'Basic c2Y6eA==' }],
  ])('answers 401 in the envelope to a request with %s', async (_, headers) => {
    // Prepare
    const anonymous = fixture.api.withKey(undefined);
    const executionsBefore = fixture.platform.workflows.generationBatch.executions.size;

    // Act
    const answers = await Promise.all(paths.map((path) => anonymous.get(path, undefined, headers)));
    const submission = await anonymous.request('POST', '/api/v1/batches', {
      json: { job_runs: [SMALL_JOB] },
      headers,
    });

    // Assess
    for (const answer of [...answers, submission]) expectError(answer, 401, 'UNAUTHORIZED');
    expect(fixture.platform.workflows.generationBatch.executions.size).toBe(executionsBefore);
  });

  it('accepts a key until it is revoked, then answers 401 once the key cache has let it go (its TTL)', async () => {
    // Prepare
    const { key, record } = await keyFor(fixture.platform, 'carol');
    const carol = fixture.api.withKey(key);
    const before = await carol.get('/api/v1/jobs');
    const bearer = await fixture.api
      .withKey(undefined)
      .get('/api/v1/jobs', undefined, { authorization: `Bearer ${key}` });

    // Act: revoked in the keys table, as `npm run keys -- revoke` does from another process.
    await fixture.platform.runtime.keys.revoke(record.keyId, new Date().toISOString());
    const withinTtl = await carol.get('/api/v1/jobs');
    keyCacheClock.ms += 60_000;
    const after = await carol.get('/api/v1/jobs');
    const afterBearer = await fixture.api.withKey(undefined).get('/api/v1/jobs', undefined, {
      authorization: `Token ${key}`,
    });

    // Assess
    expect(before.status).toBe(200);
    expect(bearer.status).toBe(200);
    expect(withinTtl.status).toBe(200);
    expectError(after, 401, 'UNAUTHORIZED');
    expectError(afterBearer, 401, 'UNAUTHORIZED');
  });
});
