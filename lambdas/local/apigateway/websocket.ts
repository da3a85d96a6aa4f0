/**
 * The local WebSocket API: seed 001's `/api/v1/ws/generation?api_key=<key>` on the platform's own
 * HTTP server, served by the same code as the deployed one. The upgrade request is `$connect` (the
 * WebSocket authorizer, then the connection record, before the 101; a missing or bad key is a 401),
 * each message is `generate`/`$default`, a closed socket is `$disconnect`, and the local bus drives
 * the pushes, one job at a time in event order. API Gateway's limits hold here too: messages from
 * the client of at most 128 KB (a larger one closes with 1009), 10 min idle, 2 h per connection.
 * Stopping the platform closes every connection with 1001 (going away), as API Gateway does when it
 * drops one, so that a client knows to connect again (and `subscribe` to the jobs it followed)
 * rather than seeing an abnormal closure (1006).
 */
import { randomBytes } from 'node:crypto';
import { type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { WEBSOCKET_LIMITS, WEBSOCKET_PATH } from '../../../contracts/vocabulary.ts';
import type { ConnectionMessenger, JobStateChange, KeyStore } from '../../domain/ports.ts';
import { receiveMessage } from '../../domain/websocket/client-messages.ts';
import type { GenerationSocket, SocketCaller } from '../../domain/websocket/service.ts';
import { authorizeConnection } from '../../handlers/websocket/authorizer.ts';
import { logger } from '../../shared/logger.ts';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../support/local-aws.ts';

const LOCAL_CONNECT_ARN = `arn:aws:execute-api:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:local/local/$connect`;
/** API Gateway closes an idle or expired connection with 1001 (going away). */
const GOING_AWAY = 1001;
/** The reason of the 1001 every connection is closed with when the platform stops. */
export const STOPPING_REASON = 'the platform is stopping';
/** How long a stop waits for a client to answer the close before it drops the connection. */
const DEFAULT_CLOSE_GRACE_MS = 2_000;

/** One wait of the idle, lifetime or close limits. */
export interface SocketTimer {
  /** Starts the wait again from now (a client message restarts the idle wait). */
  restart(): void;
  cancel(): void;
}

/** Where the limits' waits come from: tests pass timers they advance themselves. */
export interface SocketTimers {
  /** Calls `fire` once, `ms` from now; never keeps the process alive on its own. */
  start(ms: number, fire: () => void): SocketTimer;
}

/** Node's timers, unreferenced: an open connection never keeps the process from exiting. */
export const NODE_TIMERS: SocketTimers = {
  start(ms, fire) {
    const timer = setTimeout(fire, ms).unref();
    return { restart: () => timer.refresh(), cancel: () => clearTimeout(timer) };
  },
};

export interface LocalWebSocketOptions {
  server: Server;
  keys: KeyStore;
  /** Built over this module's messenger (`generationSocketFor(runtime, messenger)`). */
  socketFor: (messenger: ConnectionMessenger) => GenerationSocket;
  /** The local bus: every `Job State Change` it carries is pushed. */
  events: { subscribe(listener: (event: JobStateChange) => void): () => void };
  /**
   * Tests: shorter idle and lifetime limits than API Gateway's, and how long `close` waits for each
   * client's answer to its 1001 before dropping the connection (default 2 s).
   */
  limits?: { idleMs?: number; lifetimeMs?: number; closeGraceMs?: number };
  /** Tests: timers they control, for the limits above. @default NODE_TIMERS */
  timers?: SocketTimers;
}

export interface LocalWebSocketApi {
  /** Open connections. */
  readonly connections: number;
  /** Resolves once every message, push and disconnect started so far has been handled. */
  idle(): Promise<void>;
  /** Resolves once no connection is open any more and each one's `$disconnect` has been handled. */
  drained(): Promise<void>;
  /**
   * Stops pushing and closes every connection with 1001 and `STOPPING_REASON`: waits for each
   * client's answer (the closing handshake) up to the close grace, drops the ones that do not
   * answer, and returns once each is disconnected. Upgrades that arrive meanwhile get a 503.
   */
  close(): Promise<void>;
}

/** Sends to the sockets of this process; a socket that has closed is API Gateway's 410. */
class LocalConnectionMessenger implements ConnectionMessenger {
  readonly sockets = new Map<string, WebSocket>();

  async send(connectionId: string, data: string): Promise<'sent' | 'gone'> {
    const ws = this.sockets.get(connectionId);
    if (!ws || ws.readyState !== WebSocket.OPEN) return 'gone';
    if (Buffer.byteLength(data) > WEBSOCKET_LIMITS.maxServerMessageBytes) {
      // API Gateway refuses it (PayloadTooLargeException): never hide that locally.
      throw new Error(`a message of ${Buffer.byteLength(data)} bytes does not fit in one frame`);
    }
    return new Promise((resolve, reject) => {
      ws.send(data, (error) => {
        if (!error) resolve('sent');
        else if (ws.readyState !== WebSocket.OPEN) resolve('gone');
        else reject(error);
      });
    });
  }
}

/** Serves the WebSocket API on `options.server` (its `upgrade` requests). */
export function attachWebSocketApi(options: LocalWebSocketOptions): LocalWebSocketApi {
  const messenger = new LocalConnectionMessenger();
  const socket = options.socketFor(messenger);
  const wss = new WebSocketServer({ noServer: true, maxPayload: WEBSOCKET_LIMITS.maxClientMessageBytes });
  const idleMs = options.limits?.idleMs ?? WEBSOCKET_LIMITS.idleSeconds * 1000;
  const lifetimeMs = options.limits?.lifetimeMs ?? WEBSOCKET_LIMITS.connectionSeconds * 1000;
  const closeGraceMs = options.limits?.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS;
  const timers = options.timers ?? NODE_TIMERS;
  let stopping = false;
  /** Woken when the last open connection has closed. */
  const emptied: (() => void)[] = [];
  const inFlight = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>, what: string) => {
    const tracked = work
      .catch((error) => logger.error(`websocket: ${what} failed`, { error }))
      .finally(() => {
        inFlight.delete(tracked);
      });
    inFlight.add(tracked);
  };

  // One job's pushes in the order of its events, as a FIFO per job would deliver them.
  const chains = new Map<string, Promise<unknown>>();
  const unsubscribe = options.events.subscribe((change) => {
    if (change.kind !== 'image') return;
    const next = (chains.get(change.jobId) ?? Promise.resolve())
      .then(() => socket.push(change))
      .catch((error) => logger.error('websocket: a push failed', { error, jobId: change.jobId }));
    chains.set(change.jobId, next);
    track(
      next.finally(() => {
        if (chains.get(change.jobId) === next) chains.delete(change.jobId);
      }),
      'a push',
    );
  });

  const open = (ws: WebSocket, caller: SocketCaller) => {
    messenger.sockets.set(caller.connectionId, ws);
    const goAway = (reason: string) => ws.close(GOING_AWAY, reason);
    const lifetime = timers.start(lifetimeMs, () => goAway('Connection lifetime exceeded'));
    const idle = timers.start(idleMs, () => goAway('Idle timeout'));
    ws.on('message', (data) => {
      idle.restart();
      track(receiveMessage(socket, caller, textOf(data)), 'a message');
    });
    // `ws` reports a protocol error (a message over maxPayload) here and closes with 1009.
    ws.on('error', (error) => logger.info('websocket: connection error', { error: error.message }));
    ws.on('close', () => {
      lifetime.cancel();
      idle.cancel();
      messenger.sockets.delete(caller.connectionId);
      track(socket.disconnect(caller), 'a disconnect');
      if (messenger.sockets.size === 0) for (const wake of emptied.splice(0)) wake();
    });
  };

  /** Closes with 1001 and resolves once the connection has closed, dropping it after the grace. */
  const closeGoingAway = (ws: WebSocket, reason: string): Promise<void> =>
    new Promise((resolve) => {
      if (ws.readyState === WebSocket.CLOSED) return resolve();
      const straggler = timers.start(closeGraceMs, () => ws.terminate());
      ws.once('close', () => {
        straggler.cancel();
        resolve();
      });
      ws.close(GOING_AWAY, reason);
    });

  const upgrade = async (request: IncomingMessage, raw: Duplex, head: Buffer) => {
    raw.on('error', () => raw.destroy());
    const url = new URL(request.url ?? '/', 'http://local');
    if (url.pathname !== WEBSOCKET_PATH)
      return refuse(raw, 404, 'NOT_FOUND', `no WebSocket at ${url.pathname}`);
    let caller: SocketCaller & { keyId?: string };
    try {
      const { context } = await authorizeConnection(
        {
          queryStringParameters: { api_key: url.searchParams.get('api_key') ?? undefined },
          methodArn: LOCAL_CONNECT_ARN,
        },
        options.keys,
      );
      caller = {
        tenant: String(context?.tenant),
        keyId: String(context?.keyId),
        // API Gateway's ids are 16 characters of base64.
        connectionId: randomBytes(12).toString('base64').slice(0, 15).concat('='),
      };
    } catch (error) {
      if ((error as Error).message === 'Unauthorized') {
        return refuse(raw, 401, 'UNAUTHORIZED', 'a valid API key is required: ?api_key=<key>');
      }
      logger.error('websocket: the authorizer failed', { error });
      return refuse(raw, 500, 'INTERNAL', 'internal error');
    }
    try {
      await socket.connect(caller);
    } catch (error) {
      logger.error('websocket: $connect failed', { error });
      return refuse(raw, 500, 'INTERNAL', 'internal error');
    }
    if (stopping) {
      // The stop has closed the connections it knew of: this one would be left open.
      refuse(raw, 503, 'UNAVAILABLE', STOPPING_REASON);
      return socket.disconnect(caller);
    }
    wss.handleUpgrade(request, raw, head, (ws) => open(ws, caller));
  };
  options.server.on('upgrade', (request: IncomingMessage, raw: Duplex, head: Buffer) => {
    track(upgrade(request, raw, head), 'an upgrade');
  });

  return {
    get connections() {
      return messenger.sockets.size;
    },
    async idle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    async drained() {
      while (messenger.sockets.size > 0 || inFlight.size > 0) {
        if (messenger.sockets.size > 0) await new Promise<void>((resolve) => emptied.push(resolve));
        await this.idle();
      }
    },
    async close() {
      stopping = true;
      unsubscribe();
      // Each socket's close handler disconnects it (tracked) before its close resolves here.
      await Promise.all([...messenger.sockets.values()].map((ws) => closeGoingAway(ws, STOPPING_REASON)));
      await this.idle();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

function textOf(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/** Answers an upgrade request that is not accepted, in the error envelope, and closes the socket. */
function refuse(raw: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  const reason = STATUS_CODES[status] ?? 'Error';
  raw.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
