/**
 * The avatar method (Guillaudeux et al., npj Digit. Med. 2023): each individual's avatar is a
 * random weighted barycentre of its k nearest OTHER individuals, brought back to the original
 * types. The neighbours are found in the first `ncp` dimensions of the projection; the barycentre
 * is taken in the projection's full space, which the inverse transform maps back exactly.
 *
 * The full-space barycentre is computed in closed form. With every dimension kept, the projection
 * is linear and exactly invertible on the table's rows, so the inverse of Σ w_j·C_j is Σ w_j·x_j:
 * a continuous value is the weighted mean of the neighbours' values (rounded for integers), and a
 * category's dummies are the weighted sum of the neighbours' dummies, whose largest (saiph's
 * `idxmax`, the first on a tie) is the level with the most weight. No n × P matrix is formed, and an
 * avatar's numbers stay within the range of the values it mixes.
 *
 * Why the full space and not the `ncp` dimensions: with the barycentre in the full space, the WBCD
 * avatars the paper published are reproduced in what can be checked (41 % of rows equal to their
 * original, from duplicates at distance 0; hidden rate 93–95 % against the published 92.68 %;
 * local cloaking 23–24 against 24; Hellinger mean 0.04 against 0.03), where the inverse from `ncp`
 * dimensions gives 3 % equal rows, local cloaking near 300 and a Hellinger mean of 0.35: it
 * regresses every value to the table's first axes (docs/avatars.md).
 *
 * Step 3's weight is w_j ∝ D_j · R_j · Q_j with D_j = 1/d(C_i, C_j) (in the `ncp` space),
 * R_j ~ Exp(1) and Q_j = 2^(−σ_j) for σ a random permutation of 1..k. The paper's Methods text was
 * not at hand; this is the formula of a published re-implementation. The seed drives every draw in
 * this order: the projection's SVD sketch, then per individual its k exponentials and its
 * permutation, then the shuffle.
 */
import { buildKdTree, kdTreeKnn } from './kd-tree.ts';
import { allKnnParallel } from './knn-parallel.ts';
import { fitProjection, type ProjectionModel, transformTable } from './projection.ts';
import { createRandom, permutation, type Random } from './rng.ts';
import type { Column, Points, Table } from './table.ts';

/** Added to a zero distance (duplicate individuals), as the re-implementation does: 1/0 is not a weight. */
const ZERO_DISTANCE = 1e-8;

export interface AvatarizeOptions {
  /** Neighbours each avatar is drawn from. */
  readonly k: number;
  /** Dimensions of the projected space the neighbours are found in. */
  readonly ncp: number;
  readonly seed: number;
  readonly columnWeights?: Readonly<Record<string, number>>;
  /** Columns left out of the projection and given back afterwards (the client's `exclude_variables`). */
  readonly exclude?: {
    readonly names: readonly string[];
    /**
     * `row_order`: avatar i takes original i's value (sensitive: the value is the individual's own).
     * `coordinate_similarity`: the value of the original nearest to the avatar in the projected space.
     */
    readonly strategy: 'row_order' | 'coordinate_similarity';
  };
  /** Worker threads for the neighbour search (default 2; 1 searches in this thread). */
  readonly threads?: number;
  /** Called between steps with the share of the work done (0..1), for a job's progress. */
  readonly onProgress?: (share: number, step: string) => void;
}

export interface Avatars {
  /** Row i is the avatar of original row i: for metrics only, never to hand out (it keeps the order). */
  readonly unshuffled: Table;
  /** The avatars in a random order: what a user shares. */
  readonly shuffled: Table;
  /** `shuffled` row r is `unshuffled` row `order[r]`. */
  readonly order: Int32Array;
  /** The originals' and the (unshuffled) avatars' coordinates in the `ncp` dimensions. */
  readonly originalProjections: Points;
  readonly avatarProjections: Points;
  readonly model: ProjectionModel;
}

/** Avatarizes a table without missing values (impute first). */
export async function avatarize(table: Table, options: AvatarizeOptions): Promise<Avatars> {
  const n = table.rowCount;
  if (options.k >= n) {
    throw new RangeError(`k = ${options.k} needs more than ${options.k} rows; the table has ${n}`);
  }
  const progress = options.onProgress ?? (() => undefined);
  const random = createRandom(options.seed);
  const excluded = new Set(options.exclude?.names ?? []);
  const projected: Table = excluded.size
    ? { rowCount: n, columns: table.columns.filter((column) => !excluded.has(column.name)) }
    : table;

  progress(0, 'projection');
  const model = fitProjection(projected, {
    nf: options.ncp,
    random,
    ...(options.columnWeights ? { columnWeights: options.columnWeights } : {}),
  });
  const coords = transformTable(model, projected);

  progress(0.3, 'neighbours');
  const neighbours = await allKnnParallel(coords, options.k, { threads: options.threads ?? 2 });

  progress(0.6, 'barycentres');
  const weights = barycentreWeights(neighbours.distances, coords.count, options.k, random);
  const mixed = mixRows(projected, neighbours.indices, weights, options.k);

  progress(0.8, 'projection of the avatars');
  const avatarCoords = transformTable(model, mixed);
  const unshuffled = withExcluded(table, mixed, excluded, options.exclude?.strategy, coords, avatarCoords);
  const order = permutation(n, random);

  progress(0.95, 'shuffle');
  return {
    unshuffled,
    shuffled: reorder(unshuffled, order),
    order,
    originalProjections: coords,
    avatarProjections: avatarCoords,
    model,
  };
}

/**
 * Step 3's normalised weights of every individual's k neighbours, row-major n × k. The draws for
 * individual i are made in a fixed order (its permutation, then its k exponentials), so that a seed
 * gives the same avatars whatever the neighbour search's threads.
 */
export function barycentreWeights(
  distances: Float64Array,
  count: number,
  k: number,
  random: Random,
): Float64Array {
  const weights = new Float64Array(count * k);
  const ranks = new Int32Array(k);
  for (let i = 0; i < count; i++) {
    for (let r = 0; r < k; r++) ranks[r] = r + 1;
    for (let r = k - 1; r > 0; r--) {
      const j = random.int(r + 1);
      const swap = ranks[r]!;
      ranks[r] = ranks[j]!;
      ranks[j] = swap;
    }
    let total = 0;
    for (let r = 0; r < k; r++) {
      const distance = Math.max(distances[i * k + r]!, ZERO_DISTANCE);
      const weight = (random.exponential() * 2 ** -ranks[r]!) / distance;
      weights[i * k + r] = weight;
      total += weight;
    }
    for (let r = 0; r < k; r++) weights[i * k + r] = weights[i * k + r]! / total;
  }
  return weights;
}

/**
 * The full-space barycentres, back in the table's types: per row, the weighted mean of its
 * neighbours' numbers and, per category, the level its neighbours give the most weight (the first
 * level in the model's order on a tie, as `idxmax`).
 */
export function mixRows(table: Table, indices: Int32Array, weights: Float64Array, k: number): Table {
  const n = table.rowCount;
  const columns = table.columns.map((column): Column => {
    if (column.type === 'category') {
      const codes = new Int32Array(n);
      const score = new Float64Array(column.levels.length);
      for (let i = 0; i < n; i++) {
        score.fill(0);
        for (let r = 0; r < k; r++) {
          const code = column.codes[indices[i * k + r]!]!;
          score[code] = score[code]! + weights[i * k + r]!;
        }
        let best = 0;
        for (let level = 1; level < score.length; level++) if (score[level]! > score[best]!) best = level;
        codes[i] = best;
      }
      return { ...column, codes };
    }
    const values = new Float64Array(n);
    const source = column.values;
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let r = 0; r < k; r++) sum += weights[i * k + r]! * source[indices[i * k + r]!]!;
      values[i] = sum;
    }
    if (column.type === 'bool') {
      // A bool is a two-level category: the value with more weight (False on a tie, its first level).
      for (let i = 0; i < n; i++) values[i] = values[i]! > 0.5 ? 1 : 0;
    } else if (column.type !== 'numeric') {
      // Integers and datetimes (whole seconds) take the nearest whole value.
      for (let i = 0; i < n; i++) values[i] = Math.round(values[i]!);
    }
    return { ...column, values };
  });
  return { rowCount: n, columns };
}

/** The table's columns in their order: the avatars' own, and the excluded ones given back. */
function withExcluded(
  original: Table,
  avatars: Table,
  excluded: ReadonlySet<string>,
  strategy: 'row_order' | 'coordinate_similarity' | undefined,
  coords: Points,
  avatarCoords: Points,
): Table {
  if (excluded.size === 0) return avatars;
  const source = strategy === 'coordinate_similarity' ? nearestOriginal(coords, avatarCoords) : undefined;
  const byName = new Map(avatars.columns.map((column) => [column.name, column]));
  const columns = original.columns.map((column) => {
    if (!excluded.has(column.name)) return byName.get(column.name)!;
    return source ? pickRows(column, source) : column;
  });
  return { rowCount: original.rowCount, columns };
}

/** For each avatar, the original nearest to it in the projected space. */
function nearestOriginal(coords: Points, avatarCoords: Points): Int32Array {
  return kdTreeKnn(buildKdTree(coords), avatarCoords, 1).indices;
}

/** A column's rows in the order given: row r is row `rows[r]` of the column. */
export function pickRows(column: Column, rows: Int32Array): Column {
  if (column.type === 'category') {
    const codes = new Int32Array(rows.length);
    for (let r = 0; r < rows.length; r++) codes[r] = column.codes[rows[r]!]!;
    return { ...column, codes };
  }
  const values = new Float64Array(rows.length);
  for (let r = 0; r < rows.length; r++) values[r] = column.values[rows[r]!]!;
  return { ...column, values };
}

/** The table's rows in the order given. */
export function reorder(table: Table, rows: Int32Array): Table {
  return { rowCount: rows.length, columns: table.columns.map((column) => pickRows(column, rows)) };
}
