import { defineFamily } from './manifest.ts';

/**
 * Seed 001: text-to-image on SageMaker asynchronous endpoints that scale to zero. An image batch is
 * a `batch` job (generation's kind) whose items are `image` jobs; the image machine runs it, each
 * InvokeModel step waiting on a task token that the endpoints' notifications send back.
 */
export const imagesFamily = defineFamily({
  name: 'images',
  seeds: ['001'],
  routeFamilies: ['images'],
  jobKinds: ['image'],
  errorFormat: 'envelope',
  stateMachines: {
    imageGeneration: {
      file: 'image-generation.asl.json',
      taskFunctions: [
        'StartBatchFunctionArn',
        'InvokeModelFunctionArn',
        'FailJobFunctionArn',
        'FinishBatchFunctionArn',
      ],
      serviceSubstitutions: [],
    },
  },
});
