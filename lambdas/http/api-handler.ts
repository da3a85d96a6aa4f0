/**
 * Turns a family of routes into one API Gateway (REST, proxy) Lambda handler: it finds the route,
 * parses path, query and body with the route's zod schemas, takes the tenant from the authorizer,
 * counts the request against seed 001's per-minute limit of its group, applies `Idempotency-Key`,
 * calls the route's implementation and answers errors in the format of the route's family (seed
 * 001's envelope; seed 002's body on the training routes).
 */
import { createHash } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { z } from 'zod';
import { IdempotencyKeyHeader } from '../../contracts/common.ts';
import { type RateLimitGroup, rateLimitGroupOf } from '../../contracts/rate-limits.ts';
import type { RouteDef } from '../../contracts/routes.ts';
import { type ErrorFormat, errorFormatOf } from '../../contracts/vocabulary.ts';
import { DomainError } from '../domain/errors.ts';
import type { IdempotencyStore, StoredResponse } from '../domain/ports.ts';
import { rateLimitHeaders, refusalOf, type TenantRateLimiter } from '../domain/rate-limits.ts';
import { invalidInput } from '../domain/validation.ts';
import { logger } from '../shared/logger.ts';
import { Accepted, errorResponse, jsonResponse, RawBody } from './responses.ts';
import { decodeUtf8 } from './utf8.ts';

/** Bodies above this are refused with 413 before they are parsed. */
export const MAX_BODY_BYTES = 1024 * 1024;

type Out<S> = [S] extends [undefined] ? undefined : z.output<NonNullable<S> & z.ZodType>;

export interface RouteRequest<R extends RouteDef> {
  /** From the authorizer, never from the request. Empty on public routes. */
  tenant: string;
  params: Out<R['params']>;
  query: Out<R['query']>;
  body: Out<R['body']>;
  headers: Record<string, string>;
  requestId: string;
  /** `https://host/stage` as the caller reached it. */
  baseUrl: string;
}

export type RouteResult<R extends RouteDef> = z.input<R['response']['schema']> | RawBody | AcceptedResult<R>;

/** The `accepted` answer of a route that may answer 202 instead of 200; never for the others. */
type AcceptedResult<R extends RouteDef> = [NonNullable<R['accepted']>] extends [never]
  ? never
  : NonNullable<R['accepted']> extends { schema: infer S extends z.ZodType }
    ? Accepted<z.input<S>>
    : never;
export type RouteImpl<R extends RouteDef> = (request: RouteRequest<R>) => Promise<RouteResult<R>>;

export interface RouteBinding {
  route: RouteDef;
  // biome-ignore lint/suspicious/noExplicitAny: each binding is typed where it is made, by `bind`.
  impl: RouteImpl<any>;
}

/** Pairs a route with its implementation, checking the implementation against the route's schemas. */
export function bind<R extends RouteDef>(route: R, impl: RouteImpl<R>): RouteBinding {
  return { route, impl };
}

export interface ApiHandlerOptions {
  /** Needed when a route in the family is idempotent. */
  idempotency?: () => IdempotencyStore;
  /** Needed when a route in the family counts against a per-minute limit (contracts/rate-limits.ts). */
  rateLimiter?: () => TenantRateLimiter;
  now?: () => Date;
}

export type ApiHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

/**
 * What each request needs from its route, made once per handler rather than per request (zod builds
 * a new schema, parser included, on every `.strict()`).
 */
export interface PreparedRoute {
  route: RouteDef;
  /** Query strings: a misspelt filter is an error, not a silently ignored parameter. */
  strictQuery: RouteDef['query'];
  /** The route's family picks the error body and any status remap: one mechanism for every family. */
  format: ErrorFormat;
  /** The per-minute limit the route counts against, if any. */
  rateLimitGroup: RateLimitGroup | undefined;
}

type PreparedBinding = RouteBinding & PreparedRoute;

/**
 * A handler's bindings by method and resource, each prepared once, and the answer to a request for
 * none of them: in the family's format when the handler serves one family. The API handler and the
 * streaming handler (stream-handler.ts) route alike through it.
 */
export function routeTable<B extends { route: RouteDef }>(bindings: readonly B[]) {
  const byKey = new Map(
    bindings.map((binding): [string, B & PreparedRoute] => {
      const { method, path, query, family } = binding.route;
      return [
        `${method} ${path}`,
        {
          ...binding,
          strictQuery: query?.strict(),
          format: errorFormatOf(family),
          rateLimitGroup: rateLimitGroupOf(binding.route.operationId),
        },
      ];
    }),
  );
  const families = new Set(bindings.map((b) => b.route.family));
  const [onlyFamily] = families.size === 1 ? families : [];
  const unroutedFormat = onlyFamily ? errorFormatOf(onlyFamily) : 'envelope';
  return {
    find: (event: APIGatewayProxyEvent) => byKey.get(`${event.httpMethod} ${event.resource}`),
    unrouted: (event: APIGatewayProxyEvent, requestId: string) =>
      errorResponse(
        new DomainError('NOT_FOUND', `no route ${event.httpMethod} ${event.path}`),
        requestId,
        unroutedFormat,
      ),
  };
}

export function createApiHandler(bindings: RouteBinding[], options: ApiHandlerOptions = {}): ApiHandler {
  const table = routeTable(bindings);
  const now = options.now ?? (() => new Date());

  const handle: ApiHandler = async (event) => {
    const requestId = event.requestContext?.requestId ?? 'local';
    const binding = table.find(event);
    if (!binding) return table.unrouted(event, requestId);
    // Seed 001's X-RateLimit-* go on every answer of a limited route: success, refusal or failure.
    let limitHeaders: Record<string, string> = {};
    try {
      const decision = await takeRateLimit(binding, event, options);
      if (decision) {
        limitHeaders = rateLimitHeaders(decision);
        const refusal = refusalOf(decision);
        if (refusal) throw refusal;
      }
      return withHeaders(await dispatch(binding, event, requestId, options, now), limitHeaders);
    } catch (error) {
      return withHeaders(failureResponse(error, binding, event, requestId, now()), limitHeaders);
    }
  };
  return handle;
}

/**
 * Counts the request against its route's per-minute limit, once the tenant is known and before
 * anything else is read: the seed limits requests, and a request refused for its input is still a
 * request (counting only valid ones would let a client probe the API, or send oversized bodies,
 * without limit). A request without a tenant is answered 401 by `requestOf` and counts for no one.
 * Idempotent replays count too: each is a request the function serves.
 */
async function takeRateLimit(
  binding: PreparedBinding,
  event: APIGatewayProxyEvent,
  options: ApiHandlerOptions,
) {
  const { rateLimitGroup: group, route } = binding;
  const tenant = tenantOf(event);
  if (!group || !tenant) return undefined;
  const limiter = options.rateLimiter?.();
  if (!limiter)
    throw new Error(`route ${route.operationId} is rate-limited but the handler has no rate limiter`);
  return limiter.take(tenant, group);
}

function withHeaders(result: APIGatewayProxyResult, headers: Record<string, string>): APIGatewayProxyResult {
  return Object.keys(headers).length === 0
    ? result
    : { ...result, headers: { ...result.headers, ...headers } };
}

async function dispatch(
  binding: PreparedBinding,
  event: APIGatewayProxyEvent,
  requestId: string,
  options: ApiHandlerOptions,
  now: () => Date,
): Promise<APIGatewayProxyResult> {
  const { route, impl } = binding;
  const request = requestOf(binding, event, requestId);
  const { headers, tenant } = request;

  const idempotencyKey = headers['idempotency-key'];
  if (!route.idempotent || idempotencyKey === undefined) {
    const response = answerOf(route, await impl(request));
    return jsonResponse(
      response.status,
      response.body,
      requestId,
      pollHeaders(route, response, request.baseUrl),
    );
  }
  const key = parsePart(IdempotencyKeyHeader, idempotencyKey, 'header');
  const store = options.idempotency?.();
  if (!store)
    throw new Error(`route ${route.operationId} is idempotent but the handler has no idempotency store`);
  const fingerprint = fingerprintOf(route, request);
  const claim = await store.begin(tenant, key, fingerprint, now());
  switch (claim.outcome) {
    case 'replay':
      return jsonResponse(claim.response.status, claim.response.body, requestId, {
        ...pollHeaders(route, claim.response, request.baseUrl),
        'idempotent-replayed': 'true',
      });
    case 'in_flight':
      throw new DomainError(
        'REQUEST_IN_FLIGHT',
        'a request with this Idempotency-Key is still being processed; retry shortly',
        { idempotency_key: key },
        1,
      );
    case 'mismatch':
      throw new DomainError(
        'IDEMPOTENCY_KEY_REUSED',
        'this Idempotency-Key was used with another request body',
        { idempotency_key: key },
      );
    case 'started':
      break;
  }
  let response: StoredResponse;
  try {
    response = answerOf(route, await impl(request));
  } catch (error) {
    // Released so that a retry runs again, as Powertools' idempotency does.
    await store.abandon(tenant, key).catch((e) => logger.warn('could not release idempotency key', { e }));
    throw error;
  }
  // The work has happened: failing to remember the answer must not turn it into an error.
  await store
    .complete(tenant, key, response)
    .catch((error) => logger.error('could not store the idempotent response', { error, key }));
  return jsonResponse(
    response.status,
    response.body,
    requestId,
    pollHeaders(route, response, request.baseUrl),
  );
}

/**
 * The request a route's implementation gets: the tenant from the authorizer (401 without one on an
 * authenticated route), and path, query and body parsed with the route's schemas.
 */
export function requestOf(
  binding: PreparedRoute,
  event: APIGatewayProxyEvent,
  requestId: string,
): RouteRequest<RouteDef> {
  const { route, strictQuery } = binding;
  const headers = lowerCaseHeaders(event.headers);
  const tenant = tenantOf(event);
  if (route.auth && !tenant) {
    throw new DomainError(
      'UNAUTHORIZED',
      'an API key is required: X-API-Key, Authorization: Token or Bearer',
    );
  }
  return {
    tenant,
    params: parsePart(route.params, event.pathParameters ?? {}, 'path'),
    query: parsePart(strictQuery, event.queryStringParameters ?? {}, 'query'),
    body: route.body
      ? parsePart(
          route.body,
          route.bodyFormat === 'text'
            ? bodyText(event, route.maxBodyBytes ?? MAX_BODY_BYTES)
            : readJsonBody(event, headers, route.maxBodyBytes ?? MAX_BODY_BYTES),
          'body',
        )
      : undefined,
    headers,
    requestId,
    baseUrl: baseUrlOf(event, headers),
  };
}

/**
 * Answers an error thrown while handling a route: a DomainError in the route family's format, anything
 * else logged and answered as a 500 that names only the request id.
 */
export function failureResponse(
  error: unknown,
  binding: PreparedRoute,
  event: APIGatewayProxyEvent,
  requestId: string,
  now: Date,
): APIGatewayProxyResult {
  const { format } = binding;
  // Seed 003 echoes the request in its errors: read back leniently, only for that format.
  const context =
    format === 'seed003'
      ? { body: lenientBody(event, binding.route.maxBodyBytes ?? MAX_BODY_BYTES), now }
      : {};
  if (error instanceof DomainError) return errorResponse(error, requestId, format, context);
  logger.error('unhandled error', { error: error as Error, operation: binding.route.operationId, requestId });
  return errorResponse(
    new DomainError('INTERNAL', 'internal error; the request id says which', { request_id: requestId }),
    requestId,
    format,
    context,
  );
}

/** The status and body of what an implementation returned: its route's 200/202, or the `accepted` 202. */
function answerOf(route: RouteDef, result: unknown): StoredResponse {
  if (result instanceof Accepted) {
    if (!route.accepted)
      throw new Error(`${route.operationId} answered accepted() but declares no accepted response`);
    return { status: 202, body: result.body };
  }
  return { status: route.response.status, body: result };
}

function parsePart<S extends z.ZodType | undefined>(
  schema: S,
  input: unknown,
  location: 'path' | 'query' | 'body' | 'header',
): Out<S> {
  if (!schema) return undefined as Out<S>;
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data as Out<S>;
  throw invalidInput(parsed.error, input, location);
}

/** The bodies `readJsonBody` parsed, for an error's echo to reuse rather than parse again. */
const parsedBodies = new WeakMap<APIGatewayProxyEvent, unknown>();

function readJsonBody(event: APIGatewayProxyEvent, headers: Record<string, string>, limit: number): unknown {
  const text = bodyText(event, limit);
  if (text.trim().length === 0) return undefined;
  try {
    const parsed = JSON.parse(text, rejectPrototypeKeys);
    parsedBodies.set(event, parsed);
    return parsed;
  } catch (error) {
    if (error instanceof DomainError) throw error;
    // `curl -d @file.json` labels JSON as a form; any label is fine as long as the body is JSON.
    const contentType = headers['content-type'];
    if (contentType && !/^application\/([\w.+-]*\+)?json\b/i.test(contentType)) {
      throw new DomainError('INVALID_REQUEST', 'the body must be JSON (Content-Type: application/json)', {
        content_type: contentType,
      });
    }
    throw new DomainError('INVALID_REQUEST', 'the body is not valid JSON', {
      reason: (error as Error).message.slice(0, 200),
    });
  }
}

/**
 * The body as text. Bytes (base64, as the local API sends every body) must be valid UTF-8: a body
 * with stray bytes is refused rather than read with replacement characters in it. A body that
 * arrives as text was decoded by API Gateway already (see lib/constructs/api.ts).
 */
function bodyText(event: APIGatewayProxyEvent, limit: number): string {
  const raw = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : undefined;
  if ((bytes?.length ?? Buffer.byteLength(raw)) > limit) {
    throw new DomainError('PAYLOAD_TOO_LARGE', `the body is larger than ${limit} bytes`, {
      limit_bytes: limit,
    });
  }
  if (!bytes) return raw;
  const decoded = decodeUtf8(bytes);
  if (decoded.ok) return decoded.text;
  throw new DomainError(
    'INVALID_REQUEST',
    `the body is not valid UTF-8: the first invalid byte sequence starts at byte ${decoded.offset}`,
    { byte_offset: decoded.offset },
  );
}

/**
 * The body as JSON for an error's echo, or undefined: never throws. A body already parsed is not
 * parsed again, and one over the route's limit (refused with 413) is not parsed at all.
 */
function lenientBody(event: APIGatewayProxyEvent, limit: number): unknown {
  if (parsedBodies.has(event)) return parsedBodies.get(event);
  const raw = event.body ?? '';
  if (Buffer.byteLength(raw, event.isBase64Encoded ? 'base64' : 'utf8') > limit) return undefined;
  try {
    return JSON.parse(event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw);
  } catch {
    return undefined;
  }
}

/** zod drops a `__proto__` key silently; refusing it keeps "unknown fields are an error" true. */
function rejectPrototypeKeys(key: string, value: unknown): unknown {
  if (key === '__proto__') {
    throw new DomainError('INVALID_PARAMETERS', 'invalid body: "__proto__" is not an accepted key', {
      location: 'body',
      issues: [{ parameter: '__proto__', message: 'not an accepted key', constraint: 'unrecognized_keys' }],
    });
  }
  return value;
}

/** A started job's answer says where to poll it: every 202 carries `Location` (`pollPath` of the route). */
function pollHeaders(route: RouteDef, response: StoredResponse, baseUrl: string): Record<string, string> {
  if (response.body instanceof RawBody) return {};
  const pollPath =
    response.status === 202 && route.accepted && route.response.status !== 202
      ? route.accepted.pollPath
      : route.pollPath;
  return pollPath ? { location: `${baseUrl}${pollPath(response.body as never)}` } : {};
}

function tenantOf(event: APIGatewayProxyEvent): string {
  const tenant = event.requestContext?.authorizer?.tenant;
  return typeof tenant === 'string' ? tenant : '';
}

function lowerCaseHeaders(headers: APIGatewayProxyEvent['headers'] | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {}))
    if (value !== undefined) out[name.toLowerCase()] = value;
  return out;
}

/** A host as it may appear in a URL we hand back; anything else (an injected Host header) is dropped. */
const SAFE_HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$/;

function baseUrlOf(event: APIGatewayProxyEvent, headers: Record<string, string>): string {
  const claimedHost = event.requestContext?.domainName ?? headers.host ?? '';
  const host = SAFE_HOST.test(claimedHost) ? claimedHost : 'localhost';
  const forwarded = headers['x-forwarded-proto'];
  const proto =
    forwarded === 'http' || forwarded === 'https'
      ? forwarded
      : host.startsWith('127.0.0.1') || host.startsWith('localhost')
        ? 'http'
        : 'https';
  const stage = event.requestContext?.stage;
  const prefix = stage && stage !== '$default' && stage !== 'local' ? `/${stage}` : '';
  return `${proto}://${host}${prefix}`;
}

function fingerprintOf(route: RouteDef, request: RouteRequest<RouteDef>): string {
  return createHash('sha256')
    .update(`${route.operationId}\n${stableStringify(request.params)}\n${stableStringify(request.body)}`)
    .digest('hex');
}

/** JSON with sorted keys, so that two bodies that differ only in key order are the same request. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
