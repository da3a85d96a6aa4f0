/**
 * The endpoint's notification over the real state table, with the bucket in memory: the image a
 * job keeps is the model's own without a profile and the model's steered toward the job's profile
 * with one; an answer that cannot be steered fails the job rather than keep an image that ignores
 * the profile.
 */
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import type { ProfileStatistics } from '../../../../contracts/datasets.ts';
import { encodePng } from '../../../../lambdas/domain/archive/png.ts';
import type { ImageJobParams } from '../../../../lambdas/domain/images/job-record.ts';
import { ImageModels } from '../../../../lambdas/domain/images/models.ts';
import {
  handleEndpointNotification,
  type ImageTaskDeps,
} from '../../../../lambdas/domain/images/workflow-tasks.ts';
import { imageStatistics } from '../../../../lambdas/domain/validation/statistics.ts';
import { useEmulators } from '../../../support/emulators.ts';
import { aJob, aTenant, engineOver, IMAGE_JOB_PARAMS } from '../../../support/jobs.ts';
import { MemoryBlobStore } from '../../../support/memory-blobs.ts';
import { SD15_MODEL } from '../../../support/models.ts';

const fixture = useEmulators();

const DARK: ProfileStatistics = {
  color_distribution: { red_mean: 0.1, green_mean: 0.1, blue_mean: 0.16 },
  brightness_mean: 0.1068,
  contrast_mean: 0.08,
  resolution: { width_mean: 64, height_mean: 64 },
};

/** A bright 64 × 48 image with some texture, as a model might answer. */
function modelImage(): Uint8Array {
  const rgb = new Uint8Array(64 * 48 * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = 160 + ((i * 37) % 90);
  return encodePng(64, 48, rgb);
}

const brightnessOf = (png: Uint8Array) => {
  const { width, height, data } = PNG.sync.read(Buffer.from(png));
  return imageStatistics({ width, height, channels: 4, data }).brightness;
};

/** A running image job waiting on its task token, its endpoint's answer staged, and the steps' ports. */
async function aRunningJob(params: Partial<ImageJobParams>, answer: Uint8Array) {
  const engine = engineOver(fixture);
  const blobs = new MemoryBlobStore();
  const tenant = aTenant();
  const job = aJob({
    tenant,
    kind: 'image',
    status: 'running',
    generator: SD15_MODEL.name,
    params: { ...IMAGE_JOB_PARAMS, ...params },
    inference: {
      endpointName: SD15_MODEL.endpointName,
      taskToken: 'token-1',
      invokedAt: new Date().toISOString(),
      instancesAtInvoke: 1,
    },
  });
  await engine.store.create([job]);
  const staged = `_endpoints/${SD15_MODEL.endpointName}/output/${job.id}.out`;
  await blobs.put(staged, answer, 'image/png');
  const callbacks: { succeeded: unknown[]; failed: string[] } = { succeeded: [], failed: [] };
  const deps: ImageTaskDeps = {
    engine,
    blobs,
    endpoints: {
      invokeAsync: async () => undefined,
      describe: async () => ({ status: 'InService', instances: 1 }),
    },
    callbacks: {
      succeed: async (_token, output) => void callbacks.succeeded.push(output),
      fail: async (_token, _error, cause) => void callbacks.failed.push(cause),
      heartbeat: async () => undefined,
    },
    models: new ImageModels([SD15_MODEL]),
    coldStarts: { record: async () => undefined, estimate: async () => undefined },
    clock: { now: () => new Date() },
    requestTtlSeconds: 3600,
    report: () => undefined,
  };
  const notification = {
    invocationStatus: 'Completed',
    inferenceId: job.id,
    requestParameters: {
      endpointName: SD15_MODEL.endpointName,
      inputLocation: `s3://${blobs.bucket}/${tenant}/jobs/${job.id}/request.json`,
    },
    responseParameters: { contentType: 'image/png', outputLocation: `s3://${blobs.bucket}/${staged}` },
  };
  return { deps, engine, blobs, job, staged, callbacks, notification };
}

describe('handleEndpointNotification', () => {
  it("keeps the model's own image when the job has no profile", async () => {
    // Prepare
    const answer = modelImage();
    const { deps, engine, blobs, job, staged, notification } = await aRunningJob({}, answer);

    // Act
    const outcome = await handleEndpointNotification(deps, notification);

    // Assess
    expect(outcome).toEqual({ outcome: 'completed', jobId: job.id });
    const image = blobs.objects.get(`${job.tenant}/jobs/${job.id}/image.png`);
    expect(Buffer.compare(Buffer.from(image?.body ?? []), Buffer.from(answer))).toBe(0);
    expect(blobs.objects.has(staged)).toBe(false);
    expect((await engine.get(job.tenant, job.id)).status).toBe('completed');
  });

  it("keeps the model's image steered toward the job's profile", async () => {
    // Prepare
    const answer = modelImage();
    const { deps, engine, blobs, job, staged, callbacks, notification } = await aRunningJob(
      { profile: { name: 'dark', statistics: DARK } },
      answer,
    );

    // Act
    const outcome = await handleEndpointNotification(deps, notification);

    // Assess
    expect(outcome).toEqual({ outcome: 'completed', jobId: job.id });
    const image = blobs.objects.get(`${job.tenant}/jobs/${job.id}/image.png`);
    expect(image?.contentType).toBe('image/png');
    const steered = image?.body ?? new Uint8Array();
    expect(brightnessOf(answer)).toBeGreaterThan(0.6);
    expect(Math.abs(brightnessOf(steered) - DARK.brightness_mean)).toBeLessThan(0.01);
    const after = await engine.get(job.tenant, job.id);
    expect(after).toMatchObject({ status: 'completed', result: { bytes: steered.byteLength } });
    expect(callbacks.succeeded).toEqual([{ status: 'completed', bytes: steered.byteLength }]);
    expect(blobs.objects.has(staged)).toBe(false);
  });

  it('fails the job, naming the profile, when the model answered something that is no PNG', async () => {
    // Prepare
    const { deps, engine, blobs, job, staged, callbacks, notification } = await aRunningJob(
      { profile: { name: 'dark', statistics: DARK } },
      new TextEncoder().encode('{"error": "not an image"}'),
    );

    // Act
    const outcome = await handleEndpointNotification(deps, notification);

    // Assess
    expect(outcome).toEqual({ outcome: 'failed', jobId: job.id });
    const after = await engine.get(job.tenant, job.id);
    expect(after.status).toBe('failed');
    expect(after.error?.code).toBe('MODEL_ERROR');
    expect(after.error?.message).toMatch(/not a PNG .* cannot be steered toward profile dark$/);
    expect(callbacks.failed).toEqual([after.error?.message]);
    expect(blobs.objects.has(`${job.tenant}/jobs/${job.id}/image.png`)).toBe(false);
    expect(blobs.objects.has(staged)).toBe(false);
  });
});
