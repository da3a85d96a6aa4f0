/**
 * Seed 004's avatarization routes: a set's YAML resources, uploads, the job graph and its results.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { routes } from '../../../contracts/routes.ts';
import { type AvatarsRuntime, withAvatars } from '../../families/avatars/runtime.ts';
import { bind, type RouteBinding } from '../../http/api-handler.ts';
import { RawBody } from '../../http/responses.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import { metrics } from '../../shared/powertools.ts';
import { apiEntry } from '../../shared/runtime-entry.ts';

export function avatarsRoutes(runtime: CoreRuntime & AvatarsRuntime): RouteBinding[] {
  const avatars = () => runtime.avatars;
  return [
    bind(routes.putAvatarResources, async ({ tenant, params, body }) =>
      avatars().putResources(tenant, params.set_name, body),
    ),
    bind(
      routes.getAvatarResources,
      async ({ tenant, params }) =>
        new RawBody(await avatars().getResources(tenant, params.set_name), 'application/yaml; charset=utf-8'),
    ),
    bind(routes.avatarUploadUrl, async ({ tenant, body }) => avatars().uploadUrl(tenant, body)),
    bind(routes.createAvatarJob, async ({ tenant, body }) => {
      const job = await avatars().createJob(tenant, body);
      metrics.addMetric('AvatarJobsCreated', MetricUnit.Count, 1);
      return job;
    }),
    bind(routes.listAvatarJobs, async ({ tenant, query }) => avatars().listJobs(tenant, query)),
    bind(routes.getAvatarJob, async ({ tenant, params }) => avatars().getJob(tenant, params.name)),
    bind(routes.cancelAvatarJob, async ({ tenant, params }) => avatars().cancel(tenant, params.name)),
    bind(routes.getAvatarResults, async ({ tenant, params }) => avatars().results(tenant, params.job_name)),
  ];
}

export const handler = apiEntry(avatarsRoutes, withAvatars);
