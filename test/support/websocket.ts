/**
 * A real WebSocket client for the local platform's generation socket: it keeps every message it
 * receives (raw and parsed) and waits for the ones a test expects.
 */
import { WebSocket } from 'ws';
import type { ServerMessage } from '../../contracts/websocket.ts';
import type { ConnectionMessenger, ConnectionStore } from '../../lambdas/domain/ports.ts';
import { GenerationSocket } from '../../lambdas/domain/websocket/service.ts';
import type { SocketTimer, SocketTimers } from '../../lambdas/local/apigateway/websocket.ts';

export interface Received {
  raw: string;
  bytes: number;
  message: ServerMessage;
}

export class SocketClient {
  readonly received: Received[] = [];
  #waiters: (() => void)[] = [];
  closed?: { code: number; reason: string };

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const raw = data.toString();
      this.received.push({ raw, bytes: Buffer.byteLength(raw), message: JSON.parse(raw) as ServerMessage });
      for (const wake of this.#waiters.splice(0)) wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  /** Opens a connection; rejects with the HTTP status when the upgrade is refused. */
  static open(url: string, key: string | undefined): Promise<SocketClient> {
    const target = key === undefined ? url : `${url}?api_key=${encodeURIComponent(key)}`;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(target);
      ws.once('open', () => resolve(new SocketClient(ws)));
      ws.once('unexpected-response', (_request, response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        response.on('end', () => reject(new UpgradeRefused(response.statusCode ?? 0, body)));
      });
      ws.once('error', reject);
    });
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The received messages of one type, optionally about one job. */
  ofType<T extends ServerMessage['type']>(type: T, jobId?: string): Extract<ServerMessage, { type: T }>[] {
    return this.received
      .map((entry) => entry.message)
      .filter(
        (message) => message.type === type && (jobId === undefined || jobIdOf(message) === jobId),
      ) as never;
  }

  /** Waits until `ready` holds for what has been received, or fails after `timeoutMs`. */
  async until<T>(ready: (received: Received[]) => T | undefined, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = ready(this.received);
      if (value !== undefined && value !== false) return value;
      if (this.closed) throw new Error(`closed (${this.closed.code}) while waiting; got ${this.describe()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; got ${this.describe()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /**
   * Sends `ping` and waits for its `pong`: the connection is open and the server has read every
   * message sent before it.
   */
  async roundTrip(requestId: string): Promise<void> {
    this.send({ type: 'ping', request_id: requestId });
    await this.until(() => this.ofType('pong').find((pong) => pong.request_id === requestId));
  }

  /** The first message of `type` received (about `jobId` when given), waiting for it if need be. */
  async next<T extends ServerMessage['type']>(
    type: T,
    options: { jobId?: string; timeoutMs?: number } = {},
  ): Promise<Extract<ServerMessage, { type: T }>> {
    return this.until(() => this.ofType(type, options.jobId)[0], options.timeoutMs);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }

  describe(): string {
    return JSON.stringify(this.received.map((entry) => entry.message)).slice(0, 2_000);
  }
}

export class UpgradeRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`the upgrade was refused with ${status}: ${body}`);
    this.name = 'UpgradeRefused';
  }
}

function jobIdOf(message: ServerMessage): string | undefined {
  return 'job_id' in message ? message.job_id : undefined;
}

/**
 * A GenerationSocket that only keeps connections: for tests of connecting, disconnecting and
 * limits, where no job is ever generated, read or presented.
 */
export function connectionsOnlySocket(
  connections: ConnectionStore,
  messenger: ConnectionMessenger,
): GenerationSocket {
  const unused = async (): Promise<never> => {
    throw new Error('not used by a connections-only test');
  };
  return new GenerationSocket({
    connections,
    messenger,
    jobs: { get: async () => undefined },
    generate: unused,
    image: unused,
    clock: { now: () => new Date() },
    report: () => undefined,
  });
}

/**
 * Timers that only move when a test says so: the local WebSocket API's idle, lifetime and close
 * limits are then reached by `advance`, at once and exactly, rather than by waiting for them.
 */
interface ManualWait {
  due: number;
  ms: number;
  fire: () => void;
}

export class ManualTimers implements SocketTimers {
  #now = 0;
  readonly #waits = new Set<ManualWait>();

  start(ms: number, fire: () => void): SocketTimer {
    const wait: ManualWait = { due: this.#now + ms, ms, fire };
    this.#waits.add(wait);
    return {
      restart: () => {
        wait.due = this.#now + wait.ms;
      },
      cancel: () => {
        this.#waits.delete(wait);
      },
    };
  }

  /** Moves time on by `ms`, firing each wait that falls due on the way, earliest first. */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      let next: ManualWait | undefined;
      for (const wait of this.#waits) if (wait.due <= until && (!next || wait.due < next.due)) next = wait;
      if (!next) break;
      this.#now = next.due;
      this.#waits.delete(next);
      next.fire();
    }
    this.#now = until;
  }

  /** Waits started and not yet fired or cancelled. */
  get pending(): number {
    return this.#waits.size;
  }
}
