import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Pixels, qualityMetrics } from '../../../../lambdas/domain/validation/quality.ts';
import { greyImage, normals } from './support.ts';

/** A 3 × 3 box blur of a grey image. */
function blurred(image: Pixels): Pixels {
  const { width, height, data } = image;
  return greyImage(width, height, (x, y) => {
    let sum = 0;
    let count = 0;
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const xx = x + dx;
        const yy = y + dy;
        if (xx < 0 || yy < 0 || xx >= width || yy >= height) continue;
        sum += data[yy * width + xx] ?? 0;
        count++;
      }
    }
    return Math.round(sum / count);
  });
}

const checkerboard = greyImage(64, 64, (x, y) => (((x >> 3) + (y >> 3)) % 2 ? 220 : 30));

describe('qualityMetrics', () => {
  it('gives a flat image no sharpness, contrast, noise or colour, and its brightness', () => {
    const metrics = qualityMetrics(greyImage(16, 16, () => 51));
    expect(metrics).toEqual({ sharpness: 0, contrast: 0, noise_level: 0, brightness: 0.2, colourfulness: 0 });
  });

  it('gives half black and half white the largest contrast, 1', () => {
    expect(qualityMetrics(greyImage(16, 16, (x) => (x < 8 ? 0 : 255))).contrast).toBe(1);
  });

  it('scores a blurred copy lower sharpness', () => {
    const sharp = qualityMetrics(checkerboard).sharpness;
    const soft = qualityMetrics(blurred(checkerboard)).sharpness;
    expect(soft).toBeLessThan(sharp / 2);
  });

  it('estimates added Gaussian noise within 15 % of its true level, and raises noise_level with it', () => {
    // Prepare: σ = 10 grey levels on a flat and on a smooth image.
    const draw = normals(7);
    const flat = greyImage(128, 128, () => 128 + 10 * draw());
    const ramp = greyImage(128, 128, (x, y) => 60 + x + 0.5 * y + 10 * draw());

    // Act
    const flatNoise = qualityMetrics(flat).noise_level;
    const rampNoise = qualityMetrics(ramp).noise_level;

    // Assess
    expect(flatNoise * 255).toBeGreaterThan(8.5);
    expect(flatNoise * 255).toBeLessThan(11.5);
    expect(rampNoise * 255).toBeGreaterThan(8.5);
    expect(rampNoise * 255).toBeLessThan(11.5);
    expect(qualityMetrics(greyImage(128, 128, (x, y) => 60 + x + 0.5 * y)).noise_level).toBeLessThan(
      flatNoise / 10,
    );
  });

  it('measures colourfulness as Hasler and Süsstrunk: pure red is 0.3·|(255, 127.5)|', () => {
    const red: Pixels = {
      width: 4,
      height: 4,
      channels: 3,
      data: new Uint8Array(48).map((_, i) => (i % 3 === 0 ? 255 : 0)),
    };
    expect(qualityMetrics(red).colourfulness).toBeCloseTo(0.3 * Math.hypot(255, 127.5), 9);
  });

  it('refuses an image too small to measure, or bytes that are not its pixels', () => {
    expect(() => qualityMetrics(greyImage(2, 8, () => 0))).toThrow(/too small/);
    expect(() => qualityMetrics({ width: 4, height: 4, channels: 3, data: new Uint8Array(10) })).toThrow(
      /not 4 × 4/,
    );
  });

  it('does not change when the image is mirrored (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 12 }),
        fc.integer({ min: 3, max: 12 }),
        fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 144, maxLength: 144 }),
        (width, height, values) => {
          const image = greyImage(width, height, (x, y) => values[y * 12 + x] ?? 0);
          const mirrored = greyImage(width, height, (x, y) => values[y * 12 + (width - 1 - x)] ?? 0);
          const a = qualityMetrics(image);
          const b = qualityMetrics(mirrored);
          for (const key of Object.keys(a) as (keyof typeof a)[]) expect(b[key]).toBeCloseTo(a[key], 6);
        },
      ),
    );
  });
});
