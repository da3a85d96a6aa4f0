/**
 * The inference family on the local platform across a restart: an `"async": true` job whose model
 * call a stop cut off stays running (a call the stop ended is no answer of the model's), and the
 * next start calls the model again and completes it.
 */
import sharp from 'sharp';
import { describe, expect, it, vi } from 'vitest';
import type { InferenceAccepted } from '../../../../contracts/inference.ts';
import {
  RuntimeModelList,
  SEED_BEDROCK_MODELS,
  SEED_EMD_MODELS,
} from '../../../../contracts/inference-models.ts';
import type { Job } from '../../../../contracts/jobs.ts';
import { LOCAL_VLM_ENDPOINT, localInferenceModels } from '../../../../lambdas/local/families/inference.ts';
import { type LocalPlatform, startLocalPlatform } from '../../../../lambdas/local/platform.ts';
import { useTempDirs } from '../../../support/fixture.ts';

const NOVA = SEED_BEDROCK_MODELS.find((model) => model.key === 'nova')?.modelId ?? '';

const request = (platform: LocalPlatform, method: string, path: string, body?: unknown) =>
  fetch(`${platform.url}${path}`, {
    method,
    headers: { 'X-API-Key': platform.devKey, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
const jobOf = async (platform: LocalPlatform, id: string) =>
  (await (await request(platform, 'GET', `/api/v1/jobs/${id}`)).json()) as Job;

describe('the local catalogue', () => {
  it('lists the seed models as the stack does, Bedrock as the mode says and every EMD model on the local endpoint', () => {
    // Act
    const off = localInferenceModels('off', 11);
    const emulated = localInferenceModels('emulate', 11);

    // Assess: what the runtime parses, unchanged by parsing.
    expect(RuntimeModelList.parse(off)).toEqual(off);
    expect(off.map((model) => model.key)).toEqual(
      [...SEED_BEDROCK_MODELS, ...SEED_EMD_MODELS].map((model) => model.key),
    );
    expect(off[0]).toMatchObject({ provider: 'bedrock', emulated: false, unavailable: expect.any(String) });
    expect(emulated[0]).toEqual({
      provider: 'bedrock',
      key: 'claude4',
      name: 'Claude Sonnet 4',
      modelId: 'us.anthropic.claude-sonnet-4-20250514-v1:0',
      media: ['image'],
      prices: { inputPerMillionUsd: 3, outputPerMillionUsd: 15 },
      emulated: true,
    });
    expect(emulated.find((model) => model.key === 'gemma-3-4b')).toEqual({
      provider: 'sagemaker',
      key: 'gemma-3-4b',
      name: 'Gemma 3 4B IT',
      modelId: 'google/gemma-3-4b-it',
      media: ['image'],
      imagesPerPrompt: 4,
      prices: { inputPerMillionUsd: 0, outputPerMillionUsd: 0 },
      deployment: {
        endpointName: LOCAL_VLM_ENDPOINT,
        componentName: 'synthforge-gemma-3-4b',
        instanceType: 'ml.g5.12xlarge',
        wakeSeconds: 11,
      },
      emulated: true,
    });
  });
});

describe('the local inference family across a restart', () => {
  const aDataDir = useTempDirs();

  it('calls the model again for a job whose call a stop cut off, and completes it', async () => {
    // Prepare: Nova answers only after the platform has stopped.
    const dataDir = await aDataDir('inference-resume');
    const options = {
      dataDir,
      retryIntervalMs: 0,
      inference: { bedrock: 'emulate' as const, initialCopies: 0 },
    };
    const first = await startLocalPlatform(options);
    first.bedrock?.delayNext(NOVA, 600_000);
    const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#c33' } })
      .png()
      .toBuffer();
    const submitted = await request(first, 'POST', '/api/nova', {
      text: 'What colour is this?',
      frames: [png.toString('base64')],
      async: true,
    });
    expect(submitted.status).toBe(202);
    const { job } = (await submitted.json()) as InferenceAccepted;
    await vi.waitFor(async () => expect((await jobOf(first, job.id)).status).toBe('running'));

    // Act
    await first.stop();
    const second = await startLocalPlatform(options);
    try {
      await vi.waitFor(async () => expect((await jobOf(second, job.id)).status).toBe('completed'), {
        timeout: 60_000,
        interval: 200,
      });
      const logs = (await (await request(second, 'GET', `/api/v1/jobs/${job.id}/logs`)).json()) as {
        entries: { message: string }[];
      };

      // Assess
      expect(second.resumedJobs).toEqual([job.id]);
      const messages = logs.entries.map((entry) => entry.message);
      expect(messages).toContain('calling model nova again: the previous attempt did not finish');
      expect(messages.at(-1)).toMatch(/^model nova answered \(synthforge\/local-vision/);
    } finally {
      await second.stop();
    }
  }, 120_000);
});
