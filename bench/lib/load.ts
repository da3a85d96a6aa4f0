/**
 * A small closed-loop load generator (autocannon's model): `concurrency` workers, each sending its
 * next request as soon as the previous answer has been read in full, over keep-alive connections.
 * Bounded by a request count, a duration, or both (whichever comes first).
 */
import { Agent, request as httpRequest } from 'node:http';

export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadOptions {
  baseUrl: string;
  concurrency: number;
  /** Stop after this many requests. */
  requests?: number;
  /** Stop starting requests after this many milliseconds. */
  durationMs?: number;
  /** The i-th request (i counts from 0). */
  next: (index: number) => LoadRequest;
  /** The status a successful answer has. */
  expectStatus: number;
}

export interface LoadResult {
  /** Milliseconds of every successful request, in completion order. */
  latencies: number[];
  /** Answers with another status, and requests that failed. */
  errors: number;
  /** The first few unexpected answers, to say what went wrong. */
  errorSamples: string[];
  elapsedMs: number;
  /** Successful requests per second of elapsed time. */
  rps: number;
  /** Parsed bodies of the first few successful answers, for callers that need ids from them. */
  bodies: unknown[];
}

const KEPT_BODIES = 16;
const KEPT_ERRORS = 3;

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  if (options.requests === undefined && options.durationMs === undefined) {
    throw new Error('runLoad needs a request count or a duration');
  }
  const base = new URL(options.baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const latencies: number[] = [];
  const bodies: unknown[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  let issued = 0;
  const started = performance.now();
  const deadline = options.durationMs === undefined ? Number.POSITIVE_INFINITY : started + options.durationMs;
  const limit = options.requests ?? Number.POSITIVE_INFINITY;

  const worker = async () => {
    while (issued < limit && performance.now() < deadline) {
      const index = issued++;
      const spec = options.next(index);
      const sent = performance.now();
      try {
        const { status, body } = await send(base, agent, spec);
        const ms = performance.now() - sent;
        if (status === options.expectStatus) {
          latencies.push(ms);
          if (bodies.length < KEPT_BODIES) bodies.push(JSON.parse(body));
        } else {
          errors++;
          if (errorSamples.length < KEPT_ERRORS) errorSamples.push(`${status} ${body.slice(0, 200)}`);
        }
      } catch (error) {
        errors++;
        if (errorSamples.length < KEPT_ERRORS) errorSamples.push((error as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const elapsedMs = performance.now() - started;
  agent.destroy();
  return { latencies, errors, errorSamples, elapsedMs, rps: latencies.length / (elapsedMs / 1000), bodies };
}

function send(base: URL, agent: Agent, spec: LoadRequest): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const body = spec.body === undefined ? undefined : Buffer.from(spec.body);
    const req = httpRequest(
      {
        host: base.hostname,
        port: base.port,
        method: spec.method,
        path: spec.path,
        agent,
        headers: {
          ...spec.headers,
          ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
