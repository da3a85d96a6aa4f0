import { generationFamily } from '../../../contracts/families/generation.ts';
import { batchRoutes } from '../../handlers/api/batches.ts';
import { generatorRoutes } from '../../handlers/api/generators.ts';
import { failJobTask } from '../../handlers/workflow/fail-job.ts';
import { finishBatchTask } from '../../handlers/workflow/finish-batch.ts';
import { runJobTask } from '../../handlers/workflow/run-job.ts';
import { startBatchTask } from '../../handlers/workflow/start-batch.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import type { LambdaFamily } from '../family.ts';
import type { ImagesRuntime } from '../images/runtime.ts';
import type { GenerationRuntime } from './runtime.ts';

/**
 * Seed 000's generators and batches. The catalogue lists the stage's models and a batch may run on
 * them (batches/submission.ts), so its routes use the images part too.
 */
export const generationLambdas = {
  manifest: generationFamily,
  routes: {
    generators: (runtime) => generatorRoutes(runtime.imageModels),
    batches: batchRoutes,
  },
  tasks: {
    generationBatch: {
      StartBatchFunctionArn: startBatchTask,
      RunJobFunctionArn: runJobTask,
      FailJobFunctionArn: failJobTask,
      FinishBatchFunctionArn: finishBatchTask,
    },
  },
} satisfies LambdaFamily<CoreRuntime & GenerationRuntime & ImagesRuntime>;
