import { imagesFamily } from '../../../contracts/families/images.ts';
import { imageRoutes } from '../../handlers/api/images.ts';
import { failJobTask } from '../../handlers/workflow/fail-job.ts';
import { finishBatchTask } from '../../handlers/workflow/finish-batch.ts';
import { invokeModelTask } from '../../handlers/workflow/invoke-model.ts';
import { startBatchTask } from '../../handlers/workflow/start-batch.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import type { LambdaFamily } from '../family.ts';
import type { ImagesRuntime } from './runtime.ts';

/**
 * Seed 001's text-to-image routes and the image machine. Its batch steps are generation's own
 * functions (a batch is a batch, whichever machine runs it); InvokeModel is its own.
 */
export const imagesLambdas = {
  manifest: imagesFamily,
  routes: { images: imageRoutes },
  tasks: {
    imageGeneration: {
      StartBatchFunctionArn: startBatchTask,
      InvokeModelFunctionArn: invokeModelTask,
      FailJobFunctionArn: failJobTask,
      FinishBatchFunctionArn: finishBatchTask,
    },
  },
} satisfies LambdaFamily<CoreRuntime & ImagesRuntime>;
