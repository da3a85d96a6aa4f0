import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../contracts/openapi.ts';
import { ROUTE_LIST } from '../../contracts/routes.ts';

describe('buildOpenApiDocument', () => {
  const document = buildOpenApiDocument() as unknown as {
    paths: Record<
      string,
      Record<
        string,
        { security?: unknown[]; responses: Record<string, unknown>; 'x-synthforge-mode': string }
      >
    >;
    components: { schemas: Record<string, unknown> };
  };

  it('documents every route of the route table, once', () => {
    const documented = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );

    expect(documented.sort()).toEqual(ROUTE_LIST.map((route) => `${route.method} ${route.path}`).sort());
  });

  it('requires a key on every route but the public ones, and says 401 for them', () => {
    for (const route of ROUTE_LIST) {
      const operation = document.paths[route.path]?.[route.method.toLowerCase()];
      expect(operation?.security?.length ?? 0, route.operationId).toBe(route.auth ? 2 : 0);
      if (route.auth) expect(Object.keys(operation?.responses ?? {}), route.operationId).toContain('401');
    }
  });

  it('says of every route whether it answers at once or starts a job', () => {
    const submit = document.paths['/api/v1/batches']?.post;

    expect(submit?.['x-synthforge-mode']).toBe('starts-job');
    expect(Object.keys(submit?.responses ?? {})).toEqual(
      expect.arrayContaining(['202', '400', '409', '422']),
    );
    expect(document.paths['/api/v1/jobs']?.get?.['x-synthforge-mode']).toBe('immediate');
  });

  it('names the shared schemas as components', () => {
    expect(Object.keys(document.components.schemas)).toEqual(
      expect.arrayContaining(['Error', 'Job', 'Batch', 'BatchSummary', 'ParameterSpec', 'GeneratorInfo']),
    );
  });
});
