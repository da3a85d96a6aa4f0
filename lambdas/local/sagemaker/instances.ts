/**
 * The instances of a local SageMaker endpoint: containers' own servers (`GET /ping`,
 * `POST /invocations`), started by a launcher as SageMaker starts a container (`... serve`), and
 * scaled as the host's work asks.
 *
 * An instance starts when work waits, none is starting and the endpoint is below its most instances
 * (the cold start: launch, `GET /ping` until 200, then `coldStartDelayMs`); it serves at most
 * `maxConcurrency` requests at once; idle for `idleShutdownMs`, it is stopped, and the endpoint is
 * back at zero. `DescribeEndpoint` counts them: an instance counts as current once it serves and as
 * desired until it stops, and the endpoint is `Updating` while one starts or stops, `InService`
 * otherwise.
 *
 * Not emulated: autoscaling policies and alarms (an instance starts as soon as work waits and none is
 * free).
 *
 * The launchers, `launchWithin` and `waitForPing` also start the copies of real-time endpoints'
 * inference components (inference-components.ts); `sharedLauncher` lets several components share one
 * container.
 */
import type { Server } from 'node:http';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { spawnTiedToParent, stopChild } from '../support/child-process.ts';
import { closeServer, listen } from '../support/http.ts';
import { HOST } from './wire-protocol.ts';

/** How often a starting instance is pinged. */
const PING_INTERVAL_MS = 50;
/** A child process gets this long to exit on SIGTERM before SIGKILL. */
const CHILD_STOP_GRACE_MS = 5_000;

/** The container server the default launcher runs: the `shapes` generator's. */
export const SHAPES_ENDPOINT_SERVER = fileURLToPath(
  new URL('../../../containers/shapes-endpoint/server.ts', import.meta.url),
);
const REPOSITORY_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** A running instance of a container, as a launcher hands it over. */
export interface InstanceHandle {
  /** Where the container's server listens: `http://127.0.0.1:PORT` (no trailing slash). */
  url: string;
  /** Settles when the instance is gone, stopped or crashed. */
  exited: Promise<void>;
  stop(): Promise<void>;
}

/** What a launcher is told of the instance it starts. */
export interface LaunchContext {
  endpointName: string;
  /** The inference component the instance is a copy of; absent for an endpoint without components. */
  componentName?: string;
}

/** Starts one instance of an endpoint's container; the host then waits for its `/ping`. */
export type InstanceLauncher = (context: LaunchContext) => Promise<InstanceHandle>;

export interface ChildProcessLauncherOptions {
  /** Default: this Node (process.execPath). */
  command?: string;
  /** Default: `--import tsx <SHAPES_ENDPOINT_SERVER> serve --port 0 --host 127.0.0.1`. */
  args?: readonly string[];
  /** Default: the repository root (where `tsx` resolves). */
  cwd?: string;
  /** Added to the host's environment. */
  env?: NodeJS.ProcessEnv;
  /** Matched against the child's output; group 1 is the port. Default: the `listening on` line. */
  readyPattern?: RegExp;
}

/** How an endpoint's instances start, scale and stop. */
export interface InstancePoolConfig {
  /** The endpoint's name, handed to the launcher. */
  name: string;
  launch: InstanceLauncher;
  maxConcurrency: number;
  maxInstances: number;
  idleShutdownMs: number;
  coldStartDelayMs: number;
  startupTimeoutMs: number;
}

/** What the pool needs of the host around it. */
export interface InstanceHost {
  /** The host is stopping: nothing new starts. */
  readonly stopping: boolean;
  /** Aborted when the host stops: a simulated cold start ends early. */
  readonly stopped: AbortSignal;
  log(message: string, details?: Record<string, unknown>): void;
  /** Runs a task the host's stop and drain wait for. */
  track(task: Promise<unknown>): void;
}

/** What the pool needs of the endpoint it serves. */
export interface InstanceDemand {
  /** Whether requests wait for a slot. */
  waiting(): boolean;
  /** A slot may have freed, or an instance come or gone: dispatch what waits. */
  changed(): void;
  /** No instance could start: what waits would never be served. */
  startFailed(reason: string): void;
}

export interface Instance {
  state: 'starting' | 'running' | 'stopping';
  handle?: InstanceHandle;
  /** Requests at the instance now. */
  active: number;
  idleTimer?: NodeJS.Timeout;
}

/** An endpoint's instances as DescribeEndpoint reports them. */
export interface InstanceCounts {
  status: 'InService' | 'Updating';
  currentInstanceCount: number;
  desiredInstanceCount: number;
}

/** One endpoint's instances. */
export class InstancePool {
  readonly #config: InstancePoolConfig;
  readonly #host: InstanceHost;
  readonly #demand: InstanceDemand;
  readonly #instances = new Set<Instance>();

  constructor(config: InstancePoolConfig, host: InstanceHost, demand: InstanceDemand) {
    this.#config = config;
    this.#host = host;
    this.#demand = demand;
  }

  counts(): InstanceCounts {
    const states = [...this.#instances].map((instance) => instance.state);
    return {
      status: states.every((state) => state === 'running') ? 'InService' : 'Updating',
      currentInstanceCount: states.filter((state) => state !== 'starting').length,
      desiredInstanceCount: states.filter((state) => state !== 'stopping').length,
    };
  }

  /** A running instance with a free slot; undefined when none has one. */
  free(): Instance | undefined {
    return [...this.#instances].find(
      (candidate) => candidate.state === 'running' && candidate.active < this.#config.maxConcurrency,
    );
  }

  /** Takes one of the instance's slots: it is busy, not idle. */
  take(instance: Instance): void {
    clearTimeout(instance.idleTimer);
    instance.active++;
  }

  /** Gives a slot back; an instance left with nothing to do is stopped after the idle time. */
  release(instance: Instance): void {
    instance.active--;
    this.#demand.changed();
    this.#scheduleIdle(instance);
  }

  /** Starts an instance when work waits, none is starting and the endpoint may have one more. */
  scale(): void {
    const states = [...this.#instances].map((instance) => instance.state);
    const serving = states.filter((state) => state !== 'stopping').length;
    if (this.#demand.waiting() && !states.includes('starting') && serving < this.#config.maxInstances) {
      this.#host.track(this.#start());
    }
  }

  /** Stops every instance; resolves once all have stopped, whether or not they stopped cleanly. */
  async stopAll(): Promise<void> {
    await Promise.allSettled([...this.#instances].map((instance) => this.#stop(instance)));
  }

  async #start(): Promise<void> {
    const config = this.#config;
    const instance: Instance = { state: 'starting', active: 0 };
    this.#instances.add(instance);
    this.#host.log('instance starting', { endpoint: config.name });
    try {
      const handle = await launchWithin(
        config.launch,
        { endpointName: config.name },
        config.startupTimeoutMs,
      );
      instance.handle = handle;
      void handle.exited.then(() => this.#onExit(instance));
      await waitForPing(handle.url, config.startupTimeoutMs, () => {
        if (this.#host.stopping) throw new Error('the host is stopping');
        if (!this.#instances.has(instance)) throw new Error('the container exited before answering /ping');
      });
      if (config.coldStartDelayMs > 0) {
        await sleep(config.coldStartDelayMs, undefined, { signal: this.#host.stopped });
      }
    } catch (error) {
      this.#instances.delete(instance);
      await instance.handle?.stop().catch(() => undefined);
      if (this.#host.stopping) return;
      this.#host.log('instance failed to start', { endpoint: config.name, error: String(error) });
      this.#demand.startFailed(
        `ClientError: The model container failed to start: ${(error as Error).message}`,
      );
      return;
    }
    if (this.#host.stopping || instance.state !== 'starting') {
      // stop() or a crash got here first: the handle is this function's to stop.
      this.#instances.delete(instance);
      await instance.handle?.stop();
      return;
    }
    instance.state = 'running';
    this.#host.log('instance in service', { endpoint: config.name });
    this.#demand.changed();
    this.#scheduleIdle(instance);
  }

  #scheduleIdle(instance: Instance): void {
    if (this.#host.stopping || instance.state !== 'running' || instance.active > 0 || this.#demand.waiting())
      return;
    clearTimeout(instance.idleTimer);
    instance.idleTimer = setTimeout(() => {
      if (instance.state === 'running' && instance.active === 0) this.#host.track(this.#stop(instance));
    }, this.#config.idleShutdownMs);
  }

  async #stop(instance: Instance): Promise<void> {
    if (instance.state === 'stopping') return;
    clearTimeout(instance.idleTimer);
    instance.state = 'stopping';
    this.#host.log('instance stopping', { endpoint: this.#config.name });
    try {
      await instance.handle?.stop();
    } finally {
      this.#instances.delete(instance);
      // Work that arrived while it stopped needs a new instance.
      this.#demand.changed();
    }
  }

  #onExit(instance: Instance): void {
    if (instance.state === 'stopping' || !this.#instances.has(instance)) return;
    this.#host.log('instance exited', { endpoint: this.#config.name });
    clearTimeout(instance.idleTimer);
    this.#instances.delete(instance);
    this.#demand.changed();
  }
}

/**
 * Starts each instance as a child process, as SageMaker starts a container (`... serve`), and reads
 * its port from the line it prints once listening. Stopping sends SIGTERM, then SIGKILL after 5 s.
 */
export function childProcessLauncher(options: ChildProcessLauncherOptions = {}): InstanceLauncher {
  const readyPattern = options.readyPattern ?? /listening on http:\/\/[^\s:]+:(\d+)/;
  return () =>
    new Promise<InstanceHandle>((resolve, reject) => {
      // Its stdin is held open and never written: the server exits when it ends, that is when this
      // process does, even by SIGKILL (support/child-process.ts).
      const child = spawnTiedToParent(
        options.command ?? process.execPath,
        options.args ?? ['--import', 'tsx', SHAPES_ENDPOINT_SERVER, 'serve', '--port', '0', '--host', HOST],
        { cwd: options.cwd ?? REPOSITORY_ROOT, ...(options.env ? { env: options.env } : {}) },
      );
      const exited = new Promise<void>((done) => child.once('exit', () => done()));
      let output = '';
      let ready = false;
      const onData = (chunk: Buffer) => {
        // Keep the tail for a failure message; the pipes are drained either way.
        output = (output + chunk.toString('utf8')).slice(-4000);
        const match = ready ? null : readyPattern.exec(output);
        if (!match) return;
        ready = true;
        resolve({
          url: `http://${HOST}:${match[1]}`,
          exited,
          stop: () => stopChild(child, { graceMs: CHILD_STOP_GRACE_MS }),
        });
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.on('error', reject);
      child.once('exit', (code, signal) => {
        if (!ready)
          reject(new Error(`the container exited (${signal ?? code}) before listening: ${output.trim()}`));
      });
    });
}

/** Runs each instance as a server in this process: the same server code, without a process start. */
export function inProcessLauncher(createInstanceServer: () => Server): InstanceLauncher {
  return async () => {
    const server = createInstanceServer();
    await listen(server, 0);
    let markExited = () => {};
    const exited = new Promise<void>((resolve) => {
      markExited = resolve;
    });
    return {
      url: `http://${HOST}:${(server.address() as AddressInfo).port}`,
      exited,
      stop: async () => {
        await closeServer(server);
        markExited();
      },
    };
  };
}

/**
 * Shares one instance of `inner` among all its launches: the first starts it (with its own
 * context), later ones get handles on the same server, and it stops when the last handle is stopped.
 * The local platform serves several inference components (one per model key) from one process this
 * way. Once the shared instance has exited or stopped, the next launch starts a new one, after the
 * old one is gone.
 */
export function sharedLauncher(inner: InstanceLauncher): InstanceLauncher {
  let current: { started: Promise<InstanceHandle>; users: number } | undefined;
  let previousStopped: Promise<void> = Promise.resolve();
  return async (context) => {
    if (!current) {
      const entry = { started: previousStopped.then(() => inner(context)), users: 0 };
      current = entry;
      const forget = () => {
        if (current === entry) current = undefined;
      };
      entry.started.then((handle) => handle.exited.then(forget), forget);
    }
    const entry = current;
    entry.users++;
    let handle: InstanceHandle;
    try {
      handle = await entry.started;
    } catch (error) {
      entry.users--;
      throw error;
    }
    let released = false;
    let markReleased = () => {};
    const releasedPromise = new Promise<void>((resolve) => {
      markReleased = resolve;
    });
    return {
      url: handle.url,
      exited: Promise.race([handle.exited, releasedPromise]),
      stop: async () => {
        if (released) return;
        released = true;
        entry.users--;
        try {
          if (entry.users === 0) {
            if (current === entry) current = undefined;
            const stopping = handle.stop();
            previousStopped = stopping.catch(() => undefined);
            await stopping;
          }
        } finally {
          markReleased();
        }
      },
    };
  };
}

/**
 * Launches one instance, giving the launch `timeoutMs`; a launch that finishes after its timeout is
 * stopped, so that it leaves no container behind.
 */
export async function launchWithin(
  launch: InstanceLauncher,
  context: LaunchContext,
  timeoutMs: number,
): Promise<InstanceHandle> {
  const launching = launch(context);
  return withTimeout(launching, timeoutMs, 'the instance did not start').catch((error: unknown) => {
    void launching.then((late) => late.stop()).catch(() => undefined);
    throw error;
  });
}

/**
 * Pings the instance until `GET /ping` answers 200 (the container's startup health check), at most
 * `timeoutMs`. `check` runs before each ping and throws to give up (the host stops, the instance died).
 */
export async function waitForPing(url: string, timeoutMs: number, check: () => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    check();
    const status = await ping(url).catch(() => 0);
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`GET ${url}/ping did not answer 200 within ${timeoutMs} ms`);
    await sleep(PING_INTERVAL_MS);
  }
}

function ping(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${url}/ping`, { method: 'GET', timeout: 2_000 }, (response) => {
      response.resume();
      response.once('end', () => resolve(response.statusCode ?? 0));
    });
    request.once('timeout', () => request.destroy(new Error('ping timed out')));
    request.once('error', reject);
    request.end();
  });
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
