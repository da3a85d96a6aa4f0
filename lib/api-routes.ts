/**
 * The routes the REST API exposes come from the one route table, `contracts/routes.ts`: the same
 * table the handlers parse with, the local platform routes with and the OpenAPI document describes.
 */
import { z } from 'zod';
import { ROUTE_LIST, type RouteDef } from '../contracts/routes.ts';

export type { HttpMethod, RouteFamily } from '../contracts/routes.ts';

export type ApiRoute = Pick<
  RouteDef,
  'method' | 'path' | 'family' | 'auth' | 'operationId' | 'body' | 'edgeValidation' | 'response'
>;

export const API_ROUTES: readonly ApiRoute[] = ROUTE_LIST;

/** The path parameters of an OpenAPI-style path: `/a/{id}/b/{rest+}` → `['id', 'rest']`. */
export function pathParameters(path: string): string[] {
  return [...path.matchAll(/\{([A-Za-z0-9_]+)\+?\}/g)].map((match) => match[1] as string);
}

/**
 * The request body's JSON Schema (draft 4, the dialect API Gateway models speak), generated from
 * the route's zod schema, so the edge rejects a malformed body before any Lambda runs.
 */
export function requestBodySchema(route: ApiRoute): Record<string, unknown> | undefined {
  if (!route.body || route.edgeValidation === false) return undefined;
  const { $schema: _dialect, ...schema } = z.toJSONSchema(route.body, {
    target: 'draft-4',
    io: 'input',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return schema;
}
