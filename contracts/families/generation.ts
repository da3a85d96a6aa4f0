import { defineFamily } from './manifest.ts';

/**
 * Seed 000: Infinity's procedural generators, their jobs and batches. A batch is the job that owns
 * its items; one execution of the generation batch machine runs it.
 */
export const generationFamily = defineFamily({
  name: 'generation',
  seeds: ['000'],
  routeFamilies: ['generators', 'batches'],
  jobKinds: ['generation', 'batch'],
  errorFormat: 'envelope',
  stateMachines: {
    generationBatch: {
      file: 'generation-batch.asl.json',
      taskFunctions: [
        'StartBatchFunctionArn',
        'RunJobFunctionArn',
        'FailJobFunctionArn',
        'FinishBatchFunctionArn',
      ],
      serviceSubstitutions: [],
    },
  },
});
