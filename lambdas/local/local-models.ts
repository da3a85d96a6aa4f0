/**
 * The models that answer offline: one process of the local vision model (containers/local-vision),
 * shared by every EMD model's inference component on the local SageMaker and, when Bedrock is
 * emulated, by the local Bedrock Runtime. No LLM or VLM weights can be had offline; this model is
 * real (OCR, faces, colour statistics from models that ship inside packages) and deterministic, and
 * every answer it gives says that it stood in for the model asked for.
 *
 * Bedrock, locally, is one of three things (`BedrockMode`): the local emulator speaking Converse and
 * ConverseStream, backed by the local model (`emulate`); the real Bedrock with the credentials in the
 * environment (`aws`); or nothing, each Bedrock route answering 503 with how to get one of the
 * others (`off`).
 */
import { LOCAL_VISION_SERVER } from '../../containers/local-vision/entry.ts';
import { LOCAL_VISION_MODEL, SEED_BEDROCK_MODELS } from '../../contracts/inference-models.ts';
import { chatCompletionsBackend } from './bedrock/chat-completions.ts';
import { type BedrockModelBackend, type BedrockRuntime, startBedrockRuntime } from './bedrock/runtime.ts';
import {
  childProcessLauncher,
  type InstanceHandle,
  type InstanceLauncher,
  sharedLauncher,
} from './sagemaker/host.ts';
import { launchWithin, waitForPing } from './sagemaker/instances.ts';
import { HOST } from './sagemaker/wire-protocol.ts';

export type BedrockMode = 'emulate' | 'aws' | 'off';

/** Why the Bedrock routes cannot answer locally in `off` mode, and what to do about it. */
export const BEDROCK_OFF_REASON =
  'Bedrock is not reachable from the local platform: set AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and ' +
  'AWS_REGION) to call the real Bedrock, or start it with `npm start -- --emulate-bedrock` to answer from ' +
  `the local model ${LOCAL_VISION_MODEL}`;

export interface LocalModels {
  /** Starts (or shares) the local vision model's one process. */
  readonly launcher: InstanceLauncher;
  /** The Bedrock Runtime emulator, in `emulate` mode. */
  readonly bedrock: BedrockRuntime | undefined;
  stop(): Promise<void>;
}

/**
 * The local vision model's process, as a SageMaker container is started; `env` adds to its
 * environment (`LOCAL_VISION_MS_PER_TOKEN` paces its tokens as a real model's generation would).
 */
export const localVisionLauncher = (env?: NodeJS.ProcessEnv): InstanceLauncher =>
  childProcessLauncher({
    args: ['--import', 'tsx', LOCAL_VISION_SERVER, 'serve', '--port', '0', '--host', HOST],
    ...(env ? { env } : {}),
  });

export interface LocalModelsOptions {
  bedrock: BedrockMode;
  launcher?: InstanceLauncher;
  /**
   * How long the Bedrock emulator keeps its hold on the local model after its last call; the process
   * stops once nothing else holds it either. Default 15 min, as the EMD components' idle scale-in.
   */
  bedrockIdleMs?: number;
  /** How long the local model may take to start and answer `/ping`. Default 60 s, as a component copy's. */
  launchTimeoutMs?: number;
}

export async function startLocalModels(
  options: LocalModelsOptions,
  log?: (message: string, details?: Record<string, unknown>) => void,
): Promise<LocalModels> {
  const launcher = sharedLauncher(options.launcher ?? localVisionLauncher());
  const hold = bedrockHold(launcher, {
    idleMs: options.bedrockIdleMs ?? 15 * 60_000,
    launchTimeoutMs: options.launchTimeoutMs ?? 60_000,
  });
  const bedrockBackend = (modelId: string): BedrockModelBackend => ({
    servedBy: LOCAL_VISION_MODEL,
    async *converse(request, signal) {
      // The model's process starts on the first call, and is shared with the EMD components.
      const lease = await hold.take();
      try {
        return yield* chatCompletionsBackend(lease.url, { model: modelId }).converse(request, signal);
      } finally {
        lease.done();
      }
    },
  });
  const bedrock =
    options.bedrock === 'emulate'
      ? await startBedrockRuntime({
          models: Object.fromEntries(
            SEED_BEDROCK_MODELS.map((model) => [model.modelId, bedrockBackend(model.modelId)]),
          ),
          ...(log ? { log } : {}),
        })
      : undefined;
  return {
    launcher,
    bedrock,
    async stop() {
      await bedrock?.stop();
      await hold.stop();
    },
  };
}

/** A call's use of the local model: its URL, and `done` once the call has ended. */
interface ModelLease {
  url: string;
  done(): void;
}

/**
 * The Bedrock emulator's handle on the shared local model. The first call launches it (within
 * `launchTimeoutMs`, `/ping` included); the handle is dropped when its process exits or its launch
 * fails, so that the next call starts another, and let go `idleMs` after the last call ends, so
 * that the shared process can stop when the EMD components are at zero too.
 */
function bedrockHold(launcher: InstanceLauncher, limits: { idleMs: number; launchTimeoutMs: number }) {
  interface Held {
    handle: Promise<InstanceHandle>;
    calls: number;
    idle: NodeJS.Timeout | undefined;
  }
  let held: Held | undefined;
  let stopped = false;
  const release = (entry: Held) => {
    clearTimeout(entry.idle);
    if (held === entry) held = undefined;
    return entry.handle.then(
      (handle) => handle.stop(),
      () => undefined,
    );
  };
  const launch = async (): Promise<InstanceHandle> => {
    const context = { endpointName: 'bedrock-runtime' };
    const handle = await launchWithin(launcher, context, limits.launchTimeoutMs);
    try {
      await waitForPing(handle.url, limits.launchTimeoutMs, () => {
        if (stopped) throw new Error('the local models are stopping');
      });
    } catch (error) {
      await handle.stop().catch(() => undefined);
      throw error;
    }
    return handle;
  };
  return {
    async take(): Promise<ModelLease> {
      if (stopped) throw new Error('the local models have stopped');
      let entry = held;
      if (!entry) {
        const fresh: Held = { handle: launch(), calls: 0, idle: undefined };
        entry = held = fresh;
        fresh.handle
          .then(
            (handle) => handle.exited.then(() => release(fresh)),
            () => release(fresh),
          )
          .catch(() => undefined);
      }
      const taken = entry;
      clearTimeout(taken.idle);
      taken.calls++;
      let url: string;
      try {
        ({ url } = await taken.handle);
      } catch (error) {
        taken.calls--;
        throw error;
      }
      let done = false;
      return {
        url,
        done() {
          if (done) return;
          done = true;
          taken.calls--;
          if (taken.calls > 0 || held !== taken) return;
          taken.idle = setTimeout(() => void release(taken).catch(() => undefined), limits.idleMs);
          taken.idle.unref();
        },
      };
    },
    async stop(): Promise<void> {
      stopped = true;
      if (held) await release(held);
    },
  };
}
