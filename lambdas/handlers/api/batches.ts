import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { BatchRequest } from '../../../contracts/batches.ts';
import { routes } from '../../../contracts/routes.ts';
import { presentBatchListItem } from '../../domain/batches/service.ts';
import { BatchSubmission } from '../../domain/batches/submission.ts';
import { presentJob } from '../../domain/jobs/present.ts';
import { bind, type RouteBinding, type RouteRequest } from '../../http/api-handler.ts';
import type { Runtime } from '../../runtime.ts';
import { metrics } from '../../shared/powertools.ts';
import { apiEntry } from '../../shared/runtime-entry.ts';
import { infinityBatchRoutes } from './infinity.ts';

export function batchRoutes(runtime: Runtime): RouteBinding[] {
  const { batches, engine } = runtime;
  // Built on first use: a function that only lists batches never builds the image service.
  let submission: BatchSubmission | undefined;
  const submissions = () => {
    submission ??= new BatchSubmission(batches, runtime.images);
    return submission;
  };

  /** One job is a batch of one, as in Infinity. */
  const submitOne =
    (preview: boolean) =>
    async ({ tenant, body }: RouteRequest<typeof routes.submitStandardJob>) => {
      const batch = await submitted(tenant, {
        ...(body.batch_name ? { name: body.batch_name } : {}),
        job_runs: [{ name: body.name, is_preview: preview, param_values: body.param_values }],
      });
      const jobId = batch.job_runs[0]?.id ?? '';
      return { batch_id: batch.id, job: presentJob(await engine.get(tenant, jobId)) };
    };

  const submitted = async (tenant: string, request: BatchRequest) => {
    const batch = await submissions().submit(tenant, request);
    metrics.addMetric('BatchesSubmitted', MetricUnit.Count, 1);
    metrics.addMetric('JobsSubmitted', MetricUnit.Count, batch.job_runs.length);
    return batch;
  };

  return [
    bind(routes.submitStandardJob, submitOne(false)),
    bind(routes.submitPreviewJob, submitOne(true)),
    bind(routes.submitBatch, async ({ tenant, body }) => submitted(tenant, body)),
    bind(routes.estimateBatch, async ({ body }) => submissions().estimate(body)),
    bind(routes.listBatches, async ({ tenant, query }) => {
      const page = await batches.list(tenant, query);
      return {
        batches: page.items.map(presentBatchListItem),
        ...(page.nextCursor ? { next_cursor: page.nextCursor } : {}),
      };
    }),
    bind(routes.getBatch, async ({ tenant, params }) => batches.get(tenant, params.id)),
    bind(routes.getBatchSummary, async ({ tenant, params }) => batches.summary(tenant, params.id)),
    // Infinity's client on its own paths (seed 000), through the same submission.
    ...infinityBatchRoutes(runtime, { submit: submitted, estimate: (body) => submissions().estimate(body) }),
  ];
}

export const handler = apiEntry(batchRoutes);
