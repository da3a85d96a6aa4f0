/**
 * Advised parameters for a table (the client's `advise_parameters()`): `k`, `ncp`,
 * `use_categorical_reduction` and an imputation when values are missing. Octopize's advice is
 * server-side and not published; these rules are SynthForge's, each stated with its reason so that
 * a user can judge it:
 *
 * - `k`: 20, the paper's value for both its data sets (683 and 2,139 rows), lowered for small tables
 *   so that a neighbourhood stays a small share of the rows (n/20, at least 5): more neighbours
 *   hide an individual better (local cloaking grows with k) and blur the signal more.
 * - `ncp`: the fewest dimensions that keep half of the table's inertia, between 2 and 10: the
 *   neighbours must be found where the individuals differ, and extra dimensions of noise make every
 *   individual look equally far (WBCD's first axis alone keeps most of its inertia; the paper used 2).
 * - `use_categorical_reduction`: false. Its server-side meaning is not published, and this engine
 *   projects categories through FAMD/MCA dummies whatever it says.
 * - imputation: none without missing values; else k-nearest-neighbours (k = 5) up to 50,000 rows and
 *   the mean above, where the neighbour search's cost grows with every incomplete row.
 */
import { fitProjection } from './projection.ts';
import type { Random } from './rng.ts';
import { isCategorical, isContinuous, type Table } from './table.ts';

export interface Advice {
  k: number;
  ncp: number;
  use_categorical_reduction: boolean;
  imputation: { method: 'knn' | 'mean'; k?: number } | null;
  /** Why each value, for the user reading the advice. */
  reasons: Record<'k' | 'ncp' | 'imputation', string>;
}

const INERTIA_KEPT = 0.5;
const NCP_RANGE = [2, 10] as const;
const KNN_IMPUTATION_MAX_ROWS = 50_000;

/** Advice for a table; `complete` is the table with its missing values imputed (the projection needs it). */
export function adviseParameters(table: Table, complete: Table, random: Random): Advice {
  const n = table.rowCount;
  const k = Math.min(20, Math.max(5, Math.floor(n / 20)));
  let width = 0;
  for (const column of complete.columns) {
    width += isContinuous(column) ? 1 : isCategorical(column) ? column.levels.length : 2;
  }
  const model = fitProjection(complete, { nf: Math.max(1, Math.min(width, n, 20)), random, exactSvd: true });
  let kept = 0;
  let ncp = model.explainedVarianceRatio.length;
  for (const [index, ratio] of model.explainedVarianceRatio.entries()) {
    kept += ratio;
    if (kept >= INERTIA_KEPT) {
      ncp = index + 1;
      break;
    }
  }
  ncp = Math.min(Math.max(ncp, NCP_RANGE[0]), NCP_RANGE[1], model.nf);
  const missing = countMissing(table);
  const imputation =
    missing === 0
      ? null
      : n <= KNN_IMPUTATION_MAX_ROWS
        ? { method: 'knn' as const, k: 5 }
        : { method: 'mean' as const };
  return {
    k: Math.min(k, n - 1),
    ncp,
    use_categorical_reduction: false,
    imputation,
    reasons: {
      k:
        n >= 400
          ? 'the paper’s k for tables of hundreds of rows and more'
          : `n/20 for a table of ${n} rows (at least 5)`,
      ncp: `the fewest of ${model.nf} dimensions that keep ${INERTIA_KEPT * 100} % of the inertia (${(kept * 100).toFixed(1)} %), within ${NCP_RANGE[0]}–${NCP_RANGE[1]}`,
      imputation:
        missing === 0
          ? 'no value is missing'
          : `${missing} values are missing; ${imputation?.method === 'knn' ? 'k nearest neighbours' : 'the mean (a table this large makes k-NN imputation slow)'}`,
    },
  };
}

function countMissing(table: Table): number {
  let missing = 0;
  for (const column of table.columns) {
    if (column.type === 'category') {
      for (const code of column.codes) if (code < 0) missing++;
    } else {
      for (const value of column.values) if (Number.isNaN(value)) missing++;
    }
  }
  return missing;
}
