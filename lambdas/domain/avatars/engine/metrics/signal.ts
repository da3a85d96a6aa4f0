/**
 * Signal (utility) metrics: how closely a synthetic table keeps its original's distributions, in
 * the avatars client's `SignalMetrics` shape (`hellinger_mean`, `hellinger_std`,
 * `correlation_difference_ratio`, `targets`) plus `met`, `definitions`, `details` and `metadata`.
 * Octopize names these metrics without publishing their formulas, so both are SynthForge
 * definitions, given with each function. The synthetic table need not be row-aligned nor of the
 * same length: only distributions are compared (the shuffled avatars are the natural input).
 */
import { isCategorical, type Table } from '../table.ts';
import { alignSynthetic, MetricsInputError } from './align.ts';
import { mean, populationStd } from './stats.ts';
import {
  evaluateTargets,
  type MetricDefinition,
  type MetricsMetadata,
  SIGNAL_TARGETS,
  type SignalMetricName,
} from './targets.ts';

/** A number column with at most this many distinct values (original and synthetic together) is compared per value. */
const DISCRETE_MAX_VALUES = 20;

/** One variable's marginals over shared bins, as proportions (each sums to 1). */
export interface Distribution {
  readonly name: string;
  /** `categorical`: per level; `discrete`: per value; `continuous`: per histogram bin. */
  readonly kind: 'categorical' | 'discrete' | 'continuous';
  readonly labels: readonly string[];
  readonly original: Float64Array;
  readonly synthetic: Float64Array;
}

/**
 * Each variable's original and synthetic marginals over shared bins. Categories (and bools) are
 * binned per level; number columns with at most 20 distinct values per value; other number
 * columns over Sturges' number of equal-width bins (⌈log₂ n⌉ + 1, n the original's rows) spanning
 * the original's range, with a bin below and one above for synthetic values outside it. Missing
 * values get their own bin. The tables must be aligned (align.ts).
 */
export function variableDistributions(original: Table, synthetic: Table): Distribution[] {
  return original.columns.map((column, c) => {
    const other = synthetic.columns[c]!;
    if (isCategorical(column)) {
      if (!isCategorical(other)) throw new Error(`column "${column.name}" is not aligned`);
      const levels = other.levels.length;
      const labels = [...other.levels];
      return withMissing(
        column.name,
        'categorical',
        labels,
        levels,
        column.codes,
        other.codes,
        (code) => code,
      );
    }
    if (isCategorical(other)) throw new Error(`column "${column.name}" is not aligned`);
    if (column.type === 'bool') {
      return withMissing(
        column.name,
        'categorical',
        ['False', 'True'],
        2,
        column.values,
        other.values,
        (value) => (Number.isNaN(value) ? -1 : value === 0 ? 0 : 1),
      );
    }
    const distinct = distinctValues(column.values, other.values, DISCRETE_MAX_VALUES);
    if (distinct) {
      const position = new Map(distinct.map((value, bin) => [value, bin]));
      const labels = distinct.map((value) => formatValue(value, column.type));
      return withMissing(
        column.name,
        'discrete',
        labels,
        distinct.length,
        column.values,
        other.values,
        (value) => (Number.isNaN(value) ? -1 : position.get(value)!),
      );
    }
    let low = Number.POSITIVE_INFINITY;
    let high = Number.NEGATIVE_INFINITY;
    let present = 0;
    for (const value of column.values) {
      if (Number.isNaN(value)) continue;
      present++;
      if (value < low) low = value;
      if (value > high) high = value;
    }
    const bins = Math.ceil(Math.log2(Math.max(present, 1))) + 1;
    const width = (high - low) / bins;
    const flat = !(width > 0);
    // Bin 0 is below the original's range, bin bins+1 above it; empty ones are dropped after counting.
    const binOf = (value: number): number => {
      if (Number.isNaN(value)) return -1;
      if (value < low) return 0;
      if (value > high) return bins + 1;
      return flat ? 1 : 1 + Math.min(bins - 1, Math.floor((value - low) / width));
    };
    const labels = ['below'];
    for (let b = 0; b < bins; b++) {
      const from = formatValue(low + b * width, column.type);
      const to = formatValue(b === bins - 1 ? high : low + (b + 1) * width, column.type);
      labels.push(b === bins - 1 ? `[${from}, ${to}]` : `[${from}, ${to})`);
    }
    labels.push('above');
    const full = withMissing(column.name, 'continuous', labels, bins + 2, column.values, other.values, binOf);
    const keep = full.labels.map(
      (_, bin) => (bin !== 0 && bin !== bins + 1) || full.original[bin]! > 0 || full.synthetic[bin]! > 0,
    );
    return {
      ...full,
      labels: full.labels.filter((_, bin) => keep[bin]),
      original: full.original.filter((_, bin) => keep[bin]),
      synthetic: full.synthetic.filter((_, bin) => keep[bin]),
    };
  });
}

/** Proportions over `bins` bins plus a `(missing)` bin when either side has a missing value (bin −1). */
function withMissing<T extends ArrayLike<number>>(
  name: string,
  kind: Distribution['kind'],
  labels: string[],
  bins: number,
  original: T,
  synthetic: T,
  binOf: (value: number) => number,
): Distribution {
  const count = (values: T): Float64Array => {
    const counts = new Float64Array(bins + 1);
    for (let r = 0; r < values.length; r++) {
      const bin = binOf(values[r]!);
      counts[bin < 0 ? bins : bin]!++;
    }
    for (let b = 0; b <= bins; b++) counts[b]! /= values.length;
    return counts;
  };
  const o = count(original);
  const s = count(synthetic);
  if (o[bins] === 0 && s[bins] === 0)
    return { name, kind, labels, original: o.subarray(0, bins), synthetic: s.subarray(0, bins) };
  return { name, kind, labels: [...labels, '(missing)'], original: o, synthetic: s };
}

/** The sorted distinct non-missing values of both arrays, or null when there are more than `limit`. */
function distinctValues(a: Float64Array, b: Float64Array, limit: number): number[] | null {
  const seen = new Set<number>();
  for (const values of [a, b]) {
    for (const value of values) {
      if (Number.isNaN(value) || seen.has(value)) continue;
      seen.add(value === 0 ? 0 : value);
      if (seen.size > limit) return null;
    }
  }
  return [...seen].sort((x, y) => x - y);
}

function formatValue(value: number, type: string): string {
  if (type === 'datetime') return new Date(value * 1000).toISOString().slice(0, 10);
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
}

/**
 * Hellinger distance between two distributions over the same bins, in [0, 1]:
 * H(p, q) = (1/√2)·‖√p − √q‖₂ (0 for identical marginals, 1 for disjoint ones).
 */
export function hellinger(p: ArrayLike<number>, q: ArrayLike<number>): number {
  if (p.length !== q.length) throw new Error(`${p.length} and ${q.length} bins`);
  let sum = 0;
  for (let i = 0; i < p.length; i++) sum += (Math.sqrt(p[i]!) - Math.sqrt(q[i]!)) ** 2;
  return Math.sqrt(sum / 2);
}

/** Pairwise association matrices (m × m, row-major) of the variables, in the tables' column order. */
export interface Associations {
  readonly names: readonly string[];
  readonly original: Float64Array;
  readonly synthetic: Float64Array;
  /** |original − synthetic| per pair; the diagonal is 0. */
  readonly difference: Float64Array;
}

/**
 * Each pair of variables' association in both tables, a SynthForge definition: Pearson's r
 * between number columns, bools (0/1) and two-level categories (the indicator of the second
 * level); the correlation ratio η between a category of more levels and a number-like column;
 * Cramér's V between two such categories. Rows missing either value are left out of a pair; a
 * constant column has association 0 with everything. The tables must be aligned (align.ts).
 */
export function associations(original: Table, synthetic: Table): Associations {
  const names = original.columns.map((column) => column.name);
  const m = names.length;
  // A category with more than two levels in either table stays nominal; every other column is a number.
  const nominal = original.columns.map((column, c) => {
    const other = synthetic.columns[c]!;
    return isCategorical(column) && isCategorical(other) && other.levels.length > 2;
  });
  const compute = (table: Table): Float64Array => {
    const encoded = table.columns.map((column, c) => (nominal[c] ? null : numeric(table, c)));
    const z = encoded.map((values) => (values ? standardised(values) : null));
    const result = new Float64Array(m * m);
    for (let a = 0; a < m; a++) {
      result[a * m + a] = 1;
      for (let b = a + 1; b < m; b++) {
        let value: number;
        const columnA = table.columns[a]!;
        const columnB = table.columns[b]!;
        if (nominal[a] && nominal[b] && isCategorical(columnA) && isCategorical(columnB)) {
          value = cramersV(columnA.codes, columnA.levels.length, columnB.codes, columnB.levels.length);
        } else if (nominal[a] && isCategorical(columnA)) {
          value = correlationRatio(columnA.codes, columnA.levels.length, encoded[b]!);
        } else if (nominal[b] && isCategorical(columnB)) {
          value = correlationRatio(columnB.codes, columnB.levels.length, encoded[a]!);
        } else {
          value = pearson(encoded[a]!, encoded[b]!, z[a]!, z[b]!);
        }
        result[a * m + b] = value;
        result[b * m + a] = value;
      }
    }
    return result;
  };
  const o = compute(original);
  const s = compute(synthetic);
  const difference = new Float64Array(m * m);
  for (let i = 0; i < m * m; i++) difference[i] = Math.abs(o[i]! - s[i]!);
  return { names, original: o, synthetic: s, difference };
}

function numeric(table: Table, c: number): Float64Array {
  const column = table.columns[c]!;
  if (!isCategorical(column)) return column.values;
  const values = new Float64Array(column.codes.length);
  for (let r = 0; r < values.length; r++) {
    const code = column.codes[r]!;
    values[r] = code < 0 ? Number.NaN : code === 1 ? 1 : 0;
  }
  return values;
}

/** z-scores (population std), or null when the column has a missing value or is constant. */
function standardised(values: Float64Array): Float64Array | null {
  let sum = 0;
  for (const value of values) {
    if (Number.isNaN(value)) return null;
    sum += value;
  }
  const average = sum / values.length;
  let squares = 0;
  for (const value of values) squares += (value - average) ** 2;
  const std = Math.sqrt(squares / values.length);
  if (!(std > 0)) return null;
  const z = new Float64Array(values.length);
  for (let r = 0; r < values.length; r++) z[r] = (values[r]! - average) / std;
  return z;
}

function pearson(x: Float64Array, y: Float64Array, zx: Float64Array | null, zy: Float64Array | null): number {
  if (zx && zy) {
    let sum = 0;
    for (let r = 0; r < zx.length; r++) sum += zx[r]! * zy[r]!;
    return clamp(sum / zx.length);
  }
  // Missing values or a constant column: pairwise-complete rows, two passes.
  let n = 0;
  let sx = 0;
  let sy = 0;
  for (let r = 0; r < x.length; r++) {
    if (Number.isNaN(x[r]!) || Number.isNaN(y[r]!)) continue;
    n++;
    sx += x[r]!;
    sy += y[r]!;
  }
  if (n < 2) return 0;
  const mx = sx / n;
  const my = sy / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let r = 0; r < x.length; r++) {
    if (Number.isNaN(x[r]!) || Number.isNaN(y[r]!)) continue;
    const dx = x[r]! - mx;
    const dy = y[r]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? clamp(sxy / Math.sqrt(sxx * syy)) : 0;
}

function clamp(r: number): number {
  return Math.max(-1, Math.min(1, r));
}

/** η: √(between-level variance / total variance) of `values` grouped by `codes`. */
function correlationRatio(codes: Int32Array, levels: number, values: Float64Array): number {
  const sums = new Float64Array(levels);
  const counts = new Float64Array(levels);
  let total = 0;
  let n = 0;
  for (let r = 0; r < codes.length; r++) {
    const code = codes[r]!;
    const value = values[r]!;
    if (code < 0 || Number.isNaN(value)) continue;
    sums[code]! += value;
    counts[code]!++;
    total += value;
    n++;
  }
  if (n < 2) return 0;
  const average = total / n;
  let between = 0;
  for (let level = 0; level < levels; level++) {
    if (counts[level]! > 0) between += counts[level]! * (sums[level]! / counts[level]! - average) ** 2;
  }
  let all = 0;
  for (let r = 0; r < codes.length; r++) {
    if (codes[r]! < 0 || Number.isNaN(values[r]!)) continue;
    all += (values[r]! - average) ** 2;
  }
  return all > 0 ? Math.min(1, Math.sqrt(between / all)) : 0;
}

/** Cramér's V (without bias correction) of two categorical columns. */
function cramersV(a: Int32Array, levelsA: number, b: Int32Array, levelsB: number): number {
  const table = new Float64Array(levelsA * levelsB);
  let n = 0;
  for (let r = 0; r < a.length; r++) {
    if (a[r]! < 0 || b[r]! < 0) continue;
    table[a[r]! * levelsB + b[r]!]!++;
    n++;
  }
  if (n === 0) return 0;
  const rows = new Float64Array(levelsA);
  const cols = new Float64Array(levelsB);
  for (let i = 0; i < levelsA; i++) {
    for (let j = 0; j < levelsB; j++) {
      rows[i]! += table[i * levelsB + j]!;
      cols[j]! += table[i * levelsB + j]!;
    }
  }
  let chi2 = 0;
  for (let i = 0; i < levelsA; i++) {
    for (let j = 0; j < levelsB; j++) {
      const expected = (rows[i]! * cols[j]!) / n;
      if (expected > 0) chi2 += (table[i * levelsB + j]! - expected) ** 2 / expected;
    }
  }
  const presentRows = rows.filter((count) => count > 0).length;
  const presentCols = cols.filter((count) => count > 0).length;
  const k = Math.min(presentRows, presentCols) - 1;
  return k > 0 ? Math.min(1, Math.sqrt(chi2 / n / k)) : 0;
}

/**
 * Correlation difference ratio, a SynthForge definition: 100 × Σ|a_orig − a_syn| / Σ|a_orig| over the
 * pairs of distinct variables, `a` the association above; the percentage by which the synthetic
 * table's pairwise associations depart from the original's, relative to their size. Null when there
 * are fewer than two variables or the original has no association at all.
 */
export function correlationDifferenceRatio(matrices: Associations): number | null {
  const m = matrices.names.length;
  let difference = 0;
  let size = 0;
  for (let a = 0; a < m; a++) {
    for (let b = a + 1; b < m; b++) {
      difference += matrices.difference[a * m + b]!;
      size += Math.abs(matrices.original[a * m + b]!);
    }
  }
  return m < 2 || size === 0 ? null : (100 * difference) / size;
}

export interface SignalMetrics {
  readonly hellinger_mean: number;
  readonly hellinger_std: number;
  readonly correlation_difference_ratio: number | null;
  readonly targets: Readonly<Record<SignalMetricName, string>>;
  readonly met: Readonly<Record<SignalMetricName, boolean | null>>;
  readonly definitions: Readonly<Record<SignalMetricName | 'hellinger_std', MetricDefinition>>;
  readonly details: {
    readonly variables: readonly {
      readonly name: string;
      readonly kind: Distribution['kind'];
      readonly hellinger: number;
    }[];
  };
  readonly metadata: MetricsMetadata;
}

export interface SignalMetricsOptions {
  readonly tableName?: string;
}

/** Everything the signal metrics and the report's charts are computed from. */
export interface SignalComputation {
  readonly metrics: SignalMetrics;
  readonly distributions: readonly Distribution[];
  readonly associations: Associations;
}

/**
 * Signal metrics: `hellinger_mean` and `hellinger_std` (population) of the per-variable Hellinger
 * distances (variableDistributions), and `correlation_difference_ratio`.
 */
export function computeSignalMetrics(
  original: Table,
  synthetic: Table,
  options: SignalMetricsOptions = {},
): SignalMetrics {
  return computeSignal(original, synthetic, options).metrics;
}

/** As `computeSignalMetrics`, also returning the distributions and association matrices. */
export function computeSignal(
  original: Table,
  synthetic: Table,
  options: SignalMetricsOptions = {},
): SignalComputation {
  if (original.rowCount === 0 || synthetic.rowCount === 0) {
    throw new MetricsInputError('signal metrics need rows in both tables');
  }
  if (original.columns.length === 0) throw new MetricsInputError('the tables have no columns');
  const aligned = alignSynthetic(original, synthetic);
  const distributions = variableDistributions(original, aligned);
  const distances = distributions.map((d) => hellinger(d.original, d.synthetic));
  const matrices = associations(original, aligned);
  const values = {
    hellinger_mean: mean(distances),
    correlation_difference_ratio: correlationDifferenceRatio(matrices),
  };
  const metrics: SignalMetrics = {
    hellinger_mean: values.hellinger_mean,
    hellinger_std: populationStd(distances),
    correlation_difference_ratio: values.correlation_difference_ratio,
    targets: SIGNAL_TARGETS,
    met: evaluateTargets(values, SIGNAL_TARGETS),
    definitions: {
      hellinger_mean: 'synthforge',
      hellinger_std: 'synthforge',
      correlation_difference_ratio: 'synthforge',
    },
    details: {
      variables: distributions.map((d, i) => ({ name: d.name, kind: d.kind, hellinger: distances[i]! })),
    },
    metadata: { table_name: options.tableName ?? 'table', computation_type: 'standalone', reference: null },
  };
  return { metrics, distributions, associations: matrices };
}
