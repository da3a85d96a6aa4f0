import { defineFamily } from './manifest.ts';

/**
 * Seed 003's inference gateway: Claude 4 and Nova on Bedrock, the EMD models on SageMaker inference
 * components that scale to zero, multi-model fan-out, and streaming. Its answers are immediate, but
 * for a model route's `"async": true`: an `inference` job, which one execution of the inference
 * machine runs (the call, with a deadline of minutes; the answer stored in S3). The stream route is a
 * function of its own because it streams its response (Lambda response streaming behind API
 * Gateway's STREAM transfer mode).
 */
export const inferenceFamily = defineFamily({
  name: 'inference',
  seeds: ['003'],
  routeFamilies: ['inference', 'inferenceStream'],
  jobKinds: ['inference'],
  errorFormat: 'seed003',
  stateMachines: {
    inference: {
      file: 'inference.asl.json',
      // A failure RunInference could not record itself is recorded by generation's FailJob, as the
      // image machine's are: it fails any job with the step's error.
      taskFunctions: ['RunInferenceFunctionArn', 'FailJobFunctionArn'],
      serviceSubstitutions: [],
    },
  },
});
