/**
 * Seed 002's training routes: start a run (202), its status with live progress, the list, cancel.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { routes } from '../../../contracts/routes.ts';
import { bind, type RouteBinding } from '../../http/api-handler.ts';
import type { Runtime } from '../../runtime.ts';
import { metrics } from '../../shared/powertools.ts';
import { apiEntry } from '../../shared/runtime-entry.ts';

export function trainingRoutes(runtime: Runtime): RouteBinding[] {
  const training = () => runtime.training;
  return [
    bind(routes.startTraining, async ({ tenant, body }) => {
      const { accepted } = await training().submit(tenant, body);
      metrics.addMetric('TrainingRunsStarted', MetricUnit.Count, 1);
      return accepted;
    }),
    bind(routes.getTrainingStatus, async ({ tenant, params }) =>
      training().present(await training().task(tenant, params.task_id)),
    ),
    bind(routes.listTrainingJobs, async ({ tenant, query }) => {
      const page = await training().list(tenant, query);
      const jobs = await Promise.all(page.items.map((job) => training().present(job)));
      return { jobs, total: jobs.length, ...(page.nextCursor ? { next_cursor: page.nextCursor } : {}) };
    }),
    bind(routes.cancelTraining, async ({ tenant, params }) => {
      const job = await training().cancel(tenant, params.task_id);
      return {
        task_id: job.id,
        status: job.status,
        message: 'Training job cancelled: its training job is being stopped',
      };
    }),
  ];
}

export const handler = apiEntry(trainingRoutes);
