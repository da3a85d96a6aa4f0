/**
 * Seed 001's per-minute limits over real HTTP on the local platform, counted by the same DynamoDB
 * counter as deployed (in its dynalite): exact under concurrency, seed 001's headers on every answer
 * of a limited route (never the local usage plan's), 429 with Retry-After in the envelope past it.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { type ApiResponse, expectError, keyFor, usePlatform } from '../support/platform.ts';
import { SocketClient } from '../support/websocket.ts';

const GENERATIONS_PER_MINUTE = 10;
const fixture = usePlatform({ rateLimits: { generation: GENERATIONS_PER_MINUTE } });

/** Refused for its input (width below 64) before any job is made, but counted: a cheap request. */
const INVALID_GENERATE = { prompt: 'a lighthouse at dusk', width: 3 };

/** The answers by the window they were counted in (`X-RateLimit-Reset`). */
function byWindow(answers: ApiResponse<unknown>[]): Map<string, ApiResponse<unknown>[]> {
  const windows = new Map<string, ApiResponse<unknown>[]>();
  for (const answer of answers) {
    const reset = answer.headers.get('x-ratelimit-reset') ?? 'none';
    windows.set(reset, [...(windows.get(reset) ?? []), answer]);
  }
  return windows;
}

describe('seed 001 rate limits on the local platform', () => {
  it('lets exactly 10 of 50 concurrent POST /generate through, and answers the other 40 with 429', async () => {
    // Prepare
    const { key } = await keyFor(fixture.platform, 'ratelimit-burst');
    const api = fixture.api.withKey(key);

    // Act
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => api.post('/api/v1/generate', INVALID_GENERATE)),
    );

    // Assess: per window, since the 50 may straddle a minute (then each minute lets its own 10 by).
    const windows = byWindow(answers);
    expect(windows.has('none')).toBe(false);
    for (const [reset, inWindow] of windows) {
      const through = inWindow.filter((answer) => answer.status !== 429);
      expect(through, `window ending ${reset}`).toHaveLength(
        Math.min(inWindow.length, GENERATIONS_PER_MINUTE),
      );
      for (const answer of through) expectError(answer, 400, 'INVALID_PARAMETERS');
      // Each request let through saw a different count: remaining 9 down to 0, once each.
      expect(
        through.map((answer) => Number(answer.headers.get('x-ratelimit-remaining'))).sort((a, b) => a - b),
      ).toEqual(
        Array.from({ length: through.length }, (_, i) => GENERATIONS_PER_MINUTE - through.length + i),
      );
    }
    if (windows.size === 1) {
      expect(answers.filter((answer) => answer.status !== 429)).toHaveLength(10);
      expect(answers.filter((answer) => answer.status === 429)).toHaveLength(40);
    }
    for (const limited of answers.filter((answer) => answer.status === 429)) {
      expectError(limited, 429, 'RATE_LIMITED');
      const retryAfter = Number(limited.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(limited.headers.get('x-ratelimit-limit')).toBe('10');
      expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(limited.body).toMatchObject({
        error: { details: { group: 'generation', limit: 10, retry_after_seconds: retryAfter } },
      });
    }
  });

  it('counts in the platform’s DynamoDB table, one item per tenant, group and minute', async () => {
    // Prepare
    const { key } = await keyFor(fixture.platform, 'ratelimit-item');

    // Act
    const answer = await fixture.api.withKey(key).post('/api/v1/generate/batch', { prompts: [] });

    // Assess
    expectError(answer, 400);
    const reset = Number(answer.headers.get('x-ratelimit-reset'));
    const item = await fixture.platform.runtime.clients.dynamo.send(
      new GetCommand({
        TableName: fixture.platform.emulators.tableNames.state,
        Key: { pk: 'T#ratelimit-item', sk: `RATE#generation#${reset - 60}` },
      }),
    );
    expect(item.Item).toMatchObject({ count: 1 });
    expect(item.Item?.ttl).toBeGreaterThan(reset);
  });

  it('answers seed 001’s figures on a limited route, not the local usage plan’s, and leaves other routes alone', async () => {
    // Prepare
    const { key } = await keyFor(fixture.platform, 'ratelimit-headers');
    const api = fixture.api.withKey(key);

    // Act
    const limited = await api.post('/api/v1/generate', INVALID_GENERATE);
    const other = await api.get('/api/v1/jobs');

    // Assess
    expect(limited.headers.get('x-ratelimit-limit')).toBe('10');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('9');
    // A route without a per-minute limit keeps the usage plan's bucket (usePlatform's: practically none).
    expect(other.status).toBe(200);
    expect(other.headers.get('x-ratelimit-limit')).toBe('1000000');
  });

  it('counts a WebSocket generate message as a generation request: past the limit it is refused and starts nothing', async () => {
    // Prepare: a tenant that has used 10 of its 10 generations this minute (one that will not end
    // during the test: near its end, the next one is waited for).
    const { key } = await keyFor(fixture.platform, 'ratelimit-socket');
    const api = fixture.api.withKey(key);
    const leftOfMinuteMs = 60_000 - (Date.now() % 60_000);
    if (leftOfMinuteMs < 10_000) await new Promise((resolve) => setTimeout(resolve, leftOfMinuteMs + 100));
    await Promise.all(Array.from({ length: 10 }, () => api.post('/api/v1/generate', INVALID_GENERATE)));
    const client = await SocketClient.open(fixture.platform.webSocketUrl, key);

    // Act
    client.send({
      type: 'generate',
      prompt: 'a lighthouse at dusk',
      width: 64,
      height: 64,
      request_id: 'over',
    });
    const refused = await client.next('error');
    await client.close();

    // Assess
    expect(refused).toMatchObject({ type: 'error', code: 'RATE_LIMITED', request_id: 'over' });
    const jobs = await api.get<{ jobs: unknown[] }>('/api/v1/jobs');
    expect(jobs.body.jobs).toEqual([]);
  });
});
