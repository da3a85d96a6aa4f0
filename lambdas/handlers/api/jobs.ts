import { routes } from '../../../contracts/routes.ts';
import { presentJob } from '../../domain/jobs/present.ts';
import { usageReport } from '../../domain/jobs/usage.ts';
import { bind, type RouteBinding } from '../../http/api-handler.ts';
import type { Runtime } from '../../runtime.ts';
import { apiEntry } from '../../shared/runtime-entry.ts';

export function jobRoutes(runtime: Runtime): RouteBinding[] {
  const { engine, store, clock } = runtime;

  /** A batch shows live counts of its jobs while it runs; once ended, the counts it recorded. */
  const present = async (tenant: string, id: string) => {
    const job = await engine.get(tenant, id);
    const counts = job.kind === 'batch' && !job.counts ? await engine.countItems(tenant, id) : undefined;
    return presentJob(job, counts);
  };

  return [
    bind(routes.listJobs, async ({ tenant, query }) => {
      const page = await store.list(tenant, {
        limit: query.limit,
        ...(query.kind ? { kind: query.kind } : {}),
        ...(query.status ? { status: query.status } : {}),
        ...(query.batch ? { batchId: query.batch } : {}),
        ...(query.start_time ? { since: query.start_time } : {}),
        ...(query.end_time ? { until: query.end_time } : {}),
        ...(query.cursor ? { cursor: query.cursor } : {}),
      });
      return {
        jobs: page.items.map((job) => presentJob(job)),
        ...(page.nextCursor ? { next_cursor: page.nextCursor } : {}),
      };
    }),
    bind(routes.getJob, async ({ tenant, params }) => present(tenant, params.id)),
    bind(routes.cancelJob, async ({ tenant, params }) => presentJob(await engine.cancel(tenant, params.id))),
    bind(routes.getJobLogs, async ({ tenant, params, query }) => {
      await engine.get(tenant, params.id);
      return { job_id: params.id, entries: await store.tailLog(tenant, params.id, query.tail) };
    }),
    bind(routes.getUsage, async ({ tenant, query }) => usageReport(store, tenant, query, clock.now())),
  ];
}

export const handler = apiEntry(jobRoutes);
