import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { BatchRequest } from '../../../contracts/batches.ts';
import { routes } from '../../../contracts/routes.ts';
import { batchList, batchOfOne, singleJob } from '../../domain/batches/present.ts';
import { BatchSubmission } from '../../domain/batches/submission.ts';
import { type GenerationRuntime, generationFromEnv } from '../../families/generation/runtime.ts';
import { type ImagesRuntime, imagesFromEnv } from '../../families/images/runtime.ts';
import { bind, type RouteBinding, type RouteImpl, type RouteRequest } from '../../http/api-handler.ts';
import { type CoreRuntime, compose } from '../../runtime/core.ts';
import { metrics } from '../../shared/powertools.ts';
import { apiEntry } from '../../shared/runtime-entry.ts';
import { infinityBatchRoutes } from './infinity.ts';

export function batchRoutes(runtime: CoreRuntime & GenerationRuntime & ImagesRuntime): RouteBinding[] {
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
    async ({ tenant, body }: RouteRequest<typeof routes.submitStandardJob>) =>
      singleJob(engine, tenant, await submitted(tenant, batchOfOne(body, preview)));

  const submitted = async (tenant: string, request: BatchRequest) => {
    const batch = await submissions().submit(tenant, request);
    metrics.addMetric('BatchesSubmitted', MetricUnit.Count, 1);
    metrics.addMetric('JobsSubmitted', MetricUnit.Count, batch.job_runs.length);
    return batch;
  };
  const estimate = (body: BatchRequest) => submissions().estimate(body);
  const getBatch: RouteImpl<typeof routes.getBatch> = async ({ tenant, params }) =>
    batches.get(tenant, params.id);
  const getBatchSummary: RouteImpl<typeof routes.getBatchSummary> = async ({ tenant, params }) =>
    batches.summary(tenant, params.id);

  return [
    bind(routes.submitStandardJob, submitOne(false)),
    bind(routes.submitPreviewJob, submitOne(true)),
    bind(routes.submitBatch, async ({ tenant, body }) => submitted(tenant, body)),
    bind(routes.estimateBatch, async ({ body }) => estimate(body)),
    bind(routes.listBatches, async ({ tenant, query }) => batchList(batches, tenant, query)),
    bind(routes.getBatch, getBatch),
    bind(routes.getBatchSummary, getBatchSummary),
    // Infinity's client on its own paths (seed 000), through the same submission and batch reads.
    ...infinityBatchRoutes(runtime, { submit: submitted, estimate, getBatch, getBatchSummary }),
  ];
}

export const handler = apiEntry(batchRoutes, (core, env) =>
  compose(core, generationFromEnv(core, env), imagesFromEnv(core, env)),
);
