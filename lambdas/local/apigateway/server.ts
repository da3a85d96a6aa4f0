/**
 * The local API Gateway: matches a request against the route table, runs the same authorizer and
 * the same family handlers as the deployed API, with an API Gateway proxy event built the same way.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ROUTE_LIST, type RouteDef, type RouteFamily } from '../../../contracts/routes.ts';
import { DomainError } from '../../domain/errors.ts';
import type { KeyStore } from '../../domain/ports.ts';
import { authorize } from '../../handlers/authorizer.ts';
import type { ApiHandler } from '../../http/api-handler.ts';
import { errorResponse } from '../../http/responses.ts';
import { type ResponseSink, type StreamingApiHandler, writeChunk } from '../../http/stream-handler.ts';
import { logger } from '../../shared/logger.ts';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../support/local-aws.ts';
import type { RateLimiter } from './rate-limiter.ts';

/** API Gateway's own payload limit; the handlers enforce a smaller one with a clear 413. */
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
const LOCAL_METHOD_ARN = `arn:aws:execute-api:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:local/local`;

interface CompiledRoute {
  route: RouteDef;
  pattern: RegExp;
  names: string[];
}

function compile(route: RouteDef): CompiledRoute {
  const names: string[] = [];
  const source = route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { route, pattern: new RegExp(`^${source}/?$`), names };
}

export interface LocalApiOptions {
  /** The API handler of each route family that answers JSON (or HTML). */
  handlers: Partial<Record<RouteFamily, ApiHandler>>;
  /** The route families whose routes stream (`text/event-stream`): their functions' streaming handlers. */
  streamHandlers?: Partial<Record<RouteFamily, StreamingApiHandler>>;
  keys: KeyStore;
  rateLimiter: RateLimiter;
  /**
   * Aborted when the platform stops: the streams still open are cut, as a client leaving cuts them
   * (their model calls stop), since the server cannot close while a response is open.
   */
  stopping?: AbortSignal;
}

/**
 * How long an idle keep-alive connection stays open. Clients must be the ones to close them: a server
 * that closes one just as a client sends on it fails that request with ECONNRESET (Node's fetch keeps
 * a socket for the server's hint less a second, 4 s without one). Node's 5 s default made that race
 * likely whenever the event loop was busy; 65 s is what AWS's load balancers keep.
 */
const KEEP_ALIVE_MS = 65_000;

/**
 * API Gateway prefers a literal path segment to a parameter (`/api/job_runs/counts` over
 * `/api/job_runs/{id}`, both GET): routes are tried with fewer parameters first, so that the first
 * match is the one API Gateway would choose whatever the order of the route table.
 */
function bySpecificity(a: CompiledRoute, b: CompiledRoute): number {
  return a.names.length - b.names.length;
}

export function createLocalApiServer(options: LocalApiOptions): Server {
  const compiled = ROUTE_LIST.map(compile).sort(bySpecificity);
  const server = createServer((request, response) => {
    handle(request, response, compiled, options).catch((error) => {
      logger.error('local API failed', { error: error as Error });
      if (!response.headersSent)
        send(response, errorResponse(new DomainError('INTERNAL', 'internal error'), 'local'));
    });
  });
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  // Must exceed keepAliveTimeout, or a request on a kept connection can time out in its headers.
  server.headersTimeout = KEEP_ALIVE_MS + 1_000;
  return server;
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  compiled: CompiledRoute[],
  options: LocalApiOptions,
): Promise<void> {
  const requestId = randomUUID();
  const url = new URL(request.url ?? '/', 'http://local');
  const method = request.method ?? 'GET';
  const body = await readBody(request);
  if (body === undefined) {
    return send(
      response,
      errorResponse(new DomainError('PAYLOAD_TOO_LARGE', 'request larger than 10 MiB'), requestId),
    );
  }

  let match: { compiled: CompiledRoute; values: string[] } | undefined;
  for (const candidate of compiled) {
    const found = candidate.route.method === method ? candidate.pattern.exec(url.pathname) : null;
    if (found) {
      match = { compiled: candidate, values: found.slice(1) };
      break;
    }
  }
  if (!match) {
    return send(
      response,
      errorResponse(new DomainError('NOT_FOUND', `no route ${method} ${url.pathname}`), requestId),
    );
  }
  const { route, names } = match.compiled;
  const pathParameters: Record<string, string> = {};
  try {
    names.forEach((name, index) => {
      pathParameters[name] = decodeURIComponent(match.values[index] ?? '');
    });
  } catch {
    return send(response, errorResponse(new DomainError('NOT_FOUND', 'malformed path'), requestId));
  }

  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  // The local platform speaks plain HTTP, whatever a client claims; links it hands back say so.
  headers['x-forwarded-proto'] = 'http';

  let authorizer: Record<string, string> | undefined;
  let limitHeaders: Record<string, string> = {};
  if (route.auth) {
    try {
      const result = await authorize(
        { headers, methodArn: `${LOCAL_METHOD_ARN}/${method}${url.pathname}` },
        options.keys,
      );
      authorizer = result.context as Record<string, string>;
    } catch (error) {
      const failure =
        (error as Error).message === 'Unauthorized'
          ? new DomainError(
              'UNAUTHORIZED',
              'a valid API key is required: X-API-Key, Authorization: Token or Bearer',
            )
          : new DomainError('UNAVAILABLE', 'the key store did not answer; retry shortly', {}, 1);
      if (failure.code === 'UNAVAILABLE') logger.error('authorizer failed', { error: error as Error });
      return send(response, errorResponse(failure, requestId));
    }
    const decision = options.rateLimiter.take(authorizer.keyId ?? '');
    limitHeaders = decision.headers;
    if (!decision.allowed) {
      const limited = errorResponse(
        new DomainError('RATE_LIMITED', 'too many requests for this key', {}, decision.retryAfterSeconds),
        requestId,
      );
      return send(response, { ...limited, headers: { ...limited.headers, ...limitHeaders } });
    }
  }

  // No prototype: a parameter named `constructor` or `__proto__` is just a (rejected) name.
  const query: Record<string, string> = Object.create(null);
  const multiQuery: Record<string, string[]> = Object.create(null);
  for (const [name, value] of url.searchParams) {
    query[name] = value;
    multiQuery[name] = [...(multiQuery[name] ?? []), value];
  }
  const event = {
    resource: route.path,
    path: url.pathname,
    httpMethod: method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: Object.keys(query).length > 0 ? query : null,
    multiValueQueryStringParameters: Object.keys(multiQuery).length > 0 ? multiQuery : null,
    pathParameters: names.length > 0 ? pathParameters : null,
    stageVariables: null,
    // The bytes as they came, for the handler to decode strictly: decoding here would turn invalid
    // UTF-8 into U+FFFD that nothing downstream could tell from a character the client sent.
    body: body.length > 0 ? body.toString('base64') : null,
    isBase64Encoded: body.length > 0,
    requestContext: {
      requestId,
      stage: 'local',
      domainName: headers.host ?? '127.0.0.1',
      httpMethod: method,
      path: url.pathname,
      resourcePath: route.path,
      ...(authorizer ? { authorizer } : {}),
    },
  } as unknown as APIGatewayProxyEvent;

  if (route.response.contentType === 'text/event-stream') {
    const streaming = options.streamHandlers?.[route.family];
    if (!streaming) throw new Error(`no streaming handler for the route family ${route.family}`);
    return streaming(event, responseSink(response, limitHeaders, options.stopping));
  }
  const handler = options.handlers[route.family];
  if (!handler) throw new Error(`no handler for the route family ${route.family}`);
  const result = await handler(event);
  // The token bucket stands for API Gateway's usage plan, which throttles before any function runs;
  // a route with a per-minute limit (contracts/rate-limits.ts) answers seed 001's exact headers
  // itself, and they win: a response never mixes the two limits' figures.
  send(response, { ...result, headers: { ...limitHeaders, ...result.headers } });
}

/**
 * A streamed answer written to the HTTP response as it comes, as API Gateway's STREAM mode passes
 * Lambda's response stream on: head first, then each chunk flushed at once (chunked encoding).
 */
function responseSink(
  response: ServerResponse,
  extraHeaders: Record<string, string>,
  stopping: AbortSignal | undefined,
): ResponseSink {
  const gone = new AbortController();
  const cut = () => response.destroy();
  stopping?.addEventListener('abort', cut, { once: true });
  response.once('close', () => {
    stopping?.removeEventListener('abort', cut);
    if (!response.writableFinished) gone.abort();
  });
  if (stopping?.aborted) cut();
  return {
    head(status, headers) {
      response.writeHead(status, { ...headers, ...extraHeaders });
      response.flushHeaders();
    },
    write(chunk) {
      return writeChunk(response, chunk);
    },
    end() {
      response.end();
    },
    signal: gone.signal,
  };
}

function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    request.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, result: APIGatewayProxyResult): void {
  response.writeHead(result.statusCode, result.headers as Record<string, string>);
  response.end(result.body);
}
