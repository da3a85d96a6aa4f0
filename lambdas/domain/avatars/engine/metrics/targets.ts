/**
 * The metrics' targets: the v0 generation of Octopize's API, the strings its `PrivacyMetricsTargets`
 * and `SignalMetricsTargets` print (every privacy metric is "higher is safer"; the signal metrics
 * are distances, "lower is closer to the original"). The 2026 client derives targets from a privacy
 * impact assessment instead; SynthForge keeps the fixed v0 set.
 */

export const PRIVACY_METRIC_NAMES = [
  'hidden_rate',
  'local_cloaking',
  'distance_to_closest',
  'closest_distances_ratio',
  'column_direct_match_protection',
  'categorical_hidden_rate',
  'row_direct_match_protection',
  'correlation_protection_rate',
  'inference_continuous',
  'inference_categorical',
  'closest_rate',
] as const;
export type PrivacyMetricName = (typeof PRIVACY_METRIC_NAMES)[number];

export const SIGNAL_METRIC_NAMES = ['hellinger_mean', 'correlation_difference_ratio'] as const;
export type SignalMetricName = (typeof SIGNAL_METRIC_NAMES)[number];

export const PRIVACY_TARGETS: Readonly<Record<PrivacyMetricName, string>> = {
  hidden_rate: '> 90',
  local_cloaking: '> 5',
  distance_to_closest: '> 0.2',
  closest_distances_ratio: '> 0.3',
  column_direct_match_protection: '> 50',
  categorical_hidden_rate: '> 90',
  row_direct_match_protection: '> 90',
  correlation_protection_rate: '> 95',
  inference_continuous: '> 10',
  inference_categorical: '> 10',
  closest_rate: '> 90',
};

export const SIGNAL_TARGETS: Readonly<Record<SignalMetricName, string>> = {
  hellinger_mean: '< 0.1',
  correlation_difference_ratio: '< 10',
};

/**
 * Where a metric's formula comes from: `octopize` = the published code of the avatar paper
 * (octopize/avatar-paper); `synthforge` = defined here, because Octopize names the metric but has
 * not published how it computes it (each function's comment gives the definition).
 */
export type MetricDefinition = 'octopize' | 'synthforge';

/** A metrics result's `metadata`, as the client reads it (one table, computed on its own). */
export interface MetricsMetadata {
  readonly table_name: string;
  readonly computation_type: 'standalone';
  readonly reference: null;
}

/**
 * Whether a value meets a target such as `'> 90'` or `'< 0.1'` (also `>=`, `<=`). A metric that was
 * not computed (`null`) neither meets nor misses its target: `null`.
 */
export function meetsTarget(value: number | null, target: string): boolean | null {
  const match = /^\s*(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?)\s*$/.exec(target);
  if (!match) throw new Error(`cannot read the target "${target}"`);
  if (value === null || Number.isNaN(value)) return null;
  const bound = Number(match[2]);
  switch (match[1]) {
    case '>':
      return value > bound;
    case '>=':
      return value >= bound;
    case '<':
      return value < bound;
    default:
      return value <= bound;
  }
}

/** Each metric's met flag against its target. */
export function evaluateTargets<Name extends string>(
  values: Readonly<Record<Name, number | null>>,
  targets: Readonly<Record<Name, string>>,
): Record<Name, boolean | null> {
  const met = {} as Record<Name, boolean | null>;
  for (const name of Object.keys(targets) as Name[]) met[name] = meetsTarget(values[name], targets[name]);
  return met;
}
