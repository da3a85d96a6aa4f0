/**
 * The avatars family's part of the runtime (seed 004): the avatars service and its workflow, and what
 * the avatars machine's steps need, the engine included.
 */
import { StepFunctionsTaskCallbacks } from '../../adapters/sfn/task-callbacks.ts';
import { StepFunctionsWorkflow } from '../../adapters/sfn/workflow.ts';
import type { AvatarEnginePort } from '../../domain/avatars/compute.ts';
import {
  type AvatarComputeSettings,
  type AvatarExecutionInput,
  type AvatarWorkflow,
  avatarJobId,
  defaultComputeSettings,
} from '../../domain/avatars/execution.ts';
import { AvatarsService } from '../../domain/avatars/service.ts';
import type { AvatarTaskDeps } from '../../domain/avatars/workflow-tasks.ts';
import type { TaskCallbacks } from '../../domain/ports.ts';
import { type CoreRuntime, compose, once, type RuntimeBuilder, required } from '../../runtime/core.ts';

/** The largest table a presigned upload is meant for (S3's single PUT takes 5 GB). */
export const MAX_AVATAR_UPLOAD_BYTES = 5 * 1024 ** 3;

export interface AvatarsConfig {
  /** The avatars machine (statemachines/avatars.asl.json). */
  stateMachineArn?: string;
  compute: AvatarComputeSettings;
}

export interface AvatarsOverrides {
  /** Locally: the avatars machine on aws-local-stepfunctions. */
  workflow?: AvatarWorkflow;
  /** Locally: the task tokens the local runner's waiting steps listen on. */
  callbacks?: TaskCallbacks;
  /**
   * The engine the Run step calls: in its own process (the Run functions' handler passes it), or on
   * worker threads (locally). The other functions are built without it, so their bundles leave it out.
   */
  engine?: AvatarEnginePort;
  stopping?: () => boolean;
}

export interface AvatarsRuntime {
  readonly avatars: AvatarsService;
  /** What the avatars machine's steps need. */
  readonly avatarTasks: AvatarTaskDeps;
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
  const avatarTasks = once(
    (): AvatarTaskDeps => ({
      engine: core.engine,
      blobs: core.blobs,
      callbacks: overrides.callbacks ?? new StepFunctionsTaskCallbacks(core.clients.sfn),
      ...(overrides.engine ? { compute: overrides.engine } : {}),
      ...(overrides.stopping ? { stopping: overrides.stopping } : {}),
    }),
  );
  return {
    get avatars() {
      return avatars();
    },
    get avatarTasks() {
      return avatarTasks();
    },
  };
}

export function avatarsConfigFromEnv(env: NodeJS.ProcessEnv): AvatarsConfig {
  return {
    ...(env.AVATARS_STATE_MACHINE_ARN ? { stateMachineArn: env.AVATARS_STATE_MACHINE_ARN } : {}),
    compute: defaultComputeSettings('lambda'),
  };
}

/** The avatars part, from a function's environment. */
export const avatarsFromEnv = (core: CoreRuntime, env: NodeJS.ProcessEnv): AvatarsRuntime =>
  createAvatarsRuntime(core, avatarsConfigFromEnv(env));

/** A function's runtime: the core and the avatars part. */
export const withAvatars: RuntimeBuilder<CoreRuntime & AvatarsRuntime> = (core, env) =>
  compose(core, avatarsFromEnv(core, env));
