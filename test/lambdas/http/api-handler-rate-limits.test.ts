/**
 * Seed 001's per-minute limits in the API handler, over an exact in-memory counter: the
 * X-RateLimit-* headers on every answer of a limited route, none on the others, and 429 with
 * Retry-After in the seed's envelope past the limit.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { routes } from '../../../contracts/routes.ts';
import { DomainError } from '../../../lambdas/domain/errors.ts';
import { DEFAULT_RATE_LIMITS, TenantRateLimiter } from '../../../lambdas/domain/rate-limits.ts';
import { bind, createApiHandler } from '../../../lambdas/http/api-handler.ts';
import { loadEvent } from '../../support/fixtures.ts';
import { InMemoryRateLimitCounter } from '../../support/rate-limits.ts';

/** 30 s into the window that starts at 2031-01-01T00:00:00Z. */
const NOW = new Date(Date.UTC(2031, 0, 1, 0, 0, 30));
const RESET = String(Date.UTC(2031, 0, 1, 0, 1) / 1000);

const generateEvent = (body: unknown = { prompt: 'a lighthouse at dusk' }): APIGatewayProxyEvent => {
  const event = loadEvent<APIGatewayProxyEvent>('apigateway/rest-proxy-post.json');
  return {
    ...event,
    resource: '/api/v1/generate',
    path: '/api/v1/generate',
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
};
const listJobsEvent = (): APIGatewayProxyEvent => ({
  ...generateEvent(),
  resource: '/api/v1/jobs',
  path: '/api/v1/jobs',
  httpMethod: 'GET',
  body: null,
});

/** A handler of `POST /generate` (its answer chosen by `impl`) and `GET /jobs`, limited over memory. */
function handlerWith(impl: () => Promise<unknown> = async () => ({ job_id: 'x' }), limit = 3) {
  const counter = new InMemoryRateLimitCounter();
  const calls: unknown[] = [];
  const limiter = new TenantRateLimiter(
    counter,
    { ...DEFAULT_RATE_LIMITS, generation: limit },
    { clock: { now: () => NOW } },
  );
  const handler = createApiHandler(
    [
      bind(routes.generateImage, async (request) => {
        calls.push(request.body);
        return (await impl()) as never;
      }),
      bind(routes.listJobs, async () => ({ jobs: [] })),
    ],
    { rateLimiter: () => limiter },
  );
  return { handler, counter, calls };
}

const limitHeadersOf = (headers: Record<string, unknown> | undefined) =>
  Object.fromEntries(Object.entries(headers ?? {}).filter(([name]) => name.startsWith('x-ratelimit-')));

describe('createApiHandler with a rate limiter', () => {
  it('puts the headers on every answer of a limited route: 200, 400, 413, 503 and 500 alike', async () => {
    // Prepare
    let failure: Error | undefined;
    const { handler } = handlerWith(async () => {
      if (failure) throw failure;
      return { job_id: 'x' };
    }, 10);

    // Act
    const ok = await handler(generateEvent());
    const invalid = await handler(generateEvent({ prompt: 'x', width: 3 }));
    const tooLarge = await handler(generateEvent('x'.repeat(1024 * 1024 + 1)));
    failure = new DomainError('UNAVAILABLE', 'the model is waking', {}, 30);
    const unavailable = await handler(generateEvent());
    failure = new Error('boom');
    const crashed = await handler(generateEvent());

    // Assess
    const answers = [ok, invalid, tooLarge, unavailable, crashed];
    expect(answers.map((answer) => answer.statusCode)).toEqual([200, 400, 413, 503, 500]);
    expect(answers.map((answer) => limitHeadersOf(answer.headers))).toEqual(
      [9, 8, 7, 6, 5].map((remaining) => ({
        'x-ratelimit-limit': '10',
        'x-ratelimit-remaining': String(remaining),
        'x-ratelimit-reset': RESET,
      })),
    );
    // The route's own headers stay.
    expect(unavailable.headers?.['retry-after']).toBe('30');
  });

  it('answers 429 RATE_LIMITED with Retry-After in the envelope past the limit, without running the route', async () => {
    // Prepare
    const { handler, calls } = handlerWith(undefined, 2);
    await handler(generateEvent());
    await handler(generateEvent());

    // Act
    const limited = await handler(generateEvent());

    // Assess
    expect(limited.statusCode).toBe(429);
    expect(limited.headers).toMatchObject({
      'retry-after': '30',
      'x-ratelimit-limit': '2',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': RESET,
      'content-type': 'application/json',
    });
    expect(JSON.parse(limited.body)).toEqual({
      error: {
        code: 'RATE_LIMITED',
        message: 'rate limit exceeded: 2 generation requests per minute; retry after 30 s',
        details: { group: 'generation', limit: 2, reset: Number(RESET), retry_after_seconds: 30 },
      },
    });
    expect(calls).toHaveLength(2);
  });

  it('puts no rate-limit header on a route without a per-minute limit, and counts nothing for it', async () => {
    // Prepare
    const { handler, counter } = handlerWith();

    // Act
    const answer = await handler(listJobsEvent());

    // Assess
    expect(answer.statusCode).toBe(200);
    expect(limitHeadersOf(answer.headers)).toEqual({});
    expect(counter.takes).toEqual([]);
  });

  it('counts the requests of each tenant apart, from the authorizer’s tenant', async () => {
    // Prepare
    const { handler, counter } = handlerWith(undefined, 1);
    const globex = generateEvent();
    globex.requestContext.authorizer = { tenant: 'globex' };

    // Act
    const acme = await handler(generateEvent());
    const other = await handler(globex);

    // Assess
    expect([acme.statusCode, other.statusCode]).toEqual([200, 200]);
    expect(counter.takes.map((take) => take.tenant)).toEqual(['acme', 'globex']);
  });

  it('refuses with 503 and Retry-After, headers included, when the counter fails', async () => {
    // Prepare
    const { handler, counter, calls } = handlerWith();
    counter.failure = new Error('the table did not answer');

    // Act
    const answer = await handler(generateEvent());

    // Assess
    expect(answer.statusCode).toBe(503);
    expect(JSON.parse(answer.body).error.code).toBe('UNAVAILABLE');
    expect(answer.headers).toMatchObject({ 'retry-after': '1', 'x-ratelimit-remaining': '0' });
    expect(calls).toEqual([]);
  });

  it('answers 401 without counting when the request has no tenant', async () => {
    // Prepare
    const { handler, counter } = handlerWith();
    const anonymous = generateEvent();
    anonymous.requestContext.authorizer = null;

    // Act
    const answer = await handler(anonymous);

    // Assess
    expect(answer.statusCode).toBe(401);
    expect(limitHeadersOf(answer.headers)).toEqual({});
    expect(counter.takes).toEqual([]);
  });

  it('fails a limited route loudly when the handler was made without a limiter', async () => {
    // Prepare
    const handler = createApiHandler([bind(routes.generateImage, async () => ({}) as never)]);

    // Act
    const answer = await handler(generateEvent());

    // Assess
    expect(answer.statusCode).toBe(500);
  });
});
