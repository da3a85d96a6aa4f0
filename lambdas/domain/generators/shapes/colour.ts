import type { Rng } from '../rng.ts';
import type { Palette } from './parameters.ts';

/** 8-bit sRGB. */
export type Rgb = readonly [number, number, number];

interface HsvRange {
  saturation: readonly [number, number];
  value: readonly [number, number];
}

const PALETTE_RANGES: Readonly<Record<Palette, HsvRange>> = {
  vivid: { saturation: [0.7, 1], value: [0.75, 1] },
  pastel: { saturation: [0.15, 0.4], value: [0.85, 1] },
  muted: { saturation: [0.15, 0.45], value: [0.35, 0.7] },
  dark: { saturation: [0.4, 1], value: [0.12, 0.4] },
  grayscale: { saturation: [0, 0], value: [0.05, 0.95] },
  full: { saturation: [0, 1], value: [0, 1] },
};

/**
 * Objects must stand out from what is behind them, or a detector is trained on invisible objects.
 * Distance in RGB units (0..441).
 */
export const MIN_CONTRAST = 64;
const CONTRAST_ATTEMPTS = 8;

export function paletteColour(palette: Palette, rng: Rng): Rgb {
  const range = PALETTE_RANGES[palette];
  const hue = rng.float();
  const saturation = rng.between(...range.saturation);
  const value = rng.between(...range.value);
  return hsvToRgb(hue, saturation, value);
}

/**
 * A palette colour at least MIN_CONTRAST away from each of `avoid`; after a few attempts the most
 * distant candidate wins (a narrow palette may have no colour far enough away).
 */
export function contrastingColour(palette: Palette, avoid: readonly Rgb[], rng: Rng): Rgb {
  let best = paletteColour(palette, rng);
  let bestDistance = nearestDistance(best, avoid);
  for (let attempt = 1; attempt < CONTRAST_ATTEMPTS && bestDistance < MIN_CONTRAST; attempt++) {
    const candidate = paletteColour(palette, rng);
    const distance = nearestDistance(candidate, avoid);
    if (distance > bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** h, s, v in [0, 1]. */
export function hsvToRgb(hue: number, saturation: number, value: number): Rgb {
  // The closed form of the six-sector HSV conversion: n = 5, 3, 1 select red, green, blue.
  const channel = (n: number) => {
    const k = (n + hue * 6) % 6;
    return value - value * saturation * Math.max(0, Math.min(k, 4 - k, 1));
  };
  return [toByte(channel(5)), toByte(channel(3)), toByte(channel(1))];
}

/** RGB distance from `colour` to the nearest of `others`; infinite when there are none. */
export function nearestDistance(colour: Rgb, others: readonly Rgb[]): number {
  let nearest = Number.POSITIVE_INFINITY;
  for (const other of others) {
    nearest = Math.min(nearest, Math.hypot(colour[0] - other[0], colour[1] - other[1], colour[2] - other[2]));
  }
  return nearest;
}

function toByte(unit: number): number {
  return Math.round(Math.min(1, Math.max(0, unit)) * 255);
}
