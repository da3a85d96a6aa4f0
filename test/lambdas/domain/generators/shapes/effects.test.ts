import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../../../lambdas/domain/generators/rng.ts';
import { applyEffects, gaussianBlur } from '../../../../../lambdas/domain/generators/shapes/effects.ts';

/** A single bright pixel in the middle of a black, one-channel-lit image. */
function impulse(size: number): Float32Array {
  const image = new Float32Array(size * size * 3);
  const centre = (Math.floor(size / 2) * size + Math.floor(size / 2)) * 3;
  image[centre] = 1;
  return image;
}

/** Total weight and variance along x of the red channel. */
function spread(image: Float32Array, size: number): { total: number; varianceX: number } {
  let total = 0;
  let moment = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const value = image[(y * size + x) * 3] ?? 0;
      total += value;
      moment += value * (x - Math.floor(size / 2)) ** 2;
    }
  }
  return { total, varianceX: moment / total };
}

describe('gaussianBlur', () => {
  it('spreads a point into a Gaussian of the requested sigma, keeping its weight', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.3, max: 5, noNaN: true }), (sigma) => {
        // Prepare
        const size = 61;
        const image = impulse(size);

        // Act
        gaussianBlur(image, size, size, sigma);

        // Assess
        const { total, varianceX } = spread(image, size);
        expect(total).toBeCloseTo(1, 5);
        expect(Math.sqrt(varianceX)).toBeCloseTo(sigma, 1);
      }),
      { numRuns: 25 },
    );
  });

  it('leaves a flat image flat, edges included', () => {
    // Prepare
    const image = new Float32Array(20 * 10 * 3).fill(100);

    // Act
    gaussianBlur(image, 20, 10, 4);

    // Assess
    for (const value of image) expect(value).toBeCloseTo(100, 3);
  });

  it('blurs the green and blue channels independently of red', () => {
    // Prepare
    const image = impulse(21);

    // Act
    gaussianBlur(image, 21, 21, 2);

    // Assess
    const greenAndBlue = image.filter((_, i) => i % 3 !== 0);
    expect(Math.max(...greenAndBlue)).toBe(0);
  });
});

describe('applyEffects', () => {
  it('returns the image untouched when every effect is neutral', () => {
    // Prepare
    const rgb = Uint8Array.from({ length: 48 }, (_, i) => i * 5);

    // Act
    const result = applyEffects(rgb, 4, 4, { lighting: 1, blur: 0, noise: 0 }, new Rng(1));

    // Assess
    expect(result).toEqual(rgb);
  });

  it('scales brightness by the lighting gain, clamping at white', () => {
    // Prepare
    const rgb = Uint8Array.of(10, 100, 200);

    // Act
    const brighter = applyEffects(rgb, 1, 1, { lighting: 1.5, blur: 0, noise: 0 }, new Rng(1));

    // Assess
    expect([...brighter]).toEqual([15, 150, 255]);
  });

  it('adds zero-mean noise of the requested deviation, the same for the same seed', () => {
    // Prepare
    const rgb = new Uint8Array(64 * 64 * 3).fill(128);
    const effects = { lighting: 1, blur: 0, noise: 0.1 };

    // Act
    const noisy = applyEffects(rgb, 64, 64, effects, new Rng(4));
    const again = applyEffects(rgb, 64, 64, effects, new Rng(4));

    // Assess
    const deviations = [...noisy].map((value) => value - 128);
    const mean = deviations.reduce((sum, d) => sum + d, 0) / deviations.length;
    const std = Math.sqrt(deviations.reduce((sum, d) => sum + (d - mean) ** 2, 0) / deviations.length);
    expect(Math.abs(mean)).toBeLessThan(1);
    expect(std).toBeGreaterThan(25.5 * 0.95);
    expect(std).toBeLessThan(25.5 * 1.05);
    expect(again).toEqual(noisy);
  });
});
