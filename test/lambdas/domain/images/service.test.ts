/**
 * Image requests against a model whose endpoint is not deployed: the platform stack is up but the
 * stage's Models stack is not (yet), or rolled back for want of GPU quota. The answer is a 503 that
 * names the endpoint, and nothing is stored or started.
 */
import { describe, expect, it } from 'vitest';
import { GenerateRequest } from '../../../../contracts/images.ts';
import { DomainError } from '../../../../lambdas/domain/errors.ts';
import { ImageModels } from '../../../../lambdas/domain/images/models.ts';
import { ImageService, type ImageServiceDeps } from '../../../../lambdas/domain/images/service.ts';
import type { JobsEngine } from '../../../../lambdas/domain/jobs/engine.ts';
import type {
  BatchWorkflow,
  BlobStore,
  ColdStartStore,
  ModelEndpoints,
} from '../../../../lambdas/domain/ports.ts';
import { SD15_MODEL } from '../../../support/models.ts';

const MODEL = SD15_MODEL;

/** Every port fails the test if used, but for the endpoints' description and the blobs. */
function service(describe: ModelEndpoints['describe']) {
  const calls = { stored: 0, described: [] as string[] };
  const untouched = new Proxy(
    {},
    {
      get: (_target, name) => {
        throw new Error(`unexpected use of ${String(name)}`);
      },
    },
  );
  const deps: ImageServiceDeps = {
    engine: untouched as JobsEngine,
    workflow: untouched as BatchWorkflow,
    coldStarts: untouched as ColdStartStore,
    blobs: {
      put: async () => {
        calls.stored++;
        throw new Error('stored');
      },
    } as unknown as BlobStore,
    endpoints: {
      invokeAsync: async () => {
        throw new Error('unexpected invocation');
      },
      describe: (name) => {
        calls.described.push(name);
        return describe(name);
      },
    },
    models: new ImageModels([MODEL]),
    clock: { now: () => new Date('2026-05-01T12:00:00Z') },
    newId: () => '01JTESTTESTTESTTESTTESTTES',
    newSeed: () => 7,
    resultUrlTtlSeconds: 900,
  };
  return { images: new ImageService(deps), calls };
}

const request = GenerateRequest.parse({ prompt: 'a lighthouse at dusk' });

describe('ImageService with no endpoint deployed', () => {
  it('answers 503 naming the missing endpoint and its instance type, storing and starting nothing', async () => {
    // Prepare
    const { images, calls } = service(async () => undefined);

    // Act
    const failure = await images.generate('acme', request).catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(DomainError);
    expect(failure).toMatchObject({
      code: 'UNAVAILABLE',
      details: {
        model_id: MODEL.modelId,
        endpoint_name: MODEL.endpointName,
        instance_type: 'ml.g5.xlarge',
        reason: 'endpoint not deployed',
      },
    });
    expect((failure as Error).message).toContain('has no endpoint deployed');
    expect(calls).toEqual({ stored: 0, described: [MODEL.endpointName] });
  });

  it('lets the request through when the endpoint exists, even at zero instances', async () => {
    // Prepare
    const { images, calls } = service(async () => ({ status: 'InService', instances: 0 }));

    // Act
    const failure = await images.generate('acme', request).catch((error: unknown) => error);

    // Assess: it went on to store the request (where this fake stops it).
    expect((failure as Error).message).toBe('stored');
    expect(calls.stored).toBe(1);
  });

  it('lets the request through when the endpoint cannot be described: the workflow deals with it', async () => {
    // Prepare
    const { images, calls } = service(async () => {
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    });

    // Act
    const failure = await images.generate('acme', request).catch((error: unknown) => error);

    // Assess
    expect((failure as Error).message).toBe('stored');
    expect(calls.stored).toBe(1);
  });
});
