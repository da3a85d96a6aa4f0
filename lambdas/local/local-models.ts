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

export async function startLocalModels(
  options: { bedrock: BedrockMode; launcher?: InstanceLauncher },
  log?: (message: string, details?: Record<string, unknown>) => void,
): Promise<LocalModels> {
  const launcher = sharedLauncher(options.launcher ?? localVisionLauncher());
  let bedrockHandle: Promise<InstanceHandle> | undefined;
  const bedrockBackend = (modelId: string): BedrockModelBackend => ({
    servedBy: LOCAL_VISION_MODEL,
    async *converse(request, signal) {
      // The model's process starts on the first call, and is shared with the EMD components.
      bedrockHandle ??= launcher({ endpointName: 'bedrock-runtime' });
      const { url } = await bedrockHandle;
      return yield* chatCompletionsBackend(url, { model: modelId }).converse(request, signal);
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
      const handle = await bedrockHandle?.catch(() => undefined);
      await handle?.stop();
    },
  };
}
