import { trainingFamily } from '../../../contracts/families/training.ts';
import { trainingRoutes } from '../../handlers/api/training.ts';
import { prepareTrainingTask } from '../../handlers/workflow/prepare-training.ts';
import { recordTrainingTask } from '../../handlers/workflow/record-training.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import type { LambdaFamily } from '../family.ts';
import type { TrainingRuntime } from './runtime.ts';

/** Seed 002's training routes and the training machine's steps. */
export const trainingLambdas = {
  manifest: trainingFamily,
  routes: { training: trainingRoutes },
  tasks: {
    training: {
      PrepareTrainingFunctionArn: prepareTrainingTask,
      RecordTrainingFunctionArn: recordTrainingTask,
    },
  },
} satisfies LambdaFamily<CoreRuntime & TrainingRuntime>;
