/**
 * An inference component of a local real-time endpoint: its copies (instances of its container,
 * started by its launcher and healthy once `GET /ping` answers 200) and the scaling that SageMaker
 * and Application Auto Scaling do around them.
 *
 * - The desired copy count starts at `initialCopies`; UpdateInferenceComponentRuntimeConfig sets it
 *   (0 to `maxCopies`). Every change moves LastModifiedTime. The component is `Creating` until its
 *   first copies have started or failed, then `Updating` while copies start or stop, else
 *   `InService`.
 * - Scale-in to zero: no invocation for `idleScaleInMs` sets the desired count to 0 and the copies
 *   stop (target tracking on invocations per copy, scaling in).
 * - Scale-out from zero: an invocation that finds no copy serving fails ("no capacity", see
 *   realtime-endpoints.ts) and counts a NoCapacityInvocationFailure; `wakeDelayMs` after the first
 *   one the desired count becomes 1 (the alarm on that metric and its step policy, +1).
 * - Requests go to the serving copy with the fewest requests in flight (LEAST_OUTSTANDING_REQUESTS).
 *   A copy scaled in takes no new request and stops once its last one is answered.
 * - A copy that fails to start sets FailureReason and puts the desired count back to the copies
 *   serving, so that the next invocation without capacity scales out again; a serving copy that exits
 *   is replaced.
 *
 * Not emulated: placement on instances (any number of copies fits), scaling out above one copy
 * (only UpdateInferenceComponentRuntimeConfig sets more), the alarm's period and cooldowns.
 */
import {
  type InstanceHandle,
  type InstanceHost,
  type InstanceLauncher,
  launchWithin,
  waitForPing,
} from './instances.ts';

/** setTimeout's longest delay; a longer idle time never scales in. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface InferenceComponentRegistration {
  /** `InferenceComponentName` (the gateway uses the model key); unique across the host, as in an account. */
  name: string;
  /** Starts one copy; `sharedLauncher` lets components share one container. */
  launch: InstanceLauncher;
  /** Copies at registration; default 1 (0: the component starts scaled to zero). */
  initialCopies?: number;
  /** The most copies UpdateInferenceComponentRuntimeConfig may ask for; default 1. */
  maxCopies?: number;
  /** No invocation for this long scales the component to zero; default 15 minutes. */
  idleScaleInMs?: number;
  /** How long after the first invocation without capacity the scale-out starts; default 1 s. */
  wakeDelayMs?: number;
  /** How long a new copy may take to answer `/ping` with 200; default 60 s. */
  startupTimeoutMs?: number;
  /** Echoed as DescribeInferenceComponent's `Specification` (`Container`, `ComputeResourceRequirements`...). */
  specification?: Record<string, unknown>;
}

/** A registration with its defaults applied. */
export type InferenceComponentConfig = Required<InferenceComponentRegistration>;

export type InferenceComponentStatus = 'Creating' | 'InService' | 'Updating';

/** What DescribeInferenceComponent reports, plus the host's own counts. */
export interface InferenceComponentSnapshot {
  name: string;
  endpointName: string;
  status: InferenceComponentStatus;
  desiredCopyCount: number;
  currentCopyCount: number;
  /** Epoch milliseconds. */
  createdAt: number;
  lastModifiedAt: number;
  failureReason?: string;
  /** Invocations that found no copy serving (the NoCapacityInvocationFailures metric, summed). */
  noCapacityFailures: number;
  /** Requests at the copies now. */
  inFlight: number;
}

/** What a component needs of the host around it. */
export interface ComponentHost extends InstanceHost {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** One copy of the component's container. */
export interface Copy {
  state: 'starting' | 'running' | 'draining' | 'stopping';
  handle?: InstanceHandle;
  /** Requests at the copy now. */
  active: number;
}

export function componentDefaults(registration: InferenceComponentRegistration): InferenceComponentConfig {
  const count = (value: number, name: string, min: number) => {
    if (!Number.isInteger(value) || value < min)
      throw new Error(`${name} must be an integer >= ${min}, got ${value}`);
    return value;
  };
  const maxCopies = count(registration.maxCopies ?? 1, 'maxCopies', 1);
  const initialCopies = count(registration.initialCopies ?? 1, 'initialCopies', 0);
  if (initialCopies > maxCopies)
    throw new Error(`initialCopies ${initialCopies} is above maxCopies ${maxCopies}`);
  return {
    ...registration,
    initialCopies,
    maxCopies,
    idleScaleInMs: registration.idleScaleInMs ?? 15 * 60_000,
    wakeDelayMs: registration.wakeDelayMs ?? 1_000,
    startupTimeoutMs: registration.startupTimeoutMs ?? 60_000,
    specification: registration.specification ?? {},
  };
}

export class InferenceComponent {
  readonly config: InferenceComponentConfig;
  readonly endpointName: string;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  /** Settles once the initial copies serve or have failed to start; never rejects. */
  readonly ready: Promise<void>;
  readonly #host: ComponentHost;
  readonly #copies = new Set<Copy>();
  #desired: number;
  #lastModifiedAt: number;
  #created = false;
  #failureReason: string | undefined;
  #noCapacityFailures = 0;
  #idleTimer: NodeJS.Timeout | undefined;
  #wakeTimer: NodeJS.Timeout | undefined;

  constructor(config: InferenceComponentConfig, endpointName: string, host: ComponentHost) {
    this.config = config;
    this.endpointName = endpointName;
    this.#host = host;
    this.createdAt = host.now();
    this.#lastModifiedAt = this.createdAt;
    this.#desired = config.initialCopies;
    this.ready = this.#reconcile().then(() => {
      this.#created = true;
      this.#touch();
    });
  }

  get name(): string {
    return this.config.name;
  }

  get desiredCopyCount(): number {
    return this.#desired;
  }

  get currentCopyCount(): number {
    return this.#inState('running').length;
  }

  status(): InferenceComponentStatus {
    if (!this.#created) return 'Creating';
    const settled = this.#inState('running').length === this.#copies.size;
    return settled && this.#copies.size === this.#desired ? 'InService' : 'Updating';
  }

  snapshot(): InferenceComponentSnapshot {
    return {
      name: this.name,
      endpointName: this.endpointName,
      status: this.status(),
      desiredCopyCount: this.#desired,
      currentCopyCount: this.currentCopyCount,
      createdAt: this.createdAt,
      lastModifiedAt: this.#lastModifiedAt,
      ...(this.#failureReason === undefined ? {} : { failureReason: this.#failureReason }),
      noCapacityFailures: this.#noCapacityFailures,
      inFlight: this.#inFlight(),
    };
  }

  get lastModifiedAt(): number {
    return this.#lastModifiedAt;
  }

  get failureReason(): string | undefined {
    return this.#failureReason;
  }

  /**
   * Takes the serving copy with the fewest requests in flight; undefined when none serves, which
   * counts a no-capacity failure and, when the component is at zero, schedules the scale-out.
   */
  acquire(): Copy | undefined {
    const copy = this.#inState('running').sort((a, b) => a.active - b.active)[0];
    if (!copy) {
      this.#noCapacity();
      return undefined;
    }
    copy.active++;
    clearTimeout(this.#idleTimer);
    return copy;
  }

  /** The copy has answered; a copy scaled in stops with its last request. */
  release(copy: Copy): void {
    copy.active--;
    if (copy.state === 'draining' && copy.active === 0) this.#host.track(this.#stop(copy));
    this.#touch();
  }

  /** Sets the desired copy count (0 to maxCopies: the caller checks), starting or stopping copies. */
  setDesired(count: number): void {
    if (count === this.#desired) return;
    this.#host.log('inference component scaling', {
      endpoint: this.endpointName,
      component: this.name,
      from: this.#desired,
      to: count,
    });
    this.#desired = count;
    this.#lastModifiedAt = this.#host.now();
    void this.#reconcile();
    this.#touch();
  }

  /** Stops every copy; resolves once all have stopped, whether or not they stopped cleanly. */
  async stop(): Promise<void> {
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#wakeTimer);
    await Promise.allSettled([...this.#copies].map((copy) => this.#stop(copy)));
  }

  #inState(state: Copy['state']): Copy[] {
    return [...this.#copies].filter((copy) => copy.state === state);
  }

  /** The copies that serve or will: not those scaled in. */
  #live(): Copy[] {
    return [...this.#copies].filter((copy) => copy.state === 'starting' || copy.state === 'running');
  }

  #inFlight(): number {
    return [...this.#copies].reduce((sum, copy) => sum + copy.active, 0);
  }

  #noCapacity(): void {
    this.#noCapacityFailures++;
    if (this.#desired > 0 || this.#wakeTimer !== undefined || this.#host.stopping) return;
    this.#wakeTimer = setTimeout(() => {
      this.#wakeTimer = undefined;
      if (this.#desired === 0 && !this.#host.stopping) this.setDesired(1);
    }, this.config.wakeDelayMs);
  }

  /** (Re)arms the idle scale-in: it runs once nothing is in flight for idleScaleInMs. */
  #touch(): void {
    clearTimeout(this.#idleTimer);
    const idleMs = this.config.idleScaleInMs;
    if (this.#host.stopping || this.#desired === 0 || this.#inFlight() > 0 || !(idleMs <= MAX_TIMER_MS))
      return;
    this.#idleTimer = setTimeout(() => {
      if (this.#inFlight() === 0 && !this.#host.stopping) this.setDesired(0);
    }, idleMs);
    this.#idleTimer.unref();
  }

  /** Starts or retires copies until as many serve or start as desired; resolves once the starts settle. */
  #reconcile(): Promise<void> {
    if (this.#host.stopping) return Promise.resolve();
    const live = this.#live();
    const starts: Promise<void>[] = [];
    for (let count = live.length; count < this.#desired; count++) {
      const copy: Copy = { state: 'starting', active: 0 };
      this.#copies.add(copy);
      const start = this.#start(copy);
      this.#host.track(start);
      starts.push(start);
    }
    // Copies still starting go first (nothing to wait for), then the least busy.
    const rank = (copy: Copy) => (copy.state === 'starting' ? -1 : copy.active);
    const excess = live.sort((a, b) => rank(a) - rank(b)).slice(0, Math.max(0, live.length - this.#desired));
    for (const copy of excess) {
      if (copy.state === 'starting') copy.state = 'stopping';
      else if (copy.active === 0) this.#host.track(this.#stop(copy));
      else copy.state = 'draining';
    }
    return Promise.allSettled(starts).then(() => undefined);
  }

  async #start(copy: Copy): Promise<void> {
    const { config } = this;
    const where = { endpoint: this.endpointName, component: this.name };
    this.#host.log('inference component copy starting', where);
    try {
      const context = { endpointName: this.endpointName, componentName: this.name };
      const handle = await launchWithin(config.launch, context, config.startupTimeoutMs);
      copy.handle = handle;
      void handle.exited.then(() => this.#onExit(copy));
      await waitForPing(handle.url, config.startupTimeoutMs, () => {
        if (this.#host.stopping || copy.state !== 'starting') throw new Error('the start was called off');
        if (!this.#copies.has(copy)) throw new Error('the container exited before answering /ping');
      });
    } catch (error) {
      const calledOff = this.#host.stopping || copy.state !== 'starting';
      this.#copies.delete(copy);
      await copy.handle?.stop().catch(() => undefined);
      if (calledOff) return;
      this.#failureReason = `The inference component copy failed to start: ${(error as Error).message}`;
      this.#host.log('inference component copy failed to start', { ...where, error: String(error) });
      this.setDesired(this.#live().length);
      return;
    }
    if (this.#host.stopping || copy.state !== 'starting') {
      // Scaled in or stopped while it started: the handle is this function's to stop.
      this.#copies.delete(copy);
      await copy.handle?.stop().catch(() => undefined);
      return;
    }
    copy.state = 'running';
    this.#failureReason = undefined;
    this.#host.log('inference component copy in service', where);
    this.#touch();
  }

  async #stop(copy: Copy): Promise<void> {
    if (copy.state === 'stopping') return;
    const starting = copy.state === 'starting';
    copy.state = 'stopping';
    // A copy still starting is stopped by its start, which sees the state.
    if (starting) return;
    this.#host.log('inference component copy stopping', {
      endpoint: this.endpointName,
      component: this.name,
    });
    try {
      await copy.handle?.stop();
    } finally {
      this.#copies.delete(copy);
    }
  }

  #onExit(copy: Copy): void {
    if (!this.#copies.has(copy) || copy.state === 'stopping') return;
    this.#copies.delete(copy);
    // A copy still starting fails its start, which sees it gone.
    if (copy.state === 'starting') return;
    this.#host.log('inference component copy exited', { endpoint: this.endpointName, component: this.name });
    // SageMaker replaces a copy that fails its health checks.
    void this.#reconcile();
  }
}
