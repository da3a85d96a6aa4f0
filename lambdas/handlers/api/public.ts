import { API_VERSION, buildOpenApiDocument } from '../../../contracts/openapi.ts';
import { routes } from '../../../contracts/routes.ts';
import { readDocsAsset, redocPage, swaggerUiPage } from '../../docs/pages.ts';
import { notFound } from '../../domain/errors.ts';
import { bind, type RouteBinding } from '../../http/api-handler.ts';
import { RawBody } from '../../http/responses.ts';
import { staticApiEntry } from '../../shared/static-api-entry.ts';

const ASSET_CACHE_SECONDS = 86_400;

export function publicRoutes(stage: string): RouteBinding[] {
  let document: ReturnType<typeof buildOpenApiDocument> | undefined;
  return [
    bind(routes.root, async ({ baseUrl }) => ({
      name: 'SynthForge',
      version: API_VERSION,
      docs: `${baseUrl}/docs`,
      redoc: `${baseUrl}/redoc`,
      openapi: `${baseUrl}/openapi.json`,
    })),
    bind(routes.health, async () => ({
      status: 'ok' as const,
      version: API_VERSION,
      stage,
      time: new Date().toISOString(),
    })),
    bind(routes.openapi, async ({ baseUrl }) => {
      document ??= buildOpenApiDocument();
      return { ...document, servers: [{ url: baseUrl }] };
    }),
    bind(routes.docs, async ({ baseUrl }) => new RawBody(swaggerUiPage(baseUrl), 'text/html; charset=utf-8')),
    bind(routes.redoc, async ({ baseUrl }) => new RawBody(redocPage(baseUrl), 'text/html; charset=utf-8')),
    bind(routes.docsAsset, async ({ params }) => {
      const asset = readDocsAsset(params.asset);
      if (!asset) throw notFound('asset', params.asset);
      return new RawBody(asset.body, asset.contentType, ASSET_CACHE_SECONDS);
    }),
  ];
}

export const handler = staticApiEntry(() => publicRoutes(process.env.STAGE ?? 'dev'));
