/** Seed 000 on the local platform: the generation batch machine, rendering on worker threads. */

import { type BatchExecutionInput, batchJobId } from '../../domain/ports.ts';
import { generationLambdas } from '../../families/generation/family.ts';
import { createGenerationRuntime, type GenerationRuntime } from '../../families/generation/runtime.ts';
import { LocalWorkflow } from '../stepfunctions/runner.ts';
import { WorkerRenderer } from '../worker-renderer.ts';
import { batchResumer, type LocalFamily } from './family.ts';
import type { PlatformRuntime } from './index.ts';

export const localGeneration: LocalFamily<GenerationRuntime, PlatformRuntime> = {
  lambdas: generationLambdas,
  async start({ options, core, runnerDefaults }) {
    const { batchMaxConcurrency } = options;
    const workflow = new LocalWorkflow<BatchExecutionInput, PlatformRuntime>({
      ...runnerDefaults,
      machine: 'generationBatch',
      tasks: generationLambdas.tasks.generationBatch,
      jobIdOf: batchJobId,
      maxConcurrency: batchMaxConcurrency,
    });
    const renderer = new WorkerRenderer();
    const part = createGenerationRuntime(
      core,
      {
        batchMaxConcurrency,
        workerMemoryMb: 2048,
        // Local results are never deleted: s3rver has no lifecycle rules.
        resultRetentionDays: 36_500,
      },
      { workflow, renderer },
    );
    return {
      part,
      workflows: { generationBatch: workflow },
      resumers: [
        // An image batch runs on the image machine (lambdas/local/families/images.ts).
        batchResumer(workflow, generationLambdas.manifest),
      ],
      async stop() {
        // Running executions stop here; their batches resume on the next start with the same data dir.
        await workflow.shutdown();
        await renderer.close();
      },
    };
  },
};
