import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { IdempotencyKeyHeader } from './common.ts';
import { ERROR_BODY } from './errors.ts';
import { rateLimitGroupOf } from './rate-limits.ts';
import { ROUTE_LIST, type RouteDef } from './routes.ts';
import { codeInFormat, ERROR_STATUS, type ErrorFormat, errorFormatOf } from './vocabulary.ts';
import * as z from './zod.ts';

export const API_VERSION = '0.1.0';

const STATUS_TEXT: Record<number, string> = {
  400: 'Invalid input: `details` names the parameter, the value and the constraint',
  401: 'No API key, or an unknown or revoked one',
  403: 'The key may not do this',
  404: 'Not found (also for another tenant’s resources)',
  409: 'Illegal state change, or an idempotent request still in flight',
  413: 'Body too large',
  422: 'Idempotency-Key reused with another body',
  429: 'Rate limited: see Retry-After and X-RateLimit-*',
  500: 'Internal error: no stack trace, the request id says which',
  503: 'Model, endpoint or workflow not available: `details` says why and, where known, when',
};

/** Seed 002's routes: the same statuses, named by their `error` type. */
const SEED002_STATUS_TEXT: Record<number, string> = {
  403: 'forbidden: `tenant_id` names another tenant',
  404: 'not_found: no such task of yours (another tenant’s ids included)',
  409: 'illegal_state (the run already ended, or one of that name is running) or request_in_flight',
  413: 'payload_too_large',
  422: 'validation_error: `details` names the parameter, the value and the constraint (a body that is not JSON included); or idempotency_key_reused',
  500: 'internal: no stack trace, `details.request_id` says which',
  503: 'unavailable: training cannot run (`details.reason`), or the disk is full',
};

/**
 * Statuses API Gateway answers itself (no or a bad key, throttling): its gateway responses are one
 * per API, with templates that only substitute variables, so they are the envelope on every route.
 */
const GATEWAY_STATUSES: ReadonlySet<number> = new Set([401, 429]);

function errorResponseSpec(
  status: number,
  format: ErrorFormat,
  ownStatuses: readonly number[],
): ResponseSpec {
  const bodyFormat = GATEWAY_STATUSES.has(status) ? 'envelope' : format;
  const text = bodyFormat === 'seed002' ? SEED002_STATUS_TEXT[status] : undefined;
  // A status both API Gateway and the route's own code answer (seed 003's 429: the gateway's throttle,
  // or a model's throttling past its retries) comes in either body.
  const schema =
    bodyFormat !== format && ownStatuses.includes(status)
      ? z.union([ERROR_BODY[format], ERROR_BODY[bodyFormat]])
      : ERROR_BODY[bodyFormat];
  return {
    description: text ?? STATUS_TEXT[status] ?? 'Error',
    content: { 'application/json': { schema } },
  };
}

/** The OpenAPI 3.1 document, generated from the route table and its zod schemas. */
export function buildOpenApiDocument(serverUrl?: string) {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'ApiKey', {
    type: 'apiKey',
    in: 'header',
    name: 'X-API-Key',
  });
  registry.registerComponent('securitySchemes', 'Bearer', {
    type: 'http',
    scheme: 'bearer',
    description: '`Authorization: Bearer <key>`; `Authorization: Token <key>` is accepted too',
  });
  for (const route of ROUTE_LIST) registerRoute(registry, route);
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'SynthForge API',
      version: API_VERSION,
      description:
        'Synthetic-data generation, training and multimodal inference on AWS. Routes marked `starts-job` answer 202 at once with the job and where to poll; nothing waits past 29 s.',
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
  });
}

interface ResponseSpec {
  description: string;
  content?: Record<string, { schema: z.ZodType }>;
  headers?: z.ZodObject;
}

const POLL_HEADERS = z.object({ Location: z.string().url().describe('where to poll the started job') });

/** On every answer of a route seed 001 limits per minute (contracts/rate-limits.ts). */
const RATE_LIMIT_HEADERS = z.object({
  'X-RateLimit-Limit': z.string().describe("the tenant's requests a minute for this group of routes"),
  'X-RateLimit-Remaining': z.string().describe('what is left of them in this minute'),
  'X-RateLimit-Reset': z.string().describe('when the minute ends, in seconds since the epoch'),
});
const RETRY_AFTER = z.object({ 'Retry-After': z.string().describe('seconds to wait') });

/** The headers of one answer: a poll's, and the limits' on a limited route (Retry-After on its 429). */
function headersOf(poll: boolean, limited: boolean, status: number): z.ZodObject | undefined {
  const shape = {
    ...(poll ? POLL_HEADERS.shape : {}),
    ...(limited ? RATE_LIMIT_HEADERS.shape : {}),
    ...(limited && status === 429 ? RETRY_AFTER.shape : {}),
  };
  return Object.keys(shape).length > 0 ? z.object(shape) : undefined;
}

function registerRoute(registry: OpenAPIRegistry, route: RouteDef) {
  // What every route of a kind can answer is derived; `route.errors` adds what its domain can.
  const format = errorFormatOf(route.family);
  const invalidInput = ERROR_STATUS[codeInFormat('INVALID_PARAMETERS', format)];
  const errorStatuses = new Set<number>(route.errors);
  if (route.auth) for (const status of [401, 429, 500]) errorStatuses.add(status);
  if (route.params || route.query || route.body) errorStatuses.add(invalidInput);
  if (route.body) errorStatuses.add(413);
  if (route.idempotent) for (const status of [409, 422]) errorStatuses.add(status);
  const limited = rateLimitGroupOf(route.operationId) !== undefined;
  const withHeaders = (spec: ResponseSpec, status: number, poll = false): ResponseSpec => {
    const headers = headersOf(poll, limited, status);
    return headers ? { ...spec, headers } : spec;
  };
  const responses: Record<string, ResponseSpec> = {
    [route.response.status]: withHeaders(
      {
        description: route.mode === 'starts-job' ? 'Accepted: the job has started; poll it' : 'OK',
        content: { [route.response.contentType ?? 'application/json']: { schema: route.response.schema } },
      },
      route.response.status,
      route.pollPath !== undefined,
    ),
    ...(route.accepted
      ? {
          202: withHeaders(
            {
              description: route.accepted.description,
              content: { 'application/json': { schema: route.accepted.schema } },
            },
            202,
            true,
          ),
        }
      : {}),
  };
  for (const status of [...errorStatuses].sort())
    responses[status] = withHeaders(errorResponseSpec(status, format, route.errors), status);
  registry.registerPath({
    method: route.method.toLowerCase() as 'get' | 'post' | 'put' | 'delete',
    path: route.path,
    operationId: route.operationId,
    summary: route.summary,
    description: `${route.description ? `${route.description}\n\n` : ''}${
      route.mode === 'starts-job' ? 'Starts a job and answers 202 at once.' : 'Answers at once.'
    }`,
    tags: [route.tag],
    ...(route.auth ? { security: [{ ApiKey: [] }, { Bearer: [] }] } : { security: [] }),
    request: {
      ...(route.params ? { params: route.params } : {}),
      ...(route.query ? { query: route.query } : {}),
      ...(route.idempotent
        ? { headers: z.object({ 'Idempotency-Key': IdempotencyKeyHeader.optional() }) }
        : {}),
      ...(route.body
        ? { body: { required: true, content: { 'application/json': { schema: route.body } } } }
        : {}),
    },
    responses,
    'x-synthforge-mode': route.mode,
  } as Parameters<OpenAPIRegistry['registerPath']>[0]);
}
