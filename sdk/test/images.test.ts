/**
 * Seed 001's generation from TypeScript: `generateImage` answers the image when it is ready within
 * the server's wait, else the job's state, which `getGeneratedImage` polls to the image; the
 * response types tell the two apart.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { usePlatform } from '../../test/support/platform.ts';
import { ApiClient } from '../src/api-client.ts';
import { SynthForgeError } from '../src/errors.ts';
import { Manager } from '../src/manager.ts';

const fixture = usePlatform();
const client = () => new ApiClient({ baseUrl: fixture.platform.url, apiKey: fixture.platform.devKey });

describe('ApiClient image methods', () => {
  it('returns the image, typed, when it is ready within the wait', async () => {
    // Act
    const answer = await client().generateImage({ prompt: 'pastel stars', width: 64, height: 64, seed: 3 });

    // Assess
    if (!('image_url' in answer)) throw new Error(`expected the image, got ${JSON.stringify(answer)}`);
    expect(answer.parameters).toMatchObject({
      width: 64,
      height: 64,
      seed: 3,
      model_id: 'synthforge/shapes',
    });
    const png = await client().fetchResult(answer.image_url);
    expect([...png.subarray(1, 4)]).toEqual([0x50, 0x4e, 0x47]);
    expect(await client().getGeneratedImage(answer.job_id)).toMatchObject({ job_id: answer.job_id });
  });

  it('polls a batch to its images', async () => {
    // Act
    const accepted = await client().generateImageBatch({
      prompts: ['dark circles', 'vivid stars'],
      width: 64,
      height: 64,
    });
    let result = await client().getGeneratedBatch(accepted.batch_id);
    for (let tries = 0; result.status !== 'completed' && tries < 200; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      result = await client().getGeneratedBatch(accepted.batch_id);
    }

    // Assess
    expect(result.images.map((image) => [image.prompt, image.status])).toEqual([
      ['dark circles', 'completed'],
      ['vivid stars', 'completed'],
    ]);
  });

  it('throws the documented error for a documented bad input', async () => {
    const error = await client()
      .generateImage({ prompt: 'x', width: 2048 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SynthForgeError);
    expect(error).toMatchObject({
      status: 400,
      code: 'INVALID_PARAMETERS',
      message: 'Invalid parameter: width must be between 64 and 1024',
      details: { parameter: 'width', value: 2048, constraint: 'width <= 1024' },
    });
  });
});

describe('a batch of a model through the seed 000 session', () => {
  it('submits prompts as job runs, waits, and downloads one image.png per job', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'synthforge-model-batch-'));
    const session = await new Manager({
      baseUrl: fixture.platform.url,
      apiKey: fixture.platform.devKey,
    }).session('shapes-endpoint');

    try {
      // Act
      const batch = await session.submit([
        { prompt: 'amber stars', width: 64, height: 64, seed: 1 },
        { prompt: 'teal circles', width: 96, height: 64, seed: 2 },
      ]);
      await batch.awaitCompletion({ pollIntervalMs: 25 });
      const report = await batch.download(dir);

      // Assess
      expect(report.downloaded).toHaveLength(2);
      const sizes = await Promise.all(
        report.downloaded.map(async (jobId) => {
          const png = PNG.sync.read(await readFile(join(dir, jobId, 'image.png')));
          return `${png.width}x${png.height}`;
        }),
      );
      expect(sizes.sort()).toEqual(['64x64', '96x64']);
      const marker = JSON.parse(await readFile(join(dir, report.downloaded[0] ?? '', '.complete'), 'utf8'));
      expect(marker.files).toEqual(['image.png']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
