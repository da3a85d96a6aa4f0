/**
 * Fake ports for the inference gateway's domain: models that answer as scripted (a reply, a service
 * failure, a delay, or never), a clock that the retries' sleep moves on, components as described,
 * usage kept in memory, blobs in a map. Real images are made with sharp.
 */
import sharp from 'sharp';
import type { ModelInput } from '../../../../contracts/inference.ts';
import type { RuntimeModel } from '../../../../contracts/inference-models.ts';
import { DomainError } from '../../../../lambdas/domain/errors.ts';
import { ModelCatalogue } from '../../../../lambdas/domain/inference/catalogue.ts';
import type {
  BedrockRuntimeModel,
  CallableModel,
  ChatModelPort,
  ChatReply,
  ChatStreamEvent,
  ChatTurn,
  ComponentState,
  ComponentStatusPort,
  DeployedSageMakerModel,
  InferenceCall,
  InferenceUsagePort,
  ModelUsage,
  SageMakerRuntimeModel,
} from '../../../../lambdas/domain/inference/ports.ts';
import { ModelCallError } from '../../../../lambdas/domain/inference/ports.ts';
import { InferenceService, type InferenceServiceDeps } from '../../../../lambdas/domain/inference/service.ts';

export const TENANT = 'acme';
export const BUCKET = 'synthforge-outputs';

export const CLAUDE: BedrockRuntimeModel = {
  provider: 'bedrock',
  key: 'claude4',
  name: 'Claude Sonnet 4',
  modelId: 'us.anthropic.claude-sonnet-4-20250514-v1:0',
  media: ['image'],
  prices: { inputPerMillionUsd: 3, outputPerMillionUsd: 15 },
  emulated: false,
};

export const NOVA: BedrockRuntimeModel = {
  provider: 'bedrock',
  key: 'nova',
  name: 'Amazon Nova Pro',
  modelId: 'us.amazon.nova-pro-v1:0',
  media: ['image', 'video'],
  prices: { inputPerMillionUsd: 0.8, outputPerMillionUsd: 3.2 },
  emulated: false,
};

const deployment = (key: string) => ({
  endpointName: 'synthforge-vlm',
  componentName: `synthforge-${key.replaceAll('.', '-')}`,
  instanceType: 'ml.g5.2xlarge',
  wakeSeconds: 300,
});

export const QWEN: DeployedSageMakerModel = {
  provider: 'sagemaker',
  key: 'qwen2-vl-7b',
  name: 'Qwen2-VL 7B Instruct',
  modelId: 'Qwen/Qwen2-VL-7B-Instruct',
  media: ['image', 'video'],
  imagesPerPrompt: 2,
  prices: { inputPerMillionUsd: 0, outputPerMillionUsd: 0 },
  deployment: deployment('qwen2-vl-7b'),
  emulated: false,
};

export const UI_TARS: DeployedSageMakerModel = {
  provider: 'sagemaker',
  key: 'ui-tars-1.5-7b',
  name: 'UI-TARS 1.5 7B',
  modelId: 'ByteDance-Seed/UI-TARS-1.5-7B',
  media: ['image'],
  imagesPerPrompt: 1,
  prices: { inputPerMillionUsd: 0, outputPerMillionUsd: 0 },
  deployment: deployment('ui-tars-1.5-7b'),
  emulated: false,
};

/** In the catalogue, not deployed in the stage. */
export const GEMMA: SageMakerRuntimeModel = {
  provider: 'sagemaker',
  key: 'gemma-3-4b',
  name: 'Gemma 3 4B IT',
  modelId: 'google/gemma-3-4b-it',
  media: ['image'],
  imagesPerPrompt: 4,
  prices: { inputPerMillionUsd: 0, outputPerMillionUsd: 0 },
  emulated: false,
};

/** Real images of a size, in a format. */
export async function anImage(
  format: 'png' | 'jpeg' | 'gif' | 'webp',
  width = 32,
  height = 24,
): Promise<Uint8Array> {
  const buffer = await sharp({ create: { width, height, channels: 3, background: '#3a7' } })
    .toFormat(format)
    .toBuffer();
  return new Uint8Array(buffer);
}

/** An image followed by bytes no decoder reads (after PNG's IEND): a file of exactly `bytes`. */
export async function aPngOfBytes(bytes: number): Promise<Uint8Array> {
  const png = await anImage('png');
  const out = new Uint8Array(bytes);
  out.set(png);
  return out;
}

/** An MP4's opening: an `ftyp` box at byte 4, then filler. */
export function anMp4(bytes = 64): Uint8Array {
  const out = new Uint8Array(bytes);
  out.set([0, 0, 0, 0x18], 0);
  out.set(new TextEncoder().encode('ftypisom'), 4);
  return out;
}

export const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** Blobs in memory; `sizes` stands for objects too large to hold (their size only). */
export class MemoryBlobs {
  readonly bucket = BUCKET;
  readonly objects = new Map<string, Uint8Array>();
  readonly sizes = new Map<string, number>();
  readonly reads: string[] = [];
  readonly presigned: { key: string; ttlSeconds: number; contentType: string }[] = [];

  async size(key: string): Promise<number | undefined> {
    return this.sizes.get(key) ?? this.objects.get(key)?.length;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    this.reads.push(key);
    return this.objects.get(key);
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    this.objects.set(key, body);
  }

  async presignPut(key: string, ttlSeconds: number, contentType: string): Promise<string> {
    this.presigned.push({ key, ttlSeconds, contentType });
    return `https://${BUCKET}.s3.example/${key}?X-Amz-Signature=abc`;
  }
}

/** A clock that stands still unless moved; the retries' sleep moves it, and is recorded. */
export function fakeTime(start = '2026-05-01T12:00:00.000Z') {
  let now = Date.parse(start);
  const sleeps: number[] = [];
  return {
    clock: { now: () => new Date(now) },
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    advance: (ms: number) => {
      now += ms;
    },
    sleeps,
  };
}

/** What a scripted model does on one call. */
export type Outcome =
  | ChatReply
  | ModelCallError
  /** Never answers, heeding its signal (`heeds`) or not. */
  | { hang: true; heeds: boolean }
  | { afterMs: number; outcome: ChatReply | ModelCallError };

/** What a scripted stream does: fail before its first event, or give events (a failure among them). */
export type StreamScript = ModelCallError | (ChatStreamEvent | ModelCallError | { hang: true })[];

export const aReply = (text = 'a lighthouse', overrides: Partial<ChatReply> = {}): ChatReply => ({
  id: 'msg_01',
  text,
  inputTokens: 1000,
  outputTokens: 500,
  stopReason: 'end_turn',
  ...overrides,
});

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function hang(signal: AbortSignal, heeds: boolean): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (heeds)
      signal.addEventListener('abort', () => reject(new Error('aborted by the signal')), { once: true });
  });
}

/**
 * A provider whose models follow their scripts, call after call (the last outcome repeats). Every
 * call and every signal it was given is kept.
 */
export class ScriptedModels<M extends CallableModel> implements ChatModelPort<M> {
  readonly calls: { key: string; turn: ChatTurn; signal: AbortSignal }[] = [];
  readonly streams: { key: string; signal: AbortSignal }[] = [];
  constructor(
    readonly scripts: Record<string, Outcome[]> = {},
    readonly streamScripts: Record<string, StreamScript[]> = {},
  ) {}

  callsOf(key: string) {
    return this.calls.filter((call) => call.key === key);
  }

  async complete(model: M, turn: ChatTurn, signal: AbortSignal): Promise<ChatReply> {
    const made = this.callsOf(model.key).length;
    this.calls.push({ key: model.key, turn, signal });
    const script = this.scripts[model.key] ?? [aReply()];
    const outcome = script[Math.min(made, script.length - 1)] as Outcome;
    if (outcome instanceof ModelCallError) throw outcome;
    if ('hang' in outcome) return hang(signal, outcome.heeds);
    if ('afterMs' in outcome) {
      await wait(outcome.afterMs);
      if (outcome.outcome instanceof ModelCallError) throw outcome.outcome;
      return outcome.outcome;
    }
    return outcome;
  }

  stream(model: M, _turn: ChatTurn, signal: AbortSignal): AsyncIterable<ChatStreamEvent> {
    const made = this.streams.filter((stream) => stream.key === model.key).length;
    this.streams.push({ key: model.key, signal });
    const scripts = this.streamScripts[model.key] ?? [[{ type: 'delta', text: 'hi' }]];
    const script = scripts[Math.min(made, scripts.length - 1)] as StreamScript;
    return (async function* () {
      if (script instanceof ModelCallError) throw script;
      for (const step of script) {
        if (step instanceof ModelCallError) throw step;
        if ('hang' in step) await hang(signal, true);
        else yield step;
      }
    })();
  }
}

export const aBedrock = (scripts?: Record<string, Outcome[]>, streams?: Record<string, StreamScript[]>) =>
  new ScriptedModels<BedrockRuntimeModel>(scripts, streams);
export const aSageMaker = (scripts?: Record<string, Outcome[]>, streams?: Record<string, StreamScript[]>) =>
  new ScriptedModels<DeployedSageMakerModel>(scripts, streams);

/** Components as described per component name: a state, undefined (absent), or an error. */
export class FakeComponents implements ComponentStatusPort {
  readonly described: string[] = [];
  /** The most descriptions in flight at once. */
  maxInFlight = 0;
  #inFlight = 0;
  constructor(
    readonly states: Record<string, ComponentState | Error | undefined> = {},
    readonly delayMs = 0,
  ) {}

  async describe(deployment: DeployedSageMakerModel['deployment']): Promise<ComponentState | undefined> {
    this.described.push(deployment.componentName);
    this.#inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.#inFlight);
    await wait(this.delayMs);
    this.#inFlight--;
    const state = this.states[deployment.componentName];
    if (state instanceof Error) throw state;
    return state;
  }
}

export class MemoryUsage implements InferenceUsagePort {
  readonly calls: { tenant: string; call: InferenceCall }[] = [];
  failing = false;

  async record(tenant: string, call: InferenceCall): Promise<void> {
    if (this.failing) throw new Error('ProvisionedThroughputExceededException');
    this.calls.push({ tenant, call });
  }

  async totals(): Promise<Record<string, ModelUsage>> {
    const totals: Record<string, ModelUsage> = {};
    for (const { call } of this.calls) {
      const entry = totals[call.modelKey] ?? {
        calls: 0,
        failed: 0,
        inputTokens: 0,
        outputTokens: 0,
        estimatedUsd: 0,
        latencyMsTotal: 0,
      };
      totals[call.modelKey] = entry;
      entry.calls++;
      entry.failed += call.failed ? 1 : 0;
      entry.inputTokens += call.inputTokens;
      entry.outputTokens += call.outputTokens;
      entry.estimatedUsd += call.estimatedUsd;
      entry.latencyMsTotal += call.latencyMs;
    }
    return totals;
  }
}

export interface HarnessOptions {
  bedrock?: ScriptedModels<BedrockRuntimeModel>;
  sagemaker?: ScriptedModels<DeployedSageMakerModel>;
  components?: FakeComponents;
  models?: RuntimeModel[];
  /** Real time (for a fan-out's wall clock) instead of the fake clock. */
  realClock?: boolean;
  random?: () => number;
  deps?: Partial<InferenceServiceDeps>;
}

/** No jobs engine: a test that submits an asynchronous request gives its own (`deps.jobs`). */
const NO_JOBS: InferenceServiceDeps['jobs'] = {
  get engine(): never {
    throw new Error('this test gave the service no jobs engine');
  },
  get workflow(): never {
    throw new Error('this test gave the service no inference workflow');
  },
};

/** An InferenceService over fakes, with everything it did kept for the test to read. */
export function aService(options: HarnessOptions = {}) {
  const time = fakeTime();
  const bedrock = options.bedrock ?? aBedrock();
  const sagemaker = options.sagemaker ?? aSageMaker();
  const components = options.components ?? new FakeComponents();
  const usage = new MemoryUsage();
  const blobs = new MemoryBlobs();
  const logs: { message: string; details: Record<string, unknown> }[] = [];
  const service = new InferenceService({
    catalogue: new ModelCatalogue(options.models ?? [CLAUDE, NOVA, QWEN, UI_TARS, GEMMA]),
    bedrock,
    sagemaker,
    components,
    usage,
    blobs,
    jobs: NO_JOBS,
    clock: options.realClock ? { now: () => new Date() } : time.clock,
    newId: () => '01JUPLOADUPLOADUPLOADUPLOA',
    sleep: time.sleep,
    random: options.random ?? (() => 0.5),
    log: (message, details) => logs.push({ message, details }),
    ...options.deps,
  });
  return { service, bedrock, sagemaker, components, usage, blobs, logs, time };
}

/** A request as the route's schema makes it (defaults applied). */
export const aRequest = (overrides: Partial<ModelInput> = {}): ModelInput => ({
  text: 'What is in this image?',
  frames: [],
  mediaType: 'image',
  max_tokens: 1024,
  temperature: 0.1,
  ...overrides,
});

/** The DomainError a promise fails with (the test fails if it does not). */
export async function failure(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof DomainError)) throw new Error(`expected a DomainError, got ${String(error)}`);
  return error;
}
