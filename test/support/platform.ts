/**
 * The whole local platform for one test file, and a small HTTP client for it. Tests talk to the
 * platform the way a user does: plain `fetch` against its URL, with an API key.
 */
import { expect } from 'vitest';
import type { BatchSummary } from '../../contracts/batches.ts';
import { ErrorEnvelope, Seed002Error } from '../../contracts/errors.ts';
import type { Job } from '../../contracts/jobs.ts';
import { createApiKey } from '../../lambdas/domain/keys.ts';
import {
  type LocalPlatform,
  type LocalPlatformOptions,
  startLocalPlatform,
} from '../../lambdas/local/platform.ts';
import { useFixture } from './fixture.ts';

export interface PlatformFixture {
  readonly platform: LocalPlatform;
  /** A client with the development key. */
  readonly api: Api;
}

/**
 * Starts the platform (in memory, a free port, no retry waits, no practical rate limit) once for
 * the calling test file and stops it after the file. Read the fixture's fields inside tests and hooks.
 * Seed 001's per-minute limits (10 generations a minute) are raised to the most a stage may set:
 * only the tests of those limits (test/api/rate-limits.test.ts) set their own.
 */
export function usePlatform(options: LocalPlatformOptions = {}): PlatformFixture {
  const fixture = useFixture(
    async () => {
      const platform = await startLocalPlatform({
        port: 0,
        retryIntervalMs: 0,
        rateLimit: { perSecond: 1_000_000, burst: 1_000_000 },
        rateLimits: { generation: 10_000, validation: 10_000, export: 10_000 },
        ...options,
        // No local model process starts unless a test calls a model (the EMD components start at
        // zero copies), and Bedrock is the emulator: never the real one, whatever the environment holds.
        // A test that tunes the models (a wake delay, a deadline) keeps both unless it names them.
        inference: { bedrock: 'emulate', initialCopies: 0, ...options.inference },
      });
      return { platform, api: new Api(platform.url, platform.devKey) };
    },
    ({ platform }) => platform.stop(),
  );
  return {
    get platform() {
      return fixture.get().platform;
    },
    get api() {
      return fixture.get().api;
    },
  };
}

/** A key for another tenant, and its record (for revoking it). */
export async function keyFor(platform: LocalPlatform, tenant: string) {
  return createApiKey(platform.runtime.keys, { tenant, label: `test key for ${tenant}`, now: new Date() });
}

export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  /** Parsed JSON when the answer is JSON, else undefined. */
  body: T;
  text: string;
}

export interface RequestOptions {
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as it is (with no Content-Type unless `headers` gives one). */
  raw?: string | Uint8Array;
  headers?: Record<string, string>;
  query?: Record<string, string | number | boolean | undefined>;
}

/** A thin client over fetch: no retries, no interpretation beyond JSON parsing. */
export class Api {
  constructor(
    readonly baseUrl: string,
    readonly key: string | undefined,
  ) {}

  withKey(key: string | undefined): Api {
    return new Api(this.baseUrl, key);
  }

  async request<T = unknown>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<ApiResponse<T>> {
    const url = new URL(path, this.baseUrl);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = {
      ...(this.key === undefined ? {} : { 'x-api-key': this.key }),
      ...(options.json === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    };
    const body = options.json !== undefined ? JSON.stringify(options.json) : options.raw;
    const response = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await response.text();
    let parsed: unknown;
    if ((response.headers.get('content-type') ?? '').includes('json')) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    return { status: response.status, headers: response.headers, body: parsed as T, text };
  }

  get<T = unknown>(path: string, query?: RequestOptions['query'], headers?: Record<string, string>) {
    return this.request<T>('GET', path, { ...(query ? { query } : {}), ...(headers ? { headers } : {}) });
  }

  post<T = unknown>(path: string, json: unknown, headers?: Record<string, string>) {
    return this.request<T>('POST', path, { json, ...(headers ? { headers } : {}) });
  }

  delete<T = unknown>(path: string) {
    return this.request<T>('DELETE', path);
  }
}

/** What no error answer may carry: a stack trace, an ARN, an AWS account id. */
export const LEAK_PATTERNS: readonly RegExp[] = [
  // A stack frame, raw or escaped inside JSON.
  /(?:\n|\\n)\s+at\s/,
  /\(?\/?[\w.@/-]+\.[cm]?[jt]s:\d+:\d+\)?/,
  /node_modules/,
  /arn:/i,
  /\b\d{12}\b/,
];

/** Asserts the documented error envelope with `status` (and `code` when given), and that it leaks nothing. */
export function expectError(response: ApiResponse<unknown>, status: number, code?: string): void {
  expect(response.status, response.text).toBe(status);
  expect(response.headers.get('content-type')).toContain('application/json');
  const envelope = ErrorEnvelope.safeParse(response.body);
  expect(envelope.success, `not the error envelope: ${response.text.slice(0, 500)}`).toBe(true);
  if (code !== undefined) expect(envelope.data?.error.code).toBe(code);
  expect(envelope.data?.error.message.length).toBeGreaterThan(0);
  for (const pattern of LEAK_PATTERNS) expect(response.text).not.toMatch(pattern);
}

/**
 * Asserts seed 002's error answer (the training routes): `{"error": "<type>", "message", "details"}`
 * and nothing else, with the status and type given, and nothing leaked.
 */
export function expectSeed002Error(response: ApiResponse<unknown>, status: number, type: string): void {
  expect(response.status, response.text).toBe(status);
  expect(response.headers.get('content-type')).toContain('application/json');
  const body = Seed002Error.strict().safeParse(response.body);
  expect(body.success, `not seed 002's error body: ${response.text.slice(0, 500)}`).toBe(true);
  expect(body.data?.error).toBe(type);
  expect(body.data?.message.length).toBeGreaterThan(0);
  for (const pattern of LEAK_PATTERNS) expect(response.text).not.toMatch(pattern);
}

/**
 * Polls a batch's summary until every job has ended and the batch itself has ended; fails with the
 * last summary seen when that takes longer than `timeoutMs`.
 */
export async function waitForBatch(api: Api, batchId: string, timeoutMs = 30_000): Promise<BatchSummary> {
  const deadline = Date.now() + timeoutMs;
  let last: ApiResponse<BatchSummary> | undefined;
  while (Date.now() < deadline) {
    last = await api.get<BatchSummary>(`/api/v1/batches/${batchId}/summary`);
    if (last.status !== 200) throw new Error(`summary of ${batchId} answered ${last.status}: ${last.text}`);
    const ended = ['completed', 'failed', 'cancelled'].includes(last.body.status);
    if (ended && last.body.job_runs.every((job) => !job.in_progress)) return last.body;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`batch ${batchId} did not end within ${timeoutMs} ms; last summary: ${last?.text}`);
}

/** A job as `GET /api/v1/jobs/{id}` answers it, with what the tests read of it. */
export type EndedJob = Job & { result_url?: string };

/**
 * Polls a job until it has ended (completed, failed or cancelled); fails with its last status when
 * that takes longer than `timeoutMs`.
 */
export async function waitForJob(api: Api, jobId: string, timeoutMs = 60_000): Promise<EndedJob> {
  const deadline = Date.now() + timeoutMs;
  let last: ApiResponse<EndedJob> | undefined;
  while (Date.now() < deadline) {
    last = await api.get<EndedJob>(`/api/v1/jobs/${jobId}`);
    if (last.status !== 200) throw new Error(`job ${jobId} answered ${last.status}: ${last.text}`);
    if (['completed', 'failed', 'cancelled'].includes(last.body.status)) return last.body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`job ${jobId} did not end within ${timeoutMs} ms; last: ${last?.text}`);
}
