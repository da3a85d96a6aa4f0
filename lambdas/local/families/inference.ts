/**
 * Seed 003's inference gateway on the local platform, on the same code as in AWS: the EMD models are
 * inference components of one real-time endpoint of the local SageMaker, each served by the local
 * vision model (one process for all of them), scaling to zero and waking as the deployed ones do;
 * Bedrock is its emulator, the real service, or off (lambdas/local/local-models.ts). A model route's
 * `"async": true` runs on the inference machine (statemachines/inference.asl.json), played by
 * aws-local-stepfunctions as every machine here; an inference job the last shutdown left open is
 * run again on the next start.
 */
import {
  componentNameOf,
  DEFAULT_EMD_INSTANCE_TYPE,
  LOCAL_VISION_MODEL,
  type RuntimeModel,
  runtimeBedrockModel,
  runtimeEmdModel,
  SEED_BEDROCK_MODELS,
  SEED_EMD_MODELS,
} from '../../../contracts/inference-models.ts';
import { BedrockChatModels } from '../../adapters/bedrock/chat-models.ts';
import { createBedrockRuntime } from '../../adapters/bedrock/client.ts';
import { createAwsClients } from '../../adapters/clients.ts';
import { type InferenceExecutionInput, inferenceJobId } from '../../domain/inference/execution.ts';
import { ASYNC_DEADLINE_MS, DEADLINE_MS, STREAM_DEADLINE_MS } from '../../domain/inference/service.ts';
import { inferenceLambdas } from '../../families/inference/family.ts';
import { createInferenceRuntime, type InferenceRuntime } from '../../families/inference/runtime.ts';
import { logger } from '../../shared/logger.ts';
import { BEDROCK_OFF_REASON, type BedrockMode } from '../local-models.ts';
import { LocalWorkflow } from '../stepfunctions/runner.ts';
import type { LocalFamily } from './family.ts';
import type { PlatformRuntime } from './index.ts';

/** The local real-time endpoint that holds every EMD model's component. */
export const LOCAL_VLM_ENDPOINT = 'synthforge-vlm';
const COMPONENT_PREFIX = 'synthforge';
/** What the local components stand for: the stage default's instance (lib/config.ts). */
const STANDS_FOR_INSTANCE = DEFAULT_EMD_INSTANCE_TYPE;

/** The catalogue as the local runtime sees it: every EMD model deployed on the local endpoint. */
export function localInferenceModels(bedrock: BedrockMode, wakeSeconds: number): RuntimeModel[] {
  return [
    ...SEED_BEDROCK_MODELS.map((model) =>
      runtimeBedrockModel(model, {
        emulated: bedrock === 'emulate',
        ...(bedrock === 'off' ? { unavailable: BEDROCK_OFF_REASON } : {}),
      }),
    ),
    ...SEED_EMD_MODELS.map((model) => ({
      ...runtimeEmdModel(model, {
        endpointName: LOCAL_VLM_ENDPOINT,
        componentName: componentNameOf(COMPONENT_PREFIX, model.key),
        instanceType: STANDS_FOR_INSTANCE,
        wakeSeconds,
      }),
      emulated: true,
    })),
  ];
}

/** The real Bedrock, with the environment's credentials only (never a profile of the user's home). */
function realBedrock(env: NodeJS.ProcessEnv) {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = env;
  if (!accessKeyId || !secretAccessKey)
    throw new Error('Bedrock mode `aws` needs credentials in the environment');
  const clients = createAwsClients({
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    credentials: {
      accessKeyId,
      secretAccessKey,
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    },
  });
  return {
    models: new BedrockChatModels(clients.own(createBedrockRuntime)),
    destroy: () => clients.destroy(),
  };
}

export const localInference: LocalFamily<InferenceRuntime, PlatformRuntime> = {
  lambdas: inferenceLambdas,
  async start({ options, sageMaker, localModels, core, runnerDefaults }) {
    const settings = options.inference ?? {};
    const bedrockMode = settings.bedrock ?? 'off';
    const wakeDelayMs = settings.wakeDelayMs ?? 1_000;
    // A copy of the local model starts in seconds: the wake's estimate is its delay plus that.
    const wakeSeconds = Math.ceil(wakeDelayMs / 1000) + 10;
    const registered = sageMaker.registerRealtime({
      name: LOCAL_VLM_ENDPOINT,
      instanceType: STANDS_FOR_INSTANCE,
      minInstances: 0,
      maxInstances: 1,
      components: SEED_EMD_MODELS.map((model) => ({
        name: componentNameOf(COMPONENT_PREFIX, model.key),
        launch: localModels.launcher,
        // Scaled to zero until a first request wakes them (`npm start` asks for a warm copy).
        initialCopies: settings.initialCopies ?? 0,
        ...(settings.idleScaleInMs === undefined ? {} : { idleScaleInMs: settings.idleScaleInMs }),
        wakeDelayMs,
        specification: {
          Container: { Image: LOCAL_VISION_MODEL, Environment: { HF_MODEL_ID: model.hubModelId } },
          ComputeResourceRequirements: {
            NumberOfAcceleratorDevicesRequired: model.gpus,
            MinMemoryRequiredInMb: model.minMemoryMb,
          },
        },
      })),
    });
    // The copies warm in the background: the API answers meanwhile (a call before they serve waits
    // for its copy, or is told the model is waking).
    void registered.then(() => logger.info('the local EMD models serve', { endpoint: LOCAL_VLM_ENDPOINT }));
    const real = bedrockMode === 'aws' ? realBedrock(process.env) : undefined;
    const emulated =
      localModels.bedrock === undefined
        ? undefined
        : createAwsClients({
            region: core.config.region,
            endpoints: { bedrock: localModels.bedrock.endpoint },
          });
    const bedrock =
      real?.models ?? (emulated ? new BedrockChatModels(emulated.own(createBedrockRuntime)) : undefined);
    let stopping = false;
    const workflow = new LocalWorkflow<InferenceExecutionInput, PlatformRuntime>({
      ...runnerDefaults,
      machine: 'inference',
      tasks: inferenceLambdas.tasks.inference,
      jobIdOf: inferenceJobId,
      maxConcurrency: 1,
    });
    const part = createInferenceRuntime(
      core,
      {
        models: localInferenceModels(bedrockMode, wakeSeconds),
        deadlineMs: settings.deadlineMs ?? DEADLINE_MS,
        streamDeadlineMs: STREAM_DEADLINE_MS,
        asyncDeadlineMs: ASYNC_DEADLINE_MS,
      },
      { workflow, stopping: () => stopping, ...(bedrock ? { bedrock } : {}) },
    );
    return {
      part,
      workflows: { inference: workflow },
      resumers: [
        {
          kind: 'inference',
          resume: async (job) => {
            // No answer was stored: RunInference calls the model (again, when the job was running).
            await workflow.start({ tenant: job.tenant, jobId: job.id });
            logger.info('resumed an interrupted inference job', { jobId: job.id });
          },
        },
      ],
      async stop() {
        // The calls in flight are cut off (the clients below, the local models after): their jobs
        // stay running and are called again on the next start.
        stopping = true;
        await workflow.shutdown();
        real?.destroy();
        emulated?.destroy();
      },
    };
  },
};
