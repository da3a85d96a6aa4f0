import { inferenceFamily } from '../../../contracts/families/inference.ts';
import { inferenceRoutes } from '../../handlers/api/inference.ts';
import { inferenceStreamRoutes } from '../../handlers/api/inference-stream.ts';
import { failJobTask } from '../../handlers/workflow/fail-job.ts';
import { runInferenceTask } from '../../handlers/workflow/run-inference.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import type { LambdaFamily } from '../family.ts';
import type { InferenceRuntime } from './runtime.ts';

/**
 * Seed 003's inference gateway: its immediate routes, its streaming route in a function of its own,
 * and the inference machine's steps (an `"async": true` request's job). A failure RunInference could
 * not record is recorded by generation's FailJob, as the image machine's are.
 */
export const inferenceLambdas = {
  manifest: inferenceFamily,
  routes: { inference: inferenceRoutes },
  streamRoutes: { inferenceStream: inferenceStreamRoutes },
  tasks: {
    inference: {
      RunInferenceFunctionArn: runInferenceTask,
      FailJobFunctionArn: failJobTask,
    },
  },
} satisfies LambdaFamily<CoreRuntime & InferenceRuntime>;
