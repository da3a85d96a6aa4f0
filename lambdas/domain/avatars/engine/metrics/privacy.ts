/**
 * Privacy metrics of a synthetic table against its original, as one result object in the shape
 * of the avatars client's `PrivacyMetrics` (`hidden_rate`, `local_cloaking`, …, `targets`,
 * `metadata`) plus SynthForge's additions: `met` (each metric against its target), `definitions`
 * (where each formula comes from) and `details`.
 *
 * The synthetic table must be row-aligned with the original (row i made from original row i: the
 * UNSHUFFLED avatars, or any other generator's output in its own order); the distance metrics are
 * computed in the projection fitted on the original, into which both tables are transformed, as
 * the paper's `SecurityMetrics.fit` does (a synthetic category level the original never takes
 * gets all-zero dummies there, as saiph's transform gives it).
 */
import { fitProjection, type ProjectionModel, transformTable } from '../projection.ts';
import { createRandom, type Random } from '../rng.ts';
import { isCategorical, isContinuous, type Points, type Table } from '../table.ts';
import { alignSynthetic, MetricsInputError, missingColumns } from './align.ts';
import { closestDistances, closestRate, hiddenRate } from './distance.ts';
import { inferenceAttack } from './inference.ts';
import { localCloakingParallel, type ParallelLocalCloakingOptions } from './local-cloaking-parallel.ts';
import {
  categoricalHiddenRate,
  columnDirectMatchProtection,
  correlationProtectionRate,
  rowDirectMatchProtection,
} from './rows.ts';
import { median } from './stats.ts';
import {
  evaluateTargets,
  type MetricDefinition,
  type MetricsMetadata,
  meetsTarget,
  PRIVACY_TARGETS,
  type PrivacyMetricName,
} from './targets.ts';

export interface PrivacyMetricsOptions {
  /**
   * The projections' generator (only their model seed is drawn: their SVDs are exact, so that the
   * metrics do not depend on it). Default: seed 0.
   */
  readonly random?: Random;
  /** Dimensions of the space: default min(5, continuous columns + category levels), the client's default. */
  readonly ncp?: number;
  /** `metadata.table_name`. */
  readonly tableName?: string;
  /** Variables an attacker knows: enables `correlation_protection_rate` and, with `target`, the inference attack. */
  readonly knownVariables?: readonly string[];
  /** The variable the inference attack predicts. */
  readonly target?: string;
  /** Categorical variables of `categorical_hidden_rate`; default every category and bool column. */
  readonly categoricalHiddenRateVariables?: readonly string[];
  readonly closestRatePercentageThreshold?: number;
  readonly closestRateRatioThreshold?: number;
  /** Local cloaking's cap and method, and the worker threads that count it (default: every core). */
  readonly localCloaking?: ParallelLocalCloakingOptions;
}

/** One table's privacy metrics; a metric that could not be computed (missing parameters) is null. */
export interface PrivacyMetrics {
  readonly hidden_rate: number;
  readonly local_cloaking: number;
  readonly distance_to_closest: number;
  readonly closest_distances_ratio: number;
  readonly column_direct_match_protection: number;
  readonly categorical_hidden_rate: number | null;
  readonly row_direct_match_protection: number;
  readonly correlation_protection_rate: number | null;
  readonly inference_continuous: number | null;
  readonly inference_categorical: number | null;
  readonly closest_rate: number;
  readonly targets: Readonly<Record<PrivacyMetricName, string>>;
  readonly met: Readonly<Record<PrivacyMetricName, boolean | null>>;
  readonly definitions: Readonly<Record<PrivacyMetricName, MetricDefinition>>;
  readonly details: PrivacyDetails;
  readonly metadata: MetricsMetadata;
}

export interface PrivacyDetails {
  /** Dimensions of the projection the distance metrics were computed in. */
  readonly ncp: number;
  readonly local_cloaking_records_median: number;
  /** Share (0..1) of records with nothing between them and their synthetic row. */
  readonly local_cloaking_empty_rate: number;
  /** Share (0..1) of synthetic rows whose DCR misses the `distance_to_closest` target. */
  readonly distance_to_closest_below_target_share: number;
  readonly known_variables: readonly string[] | null;
  readonly target: string | null;
  readonly categorical_hidden_rate_variables: readonly string[];
}

export const PRIVACY_DEFINITIONS: Readonly<Record<PrivacyMetricName, MetricDefinition>> = {
  hidden_rate: 'octopize',
  local_cloaking: 'octopize',
  distance_to_closest: 'octopize',
  closest_distances_ratio: 'octopize',
  column_direct_match_protection: 'synthforge',
  categorical_hidden_rate: 'synthforge',
  row_direct_match_protection: 'synthforge',
  correlation_protection_rate: 'octopize',
  inference_continuous: 'synthforge',
  inference_categorical: 'synthforge',
  closest_rate: 'synthforge',
};

/** The client's default `ncp`: min(5, the number of variables after one-hot encoding). */
export function defaultNcp(table: Table): number {
  let width = 0;
  for (const column of table.columns) {
    if (isContinuous(column)) width += 1;
    else if (isCategorical(column)) width += column.levels.length;
    else width += 2;
  }
  return Math.max(1, Math.min(5, width));
}

export interface PrivacyComputation {
  readonly metrics: PrivacyMetrics;
  readonly model: ProjectionModel;
  /** The originals' and the synthetic rows' coordinates the distance metrics used (for a report). */
  readonly records: Points;
  readonly synthetic: Points;
}

/** The privacy metrics of `synthetic` (row-aligned, unshuffled) against `original`. */
export async function computePrivacyMetrics(
  original: Table,
  synthetic: Table,
  options: PrivacyMetricsOptions = {},
): Promise<PrivacyMetrics> {
  return (await computePrivacy(original, synthetic, options)).metrics;
}

/**
 * As `computePrivacyMetrics`, also returning the projection and both coordinate sets. Asynchronous
 * because local cloaking, the metrics' largest cost, is counted on worker threads.
 */
export async function computePrivacy(
  original: Table,
  synthetic: Table,
  options: PrivacyMetricsOptions,
): Promise<PrivacyComputation> {
  if (original.rowCount < 2) throw new MetricsInputError('privacy metrics need at least two original rows');
  const aligned = alignSynthetic(original, synthetic, { sameRowCount: true });
  for (const [which, table] of [
    ['original', original],
    ['synthetic', aligned],
  ] as const) {
    const missing = missingColumns(table);
    if (missing.length > 0) {
      throw new MetricsInputError(
        `the ${which} table has missing values (in ${missing.map((name) => `"${name}"`).join(', ')}): impute them first`,
      );
    }
  }
  const ncp = options.ncp ?? defaultNcp(original);
  const random = options.random ?? createRandom(0);
  // The exact SVD: saiph's randomized sketch (nf columns, no oversampling) moves with its seed, and
  // metrics that move with a seed would not be comparable from one run to the next.
  const model = fitProjection(original, { nf: ncp, random, exactSvd: true });
  const records = transformTable(model, original);
  const avatars = transformTable(model, aligned);

  const cloaking = await localCloakingParallel(records, avatars, options.localCloaking);
  const closest = closestDistances(records, avatars);
  const hidden = hiddenRate(records, avatars);

  const categoricalVariables =
    options.categoricalHiddenRateVariables ??
    original.columns.filter((column) => !isContinuous(column)).map((column) => column.name);
  const known = options.knownVariables && options.knownVariables.length > 0 ? options.knownVariables : null;
  const attack =
    known && options.target !== undefined
      ? inferenceAttack(original, aligned, known, options.target, random)
      : { inferenceContinuous: null, inferenceCategorical: null };

  const values: Record<PrivacyMetricName, number | null> = {
    hidden_rate: hidden,
    local_cloaking: cloaking.avatarsMedian,
    distance_to_closest: median(closest.dcr),
    closest_distances_ratio: median(closest.nndr),
    column_direct_match_protection: columnDirectMatchProtection(original, aligned),
    categorical_hidden_rate:
      categoricalVariables.length > 0 ? categoricalHiddenRate(original, aligned, categoricalVariables) : null,
    row_direct_match_protection: rowDirectMatchProtection(original, aligned),
    correlation_protection_rate: known ? correlationProtectionRate(original, aligned, known, hidden) : null,
    inference_continuous: attack.inferenceContinuous,
    inference_categorical: attack.inferenceCategorical,
    closest_rate: closestRate(records, closest, {
      ...(options.closestRatePercentageThreshold === undefined
        ? {}
        : { percentageThreshold: options.closestRatePercentageThreshold }),
      ...(options.closestRateRatioThreshold === undefined
        ? {}
        : { ratioThreshold: options.closestRateRatioThreshold }),
    }),
  };
  let belowTarget = 0;
  for (const dcr of closest.dcr)
    if (meetsTarget(dcr, PRIVACY_TARGETS.distance_to_closest) === false) belowTarget++;

  const metrics: PrivacyMetrics = {
    hidden_rate: hidden,
    local_cloaking: cloaking.avatarsMedian,
    distance_to_closest: values.distance_to_closest!,
    closest_distances_ratio: values.closest_distances_ratio!,
    column_direct_match_protection: values.column_direct_match_protection!,
    categorical_hidden_rate: values.categorical_hidden_rate,
    row_direct_match_protection: values.row_direct_match_protection!,
    correlation_protection_rate: values.correlation_protection_rate,
    inference_continuous: values.inference_continuous,
    inference_categorical: values.inference_categorical,
    closest_rate: values.closest_rate!,
    targets: PRIVACY_TARGETS,
    met: evaluateTargets(values, PRIVACY_TARGETS),
    definitions: PRIVACY_DEFINITIONS,
    details: {
      ncp: records.dims,
      local_cloaking_records_median: cloaking.recordsMedian,
      local_cloaking_empty_rate: cloaking.emptyRate,
      distance_to_closest_below_target_share: belowTarget / closest.dcr.length,
      known_variables: known,
      target: options.target ?? null,
      categorical_hidden_rate_variables: categoricalVariables,
    },
    metadata: { table_name: options.tableName ?? 'table', computation_type: 'standalone', reference: null },
  };
  return { metrics, model, records, synthetic: avatars };
}
