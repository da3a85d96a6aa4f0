import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Pixels } from '../../../../lambdas/domain/validation/quality.ts';
import {
  diversity,
  MAX_COMPARED_IMAGES,
  meanPairwiseSsim,
  ssim,
  thumbnail,
} from '../../../../lambdas/domain/validation/ssim.ts';
import { anyImageOfSide, greyImage, normals } from './support.ts';

/** Soft blobs and edges on 96 × 96 pixels, compared at their own size (below the common grid's limit). */
function scene(shift = 0): Pixels {
  return greyImage(
    96,
    96,
    (x, y) => 128 + 70 * Math.sin((x + shift) / 7) * Math.cos(y / 11) + (x > 48 && y > 30 ? 40 : -20),
  );
}

function withNoise(image: Pixels, sigma: number, seed = 7): Pixels {
  const draw = normals(seed);
  return { ...image, data: Uint8ClampedArray.from(image.data, (value) => value + sigma * draw()) };
}

function noiseImage(width: number, height: number, seed: number): Pixels {
  const draw = normals(seed);
  return greyImage(width, height, () => 128 + 50 * draw());
}

/** Any image of 1, 3 or 4 channels from 1 to 40 pixels a side. */
const anyImage = anyImageOfSide(1, 40);

describe('ssim', () => {
  it('is 1 for an image and itself', () => {
    // Prepare
    const image = scene();

    // Act
    const similarity = ssim(image, image);

    // Assess
    expect(similarity).toBeCloseTo(1, 12);
  });

  it('is 1 for an image and a copy in RGB with the same luma', () => {
    // Prepare
    const grey = scene();
    const rgb: Pixels = {
      width: grey.width,
      height: grey.height,
      channels: 3,
      data: Uint8Array.from([...grey.data].flatMap((value) => [value, value, value])),
    };

    // Act
    const similarity = ssim(grey, rgb);

    // Assess
    expect(similarity).toBeCloseTo(1, 9);
  });

  it('falls below 1 for a noisy copy, and further with more noise', () => {
    // Prepare
    const image = scene();

    // Act
    const similarities = [2, 8, 20, 50].map((sigma) => ssim(image, withNoise(image, sigma)));

    // Assess
    expect(similarities[0]).toBeLessThan(1);
    for (let k = 1; k < similarities.length; k++) {
      expect(similarities[k]).toBeLessThan(similarities[k - 1] as number);
    }
    expect(similarities.at(-1)).toBeLessThan(0.5);
  });

  it('is low for unrelated content', () => {
    // Prepare
    const stripes = greyImage(64, 64, (x) => (Math.floor(x / 4) % 2 ? 230 : 25));
    const bands = greyImage(64, 64, (_, y) => (Math.floor(y / 4) % 2 ? 230 : 25));

    // Act
    const noise = ssim(noiseImage(64, 64, 1), noiseImage(64, 64, 2));
    const crossed = ssim(stripes, bands);

    // Assess
    expect(Math.abs(noise)).toBeLessThan(0.1);
    expect(Math.abs(crossed)).toBeLessThan(0.1);
  });

  it('is negative for an image and its negative', () => {
    // Prepare
    const image = scene();
    const negative = { ...image, data: Uint8ClampedArray.from(image.data, (value) => 255 - value) };

    // Act
    const similarity = ssim(image, negative);

    // Assess
    expect(similarity).toBeLessThan(0);
  });

  it('compares images of different sizes on a common grid: an enlargement is the same image', () => {
    // Prepare: every pixel of the original repeated as a 3 × 3 block.
    const image = scene();
    const enlarged = greyImage(
      288,
      288,
      (x, y) => image.data[Math.floor(y / 3) * 96 + Math.floor(x / 3)] as number,
    );

    // Act
    const similarity = ssim(image, enlarged);

    // Assess
    expect(similarity).toBeCloseTo(1, 9);
  });

  it('for any two images is symmetric and within [-1, 1]', () => {
    fc.assert(
      fc.property(anyImage, anyImage, (a, b) => {
        // Act
        const forward = ssim(a, b);
        const backward = ssim(b, a);

        // Assess
        expect(forward).toBe(backward);
        expect(forward).toBeGreaterThanOrEqual(-1);
        expect(forward).toBeLessThanOrEqual(1);
      }),
      { seed: 15, numRuns: 150 },
    );
  });

  it('refuses an image whose bytes do not match its size', () => {
    // Prepare
    const broken: Pixels = { width: 20, height: 20, channels: 3, data: new Uint8Array(100) };

    // Act
    const compare = () => ssim(scene(), broken);

    // Assess
    expect(compare).toThrow(RangeError);
  });
});

describe('thumbnail', () => {
  it('averages the luma over the area each thumbnail pixel covers', () => {
    // Prepare: four 2 × 2 blocks of 0, 100, 200 and 40 (in RGB, so that luma is taken).
    const levels = [0, 0, 100, 100, 0, 0, 100, 100, 200, 200, 40, 40, 200, 200, 40, 40];
    const levelsRgb: Pixels = {
      width: 4,
      height: 4,
      channels: 3,
      data: Uint8Array.from(levels.flatMap((level) => [level, level, level])),
    };
    const sixteen = greyImage(32, 32, (x, y) => levels[Math.floor(y / 8) * 4 + Math.floor(x / 8)] as number);

    // Act
    const small = thumbnail(sixteen, 16);
    const blocks = thumbnail(
      greyImage(44, 44, (x, y) => (x < 22 ? (y < 22 ? 0 : 200) : y < 22 ? 100 : 40)),
      11,
    );

    // Assess
    expect(small).toMatchObject({ width: 16, height: 16, channels: 1 });
    expect([...small.data.subarray(0, 4)]).toEqual([0, 0, 0, 0]);
    expect(small.data[15]).toBe(100);
    expect(blocks.data[0]).toBe(0);
    expect(blocks.data[10]).toBe(100);
    expect(blocks.data[5]).toBe(50); // half over 0, half over 100
    expect(blocks.data[5 * 11 + 5]).toBe(85); // a quarter over each block: (0 + 100 + 200 + 40) / 4
    expect(thumbnail(levelsRgb, 11)).toMatchObject({ width: 11, height: 11, channels: 1 });
  });

  it('keeps a thumbnail of the asked size as it is', () => {
    // Prepare
    const small = thumbnail(scene(), 32);

    // Act
    const again = thumbnail(small, 32);

    // Assess
    expect(again).toBe(small);
  });

  it.each([5, 10.5, 0])('refuses a side of %j, smaller than the window or not whole', (side) => {
    // Act
    const shrink = () => thumbnail(scene(), side);

    // Assess
    expect(shrink).toThrow(RangeError);
  });
});

describe('meanPairwiseSsim', () => {
  it('is 1 for a batch of copies, and its diversity 0', () => {
    // Prepare
    const batch = [scene(), scene(), scene()];

    // Act
    const mean = meanPairwiseSsim(batch);

    // Assess
    expect(mean).toBeCloseTo(1, 9);
    expect(diversity(batch)).toBeCloseTo(0, 9);
  });

  it('ranks a batch of unrelated images as more diverse than a batch of near copies', () => {
    // Prepare
    const copies = [0, 1, 2, 3].map((seed) => withNoise(scene(), 4, seed + 1));
    const unrelated = [0, 1, 2, 3].map((seed) => noiseImage(80, 60, seed + 1));

    // Act
    const [similar, varied] = [copies, unrelated].map((batch) => diversity(batch)) as [number, number];

    // Assess
    expect(similar).toBeLessThan(0.1);
    expect(varied).toBeGreaterThan(0.8);
  });

  it('takes the batch as thumbnails too, with the same answer', () => {
    // Prepare
    const batch = [0, 5, 10, 15].map((shift) => scene(shift));

    // Act
    const fromImages = meanPairwiseSsim(batch, 32);
    const fromThumbnails = meanPairwiseSsim(
      batch.map((image) => thumbnail(image, 32)),
      32,
    );

    // Assess
    expect(fromThumbnails).toBe(fromImages);
  });

  it('averages every pair of a small batch', () => {
    // Prepare
    const batch = [0, 3, 9].map((shift) => thumbnail(scene(shift), 24));

    // Act
    const mean = meanPairwiseSsim(batch, 24);

    // Assess
    const [a, b, c] = batch as [Pixels, Pixels, Pixels];
    expect(mean).toBeCloseTo((ssim(a, b) + ssim(a, c) + ssim(b, c)) / 3, 12);
  });

  it('measures a large batch on a fixed sample of its images, close to the mean over all pairs', () => {
    // Prepare: 80 images, of which the mean over all 3160 pairs is known.
    const batch = Array.from({ length: MAX_COMPARED_IMAGES + 16 }, (_, i) =>
      thumbnail(withNoise(scene(i % 10), 10 + (i % 7) * 10, i + 1), 16),
    );
    let sum = 0;
    let pairs = 0;
    for (let i = 0; i < batch.length; i++) {
      for (let j = i + 1; j < batch.length; j++, pairs++) sum += ssim(batch[i] as Pixels, batch[j] as Pixels);
    }

    // Act
    const first = meanPairwiseSsim(batch, 16);
    const second = meanPairwiseSsim(batch, 16);

    // Assess
    expect(second).toBe(first);
    expect(first).toBeCloseTo(sum / pairs, 1);
  });

  it('needs two images', () => {
    // Act
    const measure = () => meanPairwiseSsim([scene()]);

    // Assess
    expect(measure).toThrow(/two images/);
  });
});
