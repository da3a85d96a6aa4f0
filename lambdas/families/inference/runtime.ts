/**
 * The inference family's part of the runtime (seed 003): the stage's models, the Bedrock and
 * SageMaker adapters behind the gateway's ports, the tenant's usage, the service over them, the
 * inference machine that runs `"async": true` requests, and what its step needs.
 */
import { type RuntimeModel, RuntimeModelList } from '../../../contracts/inference-models.ts';
import { BedrockChatModels } from '../../adapters/bedrock/chat-models.ts';
import { createBedrockRuntime } from '../../adapters/bedrock/client.ts';
import { SageMakerChatModels } from '../../adapters/sagemaker/chat-components.ts';
import { SageMakerComponentStatus } from '../../adapters/sagemaker/component-status.ts';
import { StepFunctionsWorkflow } from '../../adapters/sfn/workflow.ts';
import { ModelCatalogue } from '../../domain/inference/catalogue.ts';
import {
  type InferenceExecutionInput,
  type InferenceWorkflow,
  inferenceJobId,
} from '../../domain/inference/execution.ts';
import type {
  BedrockRuntimeModel,
  ChatModelPort,
  ComponentStatusPort,
  DeployedSageMakerModel,
} from '../../domain/inference/ports.ts';
import {
  ASYNC_DEADLINE_MS,
  DEADLINE_MS,
  InferenceService,
  STREAM_DEADLINE_MS,
} from '../../domain/inference/service.ts';
import type { InferenceTaskDeps } from '../../domain/inference/workflow-tasks.ts';
import { type CoreRuntime, compose, once, type RuntimeBuilder, required } from '../../runtime/core.ts';
import { numberFrom } from '../../runtime/env.ts';
import { logger } from '../../shared/logger.ts';

export interface InferenceConfig {
  /** Every model of the catalogue: where it is served, or why not (contracts/inference-models.ts). */
  models: RuntimeModel[];
  /** A call, its retries included, inside API Gateway's 29 s. */
  deadlineMs: number;
  /** How long a stream may last in all. */
  streamDeadlineMs: number;
  /** An asynchronous job's call, its retries and a model's wake included: below Lambda's 15 minutes. */
  asyncDeadlineMs: number;
  /** The inference machine (statemachines/inference.asl.json): the API function starts it. */
  stateMachineArn?: string;
}

export interface InferenceOverrides {
  /** Locally: Bedrock's emulator, or the real Bedrock with the environment's credentials. */
  bedrock?: ChatModelPort<BedrockRuntimeModel>;
  sagemaker?: ChatModelPort<DeployedSageMakerModel>;
  components?: ComponentStatusPort;
  /** Locally: the inference machine on aws-local-stepfunctions. */
  workflow?: InferenceWorkflow;
  /** Locally: whether the platform is stopping (InferenceTaskDeps `stopping`). */
  stopping?: () => boolean;
}

export interface InferenceRuntime {
  readonly inferenceConfig: InferenceConfig;
  readonly inference: InferenceService;
  /** What the inference workflow's step needs. */
  readonly inferenceTasks: InferenceTaskDeps;
}

export function createInferenceRuntime(
  core: CoreRuntime,
  config: InferenceConfig,
  overrides: InferenceOverrides = {},
): InferenceRuntime {
  const workflow = once(
    () =>
      overrides.workflow ??
      new StepFunctionsWorkflow<InferenceExecutionInput>(core.clients.sfn, {
        stateMachineArn: required(config.stateMachineArn, 'INFERENCE_STATE_MACHINE_ARN'),
        jobIdOf: inferenceJobId,
        maxConcurrency: 1,
      }),
  );
  const inference = once(
    () =>
      new InferenceService({
        catalogue: new ModelCatalogue(config.models),
        bedrock: overrides.bedrock ?? new BedrockChatModels(core.clients.own(createBedrockRuntime)),
        sagemaker: overrides.sagemaker ?? new SageMakerChatModels(core.clients.sageMakerRealtime),
        components: overrides.components ?? new SageMakerComponentStatus(core.clients.sageMaker),
        usage: core.inferenceUsage,
        blobs: core.blobs,
        // Read on use: only a route's `"async": true` starts a job, and only the functions that
        // take one are given the machine.
        jobs: {
          get engine() {
            return core.engine;
          },
          get workflow() {
            return workflow();
          },
        },
        clock: core.clock,
        newId: core.newId,
        deadlineMs: config.deadlineMs,
        streamDeadlineMs: config.streamDeadlineMs,
        asyncDeadlineMs: config.asyncDeadlineMs,
        log: (message, details) => logger.info(message, details),
      }),
  );
  const inferenceTasks = once(
    (): InferenceTaskDeps => ({
      engine: core.engine,
      blobs: core.blobs,
      inference: inference(),
      ...(overrides.stopping ? { stopping: overrides.stopping } : {}),
    }),
  );
  return {
    inferenceConfig: config,
    get inference() {
      return inference();
    },
    get inferenceTasks() {
      return inferenceTasks();
    },
  };
}

export function inferenceConfigFromEnv(env: NodeJS.ProcessEnv): InferenceConfig {
  return {
    models: env.INFERENCE_MODELS ? parseRuntimeModels(env.INFERENCE_MODELS) : [],
    deadlineMs: numberFrom(env, 'INFERENCE_DEADLINE_MS', DEADLINE_MS),
    streamDeadlineMs: numberFrom(env, 'INFERENCE_STREAM_DEADLINE_MS', STREAM_DEADLINE_MS),
    asyncDeadlineMs: numberFrom(env, 'INFERENCE_ASYNC_DEADLINE_MS', ASYNC_DEADLINE_MS),
    ...(env.INFERENCE_STATE_MACHINE_ARN ? { stateMachineArn: env.INFERENCE_STATE_MACHINE_ARN } : {}),
  };
}

/** The stage's models as the stack writes them; a malformed list fails the cold start, saying where. */
export function parseRuntimeModels(json: string): RuntimeModel[] {
  const parsed = RuntimeModelList.safeParse(JSON.parse(json));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `environment variable INFERENCE_MODELS is not a model list: ${issue?.path.join('.')} ${issue?.message}`,
    );
  }
  return parsed.data;
}

/** The inference part, from a function's environment. */
export const inferenceFromEnv = (core: CoreRuntime, env: NodeJS.ProcessEnv): InferenceRuntime =>
  createInferenceRuntime(core, inferenceConfigFromEnv(env));

/** A function's runtime: the core and the inference part. */
export const withInference: RuntimeBuilder<CoreRuntime & InferenceRuntime> = (core, env) =>
  compose(core, inferenceFromEnv(core, env));
