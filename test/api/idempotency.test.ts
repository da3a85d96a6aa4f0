/**
 * `Idempotency-Key` on submissions: concurrent duplicates start one batch, a retry replays the
 * first answer, the same key with another body is a 422, and without a key every request is new.
 */
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { JobList } from '../../contracts/api.ts';
import type { Batch, SingleJobResponse } from '../../contracts/batches.ts';
import { type ApiResponse, expectError, keyFor, usePlatform, waitForBatch } from '../support/platform.ts';

const fixture = usePlatform();

const CONCURRENT_REQUESTS = 20;
const body = (seed: number) => ({
  name: `idempotent ${seed}`,
  job_runs: [{ name: 'shapes', param_values: { image_width: 64, image_height: 64, frames: 1, seed } }],
});

async function batchIds(): Promise<string[]> {
  const list = await fixture.api.get<z.infer<typeof JobList>>('/api/v1/jobs', { kind: 'batch', limit: 100 });
  return list.body.jobs.map((job) => job.id);
}

describe('Idempotency-Key on POST /api/v1/batches', () => {
  let first: ApiResponse<Batch>;

  it(`starts exactly one batch and one execution for ${CONCURRENT_REQUESTS} concurrent identical requests`, async () => {
    // Prepare
    const headers = { 'idempotency-key': 'concurrent-1' };

    // Act
    const answers = await Promise.all(
      Array.from({ length: CONCURRENT_REQUESTS }, () =>
        fixture.api.post<Batch>('/api/v1/batches', body(1), headers),
      ),
    );
    await fixture.platform.workflows.generationBatch.idle();

    // Assess
    const accepted = answers.filter((answer) => answer.status === 202);
    const inFlight = answers.filter((answer) => answer.status === 409);
    expect(accepted.length + inFlight.length, answers.map((a) => `${a.status} ${a.text}`).join('\n')).toBe(
      CONCURRENT_REQUESTS,
    );
    expect(accepted.length).toBeGreaterThanOrEqual(1);
    expect(new Set(accepted.map((answer) => answer.body.id)).size).toBe(1);
    for (const answer of inFlight) {
      expectError(answer, 409, 'REQUEST_IN_FLIGHT');
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(await batchIds()).toEqual([accepted[0]?.body.id]);
    expect(fixture.platform.workflows.generationBatch.executions.size).toBe(1);
    first = accepted.find(
      (answer) => answer.headers.get('idempotent-replayed') === null,
    ) as ApiResponse<Batch>;
    expect(first, 'exactly one answer is the original').toBeDefined();
    expect(accepted.filter((answer) => answer.headers.get('idempotent-replayed') === null)).toHaveLength(1);
  });

  it('replays the first answer, marked as replayed, to a retry after the batch completed', async () => {
    // Prepare
    const summary = await waitForBatch(fixture.api, first.body.id);

    // Act
    const retry = await fixture.api.post<Batch>('/api/v1/batches', body(1), {
      'idempotency-key': 'concurrent-1',
    });

    // Assess
    expect(summary.status).toBe('completed');
    expect(retry.status).toBe(202);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect(await batchIds()).toHaveLength(1);
    expect(fixture.platform.workflows.generationBatch.executions.size).toBe(1);
  });

  it('treats a body with its keys in another order as the same request', async () => {
    // Prepare
    const { name, job_runs } = body(1);

    // Act
    const reordered = await fixture.api.post<Batch>(
      '/api/v1/batches',
      { job_runs, name },
      { 'idempotency-key': 'concurrent-1' },
    );

    // Assess
    expect(reordered.status).toBe(202);
    expect(reordered.body.id).toBe(first.body.id);
  });

  it('answers 422 to the same key with another body, and starts nothing', async () => {
    // Act
    const reused = await fixture.api.post('/api/v1/batches', body(2), { 'idempotency-key': 'concurrent-1' });

    // Assess
    expectError(reused, 422, 'IDEMPOTENCY_KEY_REUSED');
    expect(await batchIds()).toHaveLength(1);
    expect(fixture.platform.workflows.generationBatch.executions.size).toBe(1);
  });

  it('keeps keys apart per tenant: the same key from another tenant starts its own batch', async () => {
    // Prepare
    const other = fixture.api.withKey((await keyFor(fixture.platform, 'other')).key);

    // Act
    const theirs = await other.post<Batch>('/api/v1/batches', body(1), { 'idempotency-key': 'concurrent-1' });

    // Assess
    expect(theirs.status).toBe(202);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    expect(theirs.body.id).not.toBe(first.body.id);
    await waitForBatch(other, theirs.body.id);
  });

  it('starts a new batch for every request without a key', async () => {
    // Prepare
    const executionsBefore = fixture.platform.workflows.generationBatch.executions.size;
    const batchesBefore = await batchIds();

    // Act
    const one = await fixture.api.post<Batch>('/api/v1/batches', body(3));
    const two = await fixture.api.post<Batch>('/api/v1/batches', body(3));
    await fixture.platform.workflows.generationBatch.idle();

    // Assess
    expect([one.status, two.status]).toEqual([202, 202]);
    expect(one.body.id).not.toBe(two.body.id);
    expect(await batchIds()).toHaveLength(batchesBefore.length + 2);
    expect(fixture.platform.workflows.generationBatch.executions.size).toBe(executionsBefore + 2);
  });

  it('refuses a malformed key with 400 and starts nothing', async () => {
    // Prepare
    const executionsBefore = fixture.platform.workflows.generationBatch.executions.size;

    // Act
    const spaced = await fixture.api.post('/api/v1/batches', body(4), { 'idempotency-key': 'has a space' });
    const long = await fixture.api.post('/api/v1/batches', body(4), { 'idempotency-key': 'k'.repeat(256) });

    // Assess
    expectError(spaced, 400, 'INVALID_PARAMETERS');
    expectError(long, 400, 'INVALID_PARAMETERS');
    expect(fixture.platform.workflows.generationBatch.executions.size).toBe(executionsBefore);
  });
});

describe('Idempotency-Key on POST /api/v1/jobs/standard', () => {
  it('replays the same job for a retried single-job submission', async () => {
    // Prepare
    const request = {
      name: 'shapes',
      param_values: { image_width: 64, image_height: 64, frames: 1, seed: 9 },
    };
    const headers = { 'idempotency-key': 'single-1' };

    // Act
    const one = await fixture.api.post<z.infer<typeof SingleJobResponse>>(
      '/api/v1/jobs/standard',
      request,
      headers,
    );
    const two = await fixture.api.post<z.infer<typeof SingleJobResponse>>(
      '/api/v1/jobs/standard',
      request,
      headers,
    );
    const preview = await fixture.api.post('/api/v1/jobs/preview', request, headers);

    // Assess
    expect([one.status, two.status]).toEqual([202, 202]);
    expect(two.headers.get('idempotent-replayed')).toBe('true');
    expect(two.body).toEqual(one.body);
    // Another route is another request, even with the same body.
    expectError(preview, 422, 'IDEMPOTENCY_KEY_REUSED');
    await waitForBatch(fixture.api, one.body.batch_id);
  });
});
