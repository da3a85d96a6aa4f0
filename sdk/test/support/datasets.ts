/**
 * The data the tests of seed 001's dataset routes and commands start from: a batch generated
 * through the SDK and followed until it has completed, and flat PNGs to upload under a tenant's
 * prefix, as a presigned PUT leaves them.
 */
import { PNG } from 'pngjs';
import { expect } from 'vitest';
import type { PlatformFixture } from '../../../test/support/platform.ts';
import { ApiClient } from '../../src/api-client.ts';

/** An SDK client of the platform's development tenant (`dev`). */
export function devClient(fixture: PlatformFixture): ApiClient {
  return new ApiClient({ baseUrl: fixture.platform.url, apiKey: fixture.platform.devKey });
}

/** A PNG of one grey level: no edges, no noise, no colour, no face and no text. */
export function greyPng(width: number, height: number, grey: number): Uint8Array {
  const png = new PNG({ width, height });
  png.data.fill(grey);
  for (let i = 3; i < png.data.length; i += 4) png.data[i] = 255;
  return PNG.sync.write(png);
}

/**
 * Generates one image a prompt as a batch (64 × 64 unless given a size), polls the batch until it
 * has completed, and answers its id. The test fails if it has not completed after 400 polls 25 ms apart.
 */
export async function finishedImageBatch(
  client: ApiClient,
  prompts: string[],
  size: { width: number; height: number } = { width: 64, height: 64 },
): Promise<string> {
  const { batch_id: batchId } = await client.generateImageBatch({ prompts, ...size });
  let result = await client.getGeneratedBatch(batchId);
  for (let tries = 0; result.status !== 'completed' && tries < 400; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    result = await client.getGeneratedBatch(batchId);
  }
  expect(result.status).toBe('completed');
  return batchId;
}
