/**
 * The OpenAPI document against the routes the README documents. The expectations are written out
 * here, not read from `contracts/routes.ts`: the document is built from that table, so a test that
 * took its expectations from it would agree with any mistake in it (a route dropped, a key no longer
 * required, an error status lost).
 */
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../contracts/openapi.ts';

interface Operation {
  operationId?: string;
  security?: Record<string, unknown[]>[];
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
  'x-synthforge-mode': string;
}

interface ExpectedRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  operationId: string;
  /** False for the public routes: no API key. */
  auth: boolean;
  /** The answers that are not errors. */
  ok: string[];
  /** The error statuses the route can answer, each in the error envelope (unless `seed002`). */
  errors: string[];
  /**
   * Seed 002's routes: their errors in seed 002's body, except 401 and 429, which API Gateway
   * answers itself in the envelope on every route.
   */
  seed002?: true;
  /**
   * Seed 003's routes: their errors in seed 003's `{time, request, error}`, except 401, which API
   * Gateway answers itself, and 429, which it answers or a model's throttling does (either body).
   */
  seed003?: true;
  /** Seed 004's avatarization routes: FastAPI's `{"detail": {...}}`, as the avatars client reads it. */
  seed004?: true;
}

// What every authenticated route can answer (README "Routes": 401 no or bad key, 429 rate limited),
// plus 500; 400 whenever the route parses a path, query or body; 413 whenever it takes a body; 409
// and 422 whenever it takes an Idempotency-Key (in flight, key reused).
const AUTH = ['401', '429', '500'];
const READ = ['400', ...AUTH];
const READ_ONE = ['400', ...AUTH, '404'];
const BODY = ['400', ...AUTH, '413'];
const SUBMIT = ['400', ...AUTH, '409', '413', '422'];
// Seed 002 (LaxAI's FastAPI): input that fails its schema is a 422, not a 400.
const TRAINING_READ = ['422', ...AUTH];
const TRAINING_SUBMIT = [...AUTH, '409', '413', '422'];

/** Every route of README "Routes" (and its training section), with what it answers. */
const EXPECTED_ROUTES: readonly ExpectedRoute[] = [
  // Public.
  { method: 'GET', path: '/', operationId: 'root', auth: false, ok: ['200'], errors: [] },
  { method: 'GET', path: '/health', operationId: 'health', auth: false, ok: ['200'], errors: [] },
  { method: 'GET', path: '/openapi.json', operationId: 'openapi', auth: false, ok: ['200'], errors: [] },
  { method: 'GET', path: '/docs', operationId: 'docs', auth: false, ok: ['200'], errors: [] },
  // The Swagger UI and ReDoc scripts, served by the API itself so `/docs` works offline.
  {
    method: 'GET',
    path: '/docs/{asset}',
    operationId: 'docsAsset',
    auth: false,
    ok: ['200'],
    errors: ['400', '404'],
  },
  { method: 'GET', path: '/redoc', operationId: 'redoc', auth: false, ok: ['200'], errors: [] },
  // Generators.
  {
    method: 'GET',
    path: '/api/v1/generators',
    operationId: 'listGenerators',
    auth: true,
    ok: ['200'],
    errors: AUTH,
  },
  {
    method: 'GET',
    path: '/api/v1/generators/{name}',
    operationId: 'getGenerator',
    auth: true,
    ok: ['200'],
    errors: READ_ONE,
  },
  {
    method: 'POST',
    path: '/api/v1/generators/{name}/validate',
    operationId: 'validateParams',
    auth: true,
    ok: ['200'],
    errors: [...BODY, '404'],
  },
  {
    method: 'POST',
    path: '/api/v1/generators/{name}/random',
    operationId: 'randomParams',
    auth: true,
    ok: ['200'],
    errors: [...BODY, '404'],
  },
  // Batches and single jobs.
  {
    method: 'POST',
    path: '/api/v1/batches',
    operationId: 'submitBatch',
    auth: true,
    ok: ['202'],
    errors: [...SUBMIT, '404', '503'],
  },
  {
    method: 'POST',
    path: '/api/v1/jobs/standard',
    operationId: 'submitStandardJob',
    auth: true,
    ok: ['202'],
    errors: [...SUBMIT, '404', '503'],
  },
  {
    method: 'POST',
    path: '/api/v1/jobs/preview',
    operationId: 'submitPreviewJob',
    auth: true,
    ok: ['202'],
    errors: [...SUBMIT, '404', '503'],
  },
  {
    method: 'POST',
    path: '/api/v1/batches/estimate',
    operationId: 'estimateBatch',
    auth: true,
    ok: ['200'],
    errors: [...BODY, '404'],
  },
  {
    method: 'GET',
    path: '/api/v1/batches',
    operationId: 'listBatches',
    auth: true,
    ok: ['200'],
    errors: READ,
  },
  {
    method: 'GET',
    path: '/api/v1/batches/{id}',
    operationId: 'getBatch',
    auth: true,
    ok: ['200'],
    errors: READ_ONE,
  },
  {
    method: 'GET',
    path: '/api/v1/batches/{id}/summary',
    operationId: 'getBatchSummary',
    auth: true,
    ok: ['200'],
    errors: READ_ONE,
  },
  // Jobs.
  { method: 'GET', path: '/api/v1/jobs', operationId: 'listJobs', auth: true, ok: ['200'], errors: READ },
  {
    method: 'GET',
    path: '/api/v1/jobs/{id}',
    operationId: 'getJob',
    auth: true,
    ok: ['200'],
    errors: READ_ONE,
  },
  {
    method: 'DELETE',
    path: '/api/v1/jobs/{id}',
    operationId: 'cancelJob',
    auth: true,
    ok: ['200'],
    errors: [...READ_ONE, '409'],
  },
  {
    method: 'GET',
    path: '/api/v1/jobs/{id}/logs',
    operationId: 'getJobLogs',
    auth: true,
    ok: ['200'],
    errors: READ_ONE,
  },
  { method: 'GET', path: '/api/v1/usage', operationId: 'getUsage', auth: true, ok: ['200'], errors: READ },
  // Images (seed 001): `POST /generate` answers 200 when the image is ready in time, else 202.
  {
    method: 'POST',
    path: '/api/v1/generate',
    operationId: 'generateImage',
    auth: true,
    ok: ['200', '202'],
    errors: [...SUBMIT, '404', '503'],
  },
  {
    method: 'GET',
    path: '/api/v1/generate/{job_id}',
    operationId: 'getGeneratedImage',
    auth: true,
    ok: ['200', '202'],
    errors: [...READ_ONE, '409'],
  },
  {
    method: 'POST',
    path: '/api/v1/generate/batch',
    operationId: 'generateImageBatch',
    auth: true,
    ok: ['202'],
    errors: [...SUBMIT, '404', '503'],
  },
  {
    method: 'GET',
    path: '/api/v1/generate/batch/{batch_id}',
    operationId: 'getGeneratedBatch',
    auth: true,
    ok: ['200'],
    errors: READ_ONE,
  },
  // Validation, profiles and exports (seed 001): another tenant's image or dataset is a 404.
  {
    method: 'POST',
    path: '/api/v1/validate/quality',
    operationId: 'validateImageQuality',
    auth: true,
    ok: ['200'],
    errors: [...BODY, '404'],
  },
  {
    method: 'POST',
    path: '/api/v1/validate/privacy',
    operationId: 'validateImagePrivacy',
    auth: true,
    ok: ['200'],
    errors: [...BODY, '404', '503'],
  },
  {
    method: 'POST',
    path: '/api/v1/validate/batch',
    operationId: 'validateImageBatch',
    auth: true,
    ok: ['202'],
    errors: [...SUBMIT, '404'],
  },
  {
    method: 'GET',
    path: '/api/v1/profiles',
    operationId: 'listProfiles',
    auth: true,
    ok: ['200'],
    errors: AUTH,
  },
  {
    method: 'GET',
    path: '/api/v1/profiles/{profile_name}',
    operationId: 'getProfile',
    auth: true,
    ok: ['200'],
    errors: READ_ONE,
  },
  {
    method: 'POST',
    path: '/api/v1/profiles',
    operationId: 'createProfile',
    auth: true,
    ok: ['202'],
    errors: [...SUBMIT, '404'],
  },
  {
    method: 'POST',
    path: '/api/v1/export/jsonl',
    operationId: 'exportJsonl',
    auth: true,
    ok: ['200', '202'],
    errors: [...SUBMIT, '403', '404'],
  },
  {
    method: 'POST',
    path: '/api/v1/export/s3',
    operationId: 'exportS3',
    auth: true,
    ok: ['200', '202'],
    errors: [...SUBMIT, '403', '404'],
  },
  // Training (seed 002): `tenant_id` naming another tenant is a 403.
  {
    method: 'POST',
    path: '/api/v1/train',
    operationId: 'startTraining',
    auth: true,
    ok: ['202'],
    errors: [...TRAINING_SUBMIT, '403', '404', '503'],
    seed002: true,
  },
  {
    method: 'GET',
    path: '/api/v1/train/{task_id}/status',
    operationId: 'getTrainingStatus',
    auth: true,
    ok: ['200'],
    errors: [...TRAINING_READ, '404'],
    seed002: true,
  },
  {
    method: 'GET',
    path: '/api/v1/train/jobs',
    operationId: 'listTrainingJobs',
    auth: true,
    ok: ['200'],
    errors: TRAINING_READ,
    seed002: true,
  },
  {
    method: 'DELETE',
    path: '/api/v1/train/{task_id}',
    operationId: 'cancelTraining',
    auth: true,
    ok: ['200'],
    errors: [...TRAINING_READ, '404', '409'],
    seed002: true,
  },
  ...inferenceRoutes(),
  // Seed 004's avatarization (README "Avatarization").
  {
    method: 'PUT',
    path: '/api/v1/avatars/resources/{set_name}',
    operationId: 'putAvatarResources',
    seed004: true,
    auth: true,
    ok: ['200'],
    errors: BODY,
  },
  {
    method: 'GET',
    path: '/api/v1/avatars/resources/{set_name}',
    operationId: 'getAvatarResources',
    seed004: true,
    auth: true,
    ok: ['200'],
    errors: READ_ONE,
  },
  {
    method: 'POST',
    path: '/api/v1/avatars/upload-url',
    operationId: 'avatarUploadUrl',
    seed004: true,
    auth: true,
    ok: ['200'],
    errors: BODY,
  },
  {
    method: 'POST',
    path: '/api/v1/avatars/jobs',
    operationId: 'createAvatarJob',
    seed004: true,
    auth: true,
    ok: ['202'],
    errors: [...SUBMIT, '404', '503'],
  },
  {
    method: 'GET',
    path: '/api/v1/avatars/jobs',
    operationId: 'listAvatarJobs',
    seed004: true,
    auth: true,
    ok: ['200'],
    errors: READ,
  },
  {
    method: 'GET',
    path: '/api/v1/avatars/jobs/{name}',
    operationId: 'getAvatarJob',
    seed004: true,
    auth: true,
    ok: ['200'],
    errors: READ_ONE,
  },
  {
    method: 'DELETE',
    path: '/api/v1/avatars/jobs/{name}',
    operationId: 'cancelAvatarJob',
    seed004: true,
    auth: true,
    ok: ['200'],
    errors: [...READ_ONE, '409'],
  },
  {
    method: 'GET',
    path: '/api/v1/avatars/results/{job_name}',
    operationId: 'getAvatarResults',
    seed004: true,
    auth: true,
    ok: ['200'],
    errors: [...READ_ONE, '409'],
  },
];

/** Seed 003's inference routes: every model route answers the same statuses. */
function inferenceRoutes(): ExpectedRoute[] {
  // The model routes take an Idempotency-Key (409 in flight, 422 reused); the stream does not.
  const model = ['400', '401', '404', '409', '413', '422', '429', '500', '503'];
  const streamed = ['400', '401', '404', '413', '429', '500', '503'];
  const read = ['401', '429', '500'];
  const route = (
    method: 'GET' | 'POST',
    path: string,
    operationId: string,
    errors: string[],
    ok = ['200'],
  ): ExpectedRoute => ({ method, path, operationId, auth: true, ok, errors, seed003: true });
  // `"async": true` answers 202 with a job instead.
  const orJob = ['200', '202'];
  return [
    route('POST', '/api/claude4', 'invokeClaude4', model, orJob),
    route('POST', '/api/nova', 'invokeNova', model, orJob),
    route('POST', '/api/emd/{model_key}', 'invokeEmdModel', model, orJob),
    route('GET', '/api/emd/status', 'getEmdStatus', read),
    route('GET', '/api/emd/models', 'listEmdModels', read),
    route('POST', '/api/multi-inference', 'multiInference', [
      '400',
      '401',
      '404',
      '409',
      '413',
      '422',
      '429',
      '500',
    ]),
    route('POST', '/api/stream/{model_name}', 'streamInference', streamed),
    route('POST', '/api/uploads', 'createUploadUrl', ['400', '401', '413', '429', '500']),
  ];
}

/**
 * Infinity's real client (seed 000) on its own paths, next to /api/v1 (README "Infinity users"). It
 * ends every path with a slash; API Gateway routes that to these resources.
 */
const INFINITY_ROUTES: readonly ExpectedRoute[] = [
  {
    method: 'GET',
    path: '/api/jobs',
    operationId: 'infinityListGenerators',
    auth: true,
    ok: ['200'],
    errors: AUTH,
  },
  {
    method: 'GET',
    path: '/api/jobs/{name}',
    operationId: 'infinityGetGenerator',
    auth: true,
    ok: ['200'],
    errors: READ_ONE,
  },
  {
    method: 'POST',
    path: '/api/batch',
    operationId: 'infinitySubmitBatch',
    auth: true,
    ok: ['202'],
    errors: [...SUBMIT, '404', '503'],
  },
  {
    method: 'POST',
    path: '/api/batch/estimate',
    operationId: 'infinityEstimateBatch',
    auth: true,
    ok: ['200'],
    errors: [...BODY, '404'],
  },
  {
    method: 'GET',
    path: '/api/batch',
    operationId: 'infinityListBatches',
    auth: true,
    ok: ['200'],
    errors: READ,
  },
  {
    method: 'GET',
    path: '/api/batch/{id}',
    operationId: 'infinityGetBatch',
    auth: true,
    ok: ['200'],
    errors: READ_ONE,
  },
  {
    method: 'GET',
    path: '/api/batch/{id}/summary',
    operationId: 'infinityGetBatchSummary',
    auth: true,
    ok: ['200'],
    errors: READ_ONE,
  },
  {
    method: 'GET',
    path: '/api/job_runs',
    operationId: 'infinityListJobRuns',
    auth: true,
    ok: ['200'],
    errors: READ,
  },
  {
    method: 'GET',
    path: '/api/job_runs/{id}',
    operationId: 'infinityGetJobRun',
    auth: true,
    ok: ['200'],
    errors: READ_ONE,
  },
  {
    method: 'GET',
    path: '/api/job_runs/counts',
    operationId: 'infinityGetUsage',
    auth: true,
    ok: ['200'],
    errors: READ,
  },
  {
    method: 'GET',
    path: '/api/job_previews',
    operationId: 'infinityListJobPreviews',
    auth: true,
    ok: ['200'],
    errors: READ,
  },
  {
    method: 'GET',
    path: '/api/job_previews/{id}',
    operationId: 'infinityGetJobPreview',
    auth: true,
    ok: ['200'],
    errors: READ_ONE,
  },
];

const ERROR_ENVELOPE_REF = '#/components/schemas/Error';
const SEED002_ERROR_REF = '#/components/schemas/TrainingError';
const SEED003_ERROR_REF = '#/components/schemas/InferenceError';
const SEED004_ERROR_REF = '#/components/schemas/AvatarsError';
/** The routes that call one model: their 429 is API Gateway's throttle or the model's. */
const MODEL_CALLS = new Set(['invokeClaude4', 'invokeNova', 'invokeEmdModel', 'streamInference']);
const GATEWAY_ANSWERS = ['401', '429'];
const sorted = (values: readonly string[]) => [...new Set(values)].sort();
const label = (route: Pick<ExpectedRoute, 'method' | 'path'>) => `${route.method} ${route.path}`;

describe('buildOpenApiDocument', () => {
  const document = buildOpenApiDocument() as unknown as {
    paths: Record<string, Record<string, Operation>>;
    components: {
      schemas: Record<string, { properties?: Record<string, { required?: string[] }> }>;
      securitySchemes: Record<string, Record<string, unknown>>;
    };
  };
  const operation = (route: ExpectedRoute) => document.paths[route.path]?.[route.method.toLowerCase()];

  it('documents exactly the routes the README lists, each once', () => {
    // Prepare
    const documented = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );

    // Assess: nothing missing, and nothing the list lacks (an undocumented route is a finding too).
    expect(documented.sort()).toEqual([...EXPECTED_ROUTES, ...INFINITY_ROUTES].map(label).sort());
    expect(new Set(documented).size).toBe(documented.length);
  });

  it.each([...EXPECTED_ROUTES, ...INFINITY_ROUTES].map((route) => [label(route), route] as const))(
    '%s: method, operationId, security and answers as documented',
    (_name, route) => {
      // Act
      const documented = operation(route);

      // Assess
      expect(documented, 'route missing from the document').toBeDefined();
      expect(documented?.operationId).toBe(route.operationId);
      // A secured route takes X-API-Key or a bearer token; a public one overrides any global
      // requirement with an explicitly empty list.
      expect(documented?.security).toEqual(route.auth ? [{ ApiKey: [] }, { Bearer: [] }] : []);
      const statuses = Object.keys(documented?.responses ?? {});
      expect(sorted(statuses.filter((status) => Number(status) < 400))).toEqual(sorted(route.ok));
      expect(sorted(statuses.filter((status) => Number(status) >= 400))).toEqual(sorted(route.errors));
      for (const status of route.errors) {
        const schema = documented?.responses[status]?.content?.['application/json']?.schema;
        if (route.seed003 && status === '429' && MODEL_CALLS.has(route.operationId)) {
          expect(schema, status).toEqual({
            anyOf: [{ $ref: SEED003_ERROR_REF }, { $ref: ERROR_ENVELOPE_REF }],
          });
          continue;
        }
        const ownBody = !GATEWAY_ANSWERS.includes(status);
        const ref =
          route.seed002 && ownBody
            ? SEED002_ERROR_REF
            : route.seed003 && ownBody
              ? SEED003_ERROR_REF
              : route.seed004 && ownBody
                ? SEED004_ERROR_REF
                : ERROR_ENVELOPE_REF;
        expect(schema, status).toEqual({ $ref: ref });
      }
    },
  );

  it("documents seed 001's X-RateLimit-* headers on every answer of a limited route, and Retry-After on its 429", () => {
    // Prepare
    type Responses = Record<string, { headers?: Record<string, unknown> }>;
    const answers = (path: string, method: string) =>
      (document.paths[path] as Record<string, { responses: Responses }>)[method]?.responses ?? {};
    const quality = answers('/api/v1/validate/quality', 'post');
    const profiles = answers('/api/v1/profiles', 'get');
    const generate = answers('/api/v1/generate', 'post');

    // Assess
    for (const [status, answer] of Object.entries({ ...quality, ...generate })) {
      expect(Object.keys(answer.headers ?? {}), status).toEqual(
        expect.arrayContaining(['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset']),
      );
    }
    expect(Object.keys(quality['429']?.headers ?? {})).toContain('Retry-After');
    expect(Object.keys(generate['202']?.headers ?? {})).toContain('Location');
    for (const answer of Object.values(profiles))
      expect(answer.headers ?? {}).not.toHaveProperty('X-RateLimit-Limit');
  });

  it('gives every operation its own operationId', () => {
    // Prepare
    const ids = Object.values(document.paths).flatMap((methods) =>
      Object.values(methods).map((op) => op.operationId),
    );

    // Assess
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('defines the key schemes the secured routes name: X-API-Key and a bearer token', () => {
    // Assess
    expect(document.components.securitySchemes.ApiKey).toEqual({
      type: 'apiKey',
      in: 'header',
      name: 'X-API-Key',
    });
    expect(document.components.securitySchemes.Bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('documents the error envelope as {"error": {"code", "message", "details"}}', () => {
    // Prepare
    const envelope = document.components.schemas.Error;

    // Assess
    expect(envelope?.properties?.error).toMatchObject({
      properties: { code: expect.anything(), message: expect.anything(), details: expect.anything() },
      required: ['code', 'message'],
    });
  });

  it('documents seed 002\'s error body as {"error": "<type>", "message", "details"}', () => {
    // Prepare
    const body = document.components.schemas.TrainingError as {
      properties?: Record<string, { type?: string; enum?: string[] }>;
      required?: string[];
    };

    // Assess
    expect(body?.required?.sort()).toEqual(['details', 'error', 'message']);
    expect(body?.properties?.error?.enum).toEqual(
      expect.arrayContaining(['validation_error', 'not_found', 'forbidden', 'illegal_state']),
    );
  });

  it('says of a route whether it answers at once or starts a job', () => {
    // Assess
    expect(document.paths['/api/v1/batches']?.post?.['x-synthforge-mode']).toBe('starts-job');
    expect(document.paths['/api/v1/train']?.post?.['x-synthforge-mode']).toBe('starts-job');
    expect(document.paths['/api/v1/jobs']?.get?.['x-synthforge-mode']).toBe('immediate');
  });

  it("answers the Infinity client's lists as bare arrays and its estimate as frames per job", () => {
    // Prepare
    const schemaOf = (path: string, method: string, status: string) =>
      (document.paths[path]?.[method]?.responses[status]?.content?.['application/json']?.schema ?? {}) as {
        $ref?: string;
      };
    const component = (ref: string | undefined) =>
      (document.components.schemas as Record<string, { type?: string; items?: unknown }>)[
        (ref ?? '').replace('#/components/schemas/', '')
      ];

    // Assess
    for (const [path, method, status] of [
      ['/api/jobs', 'get', '200'],
      ['/api/batch', 'get', '200'],
      ['/api/batch/estimate', 'post', '200'],
      ['/api/job_runs', 'get', '200'],
      ['/api/job_previews', 'get', '200'],
    ] as const) {
      expect(component(schemaOf(path, method, status).$ref)?.type, path).toBe('array');
    }
    expect(component(schemaOf('/api/batch/estimate', 'post', '200').$ref)?.items).toEqual({
      type: 'integer',
    });
  });

  it('names the shared schemas as components', () => {
    // Assess
    expect(Object.keys(document.components.schemas)).toEqual(
      expect.arrayContaining(['Error', 'Job', 'Batch', 'BatchSummary', 'ParameterSpec', 'GeneratorInfo']),
    );
  });
});
