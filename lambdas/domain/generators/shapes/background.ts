import type { Rng } from '../rng.ts';
import { contrastingColour, paletteColour, type Rgb } from './colour.ts';
import type { BackgroundChoice, BackgroundKind, Palette } from './parameters.ts';

const BACKGROUND_KINDS: readonly BackgroundKind[] = ['solid', 'gradient', 'texture'];
const TEXTURES = ['checker', 'stripes', 'noise'] as const;

/** Where a weight in [0, 1] at pixel (x, y) blends the background's two colours. */
type Pattern = (x: number, y: number) => number;

export interface PaintedBackground {
  kind: BackgroundKind;
  /** The colours the background is made of, so that objects can be drawn to stand out from them. */
  colours: readonly Rgb[];
}

/** Paints the whole frame (`rgb`: 3 bytes per pixel, row-major). */
export function paintBackground(
  choice: BackgroundChoice,
  palette: Palette,
  rgb: Uint8Array,
  width: number,
  height: number,
  rng: Rng,
): PaintedBackground {
  const kind = choice === 'random' ? rng.pick(BACKGROUND_KINDS) : choice;
  const first = paletteColour(palette, rng);
  if (kind === 'solid') {
    paintTwoTone(rgb, width, height, first, first, () => 0);
    return { kind, colours: [first] };
  }
  const second = contrastingColour(palette, [first], rng);
  const pattern = kind === 'gradient' ? linearGradient(width, height, rng) : texture(width, height, rng);
  paintTwoTone(rgb, width, height, first, second, pattern);
  return { kind, colours: [first, second] };
}

function linearGradient(width: number, height: number, rng: Rng): Pattern {
  const angle = rng.between(0, 2 * Math.PI);
  const dx = Math.cos(angle);
  const dy = Math.sin(angle);
  // The image's extent along the gradient direction, so the weight runs from 0 to 1 corner to corner.
  const extent = Math.abs(width * dx) + Math.abs(height * dy);
  return (x, y) => ((x + 0.5 - width / 2) * dx + (y + 0.5 - height / 2) * dy) / extent + 0.5;
}

function texture(width: number, height: number, rng: Rng): Pattern {
  const shorter = Math.min(width, height);
  switch (rng.pick(TEXTURES)) {
    case 'checker': {
      const cell = Math.max(2, Math.round(shorter * rng.between(0.04, 0.15)));
      const offsetX = rng.int(0, cell - 1);
      const offsetY = rng.int(0, cell - 1);
      return (x, y) => (Math.floor((x + offsetX) / cell) + Math.floor((y + offsetY) / cell)) & 1;
    }
    case 'stripes': {
      const angle = rng.between(0, Math.PI);
      const period = Math.max(2, shorter * rng.between(0.05, 0.2));
      const dx = Math.cos(angle) / period;
      const dy = Math.sin(angle) / period;
      return (x, y) => (fraction(x * dx + y * dy) < 0.5 ? 0 : 1);
    }
    case 'noise':
      return valueNoise(width, height, Math.max(4, shorter * rng.between(0.08, 0.25)), rng);
  }
}

/**
 * Two octaves of value noise: random weights on a lattice, interpolated with smoothstep. Cheap,
 * deterministic and free of the grid artefacts a plain bilinear blend shows.
 */
function valueNoise(width: number, height: number, spacing: number, rng: Rng): Pattern {
  const coarse = lattice(width, height, spacing, rng);
  const fine = lattice(width, height, spacing / 2, rng);
  return (x, y) => (2 * coarse(x, y) + fine(x, y)) / 3;
}

function lattice(width: number, height: number, spacing: number, rng: Rng): Pattern {
  const columns = Math.ceil(width / spacing) + 2;
  const rows = Math.ceil(height / spacing) + 2;
  const weights = Float64Array.from({ length: columns * rows }, () => rng.float());
  const at = (column: number, row: number) => weights[row * columns + column] ?? 0;
  return (x, y) => {
    const u = x / spacing;
    const v = y / spacing;
    const column = Math.floor(u);
    const row = Math.floor(v);
    const s = smoothstep(u - column);
    const t = smoothstep(v - row);
    const top = at(column, row) + (at(column + 1, row) - at(column, row)) * s;
    const bottom = at(column, row + 1) + (at(column + 1, row + 1) - at(column, row + 1)) * s;
    return top + (bottom - top) * t;
  };
}

function paintTwoTone(
  rgb: Uint8Array,
  width: number,
  height: number,
  first: Rgb,
  second: Rgb,
  pattern: Pattern,
) {
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const weight = Math.min(1, Math.max(0, pattern(x, y)));
      const i = (y * width + x) * 3;
      rgb[i] = Math.round(first[0] + (second[0] - first[0]) * weight);
      rgb[i + 1] = Math.round(first[1] + (second[1] - first[1]) * weight);
      rgb[i + 2] = Math.round(first[2] + (second[2] - first[2]) * weight);
    }
  }
}

function smoothstep(t: number): number {
  return t * t * (3 - 2 * t);
}

function fraction(value: number): number {
  return value - Math.floor(value);
}
