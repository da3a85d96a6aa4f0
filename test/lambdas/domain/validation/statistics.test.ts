import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Pixels, qualityMetrics } from '../../../../lambdas/domain/validation/quality.ts';
import {
  type AccumulatorState,
  type ImageStatistics,
  imageStatistics,
  ProfileAccumulator,
  roundStatistics,
} from '../../../../lambdas/domain/validation/statistics.ts';
import { anyImageOfSide } from './support.ts';

function rgbImage(width: number, height: number, pixels: readonly (readonly number[])[]): Pixels {
  return { width, height, channels: 3, data: Uint8Array.from(pixels.flat()) };
}

/** Any small image of 1, 3 or 4 channels, at least 3 × 3 (quality.ts's smallest). */
const anyImage = anyImageOfSide(3, 12);

/** Statistics as one image of a profile might have them, in their ranges. */
const anyStatistics: fc.Arbitrary<ImageStatistics> = fc.record({
  width: fc.integer({ min: 1, max: 8192 }),
  height: fc.integer({ min: 1, max: 8192 }),
  red_mean: fc.double({ min: 0, max: 1, noNaN: true }),
  green_mean: fc.double({ min: 0, max: 1, noNaN: true }),
  blue_mean: fc.double({ min: 0, max: 1, noNaN: true }),
  red_std: fc.double({ min: 0, max: 0.5, noNaN: true }),
  green_std: fc.double({ min: 0, max: 0.5, noNaN: true }),
  blue_std: fc.double({ min: 0, max: 0.5, noNaN: true }),
  brightness: fc.double({ min: 0, max: 1, noNaN: true }),
  contrast: fc.double({ min: 0, max: 1, noNaN: true }),
});

function folded(images: readonly ImageStatistics[]): ProfileAccumulator {
  const accumulator = new ProfileAccumulator();
  for (const image of images) accumulator.add(image);
  return accumulator;
}

describe('imageStatistics', () => {
  it('gives the channel means and spreads over 255, and the size', () => {
    // Prepare: red 255 and 0 (mean 127.5, spread 127.5), green 51 everywhere, blue 0 and 102.
    const image = rgbImage(2, 1, [
      [255, 51, 0],
      [0, 51, 102],
    ]);

    // Act
    const statistics = imageStatistics(image);

    // Assess
    expect(statistics).toMatchObject({ width: 2, height: 1 });
    expect(statistics.red_mean).toBeCloseTo(0.5, 12);
    expect(statistics.green_mean).toBeCloseTo(0.2, 12);
    expect(statistics.blue_mean).toBeCloseTo(0.2, 12);
    expect(statistics.red_std).toBeCloseTo(0.5, 12);
    expect(statistics.green_std).toBe(0);
    expect(statistics.blue_std).toBeCloseTo(0.2, 12);
  });

  it('for any image has quality.ts brightness and contrast, and every statistic in its range', () => {
    fc.assert(
      fc.property(anyImage, (image) => {
        // Act
        const statistics = imageStatistics(image);
        const quality = qualityMetrics(image);

        // Assess
        expect(statistics.brightness).toBe(quality.brightness);
        expect(statistics.contrast).toBe(quality.contrast);
        for (const name of ['red_mean', 'green_mean', 'blue_mean', 'brightness', 'contrast'] as const) {
          expect(statistics[name]).toBeGreaterThanOrEqual(0);
          expect(statistics[name]).toBeLessThanOrEqual(1);
        }
        for (const name of ['red_std', 'green_std', 'blue_std'] as const) {
          expect(statistics[name]).toBeGreaterThanOrEqual(0);
          expect(statistics[name]).toBeLessThanOrEqual(0.5 + 1e-12);
        }
      }),
      { seed: 15, numRuns: 100 },
    );
  });

  it('gives a grey image equal red, green and blue, as the same image in RGB would have', () => {
    // Prepare
    const levels = [0, 40, 80, 120, 160, 200, 240, 255, 17];
    const grey: Pixels = { width: 3, height: 3, channels: 1, data: Uint8Array.from(levels) };
    const rgb = rgbImage(
      3,
      3,
      levels.map((level) => [level, level, level]),
    );

    // Act
    const statistics = imageStatistics(grey);

    // Assess
    expect(statistics.red_mean).toBe(statistics.green_mean);
    expect(statistics.green_mean).toBe(statistics.blue_mean);
    expect(statistics.red_std).toBe(statistics.blue_std);
    expect(statistics).toEqual(imageStatistics(rgb));
  });

  it('ignores alpha', () => {
    // Prepare
    const rgb = rgbImage(2, 2, [
      [10, 20, 30],
      [200, 100, 50],
      [0, 0, 0],
      [255, 255, 255],
    ]);
    const rgba: Pixels = {
      width: 2,
      height: 2,
      channels: 4,
      data: Uint8Array.from([10, 20, 30, 0, 200, 100, 50, 255, 0, 0, 0, 7, 255, 255, 255, 128]),
    };

    // Act
    const statistics = imageStatistics(rgba);

    // Assess
    expect(statistics).toEqual(imageStatistics(rgb));
  });

  it.each([
    ['no pixels', { width: 0, height: 4, channels: 3, data: new Uint8Array(0) }],
    ['too few bytes', { width: 2, height: 2, channels: 3, data: new Uint8Array(11) }],
  ] as const)('refuses an image with %s', (_, image) => {
    // Act
    const measure = () => imageStatistics(image);

    // Assess
    expect(measure).toThrow(RangeError);
  });
});

describe('ProfileAccumulator', () => {
  it("folds images into the profile's statistics: means, spreads and the sample count", () => {
    // Prepare
    const base = { red_std: 0, green_std: 0, blue_std: 0 };
    const images: ImageStatistics[] = [
      {
        ...base,
        width: 1920,
        height: 1080,
        red_mean: 0.4,
        green_mean: 0.6,
        blue_mean: 0.3,
        brightness: 0.2,
        contrast: 0.3,
      },
      {
        ...base,
        width: 1280,
        height: 720,
        red_mean: 0.5,
        green_mean: 0.5,
        blue_mean: 0.5,
        brightness: 0.6,
        contrast: 0.3,
      },
    ];

    // Act
    const accumulator = folded(images);
    const statistics = accumulator.statistics();

    // Assess
    expect(accumulator.sampleCount).toBe(2);
    expect(roundStatistics(statistics)).toEqual({
      color_distribution: { red_mean: 0.45, green_mean: 0.55, blue_mean: 0.4 },
      brightness_mean: 0.4,
      contrast_mean: 0.3,
      brightness_std: 0.2,
      contrast_std: 0,
      resolution: { width_mean: 1600, height_mean: 900 },
    });
  });

  it('gives bit-identical statistics in any order, where adding one by one does not', () => {
    // Prepare: (0.1 + 0.2) + 0.3 and 0.1 + (0.2 + 0.3) differ in the last bit.
    const image = (brightness: number): ImageStatistics => ({
      width: 1,
      height: 1,
      red_mean: brightness,
      green_mean: brightness,
      blue_mean: brightness,
      red_std: 0,
      green_std: 0,
      blue_std: 0,
      brightness,
      contrast: brightness,
    });
    const forward = [0.1, 0.2, 0.3].map(image);

    // Act
    const ahead = folded(forward).statistics();
    const behind = folded([...forward].reverse()).statistics();

    // Assess
    expect(0.1 + 0.2 + 0.3).not.toBe(0.3 + 0.2 + 0.1);
    expect(ahead).toEqual(behind);
    expect(ahead.brightness_mean).toBe(0.6 / 3);
  });

  it('for any images, any order and any split into merged chunks gives the same statistics', () => {
    fc.assert(
      fc.property(
        fc.array(anyStatistics, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 4 }),
        (images, shuffleSeed, cuts) => {
          // Prepare: a shuffled copy, cut into chunks that are folded apart and merged.
          const shuffled = shuffle(images, shuffleSeed);
          const bounds = [
            0,
            ...cuts.map((cut) => cut % (images.length + 1)).sort((a, b) => a - b),
            images.length,
          ];
          const chunks = bounds.slice(1).map((end, k) => shuffled.slice(bounds[k], end));

          // Act
          const whole = folded(images).statistics();
          const merged = chunks
            .map(folded)
            .reduce((total, chunk) => total.merge(chunk), new ProfileAccumulator());

          // Assess
          expect(merged.sampleCount).toBe(images.length);
          expect(merged.statistics()).toEqual(whole);
        },
      ),
      { seed: 15, numRuns: 200 },
    );
  });

  it('for any images has the spread of the exact values', () => {
    fc.assert(
      fc.property(fc.array(anyStatistics, { minLength: 1, maxLength: 30 }), (images) => {
        // Act
        const statistics = folded(images).statistics();

        // Assess: against a two-pass spread, which has no cancellation to speak of at this size.
        const values = images.map((image) => image.brightness);
        const average = values.reduce((sum, value) => sum + value, 0) / values.length;
        const spread = Math.sqrt(
          values.reduce((sum, value) => sum + (value - average) ** 2, 0) / values.length,
        );
        expect(statistics.brightness_std).toBeCloseTo(spread, 12);
        expect(statistics.brightness_mean).toBeCloseTo(average, 12);
      }),
      { seed: 15, numRuns: 100 },
    );
  });

  it('leaves the accumulator it merges as it was', () => {
    // Prepare
    const [first, second] = fc.sample(anyStatistics, { seed: 3, numRuns: 2 }) as [
      ImageStatistics,
      ImageStatistics,
    ];
    const target = folded([first]);
    const source = folded([second]);
    const before = source.statistics();

    // Act
    target.merge(source);

    // Assess
    expect(source.sampleCount).toBe(1);
    expect(source.statistics()).toEqual(before);
    expect(target.statistics()).toEqual(folded([first, second]).statistics());
  });

  it('rebuilds a chunk from its JSON state, to merge chunks folded elsewhere', () => {
    // Prepare
    const images = fc.sample(anyStatistics, { seed: 5, numRuns: 20 });
    const elsewhere = folded(images.slice(10));

    // Act
    const state = JSON.parse(JSON.stringify(elsewhere.toState()));
    const merged = folded(images.slice(0, 10)).merge(ProfileAccumulator.fromState(state));

    // Assess
    expect(ProfileAccumulator.fromState(state).statistics()).toEqual(elsewhere.statistics());
    expect(merged.statistics()).toEqual(folded(images).statistics());
  });

  it.each([
    ['a negative count', (state: AccumulatorState) => ({ ...state, sample_count: -1 })],
    [
      'a partial that is not a number',
      (state: AccumulatorState) => ({ ...state, sums: { ...state.sums, red: ['0.5' as unknown as number] } }),
    ],
  ])('refuses a state with %s', (_, spoil) => {
    // Prepare
    const state = spoil(folded(fc.sample(anyStatistics, { seed: 9, numRuns: 2 })).toState());

    // Act
    const rebuild = () => ProfileAccumulator.fromState(state);

    // Assess
    expect(rebuild).toThrow(RangeError);
  });

  it('has no statistics before its first image', () => {
    // Act
    const read = () => new ProfileAccumulator().statistics();

    // Assess
    expect(read).toThrow(/at least one image/);
  });

  it('refuses statistics that are not numbers', () => {
    // Prepare
    const [image] = fc.sample(anyStatistics, { seed: 1, numRuns: 1 }) as [ImageStatistics];

    // Act
    const add = () => new ProfileAccumulator().add({ ...image, contrast: Number.NaN });

    // Assess
    expect(add).toThrow(/contrast/);
  });
});

describe('roundStatistics', () => {
  it('rounds every number to four decimals', () => {
    // Prepare
    const colours = {
      red_mean: 0.123456,
      green_mean: 0.99999,
      blue_mean: 1 / 3,
      red_std: 0,
      green_std: 0,
      blue_std: 0,
      brightness: 0.00004,
      contrast: 0.55556,
    };
    const statistics = folded([
      { width: 1000, height: 3, ...colours },
      { width: 1001, height: 4, ...colours },
    ]).statistics();

    // Act
    const rounded = roundStatistics(statistics);

    // Assess
    expect(rounded).toEqual({
      color_distribution: { red_mean: 0.1235, green_mean: 1, blue_mean: 0.3333 },
      brightness_mean: 0,
      contrast_mean: 0.5556,
      brightness_std: 0,
      contrast_std: 0,
      resolution: { width_mean: 1000.5, height_mean: 3.5 },
    });
    expect(statistics.color_distribution.red_mean).toBeCloseTo(0.123456, 12);
  });
});

/** A seeded Fisher–Yates shuffle (Park–Miller), so that a failing case can be replayed. */
function shuffle<T>(items: readonly T[], seed: number): T[] {
  const copy = [...items];
  let state = (seed % 2147483646) + 1;
  for (let i = copy.length - 1; i > 0; i--) {
    state = (state * 16807) % 2147483647;
    const j = state % (i + 1);
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}
