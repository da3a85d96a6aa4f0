/**
 * The generation family's part of the runtime (seed 000): the batch service and its workflow, and
 * the renderer the RunJob step draws with.
 */
import { randomInt } from 'node:crypto';
import { StepFunctionsWorkflow } from '../../adapters/sfn/workflow.ts';
import { BatchService } from '../../domain/batches/service.ts';
import { inProcessRenderer, type Renderer } from '../../domain/generation/renderer.ts';
import { type BatchExecutionInput, type BatchWorkflow, batchJobId } from '../../domain/ports.ts';
import { type CoreRuntime, compose, once, type RuntimeBuilder, required } from '../../runtime/core.ts';
import { numberFrom } from '../../runtime/env.ts';

export interface GenerationConfig {
  /** The generation batch machine (statemachines/generation-batch.asl.json). */
  stateMachineArn?: string;
  /** Map iterations of a batch that run at once. */
  batchMaxConcurrency: number;
  /** Memory of the job worker, which batch estimates price. */
  workerMemoryMb: number;
  /** Days a result stays in the outputs bucket (the bucket's lifecycle rule deletes it then). */
  resultRetentionDays: number;
}

export interface GenerationOverrides {
  /** Locally: the batch machine on aws-local-stepfunctions. */
  workflow?: BatchWorkflow;
  /** Locally: worker threads instead of the Lambda's own thread. */
  renderer?: Renderer;
}

export interface GenerationRuntime {
  readonly batches: BatchService;
  readonly renderer: Renderer;
}

export function createGenerationRuntime(
  core: CoreRuntime,
  config: GenerationConfig,
  overrides: GenerationOverrides = {},
): GenerationRuntime {
  const workflow = once(
    () =>
      overrides.workflow ??
      new StepFunctionsWorkflow<BatchExecutionInput>(core.clients.sfn, {
        stateMachineArn: required(config.stateMachineArn, 'BATCH_STATE_MACHINE_ARN'),
        jobIdOf: batchJobId,
        maxConcurrency: config.batchMaxConcurrency,
      }),
  );
  const batches = once(
    () =>
      new BatchService({
        engine: core.engine,
        workflow: workflow(),
        blobs: core.blobs,
        clock: core.clock,
        newId: core.newId,
        newSeed: () => randomInt(0, 2 ** 31 - 1),
        resultUrlTtlSeconds: core.config.resultUrlTtlSeconds,
        workerMemoryMb: config.workerMemoryMb,
        resultRetentionDays: config.resultRetentionDays,
        ...(core.capacity ? { capacity: core.capacity } : {}),
      }),
  );
  return {
    renderer: overrides.renderer ?? inProcessRenderer,
    get batches() {
      return batches();
    },
  };
}

export function generationConfigFromEnv(env: NodeJS.ProcessEnv): GenerationConfig {
  return {
    ...(env.BATCH_STATE_MACHINE_ARN ? { stateMachineArn: env.BATCH_STATE_MACHINE_ARN } : {}),
    batchMaxConcurrency: numberFrom(env, 'BATCH_MAX_CONCURRENCY', 8),
    workerMemoryMb: numberFrom(env, 'WORKER_MEMORY_MB', 2048),
    resultRetentionDays: numberFrom(env, 'RESULT_RETENTION_DAYS', 30),
  };
}

/** The generation part, from a function's environment. */
export const generationFromEnv = (core: CoreRuntime, env: NodeJS.ProcessEnv): GenerationRuntime =>
  createGenerationRuntime(core, generationConfigFromEnv(env));

/** A function's runtime: the core and the generation part. */
export const withGeneration: RuntimeBuilder<CoreRuntime & GenerationRuntime> = (core, env) =>
  compose(core, generationFromEnv(core, env));
