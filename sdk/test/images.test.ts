/**
 * Seed 001's generation from TypeScript: `generateImage` answers the image when it is ready within
 * the server's wait, else the job's state, which `getGeneratedImage` polls to the image; the
 * response types tell the two apart.
 */
import { describe, expect, it } from 'vitest';
import { usePlatform } from '../../test/support/platform.ts';
import { ApiClient } from '../src/api-client.ts';
import { SynthForgeError } from '../src/errors.ts';

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
