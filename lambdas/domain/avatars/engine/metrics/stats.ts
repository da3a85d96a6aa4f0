/**
 * Small statistics the metrics share, each as numpy computes it, so that a metric ported from the
 * avatar paper's Python gives the same number.
 */

/** numpy's `median`: the middle value, or the mean of the two middle values. NaN when empty. */
export function median(values: ArrayLike<number>): number {
  return quantile(values, 0.5);
}

/** numpy's `quantile` with its default linear interpolation between order statistics. */
export function quantile(values: ArrayLike<number>, q: number): number {
  const n = values.length;
  if (n === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const position = (n - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(n - 1, below + 1);
  const fraction = position - below;
  return fraction === 0 ? sorted[below]! : sorted[below]! + (sorted[above]! - sorted[below]!) * fraction;
}

/** Mean of the values; NaN when empty. */
export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return values.length === 0 ? Number.NaN : sum / values.length;
}

/** numpy's `std` (population, ddof 0); NaN when empty. */
export function populationStd(values: ArrayLike<number>): number {
  const average = mean(values);
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += (values[i]! - average) ** 2;
  return values.length === 0 ? Number.NaN : Math.sqrt(sum / values.length);
}

/** Python's `round` for a float: halves go to the even neighbour. */
export function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}
