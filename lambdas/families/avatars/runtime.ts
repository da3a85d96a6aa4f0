/**
 * The avatars family's part of the runtime (seed 004): the avatars service and its workflow, and what
 * the avatars machine's steps need, the engine included.
 */
import { StepFunctionsWorkflow } from '../../adapters/sfn/workflow.ts';
import {
  type AvatarComputeSettings,
  type AvatarExecutionInput,
  type AvatarWorkflow,
  avatarJobId,
  defaultComputeSettings,
  processingSettingsFor,
} from '../../domain/avatars/execution.ts';
import { AvatarsService } from '../../domain/avatars/service.ts';
import { type CoreRuntime, compose, once, type RuntimeBuilder, required } from '../../runtime/core.ts';
import {
  type AvatarStepsOverrides,
  type AvatarStepsRuntime,
  createAvatarStepsRuntime,
  processingStepsConfigFromEnv,
} from './steps.ts';

/** The largest table a presigned upload is meant for (S3's single PUT takes 5 GB). */
export const MAX_AVATAR_UPLOAD_BYTES = 5 * 1024 ** 3;

export interface AvatarsConfig {
  /** The avatars machine (statemachines/avatars.asl.json). */
  stateMachineArn?: string;
  compute: AvatarComputeSettings;
}

export type AvatarsOverrides = AvatarStepsOverrides & {
  /** Locally: the avatars machine on aws-local-stepfunctions. */
  workflow?: AvatarWorkflow;
};

export interface AvatarsRuntime extends AvatarStepsRuntime {
  readonly avatars: AvatarsService;
}

export function createAvatarsRuntime(
  core: CoreRuntime,
  config: AvatarsConfig,
  overrides: AvatarsOverrides = {},
): AvatarsRuntime {
  const workflow = once(
    () =>
      overrides.workflow ??
      new StepFunctionsWorkflow<AvatarExecutionInput>(core.clients.sfn, {
        stateMachineArn: required(config.stateMachineArn, 'AVATARS_STATE_MACHINE_ARN'),
        jobIdOf: avatarJobId,
        maxConcurrency: 1,
      }),
  );
  const avatars = once(
    () =>
      new AvatarsService({
        engine: core.engine,
        workflow: workflow(),
        blobs: core.blobs,
        clock: core.clock,
        newId: core.newId,
        compute: config.compute,
        urlTtlSeconds: core.config.resultUrlTtlSeconds,
        maxUploadBytes: MAX_AVATAR_UPLOAD_BYTES,
      }),
  );
  const steps = createAvatarStepsRuntime(core, overrides);
  return {
    get avatars() {
      return avatars();
    },
    get avatarTasks() {
      return steps.avatarTasks;
    },
    get avatarProcessing() {
      return steps.avatarProcessing;
    },
  };
}

/**
 * The avatars settings from a function's environment: `AVATAR_PROCESSING_INSTANCE_TYPE` is set only
 * in stages with an avatarizer image (lib/families/avatars.ts), whose larger tables run as
 * SageMaker Processing jobs.
 */
export function avatarsConfigFromEnv(env: NodeJS.ProcessEnv): AvatarsConfig {
  const instanceType = env.AVATAR_PROCESSING_INSTANCE_TYPE;
  const { processingMaxRuntimeSeconds } = processingStepsConfigFromEnv(env);
  return {
    ...(env.AVATARS_STATE_MACHINE_ARN ? { stateMachineArn: env.AVATARS_STATE_MACHINE_ARN } : {}),
    compute: defaultComputeSettings(
      'lambda',
      instanceType ? processingSettingsFor(instanceType, processingMaxRuntimeSeconds) : undefined,
    ),
  };
}

/** The avatars part, from a function's environment. */
export const avatarsFromEnv = (core: CoreRuntime, env: NodeJS.ProcessEnv): AvatarsRuntime =>
  createAvatarsRuntime(core, avatarsConfigFromEnv(env));

/** A function's runtime: the core and the avatars part. */
export const withAvatars: RuntimeBuilder<CoreRuntime & AvatarsRuntime> = (core, env) =>
  compose(core, avatarsFromEnv(core, env));
