/**
 * A loopback HTTP proxy in front of the local platform (or its S3 emulator) that injects faults into
 * chosen requests: answers of its own (429 with Retry-After, 503, a body that breaks the contract),
 * connections dropped before or after the platform handled the request or partway through its
 * answer's body, and requests never answered. It counts
 * every request it receives, so tests can say how many attempts a client made.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What the proxy does with one request. */
export type Fault =
  /** Answers itself with this status (and body, and Retry-After); the platform never sees the request. */
  | { kind: 'answer'; status: number; retryAfter?: string; body?: string; contentType?: string }
  /** Destroys the connection once the request has arrived; the platform never sees it. */
  | { kind: 'drop' }
  /** Forwards the request, waits for the platform's whole answer, then destroys the connection instead of relaying it. */
  | { kind: 'drop-after-forward' }
  /** Relays the platform's status and headers (its full Content-Length) but only the first `bytes` of its body, then destroys the connection. */
  | { kind: 'cut-body'; bytes: number }
  /** Never answers; the connection stays open until the client gives up or the proxy closes. */
  | { kind: 'stall' };

/** Which requests a queue of faults applies to; an absent field matches anything. */
export interface FaultMatch {
  method?: string;
  path?: RegExp;
}

/** One request as the proxy received it. */
export interface SeenRequest {
  method: string;
  /** The path as forwarded, without the proxy's prefix and without the query string. */
  path: string;
  headers: IncomingMessage['headers'];
}

const ENVELOPES: Record<number, string> = {
  429: '{"error":{"code":"RATE_LIMITED","message":"injected by the fault proxy"}}',
  503: '{"error":{"code":"UNAVAILABLE","message":"injected by the fault proxy"}}',
};

export class FaultProxy {
  readonly requests: SeenRequest[] = [];
  readonly #rules: { match: FaultMatch; faults: Fault[] }[] = [];
  readonly #sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly upstream: URL,
    /** Requests must start with this path prefix (a deployed stage, e.g. `/dev`), which is removed. */
    private readonly prefix: string,
    /** The proxy's URL, prefix included: use it as the client's base URL. */
    readonly url: string,
  ) {}

  /** Starts a proxy on 127.0.0.1 (a free port) forwarding to `upstream`. */
  static async start(upstream: string, options: { prefix?: string } = {}): Promise<FaultProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const prefix = options.prefix ?? '';
    const proxy = new FaultProxy(server, new URL(upstream), prefix, `http://127.0.0.1:${port}${prefix}`);
    server.on('connection', (socket) => {
      proxy.#sockets.add(socket);
      socket.on('close', () => proxy.#sockets.delete(socket));
    });
    server.on('request', (request, response) => {
      proxy.#handle(request, response).catch(() => response.destroy());
    });
    return proxy;
  }

  /** Applies `faults`, in order, to the next requests that match; later requests pass through. */
  inject(match: FaultMatch, ...faults: Fault[]): void {
    this.#rules.push({ match, faults: [...faults] });
  }

  /** Requests received that match. */
  count(match: FaultMatch): number {
    return this.requests.filter((seen) => matches(match, seen)).length;
  }

  /** Forgets the requests seen and the faults not yet used. */
  reset(): void {
    this.requests.length = 0;
    this.#rules.length = 0;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readAll(request);
    const url = new URL(request.url ?? '/', 'http://proxy');
    if (!url.pathname.startsWith(this.prefix)) {
      response.writeHead(404).end();
      return;
    }
    const path = url.pathname.slice(this.prefix.length) || '/';
    const seen: SeenRequest = { method: request.method ?? 'GET', path, headers: request.headers };
    this.requests.push(seen);
    const fault = this.#takeFault(seen);

    switch (fault?.kind) {
      case 'answer': {
        const headers: Record<string, string> = { 'content-type': fault.contentType ?? 'application/json' };
        if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
        response.writeHead(fault.status, headers).end(fault.body ?? ENVELOPES[fault.status] ?? '');
        return;
      }
      case 'drop':
        request.socket.destroy();
        return;
      case 'stall':
        return;
      case 'drop-after-forward':
        await this.#forward(seen, `${path}${url.search}`, body);
        request.socket.destroy();
        return;
      case 'cut-body': {
        const answer = await this.#forward(seen, `${path}${url.search}`, body);
        response.writeHead(answer.status, answer.headers);
        response.write(answer.body.subarray(0, fault.bytes), () => request.socket.destroy());
        return;
      }
      case undefined: {
        const answer = await this.#forward(seen, `${path}${url.search}`, body);
        response.writeHead(answer.status, answer.headers).end(answer.body);
        return;
      }
    }
  }

  #takeFault(seen: SeenRequest): Fault | undefined {
    const rule = this.#rules.find(
      (candidate) => candidate.faults.length > 0 && matches(candidate.match, seen),
    );
    return rule?.faults.shift();
  }

  #forward(seen: SeenRequest, pathAndQuery: string, body: Buffer) {
    return new Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }>(
      (resolve, reject) => {
        const outgoing = httpRequest(
          {
            host: this.upstream.hostname,
            port: this.upstream.port,
            method: seen.method,
            path: pathAndQuery,
            headers: { ...seen.headers, host: this.upstream.host },
          },
          (incoming) => {
            readAll(incoming).then(
              (answer) =>
                resolve({ status: incoming.statusCode ?? 502, headers: incoming.headers, body: answer }),
              reject,
            );
          },
        );
        outgoing.on('error', reject);
        outgoing.end(body);
      },
    );
  }
}

function matches(match: FaultMatch, seen: SeenRequest): boolean {
  return (
    (match.method === undefined || match.method === seen.method) && (match.path?.test(seen.path) ?? true)
  );
}

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}
