/**
 * Seed 003's model routes that answer at once: Claude 4 and Nova on Bedrock, the EMD models (or, with
 * `"async": true`, the job that will answer: 202), several models side by side, the EMD models' state
 * and the catalogue, and upload links for large frames.
 * Errors are seed 003's `{time, request, error}` (lambdas/http/responses.ts).
 */
import type { InferenceRequest } from '../../../contracts/inference.ts';
import type { RuntimeModel } from '../../../contracts/inference-models.ts';
import { routes } from '../../../contracts/routes.ts';
import { type InferenceRuntime, withInference } from '../../families/inference/runtime.ts';
import { bind, type RouteBinding } from '../../http/api-handler.ts';
import { accepted } from '../../http/responses.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import { apiEntry } from '../../shared/runtime-entry.ts';

type Provider = RuntimeModel['provider'];

export function inferenceRoutes(runtime: CoreRuntime & InferenceRuntime): RouteBinding[] {
  const inference = () => runtime.inference;
  /** The model's answer, or with `"async": true` the job that will make it (202). */
  const answer = async (tenant: string, key: string, body: InferenceRequest, provider: Provider) =>
    body.async
      ? accepted(await inference().submit(tenant, key, body, provider))
      : inference().infer(tenant, key, body, provider);
  return [
    bind(routes.invokeClaude4, ({ tenant, body }) => answer(tenant, 'claude4', body, 'bedrock')),
    bind(routes.invokeNova, ({ tenant, body }) => answer(tenant, 'nova', body, 'bedrock')),
    bind(routes.invokeEmdModel, ({ tenant, params, body }) =>
      answer(tenant, params.model_key, body, 'sagemaker'),
    ),
    bind(routes.getEmdStatus, () => inference().status()),
    bind(routes.listEmdModels, () => inference().models()),
    bind(routes.multiInference, ({ tenant, body }) => inference().multi(tenant, body)),
    bind(routes.createUploadUrl, ({ tenant, body }) => inference().uploadUrl(tenant, body)),
  ];
}

export const handler = apiEntry(inferenceRoutes, withInference);
