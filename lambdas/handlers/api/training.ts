/**
 * Seed 002's training routes: start a run (202), its status with live progress, the list, cancel.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { routes } from '../../../contracts/routes.ts';
import { cancelledTraining, trainingTask, trainingTasks } from '../../domain/training/present.ts';
import { type TrainingRuntime, withTraining } from '../../families/training/runtime.ts';
import { bind, type RouteBinding } from '../../http/api-handler.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import { metrics } from '../../shared/powertools.ts';
import { apiEntry } from '../../shared/runtime-entry.ts';

export function trainingRoutes(runtime: CoreRuntime & TrainingRuntime): RouteBinding[] {
  const training = () => runtime.training;
  return [
    bind(routes.startTraining, async ({ tenant, body }) => {
      const { accepted } = await training().submit(tenant, body);
      metrics.addMetric('TrainingRunsStarted', MetricUnit.Count, 1);
      return accepted;
    }),
    bind(routes.getTrainingStatus, async ({ tenant, params }) =>
      trainingTask(training(), tenant, params.task_id),
    ),
    bind(routes.listTrainingJobs, async ({ tenant, query }) => trainingTasks(training(), tenant, query)),
    bind(routes.cancelTraining, async ({ tenant, params }) =>
      cancelledTraining(training(), tenant, params.task_id),
    ),
  ];
}

export const handler = apiEntry(trainingRoutes, withTraining);
