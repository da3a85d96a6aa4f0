/**
 * Image requests against a model whose endpoint is not deployed: the platform stack is up but the
 * stage's Models stack is not (yet), or rolled back for want of GPU quota. The answer is a 503 that
 * names the endpoint, and nothing is stored or started. And requests with a profile: it is read
 * into its statistics before anything is stored, and an unknown one is a 404.
 */
import { describe, expect, it } from 'vitest';
import { GenerateBatchRequest, GenerateRequest } from '../../../../contracts/images.ts';
import { ProfileStore } from '../../../../lambdas/domain/datasets/profiles.ts';
import { DomainError } from '../../../../lambdas/domain/errors.ts';
import { ImageModels } from '../../../../lambdas/domain/images/models.ts';
import {
  endpointRequest,
  ImageService,
  type ImageServiceDeps,
} from '../../../../lambdas/domain/images/service.ts';
import type { JobsEngine } from '../../../../lambdas/domain/jobs/engine.ts';
import type {
  BatchWorkflow,
  BlobStore,
  ColdStartStore,
  ModelEndpoints,
} from '../../../../lambdas/domain/ports.ts';
import { MemoryBlobStore } from '../../../support/memory-blobs.ts';
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

describe('ImageService with a profile', () => {
  const DARK = {
    color_distribution: { red_mean: 0.1, green_mean: 0.12, blue_mean: 0.2 },
    brightness_mean: 0.12,
    contrast_mean: 0.1,
    resolution: { width_mean: 512, height_mean: 512 },
  };

  /** A bucket holding acme's profile `dark`; everything else fails the test if used. */
  async function withDarkProfile() {
    const blobs = new MemoryBlobStore();
    await new ProfileStore(blobs).save(
      'acme',
      'dark',
      { statistics: DARK, sample_count: 2, source: { s3_prefix: 'sets/dark/' } },
      new Date('2026-05-01T11:00:00Z'),
    );
    // Saving read the key once (for a profile it replaces): only the service's reads count.
    blobs.reads.length = 0;
    const { images } = service(async () => ({ status: 'InService', instances: 1 }));
    const profiled = new ImageService({ ...images.deps, blobs });
    return { images: profiled, blobs };
  }

  it('reads each named profile once into its statistics, and keeps none where none is named', async () => {
    // Prepare
    const { images, blobs } = await withDarkProfile();
    const model = images.deps.models.resolve(undefined);
    const planned = (profile?: string) => ({
      model,
      params: images.resolveParams(model, GenerateRequest.parse({ prompt: 'x', profile }), 'x', 1),
    });

    // Act
    const resolved = await images.withProfiles('acme', [
      planned('dark'),
      planned('dark'),
      planned(''),
      planned(),
    ]);

    // Assess
    expect(resolved.map((run) => run.params.profile)).toEqual([
      { name: 'dark', statistics: DARK },
      { name: 'dark', statistics: DARK },
      undefined,
      undefined,
    ]);
    expect(blobs.reads.filter((key) => key === 'acme/profiles/dark.json')).toHaveLength(1);
  });

  it('answers 404 for a profile the tenant does not have, storing and starting nothing', async () => {
    // Prepare
    const { images, blobs } = await withDarkProfile();
    const before = [...blobs.objects.keys()];

    // Act: another tenant's profile is no more found than a missing one.
    const failures = await Promise.all([
      images
        .generate('acme', GenerateRequest.parse({ prompt: 'x', profile: 'bright' }))
        .catch((e: unknown) => e),
      images
        .generateBatch('globex', GenerateBatchRequest.parse({ prompts: ['x', 'y'], profile: 'dark' }))
        .catch((e: unknown) => e),
    ]);

    // Assess
    expect(failures).toMatchObject([
      { code: 'NOT_FOUND', details: { profile_name: 'bright' } },
      { code: 'NOT_FOUND', details: { profile_name: 'dark' } },
    ]);
    expect([...blobs.objects.keys()]).toEqual(before);
  });

  it('sends the model no profile: the image is steered after it lands', () => {
    // Prepare
    const params = {
      ...GenerateRequest.parse({ prompt: 'x' }),
      model_id: MODEL.modelId,
      num_inference_steps: 20,
      seed: 3,
      profile: { name: 'dark', statistics: DARK },
    };

    // Act
    const request = JSON.stringify(endpointRequest(params));

    // Assess
    expect(request).not.toContain('dark');
    expect(JSON.parse(request).parameters).toEqual({
      width: 512,
      height: 512,
      num_inference_steps: 20,
      guidance_scale: 7.5,
      seed: 3,
    });
  });
});
