/**
 * Negative fuzzing of every authenticated route over real HTTP (reliability matrix T10): generated
 * malformed requests never get a 5xx, always get the error envelope with nothing internal in it,
 * and store nothing and start nothing.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newJobId } from '../../lambdas/adapters/ids.ts';
import { type ApiResponse, expectError, LEAK_PATTERNS, usePlatform } from '../support/platform.ts';

const fixture = usePlatform();

/** Fixed so that a failure can be replayed; override with FC_SEED=<n>. */
const SEED = Number(process.env.FC_SEED ?? 20_261_122);
const CONCURRENCY = 8;
const RUNS = 150;
const MALFORMED_STATUSES = [400, 404, 413];

interface MalformedRequest {
  /** What makes it malformed, for the failure message. */
  label: string;
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  query?: Record<string, string>;
  body?: string;
  contentType?: string;
  /** The statuses this request may get; a subset of MALFORMED_STATUSES. */
  expected: number[];
}

// ---------------------------------------------------------------------------------------------
// Building blocks

/** Generated text never contains what the leak check looks for, so an echo is never mistaken for a leak. */
const text = (constraints: fc.StringConstraints = {}) =>
  fc.string(constraints).filter((value) => !LEAK_PATTERNS.some((pattern) => pattern.test(value)));
/** Text for a path segment: `.` and `..` would be resolved away by the URL and name another route. */
const segment = (constraints: fc.StringConstraints) =>
  text(constraints)
    .filter((value) => value !== '.' && value !== '..')
    .map(encodeURIComponent);

/** An object with `key` as an own, enumerable property, even for `__proto__`. */
function withKey(object: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(object);
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

/** `depth` arrays inside each other. */
const deeplyNested = (depth: number): unknown => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`);
/** `depth` objects inside each other. */
const deeplyNestedObject = (depth: number): unknown =>
  JSON.parse(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);
/** Any JSON value, from a fixed pool: nothing in it can look like a leak when echoed back. */
const anyValue = fc.oneof(
  fc.constantFrom(1, -2.5, true, false, null, {}, [], { a: [1, 'b'] }, 'v'),
  fc.constant(null).map(() => deeplyNestedObject(200)),
);

const HUGE = 'x'.repeat(300_000);
const OVERSIZE_BODY = JSON.stringify({ name: 'x'.repeat(1.5 * 1024 * 1024) });

/** Values of the wrong JSON type for a field of type `type`. */
function wrongTypeFor(type: 'string' | 'boolean' | 'array' | 'object'): fc.Arbitrary<unknown> {
  const all: Record<string, fc.Arbitrary<unknown>> = {
    string: text({ maxLength: 20 }),
    boolean: fc.boolean(),
    array: fc.constantFrom([], [1, 'a'], deeplyNested(50)),
    object: fc.constantFrom({}, { a: 1 }),
    number: fc.constantFrom(-1, 0, 7, 2.5, 1e21),
    null: fc.constant(null),
    deep: fc.constantFrom(deeplyNested(1000), deeplyNestedObject(1000)),
  };
  const wrong = Object.entries(all)
    .filter(([name]) => name !== type && !(type === 'array' && name === 'deep'))
    .map(([, arbitrary]) => arbitrary);
  return fc.oneof(...wrong);
}

/** A key that none of the request schemas declares. */
const unknownKey = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    'tenant',
    'tenantId',
    'extra',
  ),
  text({ minLength: 1, maxLength: 12 }).filter(
    (key) =>
      ![
        'name',
        'is_preview',
        'param_values',
        'job_runs',
        'batch_name',
        'job_params',
        'n',
        'seed',
        'limit',
        'cursor',
        'kind',
        'status',
        'batch',
        'start_time',
        'end_time',
        'tail',
      ].includes(key),
  ),
);

/** Parameter values that the shapes generator must refuse. */
const invalidParamValues = fc.oneof(
  fc.record({
    image_width: fc.constantFrom(0, 63, 1025, 1.5, -5, '512', true, null, HUGE, deeplyNested(1000)),
  }),
  fc.record({ frames: fc.constantFrom(0, 65, 2.5, '4') }),
  fc.record({ palette: fc.constantFrom('neon', '', 'VIVID', 3) }),
  fc.record({
    output: fc.constant('identity_crops'),
    identities: fc.constant(500),
    crops_per_identity: fc.constant(200),
  }),
  fc.record({ seed: fc.constantFrom(-1, 2 ** 31, 0.5) }),
  fc
    .tuple(fc.constantFrom('__proto__', 'constructor', 'colour', 'tenant', 'toString'), anyValue)
    .map(([key, value]) => withKey({ image_width: 64 }, key, value)),
);

// ---------------------------------------------------------------------------------------------
// POST routes: a valid body per route, and ways to break it

const RUN = {
  name: 'shapes',
  is_preview: false,
  param_values: { image_width: 64, image_height: 64, frames: 1 },
};
const BATCH_BODY = { name: 'fuzz', job_runs: [RUN] };
const SINGLE_BODY = {
  name: 'shapes',
  param_values: { image_width: 64, image_height: 64, frames: 1 },
  batch_name: 'b',
};

const batchBodies: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant({ name: 'no job runs' }),
  wrongTypeFor('array').map((job_runs) => ({ job_runs })),
  fc.constant({ job_runs: [] }),
  fc.constant({ job_runs: Array.from({ length: 1001 }, () => ({ name: 'shapes' })) }),
  wrongTypeFor('string').map((name) => ({ ...BATCH_BODY, name })),
  fc.constantFrom('', 'n'.repeat(201), HUGE).map((name) => ({ ...BATCH_BODY, name })),
  fc
    .oneof(wrongTypeFor('string'), fc.constantFrom('', 'g'.repeat(101), HUGE, 'no-such-generator', 'Shapes'))
    .map((name) => ({ job_runs: [{ ...RUN, name }] })),
  wrongTypeFor('boolean').map((is_preview) => ({ job_runs: [{ ...RUN, is_preview }] })),
  fc
    .oneof(fc.constantFrom([], [1], 'x', 3, true, null), invalidParamValues)
    .map((param_values) => ({ job_runs: [RUN, { ...RUN, param_values }] })),
  fc
    .tuple(fc.constantFrom('__proto__', 'constructor', 'prototype'), anyValue)
    .map(([key, value]) => ({ job_runs: [{ ...RUN, param_values: withKey(RUN.param_values, key, value) }] })),
  fc.tuple(unknownKey, anyValue).map(([key, value]) => ({ job_runs: [withKey(RUN, key, value)] })),
  fc.tuple(unknownKey, anyValue).map(([key, value]) => withKey(BATCH_BODY, key, value)),
);

const singleJobBodies: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant({ param_values: {} }),
  fc
    .oneof(wrongTypeFor('string'), fc.constantFrom('', 'g'.repeat(101), HUGE, 'no-such-generator'))
    .map((name) => ({ ...SINGLE_BODY, name })),
  fc
    .oneof(fc.constantFrom([], 'x', 3, null), invalidParamValues)
    .map((param_values) => ({ ...SINGLE_BODY, param_values })),
  fc
    .oneof(wrongTypeFor('string'), fc.constantFrom('', 'b'.repeat(201)))
    .map((batch_name) => ({ ...SINGLE_BODY, batch_name })),
  fc
    .tuple(fc.constantFrom('__proto__', 'constructor', 'prototype'), anyValue)
    .map(([key, value]) => ({ ...SINGLE_BODY, param_values: withKey(SINGLE_BODY.param_values, key, value) })),
  fc.constant({ ...SINGLE_BODY, is_preview: true }),
  fc.tuple(unknownKey, anyValue).map(([key, value]) => withKey(SINGLE_BODY, key, value)),
);

const validateBodies: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant({}),
  fc
    .oneof(fc.constantFrom({}, 'x', 3, null, true), fc.constant(deeplyNestedObject(1000)))
    .map((job_params) => ({
      job_params,
    })),
  fc.constant({ job_params: [] }),
  fc.constant({ job_params: Array.from({ length: 1001 }, () => ({})) }),
  fc.tuple(unknownKey, anyValue).map(([key, value]) => withKey({ job_params: [{}] }, key, value)),
);

const randomBodies: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(0, 101, -1, 1.5, '5', null, true, [], {}).map((n) => ({ n })),
  fc.constantFrom(-1, 2 ** 31, 0.5, 'seed', null).map((seed) => ({ n: 2, seed })),
  fc.constantFrom([], 'x', 3, null).map((param_values) => ({ param_values })),
  fc.tuple(unknownKey, anyValue).map(([key, value]) => withKey({ n: 2 }, key, value)),
);

const POST_TARGETS: { path: string; bodies: fc.Arbitrary<unknown>; valid: unknown }[] = [
  { path: '/api/v1/batches', bodies: batchBodies, valid: BATCH_BODY },
  { path: '/api/v1/batches/estimate', bodies: batchBodies, valid: BATCH_BODY },
  { path: '/api/v1/jobs/standard', bodies: singleJobBodies, valid: SINGLE_BODY },
  { path: '/api/v1/jobs/preview', bodies: singleJobBodies, valid: SINGLE_BODY },
  { path: '/api/v1/generators/shapes/validate', bodies: validateBodies, valid: { job_params: [{}] } },
  { path: '/api/v1/generators/shapes/random', bodies: randomBodies, valid: { n: 1 } },
];

const notJson = fc.oneof(
  // A strict prefix of an object's JSON is never JSON.
  fc
    .tuple(fc.constantFrom(...POST_TARGETS.map((target) => JSON.stringify(target.valid))), fc.nat())
    .map(([json, cut]) => json.slice(0, 1 + (cut % (json.length - 1)))),
  fc
    .tuple(
      fc.constantFrom(...POST_TARGETS.map((target) => JSON.stringify(target.valid))),
      fc.constantFrom('}', ',', 'x', ']', '{"'),
    )
    .map(([json, tail]) => `${json}${tail}`),
  fc.constantFrom("{'job_runs': []}", '{job_runs: []}', '{"a":1,}', 'NaN', 'undefined', '{"a":01}', '\u0000'),
  text({ minLength: 1, maxLength: 40 }).filter((candidate) => {
    if (candidate.trim() === '') return false;
    try {
      JSON.parse(candidate);
      return false;
    } catch {
      return true;
    }
  }),
);

const WRONG_CONTENT_TYPES = [
  'text/plain',
  'text/html; charset=utf-8',
  'application/xml',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/jsonx',
  'image/png',
];

const postRequests: fc.Arbitrary<MalformedRequest> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .constantFrom(...POST_TARGETS)
      .chain((target) => target.bodies.map((body) => ({ target, body })))
      .map(({ target, body }) => ({
        label: 'schema-invalid body',
        method: 'POST' as const,
        path: target.path,
        body: JSON.stringify(body),
        contentType: 'application/json',
        expected: [400],
      })),
  },
  {
    weight: 3,
    arbitrary: fc.tuple(fc.constantFrom(...POST_TARGETS), notJson).map(([target, body]) => ({
      label: 'invalid JSON',
      method: 'POST' as const,
      path: target.path,
      body,
      contentType: 'application/json',
      expected: [400],
    })),
  },
  {
    // A JSON body is accepted under any label (curl sends forms); a body that is neither is a 400.
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...POST_TARGETS), fc.constantFrom(...WRONG_CONTENT_TYPES), notJson)
      .map(([target, contentType, body]) => ({
        label: 'not JSON, and not labelled JSON',
        method: 'POST' as const,
        path: target.path,
        body,
        contentType,
        expected: [400],
      })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...POST_TARGETS), fc.constantFrom(...WRONG_CONTENT_TYPES), batchBodies)
      .map(([target, contentType, body]) => ({
        label: 'schema-invalid JSON under another label',
        method: 'POST' as const,
        path: target.path,
        body: JSON.stringify(body),
        contentType,
        expected: [400],
      })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...POST_TARGETS), fc.constantFrom('', '   ', '\n'))
      .map(([target, body]) => ({
        label: 'empty body',
        method: 'POST' as const,
        path: target.path,
        body,
        contentType: 'application/json',
        expected: [400],
      })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(...POST_TARGETS).map((target) => ({
      label: '1.5 MiB body',
      method: 'POST' as const,
      path: target.path,
      body: OVERSIZE_BODY,
      contentType: 'application/json',
      expected: [413],
    })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom('validate', 'random'),
        segment({ minLength: 1, maxLength: 120 }).filter((name) => name !== 'shapes'),
      )
      .map(([action, name]) => ({
        label: 'unknown generator',
        method: 'POST' as const,
        path: `/api/v1/generators/${name}/${action}`,
        body: JSON.stringify(action === 'validate' ? { job_params: [{}] } : { n: 1 }),
        contentType: 'application/json',
        expected: [400, 404],
      })),
  },
);

// ---------------------------------------------------------------------------------------------
// GET and DELETE routes: bad ids and bad query values

const badId = fc.oneof(
  fc.constant(newJobId().toLowerCase()),
  fc.constantFrom(
    '0',
    'x'.repeat(26),
    `${newJobId()}0`,
    newJobId().slice(1),
    '01ILOUILOUILOUILOUILOUILOU',
    '%20',
  ),
  segment({ minLength: 1, maxLength: 40 }),
);
/** Well-formed ids that no job has. */
const unknownId = fc.constant(null).map(() => newJobId(new Date(Date.now() - 86_400_000)));

const ID_ROUTES: { method: 'GET' | 'DELETE'; path: (id: string) => string }[] = [
  { method: 'GET', path: (id) => `/api/v1/jobs/${id}` },
  { method: 'DELETE', path: (id) => `/api/v1/jobs/${id}` },
  { method: 'GET', path: (id) => `/api/v1/jobs/${id}/logs` },
  { method: 'GET', path: (id) => `/api/v1/batches/${id}` },
  { method: 'GET', path: (id) => `/api/v1/batches/${id}/summary` },
];

const badTime = fc.oneof(
  fc.constantFrom(
    '',
    'yesterday',
    '2024-13-01T00:00:00Z',
    '2024-02-30T00:00:00Z',
    '2024-01-01',
    '2024-01-01T25:00:00Z',
    '1700000000',
    '2024-01-01 00:00:00',
  ),
  text({ maxLength: 30 }),
);
const badLimit = fc.constantFrom('0', '101', '-3', '1.5', 'abc', '', '1e9', 'null');
const badCursor = fc.oneof(
  text({ minLength: 1, maxLength: 60 }),
  fc.constantFrom('abc.def', 'eyJhZnRlciI6IjAxIn0.c2lnbmF0dXJl', '.', 'a.b.c'),
  fc.constant('c'.repeat(2049)),
);

/** Query parameters each listing route accepts, and bad values for them. */
const QUERY_ROUTES: { path: string; bad: Record<string, fc.Arbitrary<string>> }[] = [
  {
    path: '/api/v1/jobs',
    bad: {
      kind: fc.constantFrom('', 'hyperpod', 'BATCH', 'generation,batch'),
      status: fc.constantFrom('', 'done', 'in_progress', 'RUNNING'),
      batch: badId,
      limit: badLimit,
      cursor: badCursor,
      start_time: badTime,
      end_time: badTime,
    },
  },
  {
    path: '/api/v1/batches',
    bad: { limit: badLimit, cursor: badCursor, start_time: badTime, end_time: badTime },
  },
  { path: '/api/v1/usage', bad: { start_time: badTime, end_time: badTime } },
];

const readRequests: fc.Arbitrary<MalformedRequest> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.tuple(fc.constantFrom(...ID_ROUTES), badId).map(([route, id]) => ({
      label: 'malformed id',
      method: route.method,
      path: route.path(id),
      expected: [400, 404],
    })),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom(...ID_ROUTES), unknownId).map(([route, id]) => ({
      label: 'unknown id',
      method: route.method,
      path: route.path(id),
      expected: [404],
    })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('0', '1001', '-1', 'x', '1.5', ''), fc.oneof(unknownId, badId))
      .map(([tail, id]) => ({
        label: 'bad tail',
        method: 'GET' as const,
        path: `/api/v1/jobs/${id}/logs`,
        query: { tail },
        expected: [400, 404],
      })),
  },
  {
    weight: 4,
    arbitrary: fc
      .constantFrom(...QUERY_ROUTES)
      .chain((route) =>
        fc
          .constantFrom(...Object.keys(route.bad))
          .chain((name) =>
            (route.bad[name] as fc.Arbitrary<string>).map((value) => ({ route, name, value })),
          ),
      )
      .map(({ route, name, value }) => ({
        label: `bad ${name}`,
        method: 'GET' as const,
        path: route.path,
        query: { [name]: value },
        expected: [400],
      })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...QUERY_ROUTES),
        unknownKey.filter((key) => key !== '__proto__'),
        text({ maxLength: 10 }),
      )
      .map(([route, key, value]) => ({
        label: 'unknown query parameter',
        method: 'GET' as const,
        path: route.path,
        query: { [key]: value },
        expected: [400],
      })),
  },
  {
    weight: 1,
    arbitrary: segment({ minLength: 1, maxLength: 120 })
      .filter((name) => name !== 'shapes')
      .map((name) => ({
        label: 'unknown generator',
        method: 'GET' as const,
        path: `/api/v1/generators/${name}`,
        expected: [400, 404],
      })),
  },
);

const malformedRequest = fc.oneof(
  { weight: 3, arbitrary: postRequests },
  { weight: 2, arbitrary: readRequests },
);

// ---------------------------------------------------------------------------------------------

async function send(request: MalformedRequest): Promise<ApiResponse<unknown>> {
  return fixture.api.request(request.method, request.path, {
    ...(request.query ? { query: request.query } : {}),
    ...(request.body === undefined ? {} : { raw: request.body }),
    headers: request.contentType ? { 'content-type': request.contentType } : {},
  });
}

const describeRequest = (request: MalformedRequest) =>
  `${request.label}: ${request.method} ${request.path}${request.query ? ` ?${new URLSearchParams(request.query)}` : ''}` +
  `${request.contentType ? ` [${request.contentType}]` : ''} ${(request.body ?? '').slice(0, 200)}`;

describe('malformed requests', () => {
  it('refuses a parameter named __proto__ or constructor like any unknown parameter', async () => {
    // Act
    const answers = await Promise.all(
      ['__proto__', 'constructor'].flatMap((key) => [
        fixture.api.request('POST', '/api/v1/batches', {
          raw: `{"job_runs":[{"name":"shapes","param_values":{"${key}":{"image_width":64}}}]}`,
          headers: { 'content-type': 'application/json' },
        }),
        fixture.api.request('POST', '/api/v1/jobs/standard', {
          raw: `{"name":"shapes","param_values":{"frames":1,"${key}":{"frames":2}}}`,
          headers: { 'content-type': 'application/json' },
        }),
      ]),
    );

    // Assess
    for (const answer of answers) expectError(answer, 400, 'INVALID_PARAMETERS');
    expect(fixture.platform.workflows.generationBatch.executions.size).toBe(0);
  });

  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf'])(
    'answers 400 to a query parameter named %s',
    async (name) => {
      // Act
      const answers = await Promise.all(
        ['/api/v1/jobs', '/api/v1/batches', '/api/v1/usage'].map((path) =>
          fixture.api.get(path, { [name]: '1' }),
        ),
      );

      // Assess
      for (const answer of answers) expectError(answer, 400, 'INVALID_PARAMETERS');
    },
  );

  it.each(['abc.def', 'not-a-cursor', 'eyJhZnRlciI6IjAxIn0.c2lnbmF0dXJl'])(
    'answers 400 to a cursor it did not issue (%s)',
    async (cursor) => {
      // Act
      const jobs = await fixture.api.get('/api/v1/jobs', { cursor });
      const batches = await fixture.api.get('/api/v1/batches', { cursor });

      // Assess
      expectError(jobs, 400);
      expectError(batches, 400);
    },
  );

  let sent = 0;
  const statuses = new Map<number, number>();

  it(`answers ${RUNS * CONCURRENCY} generated malformed requests with a 4xx envelope and no 5xx (seed ${SEED})`, async () => {
    // Act + Assess, CONCURRENCY requests at a time
    await fc.assert(
      fc.asyncProperty(
        fc.array(malformedRequest, { minLength: CONCURRENCY, maxLength: CONCURRENCY }),
        async (batch) => {
          const answers = await Promise.all(batch.map(send));
          sent += answers.length;
          answers.forEach((answer, index) => {
            const request = batch[index] as MalformedRequest;
            statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
            const where = `${describeRequest(request)} -> ${answer.status} ${answer.text.slice(0, 300)}`;
            expect(request.expected, where).toContain(answer.status);
            expect(MALFORMED_STATUSES).toContain(answer.status);
            expectError(answer, answer.status);
          });
        },
      ),
      { seed: SEED, numRuns: RUNS, endOnFailure: false },
    );

    // Assess: enough requests were sent, and of every kind of answer.
    expect(sent).toBeGreaterThanOrEqual(1_000);
    expect([...statuses.keys()].sort()).toEqual(expect.arrayContaining([400, 404, 413]));
  });

  it('stored nothing and started nothing', async () => {
    // Act
    const { platform } = fixture;
    const scan = await platform.runtime.clients.dynamo.send(
      new ScanCommand({ TableName: platform.emulators.tableNames.state }),
    );
    const objects = await platform.runtime.clients.s3.send(
      new ListObjectsV2Command({ Bucket: platform.emulators.bucketName }),
    );

    // Assess
    const items = (scan.Items ?? []).filter((item) => !String(item.pk).startsWith('KEY#'));
    expect(items, JSON.stringify(items.slice(0, 5))).toEqual([]);
    expect(objects.KeyCount ?? 0).toBe(0);
    expect(platform.workflows.generationBatch.executions.size).toBe(0);
    expect(platform.events.recent).toEqual([]);
  });
});
