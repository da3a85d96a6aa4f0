/**
 * A model's PNG steered toward a profile: the image the job keeps has the profile's brightness and
 * colour means, its size and transparency are the model's, and an answer that is no PNG is refused
 * rather than kept unsteered.
 */
import fc from 'fast-check';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import type { ProfileStatistics } from '../../../../contracts/datasets.ts';
import { encodePng } from '../../../../lambdas/domain/archive/png.ts';
import { steerPng, UnreadableImageError } from '../../../../lambdas/domain/images/profile.ts';
import { imageStatistics } from '../../../../lambdas/domain/validation/statistics.ts';
import { profileDistance, steeringTarget } from '../../../../lambdas/domain/validation/steer.ts';

/** A dark, bluish profile of moderate contrast, as GET /api/v1/profiles/{name} shows one. */
const DARK: ProfileStatistics = {
  color_distribution: { red_mean: 0.12, green_mean: 0.14, blue_mean: 0.3 },
  brightness_mean: 0.1598,
  contrast_mean: 0.12,
  resolution: { width_mean: 256, height_mean: 256 },
};
const dark = { name: 'dark', statistics: DARK };

/** A bright gradient of w × h with some texture: a model's image, as far as steering goes. */
function brightRgb(width: number, height: number): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      rgb[i] = 150 + ((x * 3) % 100);
      rgb[i + 1] = 170 + ((y * 5) % 80);
      rgb[i + 2] = 140 + (((x + y) * 7) % 110);
    }
  }
  return rgb;
}

const decoded = (png: Uint8Array) => PNG.sync.read(Buffer.from(png));
const statisticsOf = (png: Uint8Array) => {
  const { width, height, data } = decoded(png);
  return imageStatistics({ width, height, channels: 4, data });
};

describe('steerPng', () => {
  it("gives a bright image the profile's brightness and colour means, at the model's size", () => {
    // Prepare
    const original = encodePng(96, 64, brightRgb(96, 64));

    // Act
    const steered = steerPng(original, dark);

    // Assess
    const before = statisticsOf(original);
    const after = statisticsOf(steered);
    expect(before.brightness).toBeGreaterThan(0.6);
    expect(Math.abs(after.brightness - DARK.brightness_mean)).toBeLessThan(0.01);
    expect(Math.abs(after.blue_mean - DARK.color_distribution.blue_mean)).toBeLessThan(0.01);
    expect(Math.abs(after.contrast - DARK.contrast_mean)).toBeLessThan(0.01);
    const png = decoded(steered);
    expect([png.width, png.height]).toEqual([96, 64]);
    // An opaque image stays 8-bit RGB (colour type 2), like the model's.
    expect(steered[25]).toBe(2);
  });

  it('keeps the transparency of an image that has some', () => {
    // Prepare: the left half transparent.
    const source = new PNG({ width: 32, height: 32 });
    for (let p = 0; p < 32 * 32; p++) {
      source.data.set([200, 180, 160, p % 32 < 16 ? 0 : 255], p * 4);
    }
    const original = new Uint8Array(PNG.sync.write(source, { colorType: 6 }));

    // Act
    const steered = decoded(steerPng(original, dark));

    // Assess
    const alpha = Array.from({ length: 32 * 32 }, (_, p) => steered.data[p * 4 + 3]);
    expect(alpha).toEqual(Array.from({ length: 32 * 32 }, (_, p) => (p % 32 < 16 ? 0 : 255)));
    // The opaque half is steered: its red was 200.
    expect(steered.data[20 * 4]).toBeLessThan(100);
  });

  it('refuses an answer that is no PNG, naming why', () => {
    // Prepare
    const jpegStart = Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46);

    // Act
    const attempt = () => steerPng(jpegStart, dark);

    // Assess
    expect(attempt).toThrow(UnreadableImageError);
    expect(attempt).toThrow(/not a PNG that can be read/);
  });

  it('never takes an image farther from the profile than it was (up to 8-bit rounding)', () => {
    const level = fc.double({ min: 0.02, max: 0.98, noNaN: true });
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 12 * 10 * 3, maxLength: 12 * 10 * 3 }),
        fc.record({
          red: level,
          green: level,
          blue: level,
          contrast: fc.double({ min: 0, max: 0.5, noNaN: true }),
        }),
        (rgb, { red, green, blue, contrast }) => {
          // Prepare
          const statistics: ProfileStatistics = {
            color_distribution: { red_mean: red, green_mean: green, blue_mean: blue },
            brightness_mean: 0.299 * red + 0.587 * green + 0.114 * blue,
            contrast_mean: contrast,
            resolution: { width_mean: 12, height_mean: 10 },
          };
          const original = encodePng(12, 10, rgb);

          // Act
          const steered = steerPng(original, { name: 'any', statistics });

          // Assess
          const target = steeringTarget(statistics);
          const png = decoded(steered);
          expect([png.width, png.height]).toEqual([12, 10]);
          expect(profileDistance(statisticsOf(steered), target)).toBeLessThanOrEqual(
            profileDistance(statisticsOf(original), target) + 0.01,
          );
        },
      ),
      { numRuns: 60 },
    );
  });
});
