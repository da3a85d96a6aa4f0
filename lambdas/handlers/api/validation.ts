/**
 * Seed 001's validation routes: one image's quality and privacy at once, a whole dataset as a job.
 * Rate-limited as the seed's validation group (contracts/rate-limits.ts).
 */
import { routes } from '../../../contracts/routes.ts';
import { type DatasetsRuntime, withDatasets } from '../../families/datasets/runtime.ts';
import { bind, type RouteBinding } from '../../http/api-handler.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import { apiEntry } from '../../shared/runtime-entry.ts';

export function validationRoutes(runtime: CoreRuntime & DatasetsRuntime): RouteBinding[] {
  const datasets = () => runtime.datasets;
  return [
    bind(routes.validateImageQuality, ({ tenant, body }) => datasets().validateQuality(tenant, body)),
    bind(routes.validateImagePrivacy, ({ tenant, body }) => datasets().validatePrivacy(tenant, body)),
    bind(routes.validateImageBatch, ({ tenant, body }) => datasets().submitValidation(tenant, body)),
  ];
}

export const handler = apiEntry(validationRoutes, withDatasets);
