/**
 * Seed 001's exports: JSONL into the tenant's exports/ and a copy into the user's own bucket; 200
 * with the seed's answer, or 202 with the job when the dataset is too large for the request.
 * Rate-limited as the seed's export group (contracts/rate-limits.ts).
 */
import { routes } from '../../../contracts/routes.ts';
import { type DatasetsRuntime, withDatasets } from '../../families/datasets/runtime.ts';
import { bind, type RouteBinding } from '../../http/api-handler.ts';
import { accepted } from '../../http/responses.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import { apiEntry } from '../../shared/runtime-entry.ts';

/** The answer, or 202 with the job that will make it. */
const answered = <T extends object, J>(answer: T | { accepted: J }) =>
  'accepted' in answer ? accepted(answer.accepted) : answer;

export function exportRoutes(runtime: CoreRuntime & DatasetsRuntime): RouteBinding[] {
  const datasets = () => runtime.datasets;
  return [
    bind(routes.exportJsonl, async ({ tenant, body }) =>
      answered(await datasets().exportJsonl(tenant, body)),
    ),
    bind(routes.exportS3, async ({ tenant, body }) => answered(await datasets().exportS3(tenant, body))),
  ];
}

export const handler = apiEntry(exportRoutes, withDatasets);
