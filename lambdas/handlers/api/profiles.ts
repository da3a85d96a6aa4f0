/** Seed 001's profiles: list, read, and compute one from a set of the tenant's images (a job). */
import { routes } from '../../../contracts/routes.ts';
import { type DatasetsRuntime, withDatasets } from '../../families/datasets/runtime.ts';
import { bind, type RouteBinding } from '../../http/api-handler.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import { apiEntry } from '../../shared/runtime-entry.ts';

export function profileRoutes(runtime: CoreRuntime & DatasetsRuntime): RouteBinding[] {
  const datasets = () => runtime.datasets;
  return [
    bind(routes.listProfiles, ({ tenant }) => datasets().listProfiles(tenant)),
    bind(routes.getProfile, ({ tenant, params }) => datasets().getProfile(tenant, params.profile_name)),
    bind(routes.createProfile, ({ tenant, body }) => datasets().submitProfile(tenant, body)),
  ];
}

export const handler = apiEntry(profileRoutes, withDatasets);
