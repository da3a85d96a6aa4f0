/**
 * Standard normal samples by table lookup: 65,536 equally likely quantiles, indexed by 16 random
 * bits. Pixel noise needs hundreds of thousands of samples per frame, and a lookup is an order of
 * magnitude cheaper than Box-Muller; at 8-bit output the quantisation cannot be seen.
 */

const TABLE_BITS = 16;
const TABLE_SIZE = 1 << TABLE_BITS;
let table: Float32Array | undefined;

/** Quantile i is the standard normal value at probability (i + 0.5) / 65536 (tails reach ±4.3). */
export function normalQuantiles(): Float32Array {
  table ??= Float32Array.from({ length: TABLE_SIZE }, (_, i) => inverseNormalCdf((i + 0.5) / TABLE_SIZE));
  return table;
}

/**
 * Acklam's rational approximation of the inverse standard normal CDF (relative error below
 * 1.2e-9), for p in (0, 1).
 */
export function inverseNormalCdf(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`probability must be in (0, 1), got ${p}`);
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = 0.02425;
  if (p < tail || p > 1 - tail) {
    const q = Math.sqrt(-2 * Math.log(p < tail ? p : 1 - p));
    const value = horner(c, q) / (horner(d, q) * q + 1);
    return p < tail ? value : -value;
  }
  const q = p - 0.5;
  const r = q * q;
  return (horner(a, r) * q) / (horner(b, r) * r + 1);
}

/** Evaluates the polynomial with `coefficients` (highest degree first) at x. */
function horner(coefficients: readonly number[], x: number): number {
  return coefficients.reduce((sum, coefficient) => sum * x + coefficient, 0);
}
