/**
 * Image statistics for seed 001's profiles: each image's channel means, brightness and contrast,
 * and a profile's `statistics`, their means over the images.
 *
 * brightness and contrast are quality.ts's, on the same Rec. 601 luma: the mean luma over 255, and
 * the RMS contrast (the luma's standard deviation over 127.5). Channel means and standard
 * deviations are over 255 too, so every statistic but the resolution lies in [0, 1].
 *
 * A profile is folded exactly: every sum is kept as Shewchuk's non-overlapping partials ("Adaptive
 * precision floating-point arithmetic and fast robust geometric predicates", Discrete and
 * Computational Geometry 18, 1997) and rounded once, correctly, when read. The answer is then the
 * same in any order and for any split into chunks that are merged, bit for bit, which sums of
 * doubles added one by one are not.
 */
import { luminance, mean, type Pixels, standardDeviation } from './quality.ts';

/** One image's statistics. Alpha is ignored; a grey image has equal red, green and blue. */
export interface ImageStatistics {
  width: number;
  height: number;
  /** Channel means over 255, in [0, 1]. */
  red_mean: number;
  green_mean: number;
  blue_mean: number;
  /** Channel standard deviations (over the pixels) over 255, in [0, 0.5]. */
  red_std: number;
  green_std: number;
  blue_std: number;
  /** The mean Rec. 601 luma over 255: quality.ts's brightness. */
  brightness: number;
  /** The luma's standard deviation over 127.5: quality.ts's RMS contrast, in [0, 1]. */
  contrast: number;
}

export function imageStatistics(image: Pixels): ImageStatistics {
  const { width, height, channels, data } = image;
  const count = width * height;
  if (count === 0) throw new RangeError(`an image of ${width} × ${height} has no pixels to measure`);
  if (data.length !== count * channels) {
    throw new RangeError(`${data.length} bytes are not ${width} × ${height} pixels of ${channels} channels`);
  }
  const colours = channels === 1 ? 1 : 3;
  const sums = [0, 0, 0];
  const squares = [0, 0, 0];
  for (let c = 0; c < colours; c++) {
    // Integer sums are exact: 255² × 2^36 pixels still fits a double's 53 bits.
    let sum = 0;
    let square = 0;
    for (let p = c; p < data.length; p += channels) {
      const value = data[p] as number;
      sum += value;
      square += value * value;
    }
    sums[c] = sum;
    squares[c] = square;
  }
  const means = sums.map((sum) => sum / count);
  const stds = squares.map((square, c) => Math.sqrt(Math.max(0, square / count - (means[c] as number) ** 2)));
  const channel = (c: number) => (colours === 1 ? 0 : c);
  const grey = luminance(image);
  return {
    width,
    height,
    red_mean: (means[0] as number) / 255,
    green_mean: (means[channel(1)] as number) / 255,
    blue_mean: (means[channel(2)] as number) / 255,
    red_std: (stds[0] as number) / 255,
    green_std: (stds[channel(1)] as number) / 255,
    blue_std: (stds[channel(2)] as number) / 255,
    brightness: mean(grey) / 255,
    contrast: standardDeviation(grey) / 127.5,
  };
}

/** A profile's `statistics`, as seed 001's GET /profiles/{name} shows them, with the spreads added. */
export interface ProfileStatistics {
  color_distribution: { red_mean: number; green_mean: number; blue_mean: number };
  brightness_mean: number;
  contrast_mean: number;
  /** Standard deviations across the images (over n: the samples are the whole profile). */
  brightness_std: number;
  contrast_std: number;
  resolution: { width_mean: number; height_mean: number };
}

/** What an accumulator holds, as JSON: the exact sums' partials, to merge chunks built elsewhere. */
export interface AccumulatorState {
  sample_count: number;
  sums: Record<SummedName, number[]>;
}

const SUMMED = [
  'red',
  'green',
  'blue',
  'brightness',
  'contrast',
  'width',
  'height',
  'brightness_squared',
  'contrast_squared',
] as const;
type SummedName = (typeof SUMMED)[number];

/**
 * Folds images' statistics into a profile's. Adding images in any order, or merging accumulators
 * that each folded part of them, gives bit-identical statistics.
 */
export class ProfileAccumulator {
  #count = 0;
  readonly #sums = new Map<SummedName, ExactSum>(SUMMED.map((name) => [name, new ExactSum()]));

  get sampleCount(): number {
    return this.#count;
  }

  add(image: ImageStatistics): this {
    const values: Record<SummedName, number> = {
      red: image.red_mean,
      green: image.green_mean,
      blue: image.blue_mean,
      brightness: image.brightness,
      contrast: image.contrast,
      width: image.width,
      height: image.height,
      brightness_squared: 0,
      contrast_squared: 0,
    };
    for (const name of SUMMED) {
      if (!Number.isFinite(values[name])) throw new RangeError(`${name} must be a finite number`);
    }
    for (const name of ['red', 'green', 'blue', 'brightness', 'contrast', 'width', 'height'] as const) {
      this.#sum(name).add(values[name]);
    }
    // Squares go in as two doubles each (their exact value), so the spread is exact too.
    this.#sum('brightness_squared').addProduct(image.brightness, image.brightness);
    this.#sum('contrast_squared').addProduct(image.contrast, image.contrast);
    this.#count++;
    return this;
  }

  /** Adds what `other` folded; `other` is left as it was. */
  merge(other: ProfileAccumulator): this {
    for (const name of SUMMED) this.#sum(name).addAll(other.#sum(name));
    this.#count += other.#count;
    return this;
  }

  /** Full precision; present them with roundStatistics. */
  statistics(): ProfileStatistics {
    const count = this.#count;
    if (count === 0) throw new RangeError('a profile needs at least one image');
    const meanOf = (name: SummedName) => this.#sum(name).value() / count;
    return {
      color_distribution: { red_mean: meanOf('red'), green_mean: meanOf('green'), blue_mean: meanOf('blue') },
      brightness_mean: meanOf('brightness'),
      contrast_mean: meanOf('contrast'),
      brightness_std: this.#spread('brightness', 'brightness_squared'),
      contrast_std: this.#spread('contrast', 'contrast_squared'),
      resolution: { width_mean: meanOf('width'), height_mean: meanOf('height') },
    };
  }

  toState(): AccumulatorState {
    const sums = Object.fromEntries(SUMMED.map((name) => [name, [...this.#sum(name).partials]]));
    return { sample_count: this.#count, sums: sums as AccumulatorState['sums'] };
  }

  static fromState(state: AccumulatorState): ProfileAccumulator {
    const accumulator = new ProfileAccumulator();
    if (!Number.isSafeInteger(state.sample_count) || state.sample_count < 0) {
      throw new RangeError('sample_count must be a whole number');
    }
    for (const name of SUMMED) {
      const partials = state.sums[name];
      if (!Array.isArray(partials) || !partials.every(Number.isFinite)) {
        throw new RangeError(`sums.${name} must be a list of finite numbers`);
      }
      // Added one by one rather than trusted: any list of doubles gives a valid exact sum.
      for (const partial of partials) accumulator.#sum(name).add(partial);
    }
    accumulator.#count = state.sample_count;
    return accumulator;
  }

  #sum(name: SummedName): ExactSum {
    return this.#sums.get(name) as ExactSum;
  }

  /** √(n·Σx² − (Σx)²) / n, with the difference itself summed exactly: no cancellation. */
  #spread(name: SummedName, squaredName: SummedName): number {
    const count = this.#count;
    const numerator = new ExactSum();
    for (const partial of this.#sum(squaredName).partials) numerator.addProduct(count, partial);
    const partials = this.#sum(name).partials;
    for (const a of partials) for (const b of partials) numerator.addProduct(-a, b);
    return Math.sqrt(Math.max(0, numerator.value())) / count;
  }
}

/** Four decimals, as the API presents statistics (kept at full precision everywhere else). */
export function roundStatistics(statistics: ProfileStatistics): ProfileStatistics {
  const { color_distribution: colour, resolution } = statistics;
  return {
    color_distribution: {
      red_mean: round4(colour.red_mean),
      green_mean: round4(colour.green_mean),
      blue_mean: round4(colour.blue_mean),
    },
    brightness_mean: round4(statistics.brightness_mean),
    contrast_mean: round4(statistics.contrast_mean),
    brightness_std: round4(statistics.brightness_std),
    contrast_std: round4(statistics.contrast_std),
    resolution: { width_mean: round4(resolution.width_mean), height_mean: round4(resolution.height_mean) },
  };
}

function round4(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

/**
 * An exact sum of doubles: non-overlapping partials in increasing magnitude whose exact sum is the
 * exact sum of everything added (Shewchuk's grow-expansion, as Python's math.fsum keeps it).
 */
class ExactSum {
  readonly partials: number[] = [];

  add(value: number): void {
    const partials = this.partials;
    let x = value;
    let kept = 0;
    for (const partial of partials) {
      let y = partial;
      if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
      const high = x + y;
      const low = y - (high - x);
      if (low !== 0) partials[kept++] = low;
      x = high;
    }
    partials.length = kept;
    partials.push(x);
  }

  addAll(other: ExactSum): void {
    for (const partial of [...other.partials]) this.add(partial);
  }

  /** a × b exactly, as the rounded product and its error (Dekker's two-product). */
  addProduct(a: number, b: number): void {
    const product = a * b;
    const [aHigh, aLow] = split(a);
    const [bHigh, bLow] = split(b);
    const error = aLow * bLow - (product - aHigh * bHigh - aLow * bHigh - aHigh * bLow);
    this.add(product);
    this.add(error);
  }

  /**
   * The exact sum rounded once to the nearest double (ties to even), so that every list of partials
   * with the same exact sum reads the same: math.fsum's final step.
   */
  value(): number {
    const partials = this.partials;
    let n = partials.length;
    if (n === 0) return 0;
    let high = partials[--n] as number;
    let low = 0;
    while (n > 0) {
      const x = high;
      const y = partials[--n] as number;
      high = x + y;
      low = y - (high - x);
      if (low !== 0) break;
    }
    const next = partials[n - 1];
    // A tie broken by the partials below: round away from the even neighbour they point past.
    if (n > 0 && next !== undefined && ((low < 0 && next < 0) || (low > 0 && next > 0))) {
      const y = low * 2;
      const x = high + y;
      if (y === x - high) high = x;
    }
    return high;
  }
}

/** Veltkamp's split of a double into two halves of 26 bits, whose products are exact. */
function split(value: number): [number, number] {
  const scaled = 134_217_729 * value; // 2^27 + 1
  const high = scaled - (scaled - value);
  return [high, value - high];
}
