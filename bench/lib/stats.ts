/**
 * The statistics the suite reports: percentiles (linear interpolation between closest ranks, the
 * "type 7" definition that numpy and most spreadsheets use), medians, and a seeded bootstrap
 * confidence interval for the median of per-round ratios.
 */

/** The p-th percentile (p in [0, 100]) of `values`; NaN for an empty sample. */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within [0, 100], got ${p}`);
  if (values.length === 0) return Number.NaN;
  return percentileOfSorted(sortedCopy(values), p);
}

/** The same, over values already sorted ascending (no copy, no check). */
export function percentileOfSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  const low = sorted[lower] as number;
  const high = sorted[upper] as number;
  return lower === upper ? low : low + (high - low) * (rank - lower);
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}

export interface Summary {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** The usual latency summary of one sample. */
export function summarize(values: readonly number[]): Summary {
  const sorted = sortedCopy(values);
  return {
    n: sorted.length,
    min: sorted[0] ?? Number.NaN,
    p50: percentileOfSorted(sorted, 50),
    p90: percentileOfSorted(sorted, 90),
    p99: percentileOfSorted(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
    mean: mean(sorted),
  };
}

/** project[i] / reference[i] for each round; the two samples must pair up. */
export function pairedRatios(project: readonly number[], reference: readonly number[]): number[] {
  if (project.length !== reference.length) {
    throw new RangeError(`paired samples differ in length: ${project.length} vs ${reference.length}`);
  }
  return project.map((value, index) => value / (reference[index] as number));
}

export interface Interval {
  low: number;
  high: number;
}

/**
 * A percentile-bootstrap confidence interval for the median. Seeded, so that the same sample gives
 * the same interval on every run. A sample of one gives a zero-width interval.
 */
export function bootstrapMedianCi(
  values: readonly number[],
  options: { confidence?: number; resamples?: number; seed?: number } = {},
): Interval {
  if (values.length === 0) return { low: Number.NaN, high: Number.NaN };
  const confidence = options.confidence ?? 0.95;
  const resamples = options.resamples ?? 2000;
  const random = mulberry32(options.seed ?? 0x5eed);
  const medians: number[] = new Array(resamples);
  const draw: number[] = new Array(values.length);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < values.length; i++) draw[i] = values[Math.floor(random() * values.length)] as number;
    medians[r] = median(draw);
  }
  const tail = ((1 - confidence) / 2) * 100;
  const sorted = sortedCopy(medians);
  return { low: percentileOfSorted(sorted, tail), high: percentileOfSorted(sorted, 100 - tail) };
}

function sortedCopy(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** A small, fast, seedable PRNG (uniform in [0, 1)); good enough for resampling. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
