/**
 * How a fitted projection lays out the table's columns (lambdas/domain/avatars/engine/projection.ts):
 * each continuous column's centre and scale, each categorical variable's dummies, the weights, and
 * the table's columns read in the model's order. Shared by the fit, the transform, the inverse and
 * the operator (./projection-operator.ts).
 */
import type { CategoricalVariable, ContinuousVariable, ProjectionModel } from './projection.ts';
import { boolLevel, type Column, isContinuous, type NumberColumn, type Table } from './table.ts';

/** saiph's `sys.float_info.min`: a std at or below it is a constant column's, divided by 1 instead. */
export const SMALLEST_NORMAL = 2.2250738585072014e-308;

/** Rows per block in the column-at-a-time loops (a block of 16-wide rows stays in L2). */
export const ROW_BLOCK = 2048;

export type Layout = Pick<ProjectionModel, 'type' | 'rowCount' | 'continuous' | 'categorical'>;

export function sized(out: Float64Array | undefined, length: number): Float64Array {
  if (out === undefined) return new Float64Array(length);
  if (out.length !== length) throw new Error(`output buffer holds ${out.length} values, not ${length}`);
  return out;
}

export function describe(column: NumberColumn) {
  return {
    type: column.type as ContinuousVariable['type'],
    ...(column.datetimeFormat ? { datetimeFormat: column.datetimeFormat } : {}),
  };
}

export function moments(values: Float64Array, name: string): { name: string; mean: number; std: number } {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  const mean = sum / values.length;
  if (!Number.isFinite(mean)) throw missing(name);
  let squares = 0;
  for (let i = 0; i < values.length; i++) {
    const delta = values[i]! - mean;
    squares += delta * delta;
  }
  return { name, mean, std: Math.sqrt(squares / values.length) };
}

export function levelShares(column: Column, n: number): Omit<CategoricalVariable, 'weight'> {
  const levels = column.type === 'category' ? column.levels : [boolLevel(0), boolLevel(1)];
  const codes = categoryCodes(column);
  const counts = new Float64Array(levels.length);
  for (let i = 0; i < n; i++) {
    const code = codes[i]!;
    if (code < 0 || code >= levels.length) throw missing(column.name);
    counts[code]!++;
  }
  const proportions = Array.from(counts, (count) => count / n);
  const modalities = proportions.flatMap((share, index) => (share > 0 ? [index] : []));
  return {
    name: column.name,
    type: column.type === 'category' ? 'category' : 'bool',
    levels,
    proportions,
    modalities,
  };
}

export function missing(name: string): Error {
  return new Error(`column ${name} has missing values: impute them before the projection`);
}

/** A categorical column's codes into its levels; a bool's are 0 (False) and 1 (True). */
export function categoryCodes(column: Column): Int32Array {
  if (column.type === 'category') return column.codes;
  const codes = new Int32Array(column.values.length);
  for (let i = 0; i < codes.length; i++) {
    const value = column.values[i]!;
    codes[i] = Number.isNaN(value) ? -1 : boolLevel(value) === 'True' ? 1 : 0;
  }
  return codes;
}

/** The weight of each of the P columns: a variable's weight, repeated for each of its dummies. */
export function expandedWeights(model: Layout): Float64Array {
  const weights: number[] = model.continuous.map((variable) => variable.weight);
  for (const variable of model.categorical)
    for (const _ of variable.modalities) weights.push(variable.weight);
  return Float64Array.from(weights);
}

/**
 * Column p of S is (value − centre_p)·scale_p. PCA/FAMD: a continuous column's centre is its
 * mean and its scale 1/std; a dummy's centre is p and its scale 1/√p. MCA: T's dummy column is
 * (d − p)·a·b/(n·q), with a = 1/(ε + √r), r = 1/n, b = 1/(ε + √c), c = p/q (saiph adds ε, the
 * machine epsilon, to the square roots).
 */
export function encode(model: Layout): { centre: Float64Array; scale: Float64Array } {
  const centre: number[] = [];
  const scale: number[] = [];
  for (const variable of model.continuous) {
    centre.push(variable.mean);
    scale.push(variable.std <= SMALLEST_NORMAL ? 1 : 1 / variable.std);
  }
  const n = model.rowCount;
  const q = model.categorical.length;
  const rowFactor = 1 / (Number.EPSILON + Math.sqrt(1 / n));
  for (const variable of model.categorical) {
    for (const level of variable.modalities) {
      const share = variable.proportions[level]!;
      centre.push(share);
      scale.push(
        model.type === 'mca' ? (rowFactor * mcaColumnScale(share, q)) / (n * q) : 1 / Math.sqrt(share),
      );
    }
  }
  return { centre: Float64Array.from(centre), scale: Float64Array.from(scale) };
}

/** MCA's D_c^{-1/2} entry for a level of share p among q variables: 1/(ε + √(p/q)). */
export function mcaColumnScale(share: number, q: number): number {
  return 1 / (Number.EPSILON + Math.sqrt(share / q));
}

/** ‖W‖²: Σ_i (x − centre)² is n·std² for a continuous column, n·p·(1 − p) for a dummy. */
export function totalInertia(model: Layout, columnWeights: Float64Array): number {
  const { scale } = encode(model);
  const n = model.rowCount;
  let total = 0;
  let p = 0;
  for (const variable of model.continuous) {
    const factor = (scale[p]! * columnWeights[p]!) / n;
    total += factor * factor * n * variable.std * variable.std;
    p++;
  }
  for (const variable of model.categorical) {
    for (const level of variable.modalities) {
      const share = variable.proportions[level]!;
      const factor = (scale[p]! * columnWeights[p]!) / n;
      total += factor * factor * n * share * (1 - share);
      p++;
    }
  }
  return total;
}

export interface CategoricalCodes {
  readonly codes: Int32Array;
  /** A code's column among the P (continuous first), or −1 for a level unseen at fit. */
  readonly dummyOf: Int32Array;
}

/** The table's columns in the model's order, its categorical codes mapped onto the model's dummies. */
export function readColumns(
  model: Pick<ProjectionModel, 'continuous' | 'categorical'>,
  table: Table,
): { continuousValues: Float64Array[]; categoricalCodes: CategoricalCodes[] } {
  const columns = new Map(table.columns.map((column) => [column.name, column]));
  const find = (name: string): Column => {
    const column = columns.get(name);
    if (!column) throw new Error(`the table has no column ${name}, which the projection was fitted on`);
    return column;
  };
  const continuousValues = model.continuous.map((variable) => {
    const column = find(variable.name);
    if (!isContinuous(column))
      throw new Error(`column ${variable.name} is ${column.type}, not ${variable.type}`);
    return column.values;
  });
  let offset = model.continuous.length;
  const categoricalCodes = model.categorical.map((variable) => {
    const column = find(variable.name);
    const expected = variable.type === 'bool' ? 'bool' : 'category';
    if (column.type !== expected)
      throw new Error(`column ${variable.name} is ${column.type}, not ${expected}`);
    const levels = column.type === 'category' ? column.levels : [boolLevel(0), boolLevel(1)];
    const position = new Map<string, number>();
    variable.modalities.forEach((level, index) => {
      position.set(variable.levels[level]!, offset + index);
    });
    offset += variable.modalities.length;
    const dummyOf = Int32Array.from(levels, (level) => position.get(level) ?? -1);
    const codes = categoryCodes(column);
    for (let i = 0; i < codes.length; i++) if (codes[i]! < 0) throw missing(variable.name);
    return { codes, dummyOf };
  });
  return { continuousValues, categoricalCodes };
}
