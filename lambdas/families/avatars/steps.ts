/**
 * What the avatars machine's steps run on: the task dependencies alone, without the avatars
 * service (and so without the YAML parser and the route schemas), so that the Decide, AwaitParents
 * and Release functions stay small. Run adds the engine (lambdas/handlers/workflow/run-avatar-job.ts);
 * PrepareProcessing and RecordProcessing run none (the avatarizer container does).
 */
import { StepFunctionsTaskCallbacks } from '../../adapters/sfn/task-callbacks.ts';
import type { AvatarEnginePort } from '../../domain/avatars/compute.ts';
import { DEFAULT_PROCESSING_MAX_RUNTIME_SECONDS } from '../../domain/avatars/execution.ts';
import type { ProcessingDeps } from '../../domain/avatars/processing.ts';
import type { AvatarTaskDeps } from '../../domain/avatars/workflow-tasks.ts';
import type { TaskCallbacks } from '../../domain/ports.ts';
import { type CoreRuntime, compose, once, type RuntimeBuilder } from '../../runtime/core.ts';

export interface AvatarStepsOverrides {
  /** Locally: the task tokens the local runner's waiting steps listen on. */
  callbacks?: TaskCallbacks;
  /**
   * The engine the Run step calls: in its own process (the Run functions' handler passes it), or on
   * worker threads (locally). The other functions are built without it, so their bundles leave it out.
   */
  engine?: AvatarEnginePort;
  /** Locally: true once the platform is stopping. */
  stopping?: () => boolean;
  /** A processing job's StoppingCondition (default: DEFAULT_PROCESSING_MAX_RUNTIME_SECONDS). */
  processingMaxRuntimeSeconds?: number;
}

export interface AvatarStepsRuntime {
  /** What the avatars machine's steps need. */
  readonly avatarTasks: AvatarTaskDeps;
  /** What PrepareProcessing and RecordProcessing need besides. */
  readonly avatarProcessing: ProcessingDeps;
}

export function createAvatarStepsRuntime(
  core: CoreRuntime,
  overrides: AvatarStepsOverrides = {},
): AvatarStepsRuntime {
  const avatarTasks = once(
    (): AvatarTaskDeps => ({
      engine: core.engine,
      blobs: core.blobs,
      callbacks: overrides.callbacks ?? new StepFunctionsTaskCallbacks(core.clients.sfn),
      ...(overrides.engine ? { compute: overrides.engine } : {}),
      ...(overrides.stopping ? { stopping: overrides.stopping } : {}),
    }),
  );
  const avatarProcessing = once(
    (): ProcessingDeps => ({
      ...avatarTasks(),
      blobs: core.blobs,
      maxRuntimeSeconds: overrides.processingMaxRuntimeSeconds ?? DEFAULT_PROCESSING_MAX_RUNTIME_SECONDS,
    }),
  );
  return {
    get avatarTasks() {
      return avatarTasks();
    },
    get avatarProcessing() {
      return avatarProcessing();
    },
  };
}

/** A step function's runtime: the core and the steps' dependencies. */
export const withAvatarSteps: RuntimeBuilder<CoreRuntime & AvatarStepsRuntime> = (core, env) =>
  compose(core, createAvatarStepsRuntime(core, processingStepsConfigFromEnv(env)));

/** The processing steps' settings from a function's environment (lib/families/avatars.ts sets them). */
export function processingStepsConfigFromEnv(env: NodeJS.ProcessEnv): AvatarStepsOverrides {
  const seconds = Number(env.AVATAR_PROCESSING_MAX_RUNTIME_SECONDS);
  return Number.isInteger(seconds) && seconds > 0 ? { processingMaxRuntimeSeconds: seconds } : {};
}
