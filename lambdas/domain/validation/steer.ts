/**
 * Steering an image toward a profile's statistics: a colour transfer in the spirit of Reinhard,
 * Ashikhmin, Gooch and Shirley ("Color transfer between images", IEEE Computer Graphics and
 * Applications 21(5), 2001), on the statistics a profile keeps rather than on a reference image.
 *
 * Every colour channel c is mapped by one line through its own mean μ_c,
 *   out = clamp(o_c + g · (in − μ_c), 0, 255),
 * with one gain g shared by the channels, so that hues keep their relations and the luma's spread
 * (a weighted sum of the channels) scales with g. Reinhard's transfer sets o_c to the target mean
 * and g to the ratio of spreads; here the offsets and the gain are solved for the image as it is
 * after clamping, which pushes the means off their targets whenever the target is dark or bright:
 * for a gain, each channel's offset is bisected on its histogram until the clamped mean is the
 * target's; the gain is searched until the luma's RMS contrast is. Where the target is out of reach
 * of this image, the original is kept if it is closer. Each channel is a function of its own value,
 * so the result is a lookup table per channel: a 512 × 512 frame takes a few milliseconds.
 */
import type { Pixels } from './quality.ts';
import type { ImageStatistics } from './statistics.ts';

/** The statistics an image is steered toward, each in [0, 1] (a profile's, flattened). */
export interface SteeringTarget {
  red_mean: number;
  green_mean: number;
  blue_mean: number;
  brightness_mean: number;
  contrast_mean: number;
}

/** The Rec. 601 weights of quality.ts's luma. */
const LUMA_WEIGHTS = [0.299, 0.587, 0.114] as const;
const WEIGHTS_SQUARED = LUMA_WEIGHTS.reduce((sum, weight) => sum + weight * weight, 0);

/** The contrast search samples at most this many pixels: its error is then far below a grey level. */
const SEARCH_SAMPLE = 65_536;
const SEARCH_STEPS = 24;
/** A hundredth of a grey level of luma spread: finer than 8-bit output keeps. */
const CONTRAST_TOLERANCE = 1e-4;
/** Past this gain every level of a non-flat image is already pushed to 0 or 255. */
const MAX_GAIN = 256;

/** A profile's `statistics` (seed 001) as a steering target. */
export function steeringTarget(statistics: {
  color_distribution: { red_mean: number; green_mean: number; blue_mean: number };
  brightness_mean: number;
  contrast_mean: number;
}): SteeringTarget {
  const { red_mean, green_mean, blue_mean } = statistics.color_distribution;
  const { brightness_mean, contrast_mean } = statistics;
  return { red_mean, green_mean, blue_mean, brightness_mean, contrast_mean };
}

/**
 * How far an image's statistics are from a target: the Euclidean distance over the channel means,
 * the brightness and the contrast (all in [0, 1]). For a grey image, whose channels cannot follow
 * a colour, compare brightness and contrast alone (greyDistance).
 */
export function profileDistance(statistics: ImageStatistics, target: SteeringTarget): number {
  return Math.hypot(
    statistics.red_mean - target.red_mean,
    statistics.green_mean - target.green_mean,
    statistics.blue_mean - target.blue_mean,
    statistics.brightness - target.brightness_mean,
    statistics.contrast - target.contrast_mean,
  );
}

export function greyDistance(statistics: ImageStatistics, target: SteeringTarget): number {
  return Math.hypot(
    statistics.brightness - target.brightness_mean,
    statistics.contrast - target.contrast_mean,
  );
}

/**
 * The image with its statistics moved toward the target; `strength` blends from the original (0,
 * the same pixels) to the fully steered image (1). Alpha is kept as it is. A grey image keeps one
 * channel and is steered toward the brightness and contrast. A flat image has no spread to scale:
 * only its level moves.
 *
 * When the target's brightness is not the luma of its channel means (a profile edited by hand, or
 * rounded), no image has all five: the channels aim at the means closest to the target over all
 * four (the least-squares point). When the target cannot be met even so (a high contrast around a
 * very dark mean), the steered image is the closest one found, and never farther than the original
 * (up to rounding to 8 bits).
 */
export function steerTowardProfile(image: Pixels, target: SteeringTarget, strength = 1): Pixels {
  checkTarget(target);
  if (!(strength >= 0 && strength <= 1)) throw new RangeError(`strength must be in [0, 1], got ${strength}`);
  checkPixels(image);
  const { width, height, channels, data } = image;
  const out = new Uint8Array(data);
  if (strength === 0) return { width, height, channels, data: out };

  const colours = channels === 1 ? 1 : 3;
  const count = width * height;
  const histograms = channelHistograms(image, colours);
  const means = histograms.map((histogram) => histogramMean(histogram, count));
  const goals = (colours === 1 ? [target.brightness_mean] : closestMeans(target)).map((goal) => goal * 255);
  const sample = sampledPixels(image, colours);

  const steer = (gain: number): Steering => {
    const tables = means.map((mean, c) =>
      lineTable(
        mean,
        gain,
        solveOffset(histograms[c] as Float64Array, count, mean, gain, goals[c] as number),
      ),
    );
    return { tables, contrast: sampledContrast(sample, tables) / 127.5 };
  };
  const distance = colours === 1 ? greyDistance : profileDistance;
  const gap = (steering: Steering) =>
    distance(
      {
        width,
        height,
        ...NO_SPREAD,
        ...tableStatistics(steering, histograms, count),
        contrast: steering.contrast,
      },
      target,
    );

  const identityTables = means.map((mean) => lineTable(mean, 1, mean));
  const identity: Steering = {
    tables: identityTables,
    contrast: sampledContrast(sample, identityTables) / 127.5,
  };
  // Reinhard's gain, the ratio of spreads, starts the search; a flat image has no spread to scale.
  const solved =
    identity.contrast > 0
      ? steer(solveGain(steer, target.contrast_mean / identity.contrast, target.contrast_mean))
      : steer(1);
  const chosen = gap(solved) < gap(identity) ? solved : identity;

  const lookups = chosen.tables.map((table) =>
    Uint8Array.from(table, (steered, level) => Math.round((1 - strength) * level + strength * steered)),
  );
  // `out` started as a copy, so alpha stays as it was.
  for (let c = 0; c < colours; c++) {
    const lookup = lookups[c] as Uint8Array;
    for (let p = c; p < data.length; p += channels) out[p] = lookup[data[p] as number] as number;
  }
  return { width, height, channels, data: out };
}

interface Steering {
  /** Per colour channel, the steered value (not rounded) of each input level. */
  tables: Float64Array[];
  contrast: number;
}

function checkTarget(target: SteeringTarget): void {
  for (const name of ['red_mean', 'green_mean', 'blue_mean', 'brightness_mean', 'contrast_mean'] as const) {
    const value = target[name];
    if (!(value >= 0 && value <= 1)) throw new RangeError(`${name} must be in [0, 1], got ${value}`);
  }
}

function checkPixels({ width, height, channels, data }: Pixels): void {
  if (width * height === 0) throw new RangeError(`an image of ${width} × ${height} has no pixels to steer`);
  if (data.length !== width * height * channels) {
    throw new RangeError(`${data.length} bytes are not ${width} × ${height} pixels of ${channels} channels`);
  }
}

/** Spreads the distance does not read. */
const NO_SPREAD = { red_std: 0, green_std: 0, blue_std: 0 };

function histogramMean(histogram: Float64Array, count: number): number {
  let sum = 0;
  for (let level = 0; level < 256; level++) sum += level * (histogram[level] as number);
  return sum / count;
}

/**
 * The channel means m nearest the target over the channels and the brightness: the least-squares
 * m minimising |m − t|² + (w·m − B)², m = t + (B − w·t) w / (1 + |w|²). For a profile whose
 * brightness is the luma of its means, that is the profile's own means.
 */
function closestMeans(target: SteeringTarget): number[] {
  const means = [target.red_mean, target.green_mean, target.blue_mean];
  const luma = means.reduce((sum, mean, c) => sum + mean * (LUMA_WEIGHTS[c] as number), 0);
  const step = (target.brightness_mean - luma) / (1 + WEIGHTS_SQUARED);
  return means.map((mean, c) => Math.min(1, Math.max(0, mean + step * (LUMA_WEIGHTS[c] as number))));
}

function channelHistograms({ channels, data }: Pixels, colours: number): Float64Array[] {
  return Array.from({ length: colours }, (_, c) => {
    const counts = new Uint32Array(256);
    for (let p = c; p < data.length; p += channels) {
      const level = data[p] as number;
      counts[level] = (counts[level] as number) + 1;
    }
    return Float64Array.from(counts);
  });
}

/** Every level's steered value: the line of slope `gain` through (mean, offset), clamped. */
function lineTable(mean: number, gain: number, offset: number): Float64Array {
  const table = new Float64Array(256);
  for (let level = 0; level < 256; level++) {
    table[level] = Math.min(255, Math.max(0, offset + gain * (level - mean)));
  }
  return table;
}

/**
 * The offset that gives the clamped channel the goal mean. The mean only grows with the offset,
 * so bisection finds it; from the lowest offset (all 0) to the highest (all 255) every goal in
 * [0, 255] is reached.
 */
function solveOffset(
  histogram: Float64Array,
  count: number,
  mean: number,
  gain: number,
  goal: number,
): number {
  let low = -gain * 255 - 1;
  let high = 256 + gain * 255;
  const meanAt = (offset: number) => {
    let sum = 0;
    for (let level = 0; level < 256; level++) {
      const weight = histogram[level] as number;
      if (weight > 0) sum += weight * Math.min(255, Math.max(0, offset + gain * (level - mean)));
    }
    return sum / count;
  };
  for (let step = 0; step < 50 && high - low > 1e-9; step++) {
    const middle = (low + high) / 2;
    if (meanAt(middle) < goal) low = middle;
    else high = middle;
  }
  return (low + high) / 2;
}

/**
 * The gain whose steered image has the goal contrast. Contrast grows with the gain, almost in
 * proportion until clamping slows it, so the gain is bracketed from Reinhard's ratio of spreads and
 * found by regula falsi with the Illinois correction (a few steps where bisection takes twenty); a
 * contrast out of reach takes the largest gain.
 */
function solveGain(steer: (gain: number) => Steering, initial: number, goal: number): number {
  let high = Math.min(MAX_GAIN, Math.max(initial, 1e-6));
  let highError = steer(high).contrast - goal;
  let low = 0;
  let lowError = -goal;
  while (highError < 0 && high < MAX_GAIN) {
    [low, lowError] = [high, highError];
    high = Math.min(MAX_GAIN, high * 2);
    highError = steer(high).contrast - goal;
  }
  if (highError <= 0) return high;
  let side = 0;
  for (let step = 0; step < SEARCH_STEPS; step++) {
    const gain = (low * highError - high * lowError) / (highError - lowError);
    const error = steer(gain).contrast - goal;
    if (Math.abs(error) < CONTRAST_TOLERANCE) return gain;
    if (error < 0) {
      [low, lowError] = [gain, error];
      // Illinois: the end that stayed twice in a row has its error halved, so it moves next.
      if (side === -1) highError /= 2;
      side = -1;
    } else {
      [high, highError] = [gain, error];
      if (side === 1) lowError /= 2;
      side = 1;
    }
  }
  return (low * highError - high * lowError) / (highError - lowError);
}

/** Up to SEARCH_SAMPLE pixels' colour levels, evenly spaced, for the contrast search. */
function sampledPixels({ width, height, channels, data }: Pixels, colours: number): Uint8Array {
  const count = width * height;
  const stride = Math.max(1, Math.ceil(count / SEARCH_SAMPLE));
  const sample = new Uint8Array(Math.ceil(count / stride) * colours);
  for (let pixel = 0, k = 0; pixel < count; pixel += stride, k += colours) {
    for (let c = 0; c < colours; c++) sample[k + c] = data[pixel * channels + c] as number;
  }
  return sample;
}

/** The steered sample's luma standard deviation, in grey levels (one pass: it runs per search step). */
function sampledContrast(sample: Uint8Array, tables: Float64Array[]): number {
  const [red, green, blue] = tables as [Float64Array, Float64Array?, Float64Array?];
  let sum = 0;
  let squares = 0;
  let count = 0;
  if (green && blue) {
    const [wr, wg, wb] = LUMA_WEIGHTS;
    for (let k = 0; k < sample.length; k += 3, count++) {
      const luma =
        wr * (red[sample[k] as number] as number) +
        wg * (green[sample[k + 1] as number] as number) +
        wb * (blue[sample[k + 2] as number] as number);
      sum += luma;
      squares += luma * luma;
    }
  } else {
    for (let k = 0; k < sample.length; k++, count++) {
      const luma = red[sample[k] as number] as number;
      sum += luma;
      squares += luma * luma;
    }
  }
  const mean = sum / count;
  return Math.sqrt(Math.max(0, squares / count - mean * mean));
}

/** The steered image's channel means and brightness, exactly, from the histograms. */
function tableStatistics(
  steering: Steering,
  histograms: Float64Array[],
  count: number,
): Pick<ImageStatistics, 'red_mean' | 'green_mean' | 'blue_mean' | 'brightness'> {
  const means = steering.tables.map((table, c) => {
    const histogram = histograms[c] as Float64Array;
    let sum = 0;
    for (let level = 0; level < 256; level++) sum += (histogram[level] as number) * (table[level] as number);
    return sum / count / 255;
  });
  const [red = 0, green = red, blue = red] = means;
  const brightness =
    means.length === 1 ? red : LUMA_WEIGHTS[0] * red + LUMA_WEIGHTS[1] * green + LUMA_WEIGHTS[2] * blue;
  return { red_mean: red, green_mean: green, blue_mean: blue, brightness };
}
