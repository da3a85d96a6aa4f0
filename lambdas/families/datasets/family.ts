import { datasetsFamily } from '../../../contracts/families/datasets.ts';
import { exportRoutes } from '../../handlers/api/exports.ts';
import { profileRoutes } from '../../handlers/api/profiles.ts';
import { validationRoutes } from '../../handlers/api/validation.ts';
import { failJobTask } from '../../handlers/workflow/fail-job.ts';
import { runDatasetJobTask } from '../../handlers/workflow/run-dataset-job.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import type { LambdaFamily } from '../family.ts';
import type { DatasetsRuntime } from './runtime.ts';

/**
 * Seed 001's other half: validation, profiles and exports, one function each, and the datasets
 * machine's step. A failure RunDatasetJob could not record is recorded by generation's FailJob.
 */
export const datasetsLambdas = {
  manifest: datasetsFamily,
  routes: { validation: validationRoutes, profiles: profileRoutes, exports: exportRoutes },
  tasks: {
    datasets: {
      RunDatasetJobFunctionArn: runDatasetJobTask,
      FailJobFunctionArn: failJobTask,
    },
  },
} satisfies LambdaFamily<CoreRuntime & DatasetsRuntime>;
