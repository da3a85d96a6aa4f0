/**
 * Infinity's real client (`infinity_core`, seed 000) on its own paths: batches, estimates, job runs,
 * previews and usage. Thin: the same submission, batch service and usage scan as /api/v1, presented
 * in the client's shapes (lambdas/domain/batches/infinity.ts). The generator routes it calls are
 * bound with the rest of the catalogue (generators.ts).
 */
import type { Batch, BatchEstimate, BatchRequest } from '../../../contracts/batches.ts';
import { routes } from '../../../contracts/routes.ts';
import { InfinityViews } from '../../domain/batches/infinity.ts';
import { infinityUsage } from '../../domain/batches/present.ts';
import type { GenerationRuntime } from '../../families/generation/runtime.ts';
import { bind, type RouteBinding, type RouteImpl } from '../../http/api-handler.ts';
import type { CoreRuntime } from '../../runtime/core.ts';

/** What the client's batch routes share with their /api/v1 twins (batches.ts). */
export interface SharedBatchRoutes {
  /** Submits as POST /api/v1/batches does (metrics included). */
  submit(tenant: string, request: BatchRequest): Promise<Batch>;
  estimate(request: BatchRequest): BatchEstimate;
  getBatch: RouteImpl<typeof routes.getBatch>;
  getBatchSummary: RouteImpl<typeof routes.getBatchSummary>;
}

export function infinityBatchRoutes(
  runtime: CoreRuntime & GenerationRuntime,
  shared: SharedBatchRoutes,
): RouteBinding[] {
  const { batches, store, clock } = runtime;
  const views = new InfinityViews({ batches, store });
  // The body's empty name (the client's "" for none) is parsed as no name: the batch is named as an
  // unnamed /api/v1 batch is (contracts/infinity.ts).
  return [
    bind(routes.infinitySubmitBatch, async ({ tenant, body }) => shared.submit(tenant, body)),
    bind(routes.infinityEstimateBatch, async ({ body }) => shared.estimate(body).frames_per_job),
    bind(routes.infinityListBatches, async ({ tenant, query }) => views.listBatches(tenant, query)),
    bind(routes.infinityGetBatch, shared.getBatch),
    bind(routes.infinityGetBatchSummary, shared.getBatchSummary),
    bind(routes.infinityListJobRuns, async ({ tenant, query }) => views.listJobRuns(tenant, false, query)),
    bind(routes.infinityGetJobRun, async ({ tenant, params }) => views.jobRun(tenant, params.id, false)),
    bind(routes.infinityListJobPreviews, async ({ tenant, query }) => views.listJobRuns(tenant, true, query)),
    bind(routes.infinityGetJobPreview, async ({ tenant, params }) => views.jobRun(tenant, params.id, true)),
    bind(routes.infinityGetUsage, async ({ tenant, query }) =>
      infinityUsage(store, tenant, query, clock.now()),
    ),
  ];
}
