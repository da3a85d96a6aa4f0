/**
 * The images family's part of the runtime (seed 001): the stage's models, the image service and
 * its workflow, and what the image machine's steps and the endpoints' notifications need.
 */
import { randomInt } from 'node:crypto';
import type { DeployedModel } from '../../../contracts/models.ts';
import { DynamoColdStartStore } from '../../adapters/dynamo/cold-start-store.ts';
import { SageMakerModelEndpoints } from '../../adapters/sagemaker/model-endpoints.ts';
import { StepFunctionsTaskCallbacks } from '../../adapters/sfn/task-callbacks.ts';
import { StepFunctionsWorkflow } from '../../adapters/sfn/workflow.ts';
import { ImageModels, parseDeployedModels } from '../../domain/images/models.ts';
import { ImageService } from '../../domain/images/service.ts';
import type { ImageTaskDeps } from '../../domain/images/workflow-tasks.ts';
import {
  type BatchExecutionInput,
  type BatchWorkflow,
  batchJobId,
  type TaskCallbacks,
} from '../../domain/ports.ts';
import { type CoreRuntime, compose, once, type RuntimeBuilder, required } from '../../runtime/core.ts';
import { numberFrom } from '../../runtime/env.ts';

export interface ImagesConfig {
  /** The image machine (statemachines/image-generation.asl.json). */
  stateMachineArn?: string;
  /** Map iterations of an image batch that run at once. */
  batchMaxConcurrency: number;
  models: DeployedModel[];
  defaultModelId?: string;
  /** `POST /generate` waits this long before answering 202. */
  syncWaitSeconds: number;
  /** The longest a queued request waits for an instance before SageMaker drops it (`RequestTTLSeconds`). */
  requestTtlSeconds: number;
  /** The stage's privacy gate: a batch's images are linked once it passed a privacy validation. */
  requirePrivacyValidation?: boolean;
}

export interface ImagesOverrides {
  /** Locally: the image machine on aws-local-stepfunctions. */
  workflow?: BatchWorkflow;
  /** Locally: the task tokens the local runner's waiting steps listen on. */
  callbacks?: TaskCallbacks;
}

export interface ImagesRuntime {
  readonly imagesConfig: ImagesConfig;
  /** The stage's models: the generators that run on endpoints. */
  readonly imageModels: ImageModels;
  readonly images: ImageService;
  /** What the image workflow's steps and the endpoint notifications need. */
  readonly imageTasks: ImageTaskDeps;
}

export function createImagesRuntime(
  core: CoreRuntime,
  config: ImagesConfig,
  overrides: ImagesOverrides = {},
): ImagesRuntime {
  const models = once(() => new ImageModels(config.models, config.defaultModelId));
  const coldStarts = once(
    () =>
      new DynamoColdStartStore(core.clients.dynamo, {
        tableName: required(core.config.stateTable, 'STATE_TABLE'),
      }),
  );
  const endpoints = once(
    () =>
      new SageMakerModelEndpoints(core.clients.sageMakerRuntime, core.clients.sageMaker, {
        bucket: required(core.config.bucket, 'OUTPUTS_BUCKET'),
      }),
  );
  const workflow = once(
    () =>
      overrides.workflow ??
      new StepFunctionsWorkflow<BatchExecutionInput>(core.clients.sfn, {
        stateMachineArn: required(config.stateMachineArn, 'IMAGE_STATE_MACHINE_ARN'),
        jobIdOf: batchJobId,
        maxConcurrency: config.batchMaxConcurrency,
      }),
  );
  const images = once(
    () =>
      new ImageService({
        engine: core.engine,
        workflow: workflow(),
        blobs: core.blobs,
        endpoints: endpoints(),
        models: models(),
        coldStarts: coldStarts(),
        clock: core.clock,
        newId: core.newId,
        newSeed: () => randomInt(0, 2 ** 32),
        resultUrlTtlSeconds: core.config.resultUrlTtlSeconds,
        ...(core.capacity ? { capacity: core.capacity } : {}),
        ...(config.requirePrivacyValidation ? { requirePrivacyValidation: true } : {}),
      }),
  );
  const imageTasks = once(
    (): ImageTaskDeps => ({
      engine: core.engine,
      blobs: core.blobs,
      endpoints: endpoints(),
      callbacks: overrides.callbacks ?? new StepFunctionsTaskCallbacks(core.clients.sfn),
      models: models(),
      coldStarts: coldStarts(),
      clock: core.clock,
      requestTtlSeconds: config.requestTtlSeconds,
      report: core.report,
    }),
  );
  return {
    imagesConfig: config,
    get imageModels() {
      return models();
    },
    get images() {
      return images();
    },
    get imageTasks() {
      return imageTasks();
    },
  };
}

export function imagesConfigFromEnv(env: NodeJS.ProcessEnv): ImagesConfig {
  return {
    ...(env.IMAGE_STATE_MACHINE_ARN ? { stateMachineArn: env.IMAGE_STATE_MACHINE_ARN } : {}),
    batchMaxConcurrency: numberFrom(env, 'BATCH_MAX_CONCURRENCY', 8),
    models: env.IMAGE_MODELS ? parseDeployedModels(env.IMAGE_MODELS) : [],
    ...(env.IMAGE_DEFAULT_MODEL_ID ? { defaultModelId: env.IMAGE_DEFAULT_MODEL_ID } : {}),
    syncWaitSeconds: numberFrom(env, 'IMAGE_SYNC_WAIT_SECONDS', 20),
    requestTtlSeconds: numberFrom(env, 'IMAGE_REQUEST_TTL_SECONDS', 3600),
    ...(env.DATASETS_REQUIRE_PRIVACY_VALIDATION === 'true' ? { requirePrivacyValidation: true } : {}),
  };
}

/** The images part, from a function's environment. */
export const imagesFromEnv = (core: CoreRuntime, env: NodeJS.ProcessEnv): ImagesRuntime =>
  createImagesRuntime(core, imagesConfigFromEnv(env));

/** A function's runtime: the core and the images part. */
export const withImages: RuntimeBuilder<CoreRuntime & ImagesRuntime> = (core, env) =>
  compose(core, imagesFromEnv(core, env));
