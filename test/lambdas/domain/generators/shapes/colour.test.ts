import { describe, expect, it } from 'vitest';
import { Rng } from '../../../../../lambdas/domain/generators/rng.ts';
import {
  contrastingColour,
  hsvToRgb,
  paletteColour,
  type Rgb,
} from '../../../../../lambdas/domain/generators/shapes/colour.ts';
import { PALETTES } from '../../../../../lambdas/domain/generators/shapes/parameters.ts';

const distance = (a: Rgb, b: Rgb) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

describe('colours', () => {
  it.each([
    [0, 1, 1, [255, 0, 0]],
    [1 / 3, 1, 1, [0, 255, 0]],
    [2 / 3, 1, 1, [0, 0, 255]],
    [1 / 6, 1, 1, [255, 255, 0]],
    [0.5, 0.5, 0.5, [64, 128, 128]],
    [0.25, 0, 0.2, [51, 51, 51]],
  ])('converts hsv(%f, %f, %f) to rgb %j', (hue, saturation, value, rgb) => {
    // Act
    const converted = hsvToRgb(hue, saturation, value);

    // Assess
    expect(converted).toEqual(rgb);
  });

  it('keeps grayscale grey and vivid colours saturated', () => {
    // Prepare
    const rng = new Rng(12);

    // Act
    const greys = Array.from({ length: 50 }, () => paletteColour('grayscale', rng));
    const vivid = Array.from({ length: 50 }, () => paletteColour('vivid', rng));

    // Assess
    for (const [r, g, b] of greys) expect(r === g && g === b).toBe(true);
    for (const colour of vivid)
      expect(Math.max(...colour) - Math.min(...colour)).toBeGreaterThan(255 * 0.75 * 0.7 - 1);
  });

  it.each(PALETTES.filter((palette) => palette !== 'grayscale'))(
    'draws %s object colours that stand out from the background',
    (palette) => {
      // Prepare
      const rng = new Rng(3);
      const background = paletteColour(palette, rng);

      // Act
      const colours = Array.from({ length: 100 }, () => contrastingColour(palette, [background], rng));

      // Assess
      const tooClose = colours.filter((colour) => distance(colour, background) < 64);
      expect(tooClose.length).toBeLessThanOrEqual(2);
    },
  );
});
