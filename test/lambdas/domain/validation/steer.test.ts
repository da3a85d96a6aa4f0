import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Pixels } from '../../../../lambdas/domain/validation/quality.ts';
import { imageStatistics } from '../../../../lambdas/domain/validation/statistics.ts';
import {
  greyDistance,
  profileDistance,
  type SteeringTarget,
  steeringTarget,
  steerTowardProfile,
} from '../../../../lambdas/domain/validation/steer.ts';

/** A red-dominant, dark target whose brightness is the luma of its channel means. */
const DARK_RED: SteeringTarget = {
  red_mean: 0.4,
  green_mean: 0.12,
  blue_mean: 0.1,
  brightness_mean: 0.2014,
  contrast_mean: 0.25,
};

/** A smooth scene with some noise: a gradient in each channel and a bright square. */
function scene(width: number, height: number, channels: 1 | 3 | 4, seed = 1): Pixels {
  const data = new Uint8Array(width * height * channels);
  let state = seed;
  const noise = () => {
    state = (state * 16807) % 2147483647;
    return (state / 2147483647 - 0.5) * 30;
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = x > width / 3 && x < (2 * width) / 3 && y > height / 3 && y < (2 * height) / 3;
      const colour = [60 + (120 * x) / width, 200 - (100 * y) / height, inside ? 240 : 90];
      const p = (y * width + x) * channels;
      for (let c = 0; c < channels; c++) {
        data[p + c] = c === 3 ? (x * 7 + y) % 256 : Math.round((colour[c] as number) + noise());
      }
    }
  }
  return { width, height, channels, data };
}

/** Any small image: a random base colour, a random spread of noise, 1, 3 or 4 channels. */
const anyImage = fc
  .record({
    width: fc.integer({ min: 1, max: 24 }),
    height: fc.integer({ min: 1, max: 24 }),
    channels: fc.constantFrom(1 as const, 3 as const, 4 as const),
    base: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }),
    spread: fc.integer({ min: 0, max: 255 }),
    seed: fc.integer({ min: 1, max: 2 ** 30 }),
  })
  .map(({ width, height, channels, base, spread, seed }): Pixels => {
    const data = new Uint8Array(width * height * channels);
    let state = seed;
    for (let i = 0; i < data.length; i++) {
      state = (state * 16807) % 2147483647;
      const offset = (state / 2147483647 - 0.5) * spread;
      data[i] = Math.min(255, Math.max(0, Math.round((base[i % channels] as number) + offset)));
    }
    return { width, height, channels, data };
  });

/**
 * An image with some texture to scale: at least 8 × 8 and a noise spread of 40 levels or more. A
 * tiny or flat image may have no way closer to a target than where it is (two pixels cannot have
 * both a dark mean and a high contrast).
 */
const texturedImage = anyImage.filter((image) => {
  const statistics = imageStatistics(image);
  return image.width >= 8 && image.height >= 8 && statistics.contrast > 0.1;
});

/** Any target a profile of real images could have; its brightness need not match its channels. */
const anyTarget: fc.Arbitrary<SteeringTarget> = fc.record({
  red_mean: fc.double({ min: 0.05, max: 0.95, noNaN: true }),
  green_mean: fc.double({ min: 0.05, max: 0.95, noNaN: true }),
  blue_mean: fc.double({ min: 0.05, max: 0.95, noNaN: true }),
  brightness_mean: fc.double({ min: 0.05, max: 0.95, noNaN: true }),
  contrast_mean: fc.double({ min: 0.02, max: 0.6, noNaN: true }),
});

/**
 * A target whose contrast is at most half of what its brightness allows: the most is a black and
 * white image, 2√(μ(1 − μ)) for a mean μ.
 */
const reachableTarget = anyTarget.map((target) => {
  const most = 2 * Math.sqrt(target.brightness_mean * (1 - target.brightness_mean));
  return { ...target, contrast_mean: Math.min(target.contrast_mean, most / 2) };
});

function distance(image: Pixels, target: SteeringTarget): number {
  const statistics = imageStatistics(image);
  return image.channels === 1 ? greyDistance(statistics, target) : profileDistance(statistics, target);
}

/** How far 8-bit rounding alone can move the five statistics. */
const ROUNDING = 0.005;

describe('steerTowardProfile', () => {
  it("gives an image the target's channel means, brightness and contrast", () => {
    // Prepare
    const image = scene(64, 48, 3);

    // Act
    const steered = imageStatistics(steerTowardProfile(image, DARK_RED));

    // Assess
    expect(steered.red_mean).toBeCloseTo(DARK_RED.red_mean, 2);
    expect(steered.green_mean).toBeCloseTo(DARK_RED.green_mean, 2);
    expect(steered.blue_mean).toBeCloseTo(DARK_RED.blue_mean, 2);
    expect(steered.brightness).toBeCloseTo(DARK_RED.brightness_mean, 2);
    expect(steered.contrast).toBeCloseTo(DARK_RED.contrast_mean, 2);
  });

  it('for any image and target never moves the statistics away from the target', () => {
    fc.assert(
      fc.property(anyImage, anyTarget, (image, target) => {
        // Act
        const steered = steerTowardProfile(image, target);

        // Assess
        expect(distance(steered, target)).toBeLessThanOrEqual(distance(image, target) + ROUNDING);
      }),
      { seed: 15, numRuns: 300 },
    );
  });

  it('for any textured image and reachable target moves the statistics closer to the target', () => {
    fc.assert(
      fc.property(texturedImage, reachableTarget, (image, target) => {
        // Act
        const steered = steerTowardProfile(image, target);

        // Assess
        const before = distance(image, target);
        const after = distance(steered, target);
        if (before > 2 * ROUNDING) expect(after).toBeLessThan(before);
      }),
      { seed: 15, numRuns: 200 },
    );
  });

  it('for any image and strength keeps the size, the channels and alpha', () => {
    fc.assert(
      fc.property(
        anyImage,
        anyTarget,
        fc.double({ min: 0, max: 1, noNaN: true }),
        (image, target, strength) => {
          // Act
          const steered = steerTowardProfile(image, target, strength);

          // Assess
          expect(steered).toMatchObject({
            width: image.width,
            height: image.height,
            channels: image.channels,
          });
          expect(steered.data).toHaveLength(image.data.length);
          if (image.channels === 4) {
            const alpha = (data: Pixels['data']) => data.filter((_, i) => i % 4 === 3);
            expect(alpha(steered.data)).toEqual(alpha(image.data));
          }
        },
      ),
      { seed: 15, numRuns: 100 },
    );
  });

  it('with strength 0 gives the same pixels, in a new array', () => {
    // Prepare
    const image = scene(20, 10, 4);

    // Act
    const steered = steerTowardProfile(image, DARK_RED, 0);

    // Assess
    expect(steered.data).toEqual(image.data);
    expect(steered.data).not.toBe(image.data);
  });

  it('with a strength between 0 and 1 lands between the original and the fully steered image', () => {
    // Prepare
    const image = scene(40, 30, 3);

    // Act
    const [none, half, full] = [0, 0.5, 1].map((strength) =>
      imageStatistics(steerTowardProfile(image, DARK_RED, strength)),
    ) as [
      ReturnType<typeof imageStatistics>,
      ReturnType<typeof imageStatistics>,
      ReturnType<typeof imageStatistics>,
    ];

    // Assess
    expect(half.brightness).toBeCloseTo((none.brightness + full.brightness) / 2, 2);
    expect(half.red_mean).toBeCloseTo((none.red_mean + full.red_mean) / 2, 2);
    expect(profileDistance(half, DARK_RED)).toBeLessThan(profileDistance(none, DARK_RED));
    expect(profileDistance(full, DARK_RED)).toBeLessThan(profileDistance(half, DARK_RED));
  });

  it('leaves the image it was given as it was', () => {
    // Prepare
    const image = scene(16, 16, 3);
    const before = Uint8Array.from(image.data);

    // Act
    steerTowardProfile(image, DARK_RED);

    // Assess
    expect(image.data).toEqual(before);
  });

  it('steers a grey image toward the brightness and contrast, keeping it grey', () => {
    // Prepare
    const image = scene(32, 32, 1);

    // Act
    const steered = steerTowardProfile(image, DARK_RED);

    // Assess
    const statistics = imageStatistics(steered);
    expect(steered.channels).toBe(1);
    expect(statistics.brightness).toBeCloseTo(DARK_RED.brightness_mean, 2);
    expect(statistics.contrast).toBeCloseTo(DARK_RED.contrast_mean, 2);
  });

  it('moves only the level of a flat image, which has no spread to scale', () => {
    // Prepare
    const image: Pixels = { width: 8, height: 8, channels: 3, data: new Uint8Array(8 * 8 * 3).fill(200) };

    // Act
    const steered = imageStatistics(steerTowardProfile(image, DARK_RED));

    // Assess
    expect(steered.contrast).toBeCloseTo(0, 10);
    expect(steered.red_mean).toBeCloseTo(DARK_RED.red_mean, 2);
    expect(steered.blue_mean).toBeCloseTo(DARK_RED.blue_mean, 2);
  });

  it('meets a brightness that is not the luma of the channel means halfway, as close as any image can', () => {
    // Prepare: means whose luma is about 0.5, with a brightness of 0.3.
    const target = {
      red_mean: 0.5,
      green_mean: 0.5,
      blue_mean: 0.5,
      brightness_mean: 0.3,
      contrast_mean: 0.2,
    };
    const image = scene(48, 48, 3);

    // Act
    const steered = imageStatistics(steerTowardProfile(image, target));

    // Assess: closer to the target than an image with the channel means exactly would be.
    const exactMeans = { ...steered, red_mean: 0.5, green_mean: 0.5, blue_mean: 0.5, brightness: 0.5 };
    expect(steered.brightness).toBeGreaterThan(0.3);
    expect(steered.brightness).toBeLessThan(0.5);
    expect(profileDistance(steered, target)).toBeLessThan(profileDistance(exactMeans, target));
  });

  it("reads a profile's statistics as a target", () => {
    // Prepare
    const statistics = {
      color_distribution: { red_mean: 0.42, green_mean: 0.56, blue_mean: 0.38 },
      brightness_mean: 0.48,
      contrast_mean: 0.65,
      resolution: { width_mean: 1920, height_mean: 1080 },
    };

    // Act
    const target = steeringTarget(statistics);

    // Assess
    expect(target).toEqual({
      red_mean: 0.42,
      green_mean: 0.56,
      blue_mean: 0.38,
      brightness_mean: 0.48,
      contrast_mean: 0.65,
    });
  });

  it.each([
    ['a mean above 1', { ...DARK_RED, red_mean: 1.2 }, 1],
    ['a negative contrast', { ...DARK_RED, contrast_mean: -0.1 }, 1],
    ['a mean that is not a number', { ...DARK_RED, brightness_mean: Number.NaN }, 1],
    ['a strength above 1', DARK_RED, 1.5],
    ['a negative strength', DARK_RED, -0.5],
  ])('refuses %s', (_, target, strength) => {
    // Act
    const steer = () => steerTowardProfile(scene(4, 4, 3), target, strength);

    // Assess
    expect(steer).toThrow(RangeError);
  });
});
