import type { APIGatewayProxyEvent } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { INFERENCE_MAX_BODY_BYTES } from '../../../contracts/inference.ts';
import { routes } from '../../../contracts/routes.ts';
import { DynamoIdempotencyStore } from '../../../lambdas/adapters/dynamo/idempotency-store.ts';
import { DomainError } from '../../../lambdas/domain/errors.ts';
import {
  bind,
  createApiHandler,
  MAX_BODY_BYTES,
  stableStringify,
} from '../../../lambdas/http/api-handler.ts';
import { useEmulators } from '../../support/emulators.ts';
import { loadEvent } from '../../support/fixtures.ts';

const postEvent = (changes: Partial<APIGatewayProxyEvent> = {}): APIGatewayProxyEvent => ({
  ...loadEvent<APIGatewayProxyEvent>('apigateway/rest-proxy-post.json'),
  ...changes,
});
const jobEvent = (query: Record<string, string> | null = null): APIGatewayProxyEvent =>
  postEvent({
    resource: '/api/v1/jobs',
    path: '/api/v1/jobs',
    httpMethod: 'GET',
    body: null,
    queryStringParameters: query,
  });
const parse = (body: string) => JSON.parse(body);

describe('createApiHandler', () => {
  const fixture = useEmulators();
  const calls: unknown[] = [];
  const handlerWith = (
    impl: (request: { tenant: string }) => Promise<unknown> = async () => ({ ok: true }),
  ) =>
    createApiHandler(
      [
        bind(routes.submitBatch, async (request) => {
          calls.push(request);
          return impl(request) as never;
        }),
        bind(routes.listJobs, async ({ query }) => ({ jobs: [], next_cursor: JSON.stringify(query) })),
      ],
      {
        idempotency: () =>
          new DynamoIdempotencyStore(fixture.clients.dynamo, {
            tableName: fixture.emulators.tableNames.state,
          }),
      },
    );

  it('passes the parsed body, with defaults applied, and the tenant from the authorizer', async () => {
    // Prepare
    calls.length = 0;
    const handler = handlerWith();

    // Act
    const response = await handler(postEvent());

    // Assess
    expect(response.statusCode).toBe(202);
    expect(calls[0]).toMatchObject({
      tenant: 'acme',
      body: { name: 'demo', job_runs: [{ name: 'shapes', is_preview: false, param_values: { seed: 1 } }] },
      baseUrl: 'https://abc123defg.execute-api.us-east-1.amazonaws.com/dev',
    });
  });

  it('says where to poll a started job, in Location, on the first answer and on a replay', async () => {
    const handler = handlerWith(async () => ({ id: '01JD3X2K8Q7YV4N6B5M9T0RWZC' }));
    const keyed = postEvent({
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'k-location' },
    });

    const first = await handler(keyed);
    const replay = await handler(structuredClone(keyed));

    const where =
      'https://abc123defg.execute-api.us-east-1.amazonaws.com/dev/api/v1/batches/01JD3X2K8Q7YV4N6B5M9T0RWZC/summary';
    expect(first.headers?.location).toBe(where);
    expect(replay.headers?.location).toBe(where);
  });

  it('hands back links on its own host, whatever Host header a client forges', async () => {
    calls.length = 0;
    const event = postEvent();
    event.requestContext.domainName = 'evil"><script>';

    await handlerWith()(event);

    expect(calls[0]).toMatchObject({ baseUrl: 'https://localhost/dev' });
  });

  it('never takes the tenant from the body: unknown fields are rejected', async () => {
    const response = await handlerWith()(
      postEvent({ body: JSON.stringify({ tenant: 'other', job_runs: [] }) }),
    );

    expect(response.statusCode).toBe(400);
    expect(parse(response.body).error.code).toBe('INVALID_PARAMETERS');
  });

  it('answers 401 on an authenticated route that reached it without a tenant', async () => {
    const event = postEvent();
    event.requestContext.authorizer = null;

    const response = await handlerWith()(event);

    expect(response.statusCode).toBe(401);
    expect(parse(response.body)).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
  });

  it('names the parameter, the value and the constraint of an invalid field', async () => {
    const body = JSON.stringify({ job_runs: [{ name: 'shapes', is_preview: 'yes' }] });

    const response = await handlerWith()(postEvent({ body }));

    expect(response.statusCode).toBe(400);
    const { error } = parse(response.body);
    expect(error.details.location).toBe('body');
    expect(error.details.issues[0]).toMatchObject({
      parameter: 'job_runs.0.is_preview',
      value: 'yes',
      constraint: 'invalid_type',
    });
  });

  it.each([
    ['not JSON', '{"job_runs": [', 'application/json', 400, 'INVALID_REQUEST'],
    ['XML', '<batch/>', 'application/xml', 400, 'INVALID_REQUEST'],
    ['empty', '', 'application/json', 400, 'INVALID_PARAMETERS'],
  ])('rejects a %s body in the envelope', async (_, body, contentType, status, code) => {
    const event = postEvent({ body, headers: { 'Content-Type': contentType } });

    const response = await handlerWith()(event);

    expect(response.statusCode).toBe(status);
    expect(parse(response.body).error.code).toBe(code);
  });

  it('accepts JSON labelled as a form, as `curl -d @batch.json` sends it', async () => {
    const event = postEvent({ headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });

    const response = await handlerWith()(event);

    expect(response.statusCode).toBe(202);
  });

  it('answers 413 for a body over the limit, before parsing it', async () => {
    const body = JSON.stringify({ name: 'x'.repeat(MAX_BODY_BYTES), job_runs: [] });

    const response = await handlerWith()(postEvent({ body }));

    expect(response.statusCode).toBe(413);
  });

  it('rejects a query parameter it does not know instead of ignoring it', async () => {
    const response = await handlerWith()(jobEvent({ stauts: 'failed' }));

    expect(response.statusCode).toBe(400);
    expect(parse(response.body).error.details.issues[0].constraint).toBe('unrecognized_keys');
  });

  it('rejects an inverted time range instead of answering an empty list', async () => {
    const response = await handlerWith()(
      jobEvent({ start_time: '2026-11-02T00:00:00Z', end_time: '2026-11-01T00:00:00Z' }),
    );

    expect(response.statusCode).toBe(400);
    expect(parse(response.body).error.details.issues[0]).toMatchObject({ parameter: 'end_time' });
  });

  it('coerces and defaults query parameters', async () => {
    const response = await handlerWith()(jobEvent({ limit: '5', status: 'failed' }));

    expect(response.statusCode).toBe(200);
    expect(JSON.parse(parse(response.body).next_cursor)).toEqual({ limit: 5, status: 'failed' });
  });

  it('answers a domain error in the envelope with its status', async () => {
    const handler = handlerWith(async () => {
      throw new DomainError('UNAVAILABLE', 'warming up', { reason: 'cold' }, 30);
    });

    const response = await handler(postEvent());

    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBe('30');
    expect(parse(response.body).error).toEqual({
      code: 'UNAVAILABLE',
      message: 'warming up',
      details: { reason: 'cold' },
    });
  });

  it('answers an unexpected error with a 500 that leaks no stack, ARN or account', async () => {
    const handler = handlerWith(async () => {
      throw new Error('AccessDenied: arn:aws:iam::123456789012:role/x is not authorized');
    });

    const response = await handler(postEvent());

    expect(response.statusCode).toBe(500);
    expect(response.body).not.toMatch(/arn:|123456789012|at .*\.ts/);
    expect(parse(response.body).error.details.request_id).toBe('5c2f7f0e-2b8e-4d1a-9f1e-1b7c3a9d2e10');
  });

  describe('Idempotency-Key', () => {
    const keyed = (key: string, body?: string) =>
      postEvent({
        headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key },
        ...(body ? { body } : {}),
      });
    const keyedFor = (tenant: string, key: string) => {
      const event = keyed(key);
      event.requestContext.authorizer = { tenant };
      return event;
    };

    it('runs once and replays the first answer for the same key and body', async () => {
      // Prepare
      let runs = 0;
      const handler = handlerWith(async () => ({ run: ++runs }));

      // Act
      const first = await handler(keyed('k-replay'));
      const second = await handler(keyed('k-replay'));

      // Assess
      expect(runs).toBe(1);
      expect(second.statusCode).toBe(first.statusCode);
      expect(second.body).toBe(first.body);
      expect(second.headers?.['idempotent-replayed']).toBe('true');
    });

    it('treats a body with the same fields in another order as the same request', async () => {
      const handler = handlerWith(async () => ({ ok: true }));
      await handler(keyed('k-order', '{"name":"a","job_runs":[{"name":"shapes"}]}'));

      const reordered = await handler(keyed('k-order', '{"job_runs":[{"name":"shapes"}],"name":"a"}'));

      expect(reordered.statusCode).toBe(202);
    });

    it('answers 422 for the same key with another body, and runs nothing', async () => {
      let runs = 0;
      const handler = handlerWith(async () => ({ run: ++runs }));
      await handler(keyed('k-mismatch'));

      const other = await handler(keyed('k-mismatch', '{"job_runs":[{"name":"shapes","is_preview":true}]}'));

      expect(other.statusCode).toBe(422);
      expect(parse(other.body).error.code).toBe('IDEMPOTENCY_KEY_REUSED');
      expect(runs).toBe(1);
    });

    it('keeps the keys of each tenant apart: the same key and body from two tenants runs twice', async () => {
      // Prepare: two tenants that happen to pick the same key (a counter, a date) for the same body.
      const runs: string[] = [];
      const handler = handlerWith(async ({ tenant }) => {
        runs.push(tenant);
        return { id: `batch-of-${tenant}` };
      });

      // Act
      const acme = await handler(keyedFor('acme', 'k-shared-by-tenants'));
      const globex = await handler(keyedFor('globex', 'k-shared-by-tenants'));
      const acmeAgain = await handler(keyedFor('acme', 'k-shared-by-tenants'));

      // Assess: globex is neither refused nor answered with acme's batch; acme still replays its own.
      expect(runs).toEqual(['acme', 'globex']);
      expect([acme.statusCode, globex.statusCode]).toEqual([202, 202]);
      expect(parse(globex.body)).toEqual({ id: 'batch-of-globex' });
      expect(globex.headers?.['idempotent-replayed']).toBeUndefined();
      expect(parse(acmeAgain.body)).toEqual({ id: 'batch-of-acme' });
      expect(acmeAgain.headers?.['idempotent-replayed']).toBe('true');
    });

    it('answers 409 while the first request is in flight', async () => {
      // Prepare: the first request holds its key until released; its implementation runs only
      // once the key is claimed, so entering it means the in-flight record exists.
      let release!: () => void;
      let entered!: () => void;
      const inFlight = new Promise<void>((resolve) => (entered = resolve));
      const handler = handlerWith(() => {
        entered();
        return new Promise((resolve) => (release = () => resolve({ ok: true })));
      });
      const first = handler(keyed('k-flight'));
      await inFlight;

      // Act
      const second = await handler(keyed('k-flight'));
      release();

      // Assess
      expect(second.statusCode).toBe(409);
      expect(parse(second.body).error.code).toBe('REQUEST_IN_FLIGHT');
      expect((await first).statusCode).toBe(202);
    });

    it('runs again after a failure: the key is released', async () => {
      let runs = 0;
      const handler = handlerWith(async () => {
        runs++;
        if (runs === 1) throw new DomainError('UNAVAILABLE', 'try again');
        return { ok: true };
      });

      const failed = await handler(keyed('k-retry'));
      const retried = await handler(keyed('k-retry'));

      expect([failed.statusCode, retried.statusCode]).toEqual([503, 202]);
    });

    it.each([
      ['a control character', 'tab\there'],
      ['a non-ASCII letter', 'clé-1'],
      ['DEL', 'key\u007f'],
      ['a space (printable, but the contract refuses spaces too)', 'with space'],
      ['nothing', ''],
      ['more than 255 characters', 'k'.repeat(256)],
    ])('rejects a key with %s, and runs nothing', async (_, key) => {
      // Prepare
      let runs = 0;
      const handler = handlerWith(async () => ({ run: ++runs }));

      // Act
      const response = await handler(keyed(key));

      // Assess
      expect(response.statusCode).toBe(400);
      expect(parse(response.body).error.details.location).toBe('header');
      expect(runs).toBe(0);
    });

    it('accepts a key of 255 printable ASCII characters', async () => {
      // Prepare: the bounds of the rule above, so that it cannot pass by refusing every key.
      const key = `${'~!'.repeat(127)}k`;

      // Act
      const response = await handlerWith()(keyed(key));

      // Assess
      expect(response.statusCode).toBe(202);
    });
  });
});

describe('createApiHandler: seed 002’s error body on the training routes', () => {
  const trainingEvent = (resource: string, changes: Partial<APIGatewayProxyEvent> = {}) =>
    postEvent({ resource, path: resource, httpMethod: 'GET', body: null, ...changes });
  const seen: string[] = [];
  const handler = createApiHandler([
    bind(routes.getTrainingStatus, async ({ params }) => {
      seen.push(params.task_id);
      throw new DomainError('NOT_FOUND', `task ${JSON.stringify(params.task_id)} was not found`, {
        task: params.task_id,
      });
    }),
    bind(routes.listTrainingJobs, async () => ({ jobs: [], total: 0 })),
    bind(routes.startTraining, async () => {
      throw new DomainError('UNAVAILABLE', 'training cannot run here: no torch', { reason: 'no torch' }, 5);
    }),
  ]);

  it('answers a domain error as {"error": "<type>", "message", "details"} with its status', async () => {
    // Act
    const response = await handler(
      trainingEvent('/api/v1/train/{task_id}/status', {
        pathParameters: { task_id: '3f2b8c1e-9d4a-4c57-b1a2-6e0f9d8c7b6a' },
      }),
    );

    // Assess: a LaxAI task id reaches the route (no format check), whose 404 is in seed 002's body.
    expect(seen).toContain('3f2b8c1e-9d4a-4c57-b1a2-6e0f9d8c7b6a');
    expect(response.statusCode).toBe(404);
    expect(parse(response.body)).toEqual({
      error: 'not_found',
      message: 'task "3f2b8c1e-9d4a-4c57-b1a2-6e0f9d8c7b6a" was not found',
      details: { task: '3f2b8c1e-9d4a-4c57-b1a2-6e0f9d8c7b6a' },
    });
  });

  it('answers input that fails its schema with 422 validation_error, as FastAPI does', async () => {
    // Act
    const badQuery = await handler(
      trainingEvent('/api/v1/train/jobs', { queryStringParameters: { limit: '0' } }),
    );
    const notJson = await handler(
      trainingEvent('/api/v1/train', { httpMethod: 'POST', body: '{"training_kwargs": {' }),
    );

    // Assess
    expect(badQuery.statusCode).toBe(422);
    expect(parse(badQuery.body)).toMatchObject({
      error: 'validation_error',
      details: { location: 'query', parameter: 'limit', value: '0' },
    });
    expect(notJson.statusCode).toBe(422);
    expect(parse(notJson.body)).toMatchObject({
      error: 'validation_error',
      message: 'the body is not valid JSON',
    });
  });

  it('keeps Retry-After, and answers an unknown route of the family in its format', async () => {
    // Act
    const unavailable = await handler(trainingEvent('/api/v1/train', { httpMethod: 'POST', body: '{}' }));
    const noRoute = await handler(trainingEvent('/api/v1/train/{task_id}', { httpMethod: 'PUT' }));

    // Assess
    expect(unavailable.statusCode).toBe(503);
    expect(unavailable.headers?.['retry-after']).toBe('5');
    expect(parse(unavailable.body)).toEqual({
      error: 'unavailable',
      message: 'training cannot run here: no torch',
      details: { reason: 'no torch' },
    });
    expect(noRoute.statusCode).toBe(404);
    expect(parse(noRoute.body)).toMatchObject({ error: 'not_found', details: {} });
  });
});

describe('createApiHandler: seed 003’s echo of the request in its errors', () => {
  const novaEvent = (body: string) =>
    postEvent({ resource: '/api/nova', path: '/api/nova', httpMethod: 'POST', body, isBase64Encoded: false });
  const handler = createApiHandler([
    bind(routes.invokeNova, async () => {
      throw new DomainError('UNAVAILABLE', 'the model is waking', {}, 5);
    }),
  ]);

  it('answers a body over the limit with 413 without reading it back for the echo', async () => {
    // Prepare
    const body = JSON.stringify({ text: 'x'.repeat(INFERENCE_MAX_BODY_BYTES) });

    // Act
    const response = await handler(novaEvent(body));

    // Assess
    expect(response.statusCode).toBe(413);
    expect(parse(response.body).request).toEqual({});
    expect(response.body.length).toBeLessThan(1_000);
  });

  it('echoes a text over the schema’s limit only up to that limit', async () => {
    // Prepare
    const body = JSON.stringify({ text: 'y'.repeat(150_000) });

    // Act
    const response = await handler(novaEvent(body));

    // Assess
    expect(response.statusCode).toBe(400);
    expect(parse(response.body).request.text).toBe('y'.repeat(100_000));
  });

  it('echoes a parsed body without parsing it again', async () => {
    // Prepare
    const body = JSON.stringify({ text: 'hello', max_tokens: 64 });
    const parseSpy = vi.spyOn(JSON, 'parse');

    // Act
    const response = await handler(novaEvent(body));
    const parsesOfBody = parseSpy.mock.calls.filter(([text]) => text === body).length;
    parseSpy.mockRestore();

    // Assess
    expect(response.statusCode).toBe(503);
    expect(parse(response.body).request).toMatchObject({ text: 'hello', max_tokens: 64 });
    expect(parsesOfBody).toBe(1);
  });
});

describe('stableStringify', () => {
  it('orders keys at every depth and drops undefined', () => {
    expect(stableStringify({ b: [{ d: 1, c: undefined, a: 2 }], a: 'x' })).toBe(
      '{"a":"x","b":[{"a":2,"d":1}]}',
    );
  });
});

describe("createApiHandler: the trailing slash of Infinity's client", () => {
  it('routes /api/jobs/shapes/ by the resource API Gateway matched, /api/jobs/{name}', async () => {
    // Prepare: API Gateway keeps the slash in `path` and names the resource without it.
    const handler = createApiHandler([
      bind(routes.infinityGetGenerator, async ({ params }) => ({ name: params.name }) as never),
    ]);
    const event = postEvent({
      resource: '/api/jobs/{name}',
      path: '/api/jobs/shapes/',
      httpMethod: 'GET',
      body: null,
      pathParameters: { name: 'shapes' },
    });

    // Act
    const response = await handler(event);

    // Assess
    expect(response.statusCode).toBe(200);
    expect(parse(response.body)).toEqual({ name: 'shapes' });
  });
});
