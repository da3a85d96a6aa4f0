/**
 * What the avatars machine's steps run on: the task dependencies alone, without the avatars
 * service (and so without the YAML parser and the route schemas), so that the Decide, AwaitParents
 * and Release functions stay small. Run adds the engine (lambdas/handlers/workflow/run-avatar-job.ts).
 */
import { StepFunctionsTaskCallbacks } from '../../adapters/sfn/task-callbacks.ts';
import type { AvatarEnginePort } from '../../domain/avatars/compute.ts';
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
}

export interface AvatarStepsRuntime {
  /** What the avatars machine's steps need. */
  readonly avatarTasks: AvatarTaskDeps;
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
  return {
    get avatarTasks() {
      return avatarTasks();
    },
  };
}

/** A step function's runtime: the core and the steps' dependencies. */
export const withAvatarSteps: RuntimeBuilder<CoreRuntime & AvatarStepsRuntime> = (core) =>
  compose(core, createAvatarStepsRuntime(core));
