/**
 * The avatar method's projection: saiph's PCA, MCA and FAMD (`saiph/reduction/{pca,mca,famd}.py`,
 * `saiph/inverse_transform.py`), over a `Table` with no missing values (imputation runs first).
 *
 * FAMD standardises each continuous column, Zc = (x − mean)/std (population std; a constant
 * column keeps std 1 as divisor), and each category's one-hot dummies, Zd = (d − p)/√p with p
 * the level's share of the rows; S = [Zc | Zd] (n × P). It takes the SVD of W = S·cw/n (the
 * column weight itself, not its square root, and 1/n per row, exactly as saiph), divides the
 * SVD's right vectors by √cw to get V (nf × P), and projects coords = S·Vᵀ with no weights.
 * PCA is FAMD without categories.
 * MCA takes the SVD of (T·cw)/n with T = D_r^{-1/2}(Z − r·cᵀ)D_c^{-1/2} of the dummy table
 * Z = D/(n·q), keeps V as it comes, and projects coords = (D/q)·D_c^{-1/2}·Vᵀ.
 *
 * S is never materialised: every column of S (and of T) is (value − centre)·scale, so products
 * with S, and the coordinates, are sums over a row's continuous values plus one looked-up term
 * per categorical variable.
 */
import { Matrix, pseudoInverse } from 'ml-matrix';
import { DEFAULT_OVERSAMPLING, type LinearOperator, truncatedSvd } from './linalg.ts';
import {
  describe,
  encode,
  expandedWeights,
  levelShares,
  mcaColumnScale,
  missing,
  moments,
  ROW_BLOCK,
  readColumns,
  SMALLEST_NORMAL,
  totalInertia,
} from './projection-layout.ts';
import { createOperator } from './projection-operator.ts';
import { createRandom, type Random } from './rng.ts';
import { boolLevel, type Column, isContinuous, type NumberColumn, type Points, type Table } from './table.ts';

export type ProjectionType = 'pca' | 'mca' | 'famd';

export interface ContinuousVariable {
  readonly name: string;
  readonly type: 'numeric' | 'int' | 'datetime';
  readonly datetimeFormat?: 'date' | 'iso';
  readonly mean: number;
  /** Population standard deviation (ddof 0) of the fitted rows; 0 for a constant column. */
  readonly std: number;
  readonly weight: number;
}

export interface CategoricalVariable {
  readonly name: string;
  readonly type: 'category' | 'bool';
  /** The column's levels; a bool's are `False`, `True`. */
  readonly levels: readonly string[];
  /** Each level's share of the fitted rows (0 for a level that never occurs). */
  readonly proportions: readonly number[];
  /**
   * The levels that occur, as indices into `levels`, in dummy-column order. A level that never
   * occurs has no dummy (pandas' `get_dummies` of the observed values has none), so the inverse
   * never produces it.
   */
  readonly modalities: readonly number[];
  readonly weight: number;
}

/**
 * A fitted projection, as plain JSON-safe data: it is written to the result files and sent to
 * worker threads as it is.
 */
export interface ProjectionModel {
  readonly type: ProjectionType;
  /** Rows the model was fitted on (MCA's scaling depends on it). */
  readonly rowCount: number;
  /** Dimensions of the projected space: the requested nf, at most min(rows, P). */
  readonly nf: number;
  /** The table's column names in their order, which the inverse restores. */
  readonly columns: readonly string[];
  readonly continuous: readonly ContinuousVariable[];
  readonly categorical: readonly CategoricalVariable[];
  /** P: continuous columns plus dummy columns. */
  readonly width: number;
  /** saiph's `model.V`: nf × P, row-major. */
  readonly components: readonly number[];
  readonly singularValues: readonly number[];
  /** s²/(n − 1) per dimension, saiph's `explained_var`. */
  readonly explainedVariance: readonly number[];
  /** Each dimension's share of the total inertia (‖W‖²/(n − 1)). */
  readonly explainedVarianceRatio: readonly number[];
  /** Which SVD produced the components (saiph's rule: randomized when nf < 0.8·min(n, P)). */
  readonly svd: 'randomized' | 'exact';
  /** Seeds the inverse's modality draws, as saiph's `model.seed`. */
  readonly seed: number;
}

export interface FitProjectionOptions {
  /** Dimensions to keep; above min(rows, P) it is lowered to that (saiph does the same). */
  readonly nf: number;
  /** Weight per column name (default 1): more weight, more influence on the axes. */
  readonly columnWeights?: Readonly<Record<string, number>>;
  /** Draws the randomized SVD's sketch, then the model's seed. */
  readonly random: Random;
  /**
   * Use the exact SVD whatever nf is, up to `EXACT_SVD_MAX_WIDTH` columns (continuous and dummies):
   * above, a full decomposition of the P × P Gram matrix takes minutes (a category of thousands of
   * levels), and saiph's randomized SVD is used.
   */
  readonly exactSvd?: boolean;
  /** Extra columns in the randomized SVD's sketch. */
  readonly oversampling?: number;
}

export interface InverseTransformOptions {
  /** Each category takes its largest reconstructed dummy (true, saiph's default) or a weighted draw. */
  readonly useMaxModalities?: boolean;
  /** The draws' generator; by default one seeded with the model's seed, as saiph. */
  readonly random?: Random;
}

/** The widest projection `exactSvd` decomposes exactly. */
export const EXACT_SVD_MAX_WIDTH = 400;

/** saiph draws the model's seed with `integers(0, 2**32 - 1)`. */
const SEED_RANGE = 2 ** 32 - 1;

/** Fits saiph's PCA (no categorical column), MCA (no continuous column) or FAMD (both). */
export function fitProjection(table: Table, options: FitProjectionOptions): ProjectionModel {
  const n = table.rowCount;
  if (n < 2) throw new Error(`a projection needs at least 2 rows, not ${n}`);
  if (table.columns.length === 0) throw new Error('a projection needs at least one column');
  if (!Number.isInteger(options.nf) || options.nf < 1) {
    throw new Error(`nf must be a positive integer, not ${options.nf}`);
  }
  const weights = options.columnWeights ?? {};
  const names = new Set(table.columns.map((column) => column.name));
  for (const [name, weight] of Object.entries(weights)) {
    if (!names.has(name)) throw new Error(`a weight is given for ${name}, which is not a column`);
    if (!(weight > 0) || !Number.isFinite(weight)) {
      throw new Error(`column weight of ${name} must be a positive number, not ${weight}`);
    }
  }

  const continuous: ContinuousVariable[] = [];
  const categorical: CategoricalVariable[] = [];
  for (const column of table.columns) {
    const weight = weights[column.name] ?? 1;
    if (isContinuous(column))
      continuous.push({ ...moments(column.values, column.name), ...describe(column), weight });
    else categorical.push({ ...levelShares(column, n), weight });
  }
  const type: ProjectionType = categorical.length === 0 ? 'pca' : continuous.length === 0 ? 'mca' : 'famd';
  const layout = { type, rowCount: n, continuous, categorical };
  const width =
    continuous.length + categorical.reduce((sum, variable) => sum + variable.modalities.length, 0);
  const nf = Math.min(options.nf, n, width);

  const operator = createOperator(layout, table, true);
  const svd = truncatedSvd(operator, nf, options.random, {
    exact: options.exactSvd === true && width <= EXACT_SVD_MAX_WIDTH,
    oversampling: options.oversampling ?? DEFAULT_OVERSAMPLING,
  });
  const columnWeights = expandedWeights(layout);
  const components = Array.from(svd.vt);
  if (type !== 'mca') {
    for (let k = 0; k < nf; k++)
      for (let p = 0; p < width; p++) components[k * width + p]! /= Math.sqrt(columnWeights[p]!);
  }
  const explainedVariance = Array.from(svd.s, (s) => (s * s) / (n - 1));
  const totalVariance = totalInertia(layout, columnWeights) / (n - 1);
  return {
    type,
    rowCount: n,
    nf,
    columns: table.columns.map((column) => column.name),
    continuous,
    categorical,
    width,
    components,
    singularValues: Array.from(svd.s),
    explainedVariance,
    // A table of constant columns has no inertia to share out (saiph's ratio is NaN there).
    explainedVarianceRatio: explainedVariance.map((variance) =>
      totalVariance > 0 ? variance / totalVariance : 0,
    ),
    svd: svd.method,
    seed: options.random.int(SEED_RANGE),
  };
}

/** The rows' coordinates in the model's space: n × nf. Columns are matched by name. */
export function transformTable(model: ProjectionModel, table: Table): Points {
  const n = table.rowCount;
  const nf = model.nf;
  const { continuousValues, categoricalCodes } = readColumns(model, table);
  const encoding = encode(model);
  const v = model.components;
  const width = model.width;
  const continuousCount = model.continuous.length;

  // coords = Σ_j (x_j − mean_j)·A_j + Σ_v L[level of v] + offset.
  const continuousTerms = new Float64Array(continuousCount * nf);
  const levelTerms = new Float64Array((width - continuousCount) * nf);
  const offset = new Float64Array(nf);
  for (let k = 0; k < nf; k++) {
    for (let j = 0; j < continuousCount; j++)
      continuousTerms[j * nf + k] = v[k * width + j]! * encoding.scale[j]!;
    for (let p = continuousCount; p < width; p++) {
      const row = (p - continuousCount) * nf + k;
      if (model.type === 'mca') {
        levelTerms[row] = v[k * width + p]! * mcaColumnScale(encoding.centre[p]!, model.categorical.length);
      } else {
        levelTerms[row] = v[k * width + p]! * encoding.scale[p]!;
        offset[k]! -= encoding.centre[p]! * levelTerms[row]!;
      }
    }
  }

  const data = new Float64Array(n * nf);
  const means = model.continuous.map((variable) => variable.mean);
  const mca = model.type === 'mca';
  const known = mca ? new Int32Array(n) : undefined;
  for (let start = 0; start < n; start += ROW_BLOCK) {
    const end = Math.min(n, start + ROW_BLOCK);
    for (let i = start; i < end; i++) data.set(offset, i * nf);
    for (let j = 0; j < continuousCount; j++) {
      const values = continuousValues[j]!;
      const mean = means[j]!;
      const terms = j * nf;
      for (let i = start; i < end; i++) {
        const centred = values[i]! - mean;
        const out = i * nf;
        for (let k = 0; k < nf; k++) data[out + k]! += centred * continuousTerms[terms + k]!;
      }
    }
    for (const { codes, dummyOf } of categoricalCodes) {
      for (let i = start; i < end; i++) {
        const dummy = dummyOf[codes[i]!]!;
        // A level unseen at fit has all-zero dummies, as saiph's reindex on the fitted modalities.
        if (dummy < 0) continue;
        if (known) known[i]!++;
        const terms = (dummy - continuousCount) * nf;
        const out = i * nf;
        for (let k = 0; k < nf; k++) data[out + k]! += levelTerms[terms + k]!;
      }
    }
  }
  // MCA divides each row's dummies by their sum: the number of variables with a known level.
  if (known) {
    for (let i = 0; i < n; i++)
      for (let k = 0; k < nf; k++) data[i * nf + k] = known[i]! > 0 ? data[i * nf + k]! / known[i]! : 0;
  }
  return { data, count: n, dims: nf };
}

/**
 * saiph's `inverse_transform`: back from coordinates to a table of the fitted columns, in their
 * order. Continuous values are de-standardised; each categorical variable takes its largest
 * reconstructed dummy (or a draw weighted by them). Casts: a `numeric` is rounded to 12 decimals
 * as saiph; an `int` and a `datetime` (epoch seconds) are rounded to the nearest integer, where
 * saiph's `astype(int)` truncates toward zero (rounding is the closer estimate, and truncation
 * would pull every avatar toward 0); a `bool` is 0/1; a category keeps the fitted levels.
 */
export function inverseTransform(
  model: ProjectionModel,
  coords: Points,
  options: InverseTransformOptions = {},
): Table {
  if (coords.dims !== model.nf)
    throw new Error(`coordinates have ${coords.dims} dimensions, the model ${model.nf}`);
  const useMax = options.useMaxModalities ?? true;
  const random = options.random ?? createRandom(model.seed);
  const n = coords.count;
  const nf = model.nf;
  const width = model.width;
  const continuousCount = model.continuous.length;
  const { coefficients, constant } = reconstruction(model);

  const continuousOut = model.continuous.map(() => new Float64Array(n));
  const categoricalOut = model.categorical.map(() => new Int32Array(n));
  // Each variable's dummies are columns [starts[c], starts[c + 1]) of the P; levelOf maps a
  // dummy column back to its level.
  const starts = new Int32Array(model.categorical.length + 1);
  const levelOf = new Int32Array(width);
  starts[0] = continuousCount;
  model.categorical.forEach((variable, c) => {
    variable.modalities.forEach((level, index) => {
      levelOf[starts[c]! + index] = level;
    });
    starts[c + 1] = starts[c]! + variable.modalities.length;
  });
  const variables = model.categorical.length;
  const values = new Float64Array(width);
  for (let i = 0; i < n; i++) {
    const point = i * nf;
    for (let p = 0; p < width; p++) values[p] = constant[p]!;
    for (let k = 0; k < nf; k++) {
      const coordinate = coords.data[point + k]!;
      if (coordinate === 0) continue;
      const row = k * width;
      for (let p = 0; p < width; p++) values[p]! += coordinate * coefficients[row + p]!;
    }
    for (let j = 0; j < continuousCount; j++) continuousOut[j]![i] = values[j]!;
    for (let c = 0; c < variables; c++) {
      const start = starts[c]!;
      const end = starts[c + 1]!;
      const chosen = useMax ? argmax(values, start, end) : weightedDraw(values, start, end, random.next());
      categoricalOut[c]![i] = levelOf[chosen]!;
    }
  }

  const byName = new Map<string, Column>();
  model.continuous.forEach((variable, j) => {
    const out = continuousOut[j]!;
    const cast = variable.type === 'numeric' ? round12 : roundToInteger;
    for (let i = 0; i < n; i++) out[i] = cast(out[i]!);
    byName.set(variable.name, {
      name: variable.name,
      type: variable.type,
      values: out,
      ...(variable.datetimeFormat ? { datetimeFormat: variable.datetimeFormat } : {}),
    });
  });
  model.categorical.forEach((variable, c) => {
    const codes = categoricalOut[c]!;
    if (variable.type === 'category') {
      byName.set(variable.name, { name: variable.name, type: 'category', codes, levels: variable.levels });
      return;
    }
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) values[i] = variable.levels[codes[i]!] === 'True' ? 1 : 0;
    byName.set(variable.name, { name: variable.name, type: 'bool', values });
  });
  return { rowCount: n, columns: model.columns.map((name) => byName.get(name)!) };
}

export { createOperator };

/**
 * values = constant + coords·coefficients reconstructs each of the P columns. PCA/FAMD:
 * coefficients = pinv(Vᵀ) de-scaled, ×std for a continuous column (+ mean), ×√p for a dummy
 * (+ p). MCA: coefficients = V·D_c^{-1/2}, × p (saiph divides by n/count).
 */
function reconstruction(model: ProjectionModel): { coefficients: Float64Array; constant: Float64Array } {
  const { nf, width } = model;
  const q = model.categorical.length;
  const coefficients = new Float64Array(nf * width);
  const constant = new Float64Array(width);
  const shares = model.categorical.flatMap((variable) =>
    variable.modalities.map((level) => variable.proportions[level]!),
  );
  const continuousCount = model.continuous.length;
  if (model.type === 'mca') {
    for (let k = 0; k < nf; k++) {
      for (let p = 0; p < width; p++) {
        const share = shares[p]!;
        coefficients[k * width + p] = model.components[k * width + p]! * mcaColumnScale(share, q) * share;
      }
    }
    return { coefficients, constant };
  }
  const vTransposed = new Matrix(width, nf);
  for (let k = 0; k < nf; k++)
    for (let p = 0; p < width; p++) vTransposed.set(p, k, model.components[k * width + p]!);
  const inverse = pseudoInverse(vTransposed); // nf × P
  for (let p = 0; p < width; p++) {
    const isDummy = p >= continuousCount;
    const share = isDummy ? shares[p - continuousCount]! : 0;
    const factor = isDummy ? Math.sqrt(share) : model.continuous[p]!.std;
    constant[p] = isDummy ? share : model.continuous[p]!.mean;
    for (let k = 0; k < nf; k++) coefficients[k * width + p] = inverse.get(k, p) * factor;
  }
  return { coefficients, constant };
}

/** pandas' `idxmax`: the first largest. */
function argmax(values: Float64Array, start: number, end: number): number {
  let best = start;
  for (let p = start + 1; p < end; p++) if (values[p]! > values[best]!) best = p;
  return best;
}

/**
 * saiph's `get_random_weighted_columns`: the first dummy whose cumulative share (of the row's
 * reconstructed values, normalised by their sum) exceeds the draw; the first when none does.
 */
function weightedDraw(values: Float64Array, start: number, end: number, draw: number): number {
  let sum = 0;
  for (let p = start; p < end; p++) sum += values[p]!;
  let cumulative = 0;
  for (let p = start; p < end; p++) {
    cumulative += values[p]! / sum;
    if (draw < cumulative) return p;
  }
  return start;
}

/** numpy's `round(x, 12)`, which saiph applies before casting; beyond 2⁵² it is already exact. */
function round12(value: number): number {
  const scaled = value * 1e12;
  if (!(Math.abs(scaled) < 2 ** 52)) return value;
  const rounded = Math.round(scaled);
  // numpy rounds halves to even.
  const even = rounded - scaled === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
  return even / 1e12 + 0;
}

function roundToInteger(value: number): number {
  return Math.round(value) + 0;
}
