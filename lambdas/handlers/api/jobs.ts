import { routes } from '../../../contracts/routes.ts';
import { cancelledJob, jobList, jobLogs, jobView, type ResultLinks } from '../../domain/jobs/present.ts';
import { usageReport } from '../../domain/jobs/usage.ts';
import { bind, type RouteBinding } from '../../http/api-handler.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import { apiEntry } from '../../shared/runtime-entry.ts';

export function jobRoutes(runtime: CoreRuntime): RouteBinding[] {
  const { engine, store, clock } = runtime;
  // Read on use: only a completed inference job's view signs a link, so only it needs the bucket.
  const links: ResultLinks = {
    get blobs() {
      return runtime.blobs;
    },
    ttlSeconds: runtime.config.resultUrlTtlSeconds,
  };
  return [
    bind(routes.listJobs, async ({ tenant, query }) => jobList(store, tenant, query)),
    bind(routes.getJob, async ({ tenant, params }) => jobView(engine, tenant, params.id, links)),
    bind(routes.cancelJob, async ({ tenant, params }) => cancelledJob(engine, tenant, params.id)),
    bind(routes.getJobLogs, async ({ tenant, params, query }) =>
      jobLogs(engine, store, tenant, params.id, query.tail),
    ),
    bind(routes.getUsage, async ({ tenant, query }) =>
      usageReport(store, runtime.inferenceUsage, tenant, query, clock.now()),
    ),
  ];
}

export const handler = apiEntry(jobRoutes);
