/**
 * `ApiClient` against the local platform over real HTTP: every named method reaches its route and
 * returns what the contract describes, and the server's errors arrive typed, with their envelope.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { routes } from '../../contracts/routes.ts';
import { usePlatform } from '../../test/support/platform.ts';
import { ApiClient } from '../src/api-client.ts';
import { Batch } from '../src/batch.ts';
import { SynthForgeError } from '../src/errors.ts';

const fixture = usePlatform();
const SMALL = { image_width: 64, image_height: 64, frames: 1 };
let client: ApiClient;

beforeAll(() => {
  client = new ApiClient({ baseUrl: `${fixture.platform.url}/`, apiKey: fixture.platform.devKey });
});

async function failureOf(promise: Promise<unknown>): Promise<SynthForgeError> {
  const error = await promise.catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(SynthForgeError);
  return error as SynthForgeError;
}

describe('named methods', () => {
  it('reads the public routes without a key', async () => {
    // Prepare
    const anonymous = new ApiClient({ baseUrl: fixture.platform.url });

    // Act
    const [root, health, openapi, docs] = await Promise.all([
      anonymous.root(),
      anonymous.health(),
      anonymous.openapi(),
      anonymous.call(routes.docs),
    ]);

    // Assess
    expect(root.openapi).toContain('openapi.json');
    expect(health).toMatchObject({ status: 'ok', stage: 'local' });
    expect(Object.keys(openapi.paths as object)).toContain('/api/v1/batches/{id}/summary');
    expect(docs).toContain('<html');
  });

  it('lists, describes, validates and samples generators', async () => {
    // Act
    const list = await client.listGenerators();
    const shapes = await client.getGenerator('shapes');
    const verdict = await client.validateParams('shapes', { job_params: [{ frames: 0 }, {}] });
    const random = await client.randomParams('shapes', { n: 2, seed: 5 });
    const defaultRandom = await client.randomParams('shapes');

    // Assess
    // The procedural generator, the local endpoint's model, and the stage's GPU model (listed, not servable here).
    expect(list.generators.map((generator) => [generator.name, generator.runs_on])).toEqual([
      ['shapes', 'lambda'],
      ['shapes-endpoint', 'endpoint'],
      ['stable-diffusion-v1-5', 'endpoint'],
    ]);
    expect(shapes.params.map((spec) => spec.name)).toContain('frames');
    expect(verdict.valid).toBe(false);
    expect(verdict.results[0]?.[0]).toMatchObject({ parameter: 'frames', kind: 'range' });
    expect(verdict.results[1]).toBeNull();
    expect(random.job_params).toHaveLength(2);
    expect(defaultRandom.job_params).toHaveLength(1);
  });

  it('estimates and submits batches, standard jobs and previews, and reads them back', async () => {
    // Act
    const estimate = await client.estimateBatch({ job_runs: [{ name: 'shapes', param_values: SMALL }] });
    const standard = await client.submitStandardJob({
      name: 'shapes',
      param_values: SMALL,
      batch_name: 'one',
    });
    const preview = await client.submitPreviewJob({ name: 'shapes', param_values: SMALL });
    const batch = await client.submitBatch({
      name: 'two',
      job_runs: [{ name: 'shapes', param_values: SMALL }],
    });
    await new Batch(client, batch.id).awaitCompletion({ pollIntervalMs: 25 });
    const read = await client.getBatch(batch.id);
    const summary = await client.getBatchSummary(batch.id);
    const listed = await client.listBatches({ limit: 3 });
    const jobId = batch.job_runs[0]?.id ?? '';
    const jobs = await client.listJobs({ batch: batch.id, limit: 10 });
    const job = await client.getJob(jobId);
    const logs = await client.getJobLogs(jobId, { tail: 5 });
    const usage = await client.getUsage();

    // Assess
    expect(estimate).toMatchObject({ items: 1, frames_per_job: [1] });
    expect(standard.job).toMatchObject({
      kind: 'generation',
      is_preview: false,
      batch_id: standard.batch_id,
    });
    expect(preview.job).toMatchObject({ kind: 'generation', is_preview: true });
    expect(read).toMatchObject({ id: batch.id, name: 'two', status: 'completed', total: 1 });
    expect(summary.job_runs[0]?.result_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    expect(listed.batches.map((item) => item.id)).toEqual([batch.id, preview.batch_id, standard.batch_id]);
    expect(jobs.jobs.map((item) => item.id)).toEqual([jobId]);
    expect(job).toMatchObject({ id: jobId, status: 'completed', progress: 100 });
    expect(logs.entries.length).toBeGreaterThan(0);
    expect(logs.entries.length).toBeLessThanOrEqual(5);
    expect(usage.batches).toBeGreaterThanOrEqual(3);
    await Promise.all(
      [standard.batch_id, preview.batch_id].map((id) =>
        new Batch(client, id).awaitCompletion({ pollIntervalMs: 25 }),
      ),
    );
  });

  it('replays a submission sent again with the same idempotencyKey', async () => {
    // Prepare
    const body = { job_runs: [{ name: 'shapes', param_values: SMALL }] };
    const idempotencyKey = `sdk-test-${Date.now()}`;

    // Act
    const first = await client.submitBatch(body, { idempotencyKey });
    const second = await client.submitBatch(body, { idempotencyKey });

    // Assess
    expect(second.id).toBe(first.id);
    await new Batch(client, first.id).awaitCompletion({ pollIntervalMs: 25 });
  });
});

describe('errors', () => {
  it('is a 401 UNAUTHORIZED for a wrong key, with the request id, not retried', async () => {
    // Prepare
    const stranger = new ApiClient({ baseUrl: fixture.platform.url, apiKey: 'sf_not_a_key' });

    // Act
    const error = await failureOf(stranger.listGenerators());

    // Assess
    expect(error).toMatchObject({ status: 401, code: 'UNAUTHORIZED', retryable: false, attempts: 1 });
    expect(error.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('is a 400 INVALID_PARAMETERS with details for a bad query', async () => {
    // Act
    const error = await failureOf(client.listJobs({ limit: 0 }));

    // Assess
    expect(error).toMatchObject({ status: 400, code: 'INVALID_PARAMETERS', details: { location: 'query' } });
  });

  it('is a 409 ILLEGAL_STATE to cancel a job that ended', async () => {
    // Prepare
    const submitted = await client.submitStandardJob({ name: 'shapes', param_values: SMALL });
    await new Batch(client, submitted.batch_id).awaitCompletion({ pollIntervalMs: 25 });

    // Act
    const error = await failureOf(client.cancelJob(submitted.job.id));

    // Assess
    expect(error).toMatchObject({ status: 409, code: 'ILLEGAL_STATE', attempts: 1 });
  });

  it('encodes path parameters, so a name with a slash or ? stays one parameter', async () => {
    // Act
    const error = await failureOf(client.getGenerator('a/b c?d'));

    // Assess
    expect(error).toMatchObject({ status: 404, code: 'NOT_FOUND', details: { generator: 'a/b c?d' } });
  });

  it('refuses a base URL that is not http(s)', () => {
    // Act
    const make = () => new ApiClient({ baseUrl: 'ftp://example.com', apiKey: 'k' });

    // Assess
    expect(make).toThrow(TypeError);
  });
});
