/**
 * Seed 001 on the local platform: the `shapes` container on a local asynchronous endpoint of the
 * emulated SageMaker, the image machine whose InvokeModel steps wait on local task tokens, and the
 * endpoint's notifications delivered as SNS would deliver them.
 */
import {
  DEFAULT_INSTANCE_PRICES_USD_PER_HOUR,
  type DeployedModel,
  deployedModels,
  ImageGenerationConfigSchema,
} from '../../../contracts/models.ts';
import { type BatchExecutionInput, batchJobId } from '../../domain/ports.ts';
import { imagesLambdas } from '../../families/images/family.ts';
import { createImagesRuntime, type ImagesRuntime } from '../../families/images/runtime.ts';
import { endpointNotificationsTask } from '../../handlers/endpoint-notifications.ts';
import { logger } from '../../shared/logger.ts';
import { LocalWorkflow } from '../stepfunctions/runner.ts';
import { LocalTaskTokens } from '../stepfunctions/task-tokens.ts';
import { batchResumer, type LocalFamily } from './family.ts';
import type { PlatformRuntime } from './index.ts';

/**
 * The models the local platform serves: the `shapes` container (containers/shapes-endpoint) on a
 * local asynchronous endpoint. The stage's GPU models are listed too, unable to serve here.
 */
const LOCAL_ENDPOINT_MODELS: readonly DeployedModel[] = [
  {
    name: 'shapes-endpoint',
    modelId: 'synthforge/shapes',
    description:
      'The procedural shapes generator as a SageMaker-compatible container: words of the prompt pick shape classes and palette; the seed fixes the scene.',
    endpointName: 'synthforge-local-shapes',
    instanceType: 'ml.m5.large',
    usdPerHour: DEFAULT_INSTANCE_PRICES_USD_PER_HOUR['ml.m5.large'] ?? 0.115,
    coldStartSeconds: 5,
    secondsPerImage: 0.5,
    invocationTimeoutSeconds: 120,
    defaultSteps: 20,
    available: true,
  },
];

function localImageModels(): DeployedModel[] {
  const stageModels = deployedModels('local', ImageGenerationConfigSchema.parse({})).map((model) => ({
    ...model,
    available: false,
    unavailableReason:
      'GPU models run on SageMaker endpoints of a deployed stack (npm run deploy); the local platform serves only synthforge/shapes',
  }));
  return [...LOCAL_ENDPOINT_MODELS, ...stageModels];
}

export const localImages: LocalFamily<ImagesRuntime, PlatformRuntime> = {
  lambdas: imagesLambdas,
  async start({ options, emulators, sageMaker, endpointNotifications, core, runnerDefaults, runtime }) {
    for (const model of LOCAL_ENDPOINT_MODELS) {
      const staging = `s3://${emulators.bucketName}/_endpoints/${model.endpointName}`;
      sageMaker.register({
        name: model.endpointName,
        s3OutputPath: `${staging}/output`,
        s3FailurePath: `${staging}/failures`,
        idleShutdownMs: options.endpointIdleMs ?? 60_000,
        ...(options.endpointColdStartDelayMs === undefined
          ? {}
          : { coldStartDelayMs: options.endpointColdStartDelayMs }),
      });
    }
    const leftovers = await sageMaker.removeLeftovers();
    if (leftovers > 0)
      logger.info('removed endpoint responses the last run left staged', { objects: leftovers });
    const { batchMaxConcurrency } = options;
    const tokens = new LocalTaskTokens();
    const workflow = new LocalWorkflow<BatchExecutionInput, PlatformRuntime>({
      ...runnerDefaults,
      machine: 'imageGeneration',
      tasks: imagesLambdas.tasks.imageGeneration,
      jobIdOf: batchJobId,
      maxConcurrency: batchMaxConcurrency,
      ...(options.heartbeatScale === undefined ? {} : { heartbeatScale: options.heartbeatScale }),
      tokens,
    });
    endpointNotifications.subscribe((event) => endpointNotificationsTask(runtime(), event));
    const part = createImagesRuntime(
      core,
      {
        batchMaxConcurrency,
        models: localImageModels(),
        ...(LOCAL_ENDPOINT_MODELS[0] ? { defaultModelId: LOCAL_ENDPOINT_MODELS[0].modelId } : {}),
        syncWaitSeconds: options.imageSyncWaitSeconds ?? 20,
        requestTtlSeconds: 3600,
        ...(options.datasets?.requirePrivacyValidation ? { requirePrivacyValidation: true } : {}),
      },
      { workflow, callbacks: tokens },
    );
    return {
      part,
      workflows: { imageGeneration: workflow },
      resumers: [batchResumer(workflow, imagesLambdas.manifest)],
      async stop() {
        const stopped = workflow.shutdown();
        // Steps waiting on an endpoint end now; their batches resume on the next start.
        tokens.abandonAll();
        await stopped;
      },
    };
  },
};
