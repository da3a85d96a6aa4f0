/**
 * Photometric effects on the finished colour image. They change colours only: the object-id map
 * and therefore every bounding box and area describe the sharp, noise-free scene.
 */
import type { Rng } from '../rng.ts';
import { normalQuantiles } from './normal-table.ts';

export interface Effects {
  /** Brightness gain; 1 leaves colours unchanged. */
  lighting: number;
  /** Gaussian sigma in pixels; 0 for none. */
  blur: number;
  /** Noise standard deviation as a fraction of full scale; 0 for none. */
  noise: number;
}

const FULL_SCALE = 255;
const CHANNELS = 3;
/** Three box passes per axis approach a Gaussian closely (central limit), as in Pillow. */
const BOX_PASSES = 3;

/** The image with effects applied: lighting, then blur, then sensor noise. */
export function applyEffects(
  rgb: Uint8Array,
  width: number,
  height: number,
  effects: Effects,
  rng: Rng,
): Uint8Array {
  if (effects.lighting === 1 && effects.blur === 0 && effects.noise === 0) return rgb;
  const image = new Float32Array(rgb.length);
  for (let i = 0; i < rgb.length; i++) image[i] = (rgb[i] ?? 0) * effects.lighting;
  if (effects.blur > 0) gaussianBlur(image, width, height, effects.blur);
  if (effects.noise > 0) addGaussianNoise(image, effects.noise * FULL_SCALE, rng);
  // Uint8ClampedArray rounds half to even and clamps to 0..255: exactly what quantising needs.
  const quantised = new Uint8ClampedArray(image.length);
  quantised.set(image);
  return new Uint8Array(quantised.buffer);
}

/**
 * Gaussian blur of interleaved RGB, in place, as Pillow computes it: three extended box blurs
 * per axis (Gwosdek et al. 2011) whose variances add up to sigma². The cost does not grow with
 * sigma, and fractional box radii keep small sigmas accurate. Edges repeat the border pixel.
 */
export function gaussianBlur(image: Float32Array, width: number, height: number, sigma: number): void {
  const radius = extendedBoxRadius(sigma, BOX_PASSES);
  // Lines carry `whole + 1` repeated border samples on each side, so the box passes need no clamping.
  const padding = radius.whole + 1;
  const line = new Float64Array(Math.max(width, height) + 2 * padding);
  const scratch = new Float64Array(line.length);
  for (let channel = 0; channel < CHANNELS; channel++) {
    for (let y = 0; y < height; y++) {
      blurLine(
        image,
        { first: y * width * CHANNELS + channel, step: CHANNELS, length: width },
        radius,
        line,
        scratch,
      );
    }
    for (let x = 0; x < width; x++) {
      blurLine(
        image,
        { first: x * CHANNELS + channel, step: width * CHANNELS, length: height },
        radius,
        line,
        scratch,
      );
    }
  }
}

/** The box radius (whole part l plus fraction a) that makes `passes` boxes a Gaussian of `sigma`. */
export function extendedBoxRadius(sigma: number, passes: number): BoxRadius {
  const variance = (sigma * sigma) / passes;
  const whole = Math.floor((Math.sqrt(12 * variance + 1) - 1) / 2);
  const fraction =
    ((2 * whole + 1) * (whole * (whole + 1) - 3 * variance)) / (6 * (variance - (whole + 1) * (whole + 1)));
  return { whole, fraction };
}

interface BoxRadius {
  whole: number;
  fraction: number;
}

/** One channel of one row or column: `length` samples from `first`, `step` apart. */
interface Line {
  first: number;
  step: number;
  length: number;
}

function blurLine(
  image: Float32Array,
  at: Line,
  radius: BoxRadius,
  line: Float64Array,
  scratch: Float64Array,
): void {
  const padding = radius.whole + 1;
  for (let i = 0; i < at.length; i++) line[padding + i] = image[at.first + i * at.step] ?? 0;
  let source = line;
  let target = scratch;
  for (let pass = 0; pass < BOX_PASSES; pass++) {
    source.fill(source[padding] ?? 0, 0, padding);
    source.fill(source[padding + at.length - 1] ?? 0, padding + at.length, 2 * padding + at.length);
    boxPass(source, target, at.length, radius);
    [source, target] = [target, source];
  }
  for (let i = 0; i < at.length; i++) image[at.first + i * at.step] = source[padding + i] ?? 0;
}

/**
 * One extended box over a padded line: each output is the mean of the 2l + 1 nearest samples plus
 * the next one on each side weighted by the fraction a. A running sum makes it O(1) per sample.
 */
function boxPass(source: Float64Array, target: Float64Array, length: number, radius: BoxRadius): void {
  const { whole, fraction } = radius;
  const padding = whole + 1;
  const scale = 1 / (2 * (whole + fraction) + 1);
  let sum = 0;
  for (let k = padding - whole; k <= padding + whole; k++) sum += source[k] as number;
  for (let centre = padding; centre < padding + length; centre++) {
    const outside = (source[centre - whole - 1] as number) + (source[centre + whole + 1] as number);
    target[centre] = (sum + fraction * outside) * scale;
    sum += (source[centre + whole + 1] as number) - (source[centre - whole] as number);
  }
}

/** Independent noise on every channel of every pixel; two samples per 32 random bits. */
function addGaussianNoise(image: Float32Array, deviation: number, rng: Rng): void {
  const quantiles = normalQuantiles();
  for (let i = 0; i < image.length; i += 2) {
    const bits = rng.uint32();
    image[i] = (image[i] ?? 0) + (quantiles[bits & 0xffff] ?? 0) * deviation;
    if (i + 1 < image.length) image[i + 1] = (image[i + 1] ?? 0) + (quantiles[bits >>> 16] ?? 0) * deviation;
  }
}
