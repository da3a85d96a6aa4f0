/**
 * A profile conditioning seed 001's generation routes end to end on the local platform: a profile
 * computed from dark images under the dev tenant, then the shapes endpoint's images of the same
 * prompt and seed without and with it. The steered image lands with the profile's brightness; the
 * answers name the profile; an unknown profile is a 404 that stores nothing.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { encodePng } from '../../lambdas/domain/archive/png.ts';
import { imageStatistics } from '../../lambdas/domain/validation/statistics.ts';
import { type Api, expectError, usePlatform, waitForBatch } from '../support/platform.ts';

const fixture = usePlatform();
const TENANT = 'dev';

interface GeneratedImage {
  job_id: string;
  image_url: string;
  parameters: { seed: number; profile?: string };
}

/** A dark 128 × 96 image: blocks in dim colours on a near-black ground. */
function darkImage(seed: number): Uint8Array {
  const rgb = new Uint8Array(128 * 96 * 3);
  for (let p = 0; p < 128 * 96; p++) {
    const [x, y] = [p % 128, Math.floor(p / 128)];
    const block = (Math.floor(x / 32) + Math.floor(y / 24) + seed) % 3;
    rgb.set(block === 0 ? [12, 14, 22] : block === 1 ? [40, 30, 60] : [25, 45, 35], p * 3);
  }
  return encodePng(128, 96, rgb);
}

/** Mean Rec. 601 luma over 255 of the PNG behind a link: quality.ts's brightness. */
async function brightnessAt(url: string): Promise<number> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  const { width, height, data } = PNG.sync.read(Buffer.from(await response.arrayBuffer()));
  return imageStatistics({ width, height, channels: 4, data }).brightness;
}

/** The image of `POST /generate`, polling its job if it was not ready within the wait. */
async function generated(api: Api, request: Record<string, unknown>): Promise<GeneratedImage> {
  const answer = await api.post<GeneratedImage>('/api/v1/generate', request);
  expect([200, 202], answer.text).toContain(answer.status);
  const deadline = Date.now() + 20_000;
  for (let current = answer; ; ) {
    if (current.status === 200) return current.body;
    if (Date.now() > deadline) throw new Error(`job ${answer.body.job_id} not ready: ${current.text}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    current = await api.get<GeneratedImage>(`/api/v1/generate/${answer.body.job_id}`);
  }
}

/** What is under the dev tenant's jobs: an unknown profile must add nothing there. */
async function jobObjects(): Promise<string[]> {
  const listed = await fixture.platform.runtime.clients.s3.send(
    new ListObjectsV2Command({ Bucket: fixture.platform.emulators.bucketName, Prefix: `${TENANT}/jobs/` }),
  );
  return (listed.Contents ?? []).map((object) => object.Key ?? '').sort();
}

async function darkProfile(): Promise<number> {
  for (const seed of [1, 2]) {
    await fixture.platform.runtime.blobs.put(
      `${TENANT}/sets/dark/image-${seed}.png`,
      darkImage(seed),
      'image/png',
    );
  }
  const created = await fixture.api.post<{ job_id: string }>('/api/v1/profiles', {
    name: 'dark',
    source: { s3_prefix: 'sets/dark/' },
  });
  expect(created.status, created.text).toBe(202);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const job = await fixture.api.get<{ status: string }>(`/api/v1/jobs/${created.body.job_id}`);
    if (job.body.status === 'completed') break;
    if (job.body.status === 'failed' || Date.now() > deadline) throw new Error(`profile job: ${job.text}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const profile = await fixture.api.get<{ statistics: { brightness_mean: number } }>('/api/v1/profiles/dark');
  expect(profile.status).toBe(200);
  return profile.body.statistics.brightness_mean;
}

describe('profile on the generation routes', () => {
  it("steers the model's image toward a dark profile's brightness, on /generate, /generate/batch and a model's job run", async () => {
    // Prepare
    const target = await darkProfile();
    const request = { prompt: 'pastel stars and circles', width: 128, height: 96, seed: 42 };

    // Act: the same prompt and seed, without and with the profile.
    const [plain, steered] = await Promise.all([
      generated(fixture.api, request),
      generated(fixture.api, { ...request, profile: 'dark' }),
    ]);
    const [plainBrightness, steeredBrightness] = await Promise.all([
      brightnessAt(plain.image_url),
      brightnessAt(steered.image_url),
    ]);

    // Assess
    expect(target).toBeLessThan(0.2);
    expect(plainBrightness - target).toBeGreaterThan(0.3);
    expect(Math.abs(steeredBrightness - target)).toBeLessThan(0.02);
    expect(plain.parameters.profile).toBeUndefined();
    expect(steered.parameters).toMatchObject({ seed: 42, profile: 'dark' });
    const polled = await fixture.api.get<GeneratedImage>(`/api/v1/generate/${steered.job_id}`);
    expect(polled.body.parameters.profile).toBe('dark');
    // The job keeps the statistics it was steered toward, not only the name.
    const job = await fixture.api.get<{ param_values: { profile: { name: string; statistics: object } } }>(
      `/api/v1/jobs/${steered.job_id}`,
    );
    expect(job.body.param_values.profile).toMatchObject({
      name: 'dark',
      statistics: { brightness_mean: target },
    });

    // Act: a batch of prompts, and a batch of seed 000 naming the model.
    const batch = await fixture.api.post<{ batch_id: string; parameters: { profile?: string } }>(
      '/api/v1/generate/batch',
      { prompts: ['bold stars', 'soft circles'], width: 96, height: 64, seed: 5, profile: 'dark' },
    );
    const modelRuns = await fixture.api.post<{ id: string }>('/api/v1/batches', {
      job_runs: [
        {
          name: 'shapes-endpoint',
          param_values: { prompt: 'bold stars', width: 96, height: 64, profile: 'dark' },
        },
      ],
    });
    expect(batch.status, batch.text).toBe(202);
    expect(modelRuns.status, modelRuns.text).toBe(202);
    const [summary] = await Promise.all([
      waitForBatch(fixture.api, modelRuns.body.id),
      waitForBatch(fixture.api, batch.body.batch_id),
    ]);
    const images = await fixture.api.get<{
      images: { image_url?: string }[];
      parameters: { profile?: string };
    }>(`/api/v1/generate/batch/${batch.body.batch_id}`);

    // Assess
    expect(batch.body.parameters.profile).toBe('dark');
    expect(images.body.parameters.profile).toBe('dark');
    const urls = [...images.body.images.map((image) => image.image_url), summary.job_runs[0]?.result_url];
    const brightnesses = await Promise.all(urls.map((url) => brightnessAt(url ?? '')));
    for (const brightness of brightnesses) expect(Math.abs(brightness - target)).toBeLessThan(0.02);
  });

  it('answers 404 for an unknown profile and stores nothing', async () => {
    // Prepare
    const before = await jobObjects();

    // Act
    const single = await fixture.api.post('/api/v1/generate', {
      prompt: 'x',
      width: 64,
      height: 64,
      profile: 'nope',
    });
    const batch = await fixture.api.post('/api/v1/generate/batch', { prompts: ['x'], profile: 'nope' });
    const modelRun = await fixture.api.post('/api/v1/batches', {
      job_runs: [{ name: 'shapes-endpoint', param_values: { prompt: 'x', profile: 'nope' } }],
    });

    // Assess
    for (const answer of [single, batch, modelRun]) {
      expectError(answer, 404, 'NOT_FOUND');
      expect(answer.body).toMatchObject({ error: { details: { profile_name: 'nope' } } });
    }
    expect(await jobObjects()).toEqual(before);
    const jobs = await fixture.api.get<{ jobs: unknown[] }>('/api/v1/jobs', { limit: 100 });
    expect(jobs.body.jobs.every((job) => !JSON.stringify(job).includes('nope'))).toBe(true);
  });
});
