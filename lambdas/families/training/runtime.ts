/**
 * The training family's part of the runtime (seed 002): the training service and its workflow, and
 * what the training machine's steps need.
 */
import type { TrainingSettings } from '../../../contracts/training.ts';
import { StepFunctionsWorkflow } from '../../adapters/sfn/workflow.ts';
import {
  type TrainingExecutionInput,
  type TrainingWorkflow,
  trainingJobId,
} from '../../domain/training/execution.ts';
import { TrainingService, type TrainingServiceDeps } from '../../domain/training/service.ts';
import { parseTrainingSettings } from '../../domain/training/settings.ts';
import type { TrainingTaskDeps } from '../../domain/training/workflow-tasks.ts';
import { type CoreRuntime, compose, once, type RuntimeBuilder, required } from '../../runtime/core.ts';

export interface TrainingConfig {
  /** The training machine (statemachines/training.asl.json). */
  stateMachineArn?: string;
  /** The stage's training instance, limits and resumes (`TRAINING_SETTINGS`). */
  settings?: TrainingSettings;
  /** The KMS key of training volumes (instance types without local storage). */
  volumeKeyArn?: string;
}

export interface TrainingOverrides {
  /** Locally: the training machine on aws-local-stepfunctions. */
  workflow?: TrainingWorkflow;
  /** Locally: whether the trainer can run on this machine (python3 with torch). */
  trainerAvailability?: TrainingServiceDeps['trainerAvailability'];
}

export interface TrainingRuntime {
  readonly training: TrainingService;
  /** What the training workflow's steps need. */
  readonly trainingTasks: TrainingTaskDeps;
}

export function createTrainingRuntime(
  core: CoreRuntime,
  config: TrainingConfig,
  overrides: TrainingOverrides = {},
): TrainingRuntime {
  const workflow = once(
    () =>
      overrides.workflow ??
      new StepFunctionsWorkflow<TrainingExecutionInput>(core.clients.sfn, {
        stateMachineArn: required(config.stateMachineArn, 'TRAINING_STATE_MACHINE_ARN'),
        jobIdOf: trainingJobId,
        maxConcurrency: 1,
      }),
  );
  const training = once(
    () =>
      new TrainingService({
        engine: core.engine,
        workflow: workflow(),
        blobs: core.blobs,
        clock: core.clock,
        newId: core.newId,
        settings: required(config.settings, 'TRAINING_SETTINGS'),
        resultUrlTtlSeconds: core.config.resultUrlTtlSeconds,
        ...(overrides.trainerAvailability ? { trainerAvailability: overrides.trainerAvailability } : {}),
        ...(core.capacity ? { capacity: core.capacity } : {}),
      }),
  );
  const trainingTasks = once(
    (): TrainingTaskDeps => ({
      engine: core.engine,
      blobs: core.blobs,
      settings: required(config.settings, 'TRAINING_SETTINGS'),
      ...(config.volumeKeyArn ? { volumeKeyArn: config.volumeKeyArn } : {}),
    }),
  );
  return {
    get training() {
      return training();
    },
    get trainingTasks() {
      return trainingTasks();
    },
  };
}

export function trainingConfigFromEnv(env: NodeJS.ProcessEnv): TrainingConfig {
  return {
    ...(env.TRAINING_STATE_MACHINE_ARN ? { stateMachineArn: env.TRAINING_STATE_MACHINE_ARN } : {}),
    ...(env.TRAINING_SETTINGS ? { settings: parseTrainingSettings(env.TRAINING_SETTINGS) } : {}),
    ...(env.TRAINING_VOLUME_KEY_ARN ? { volumeKeyArn: env.TRAINING_VOLUME_KEY_ARN } : {}),
  };
}

/** The training part, from a function's environment. */
export const trainingFromEnv = (core: CoreRuntime, env: NodeJS.ProcessEnv): TrainingRuntime =>
  createTrainingRuntime(core, trainingConfigFromEnv(env));

/** A function's runtime: the core and the training part. */
export const withTraining: RuntimeBuilder<CoreRuntime & TrainingRuntime> = (core, env) =>
  compose(core, trainingFromEnv(core, env));
