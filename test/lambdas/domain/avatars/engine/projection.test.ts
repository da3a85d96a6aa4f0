import fc from 'fast-check';
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { parseTable } from '../../../../../lambdas/domain/avatars/engine/csv.ts';
import { exactSvd } from '../../../../../lambdas/domain/avatars/engine/linalg.ts';
import {
  createOperator,
  EXACT_SVD_MAX_WIDTH,
  fitProjection,
  inverseTransform,
  type ProjectionModel,
  transformTable,
} from '../../../../../lambdas/domain/avatars/engine/projection.ts';
import { createRandom } from '../../../../../lambdas/domain/avatars/engine/rng.ts';
import type {
  CategoryColumn,
  Column,
  NumberColumn,
  Points,
  Table,
} from '../../../../../lambdas/domain/avatars/engine/table.ts';
import { dataFile, WBCD_FEATURES } from './support.ts';

const numeric = (name: string, values: number[], type: NumberColumn['type'] = 'numeric'): NumberColumn => ({
  name,
  type,
  values: Float64Array.from(values),
});

/** A category column from its values; levels sorted as table.ts keeps them. */
const category = (name: string, values: string[], levels = [...new Set(values)].sort()): CategoryColumn => ({
  name,
  type: 'category',
  codes: Int32Array.from(values, (value) => levels.indexOf(value)),
  levels,
});

const tableOf = (...columns: Column[]): Table => ({
  rowCount: columns[0]!.type === 'category' ? columns[0]!.codes.length : columns[0]!.values.length,
  columns,
});

/**
 * saiph's matrices written out densely from its formulas, independently of projection.ts:
 * S = [Zc | Zd] (FAMD, PCA) or T (MCA), the expanded column weights, and D for MCA.
 */
function saiphMatrices(table: Table, weights: Record<string, number> = {}) {
  const n = table.rowCount;
  const continuous = table.columns.filter(
    (column) => column.type !== 'category' && column.type !== 'bool',
  ) as NumberColumn[];
  const categorical = table.columns.filter((column) => column.type === 'category' || column.type === 'bool');
  const columns: number[][] = [];
  const columnWeights: number[] = [];
  for (const column of continuous) {
    const values = Array.from(column.values);
    const mean = values.reduce((sum, value) => sum + value, 0) / n;
    const std = Math.sqrt(values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / n);
    columns.push(values.map((value) => (value - mean) / (std <= 2.2250738585072014e-308 ? 1 : std)));
    columnWeights.push(weights[column.name] ?? 1);
  }
  const dummies: number[][] = [];
  for (const column of categorical) {
    const labels =
      column.type === 'category'
        ? Array.from(column.codes, (code) => column.levels[code]!)
        : Array.from((column as NumberColumn).values, (value) => (value === 0 ? 'False' : 'True'));
    for (const level of [...new Set(labels)].sort()) {
      dummies.push(labels.map((label) => (label === level ? 1 : 0)));
      columnWeights.push(weights[column.name] ?? 1);
    }
  }
  const shares = dummies.map((dummy) => dummy.reduce((sum, value) => sum + value, 0) / n);
  dummies.forEach((dummy, m) => {
    columns.push(dummy.map((value) => (value - shares[m]!) / Math.sqrt(shares[m]!)));
  });
  const s = Array.from({ length: n }, (_, i) => columns.map((column) => column[i]!));
  // MCA: Z = D/ΣD, r and c its row and column sums, T = diag(1/√r)(Z − r·cᵀ)diag(1/√c), ε added.
  const q = categorical.length;
  const eps = Number.EPSILON;
  const c = shares.map((share) => share / q);
  const d = Array.from({ length: n }, (_, i) => dummies.map((dummy) => dummy[i]!));
  const t = d.map((row) =>
    row.map(
      (value, m) =>
        (1 / (eps + Math.sqrt(1 / n))) * (value / (n * q) - c[m]! / n) * (1 / (eps + Math.sqrt(c[m]!))),
    ),
  );
  return { s, t, d, c, q, columnWeights };
}

/** SVD of W = M·cw/n with svd_flip: V (nf × P) as rows. */
function saiphAxes(matrix: number[][], columnWeights: number[], nf: number): number[][] {
  const n = matrix.length;
  const w = matrix.map((row) => row.map((value, p) => (value * columnWeights[p]!) / n));
  const svd = new SingularValueDecomposition(new Matrix(w), { autoTranspose: true });
  const u = svd.leftSingularVectors;
  const v = svd.rightSingularVectors;
  return Array.from({ length: nf }, (_, k) => {
    let largest = 0;
    for (let i = 0; i < n; i++) if (Math.abs(u.get(i, k)) > Math.abs(largest)) largest = u.get(i, k);
    return Array.from({ length: v.rows }, (_, p) => Math.sign(largest) * v.get(p, k));
  });
}

function famdReference(table: Table, nf: number, weights: Record<string, number> = {}): number[][] {
  const { s, columnWeights } = saiphMatrices(table, weights);
  const axes = saiphAxes(s, columnWeights, nf).map((axis) =>
    axis.map((value, p) => value / Math.sqrt(columnWeights[p]!)),
  );
  return s.map((row) => axes.map((axis) => row.reduce((sum, value, p) => sum + value * axis[p]!, 0)));
}

function mcaReference(table: Table, nf: number, weights: Record<string, number> = {}): number[][] {
  const { t, d, c, q, columnWeights } = saiphMatrices(table, weights);
  const axes = saiphAxes(t, columnWeights, nf);
  return d.map((row) =>
    axes.map((axis) =>
      row.reduce(
        (sum, value, m) => sum + (value / q) * (1 / (Number.EPSILON + Math.sqrt(c[m]!))) * axis[m]!,
        0,
      ),
    ),
  );
}

function rowsOf(points: Points): number[][] {
  return Array.from({ length: points.count }, (_, i) =>
    Array.from(points.data.subarray(i * points.dims, (i + 1) * points.dims)),
  );
}

function expectCloseRows(actual: number[][], expected: number[][], digits = 10) {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, i) => {
    row.forEach((value, k) => {
      expect(value).toBeCloseTo(expected[i]![k]!, digits);
    });
  });
}

const mixed = tableOf(
  numeric('x', [1.5, 2, 3.5, 4, 5, 6.5, 7, 9]),
  category('colour', ['r', 'g', 'b', 'r', 'r', 'g', 'b', 'b']),
  numeric('k', [10, 12, 9, 15, 14, 20, 18, 25], 'int'),
  numeric('flag', [1, 0, 0, 1, 1, 0, 1, 0], 'bool'),
);

describe('fitProjection', () => {
  it('picks PCA, MCA or FAMD from the column types, as saiph', () => {
    // Prepare
    const random = createRandom(1);
    const [x, colour, k, flag] = mixed.columns;

    // Act
    const types = [tableOf(x!, k!), tableOf(colour!, flag!), mixed].map(
      (table) => fitProjection(table, { nf: 2, random }).type,
    );

    // Assess: a bool is categorical.
    expect(types).toEqual(['pca', 'mca', 'famd']);
  });

  it('finds the principal axis of points along y = 2x: (1, 1)/√2 once both are standardised', () => {
    // Prepare: a line plus small noise across it.
    const random = createRandom(5);
    const xs: number[] = [];
    const ys: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = random.normal() * 3;
      const noise = random.normal() * 0.1;
      xs.push(t - (2 * noise) / Math.sqrt(5));
      ys.push(2 * t + noise / Math.sqrt(5));
    }
    const table = tableOf(numeric('x', xs), numeric('y', ys));
    const standardise = (values: number[]) => {
      const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
      const std = Math.sqrt(values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / values.length);
      return values.map((value) => (value - mean) / std);
    };
    const zx = standardise(xs);
    const zy = standardise(ys);
    const correlation = zx.reduce((sum, value, i) => sum + value * zy[i]!, 0) / 200;

    // Act
    const model = fitProjection(table, { nf: 2, random: createRandom(1) });
    const coords = transformTable(model, table);

    // Assess: a 2 × 2 correlation matrix has eigenvectors (1, ±1)/√2 and eigenvalues 1 ± ρ.
    const [v0x, v0y, v1x, v1y] = model.components;
    expect(Math.abs(v0x!)).toBeCloseTo(Math.SQRT1_2, 12);
    expect(v0y).toBeCloseTo(v0x!, 12);
    expect(v1y).toBeCloseTo(-v1x!, 12);
    expect(model.explainedVarianceRatio[0]).toBeCloseTo((1 + correlation) / 2, 12);
    expect(model.explainedVarianceRatio[1]).toBeCloseTo((1 - correlation) / 2, 12);
    expect(model.singularValues[0]).toBeCloseTo(Math.sqrt((1 + correlation) / 200), 12);
    const sign = Math.sign(v0x!);
    zx.forEach((value, i) => {
      expect(coords.data[i * 2]).toBeCloseTo((sign * (value + zy[i]!)) / Math.SQRT2, 10);
    });
  });

  it('projects a one-continuous, one-binary table onto the axis worked out by hand', () => {
    // Prepare: x = ∓1 (mean 0, std 1), category a/b (p = ½): S's rows are ∓w with
    // w = (1, −1/√2, 1/√2), so S has rank 1, V = w/‖w‖ = w/√2, coords = ∓‖w‖ = ∓√2, and
    // W = S/n has s = ‖(∓1, ∓1, ±1, ±1)‖·‖w‖/4 = 2·√2/4 = 1/√2.
    const table = tableOf(numeric('x', [-1, -1, 1, 1]), category('c', ['a', 'a', 'b', 'b']));

    // Act
    const model = fitProjection(table, { nf: 1, random: createRandom(3) });
    const coords = transformTable(model, table);

    // Assess (up to the axis' sign)
    const sign = Math.sign(coords.data[2]!);
    expect(Array.from(coords.data, (value) => value * sign)).toEqual(
      [-Math.SQRT2, -Math.SQRT2, Math.SQRT2, Math.SQRT2].map((value) => expect.closeTo(value, 12)),
    );
    expect(model.components.map((value) => value * sign)).toEqual(
      [0.5 * Math.SQRT2, -0.5, 0.5].map((value) => expect.closeTo(value, 12)),
    );
    expect(model.singularValues[0]).toBeCloseTo(Math.SQRT1_2, 12);
    expect(model.explainedVariance[0]).toBeCloseTo(0.5 / 3, 12);
    expect(model.explainedVarianceRatio[0]).toBeCloseTo(1, 12);
  });

  it("gives FAMD coordinates equal to a dense implementation of saiph's formulas, column weights included", () => {
    // Prepare
    const weights = { x: 2, colour: 0.5, k: 1, flag: 3 };

    // Act
    const model = fitProjection(mixed, {
      nf: 3,
      random: createRandom(1),
      columnWeights: weights,
      exactSvd: true,
    });

    // Assess: signs included, as both follow svd_flip.
    expectCloseRows(rowsOf(transformTable(model, mixed)), famdReference(mixed, 3, weights));
  });

  it("gives MCA coordinates equal to a dense implementation of saiph's formulas", () => {
    // Prepare
    const table = tableOf(
      category('colour', ['r', 'g', 'b', 'r', 'r', 'g', 'b', 'b', 'g', 'r']),
      category('size', ['s', 'm', 'l', 'l', 'm', 's', 's', 'l', 'm', 'm']),
      numeric('flag', [1, 0, 0, 1, 1, 0, 1, 0, 0, 0], 'bool'),
    );
    const weights = { colour: 1, size: 2, flag: 0.5 };

    // Act
    const model = fitProjection(table, {
      nf: 3,
      random: createRandom(1),
      columnWeights: weights,
      exactSvd: true,
    });

    // Assess
    expect(model.type).toBe('mca');
    expectCloseRows(rowsOf(transformTable(model, table)), mcaReference(table, 3, weights));
  });

  it('uses the randomized SVD below 0.8·min(n, P), near the exact one on the leading axis', () => {
    // Prepare
    const random = createRandom(9);
    const n = 300;
    const latent = Array.from({ length: n }, () => random.normal());
    const table = tableOf(
      ...Array.from({ length: 6 }, (_, j) =>
        numeric(
          `x${j}`,
          latent.map((value) => value * (j + 1) + random.normal()),
        ),
      ),
      category(
        'c',
        latent.map((value) => (value + random.normal() * 0.3 > 0 ? 'high' : 'low')),
      ),
    );

    // Act
    const randomized = fitProjection(table, { nf: 2, random: createRandom(1) });
    const exact = fitProjection(table, { nf: 2, random: createRandom(1), exactSvd: true });

    // Assess
    expect(randomized.svd).toBe('randomized');
    expect(exact.svd).toBe('exact');
    // Assess: saiph's sketch is exactly nf wide, so the leading axis is good to a few digits.
    expect(randomized.singularValues[0]! / exact.singularValues[0]!).toBeCloseTo(1, 4);
    randomized.components.slice(0, 8).forEach((value, p) => {
      expect(value).toBeCloseTo(exact.components[p]!, 2);
    });
  });

  it('lowers nf to min(n, P) and refuses a non-positive one', () => {
    // Act
    const model = fitProjection(mixed, { nf: 50, random: createRandom(1) });

    // Assess: P = 2 continuous + 3 colours + 2 flags.
    expect(model.width).toBe(7);
    expect(model.nf).toBe(7);
    expect(transformTable(model, mixed).dims).toBe(7);
    expect(() => fitProjection(mixed, { nf: 0, random: createRandom(1) })).toThrow(/positive integer/);
  });

  it('refuses missing values, a single row and a weight for a column it does not have', () => {
    // Prepare
    const random = createRandom(1);
    const gap = tableOf(numeric('x', [1, Number.NaN, 3]), category('c', ['a', 'b', 'a']));
    const noLevel: Table = {
      rowCount: 3,
      columns: [
        numeric('x', [1, 2, 3]),
        { ...category('c', ['a', 'b', 'a']), codes: Int32Array.from([0, -1, 1]) },
      ],
    };

    // Act / Assess
    expect(() => fitProjection(gap, { nf: 1, random })).toThrow(/column x has missing values/);
    expect(() => fitProjection(noLevel, { nf: 1, random })).toThrow(/column c has missing values/);
    expect(() => fitProjection(tableOf(numeric('x', [1])), { nf: 1, random })).toThrow(/at least 2 rows/);
    expect(() => fitProjection(mixed, { nf: 1, random, columnWeights: { y: 2 } })).toThrow(/not a column/);
  });

  it('makes a model that survives JSON and projects as before', () => {
    // Prepare
    const model = fitProjection(mixed, { nf: 3, random: createRandom(4) });

    // Act
    const copy = JSON.parse(JSON.stringify(model)) as ProjectionModel;

    // Assess
    expect(copy).toEqual(model);
    expect(Array.from(transformTable(copy, mixed).data)).toEqual(
      Array.from(transformTable(model, mixed).data),
    );
  });
});

describe('createOperator', () => {
  it.each([
    ['FAMD', mixed],
    ['PCA', tableOf(mixed.columns[0]!, mixed.columns[2]!)],
    ['MCA', tableOf(mixed.columns[1]!, mixed.columns[3]!)],
  ])('multiplies as the dense matrix saiph decomposes, for %s, weighted or not', (type, table) => {
    // Prepare
    const weights = Object.fromEntries(table.columns.map((column, index) => [column.name, index + 1]));
    const model = fitProjection(table, { nf: 2, random: createRandom(1), columnWeights: weights });
    const { s, t, columnWeights } = saiphMatrices(table, weights);
    const n = table.rowCount;
    const plain = type === 'MCA' ? t : s;
    const width = plain[0]!.length;
    const random = createRandom(2);
    const x = Float64Array.from({ length: width * 3 }, () => random.normal());
    const y = Float64Array.from({ length: n * 3 }, () => random.normal());

    for (const weighted of [false, true]) {
      const dense = plain.map((row) =>
        row.map((value, p) => (weighted ? (value * columnWeights[p]!) / n : value)),
      );

      // Act
      const operator = createOperator(model, table, weighted);
      const product = operator.multiply(x, 3);
      const transposed = operator.multiplyTranspose(y, 3);

      // Assess
      expect([operator.rows, operator.cols]).toEqual([n, width]);
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < 3; c++)
          expect(product[i * 3 + c]).toBeCloseTo(
            dense[i]!.reduce((sum, value, p) => sum + value * x[p * 3 + c]!, 0),
            12,
          );
      }
      for (let p = 0; p < width; p++) {
        for (let c = 0; c < 3; c++)
          expect(transposed[p * 3 + c]).toBeCloseTo(
            dense.reduce((sum, row, i) => sum + row[p]! * y[i * 3 + c]!, 0),
            12,
          );
      }
      const gram = operator.gram?.();
      expect(gram).toBeDefined();
      for (let p = 0; p < width; p++) {
        for (let r = 0; r < width; r++)
          expect(gram![p * width + r]).toBeCloseTo(
            dense.reduce((sum, row) => sum + row[p]! * row[r]!, 0),
            12,
          );
      }
    }
  });

  it('builds its Gram matrix on a table other than the fitted one, unseen levels included', () => {
    // Prepare: the fitted means are no longer the means, and 'purple' has no dummy.
    const model = fitProjection(mixed, { nf: 2, random: createRandom(1) });
    const other = tableOf(
      numeric('x', [0, 3, 10]),
      category('colour', ['purple', 'r', 'g']),
      numeric('k', [1, 30, 12], 'int'),
      numeric('flag', [1, 1, 0], 'bool'),
    );
    const operator = createOperator(model, other, true);
    const width = operator.cols;
    const identity = new Float64Array(width * width).map((_, index) => (index % (width + 1) === 0 ? 1 : 0));
    const dense = operator.multiply(identity, width); // 3 × P

    // Act
    const gram = operator.gram!();

    // Assess
    for (let p = 0; p < width; p++) {
      for (let r = 0; r < width; r++) {
        const expected = [0, 1, 2].reduce((sum, i) => sum + dense[i * width + p]! * dense[i * width + r]!, 0);
        expect(gram[p * width + r]).toBeCloseTo(expected, 12);
      }
    }
  });

  it('gives the exact SVD the same axes through its Gram matrix as through products', () => {
    // Prepare
    const model = fitProjection(mixed, { nf: 2, random: createRandom(1) });
    const operator = createOperator(model, mixed, true);

    // Act
    const viaGram = exactSvd(operator, 4, { denseLimit: 0 });
    const viaProducts = exactSvd({ ...operator, gram: undefined }, 4, { denseLimit: 0 });

    // Assess
    Array.from(viaGram.s).forEach((value, c) => {
      expect(value).toBeCloseTo(viaProducts.s[c]!, 12);
    });
    Array.from(viaGram.vt).forEach((value, index) => {
      expect(value).toBeCloseTo(viaProducts.vt[index]!, 8);
    });
  });
});

describe('transformTable', () => {
  it('matches columns by name, whatever their order', () => {
    // Prepare
    const model = fitProjection(mixed, { nf: 3, random: createRandom(1) });
    const reordered: Table = { rowCount: mixed.rowCount, columns: [...mixed.columns].reverse() };

    // Act / Assess
    expect(Array.from(transformTable(model, reordered).data)).toEqual(
      Array.from(transformTable(model, mixed).data),
    );
  });

  it('gives a level unseen at fit all-zero dummies, as saiph', () => {
    // Prepare
    const model = fitProjection(mixed, { nf: 3, random: createRandom(1) });
    const colour = model.categorical.find((variable) => variable.name === 'colour')!;
    const flag = model.categorical.find((variable) => variable.name === 'flag')!;
    const [x, k] = model.continuous;
    const row = tableOf(
      numeric('x', [4]),
      category('colour', ['purple']),
      numeric('k', [16], 'int'),
      numeric('flag', [1], 'bool'),
    );

    // Act
    const coords = transformTable(model, row);

    // Assess: S's row, written out: continuous standardised, colour's dummies (0 − p)/√p.
    const sRow = [
      (4 - x!.mean) / x!.std,
      (16 - k!.mean) / k!.std,
      ...colour.modalities.map((level) => -Math.sqrt(colour.proportions[level]!)),
      ...flag.modalities.map(
        (level) =>
          (flag.levels[level] === 'True' ? 1 - flag.proportions[level]! : -flag.proportions[level]!) /
          Math.sqrt(flag.proportions[level]!),
      ),
    ];
    for (let c = 0; c < 3; c++) {
      expect(coords.data[c]).toBeCloseTo(
        sRow.reduce((sum, value, p) => sum + value * model.components[c * 7 + p]!, 0),
        12,
      );
    }
  });
});

describe('inverseTransform', () => {
  /** A random small table: up to three continuous and three categorical columns, n > P. */
  const tables = fc
    .record({
      continuous: fc.array(
        fc.record({
          type: fc.constantFrom('numeric', 'int', 'datetime'),
          weight: fc.constantFrom(1, 0.5, 3),
        }),
        { maxLength: 3 },
      ),
      categorical: fc.array(
        fc.record({
          bool: fc.boolean(),
          levels: fc.integer({ min: 1, max: 4 }),
          weight: fc.constantFrom(1, 2),
        }),
        {
          maxLength: 3,
        },
      ),
      extraRows: fc.integer({ min: 1, max: 8 }),
      seed: fc.integer(),
    })
    .filter(({ continuous, categorical }) => continuous.length + categorical.length > 0)
    .map(({ continuous, categorical, extraRows, seed }) => {
      const random = createRandom(seed);
      const width =
        continuous.length + categorical.reduce((sum, spec) => sum + (spec.bool ? 2 : spec.levels), 0);
      const n = width + extraRows;
      const weights: Record<string, number> = {};
      const columns: Column[] = [];
      continuous.forEach(({ type, weight }, j) => {
        const values = Array.from({ length: n }, () =>
          type === 'numeric'
            ? (random.normal() * 10) ** 3
            : type === 'int'
              ? random.int(41) - 20
              : 1_600_000_000 + random.int(86_400 * 365),
        );
        columns.push(numeric(`x${j}`, values, type));
        weights[`x${j}`] = weight;
      });
      categorical.forEach(({ bool, levels, weight }, v) => {
        const name = `c${v}`;
        columns.push(
          bool
            ? numeric(
                name,
                Array.from({ length: n }, () => random.int(2)),
                'bool',
              )
            : category(
                name,
                Array.from({ length: n }, () => `level ${random.int(levels)}`),
                Array.from({ length: levels }, (_, l) => `level ${l}`),
              ),
        );
        weights[name] = weight;
      });
      return { table: { rowCount: n, columns } as Table, weights };
    });

  it('gives back the table when nf keeps every dimension (PCA, MCA and FAMD)', () => {
    fc.assert(
      fc.property(tables, ({ table, weights }) => {
        // Prepare
        const model = fitProjection(table, { nf: 1_000, random: createRandom(1), columnWeights: weights });

        // Act
        const inverse = inverseTransform(model, transformTable(model, table));

        // Assess: exact for integers, datetimes, bools and categories; numbers to rounding.
        expect(inverse.columns.map((column) => [column.name, column.type])).toEqual(
          table.columns.map((column) => [column.name, column.type]),
        );
        table.columns.forEach((column, index) => {
          const back = inverse.columns[index]!;
          if (column.type === 'category') {
            expect(back.type === 'category' && back.levels).toEqual(column.levels);
            expect(back.type === 'category' && Array.from(back.codes)).toEqual(Array.from(column.codes));
          } else if (column.type === 'numeric') {
            const values = (back as NumberColumn).values;
            column.values.forEach((value, i) => {
              expect(Math.abs(values[i]! - value)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(value)));
            });
          } else {
            expect(Array.from((back as NumberColumn).values)).toEqual(Array.from(column.values));
          }
        });
      }),
      { numRuns: 150 },
    );
  });

  it('rounds an int to the nearest integer where saiph truncates toward zero', () => {
    // Prepare: one int column, mean 0, std 10: coordinate = value/10 · V.
    const table = tableOf(numeric('k', [-10, 10], 'int'));
    const model = fitProjection(table, { nf: 1, random: createRandom(1) });
    const v = model.components[0]!;
    const coords: Points = {
      data: Float64Array.from([-2.6, 2.6, 2.4, -0.2].map((value) => (value / 10) * v)),
      count: 4,
      dims: 1,
    };

    // Act
    const inverse = inverseTransform(model, coords);

    // Assess
    expect(Array.from((inverse.columns[0] as NumberColumn).values)).toEqual([-3, 3, 2, 0]);
    expect(Object.is((inverse.columns[0] as NumberColumn).values[3], -0)).toBe(false);
  });

  it('keeps a datetime column epoch seconds, whole, in its written format', () => {
    // Prepare
    const column: NumberColumn = {
      name: 'when',
      type: 'datetime',
      values: Float64Array.from([0, 86_400, 172_800]),
      datetimeFormat: 'date',
    };
    const table = tableOf(column, numeric('x', [1, 5, 2]));
    const model = fitProjection(table, { nf: 1, random: createRandom(1) });

    // Act
    const inverse = inverseTransform(model, transformTable(model, table));

    // Assess
    const when = inverse.columns[0] as NumberColumn;
    expect(when.datetimeFormat).toBe('date');
    when.values.forEach((value) => {
      expect(Number.isInteger(value)).toBe(true);
    });
  });

  it('draws a modality in proportion to the reconstructed dummies, reproducibly from the model seed', () => {
    // Prepare: at the origin every dummy reconstructs to its level's share (½, 0.3, 0.2).
    const table = tableOf(
      numeric(
        'x',
        Array.from({ length: 10 }, (_, i) => i),
      ),
      category('c', ['a', 'a', 'a', 'a', 'a', 'b', 'b', 'b', 'c', 'c']),
    );
    const model = fitProjection(table, { nf: 2, random: createRandom(1) });
    const origin: Points = { data: new Float64Array(20_000 * 2), count: 20_000, dims: 2 };

    // Act
    const drawn = inverseTransform(model, origin, { useMaxModalities: false });
    const again = inverseTransform(model, origin, {
      useMaxModalities: false,
      random: createRandom(model.seed),
    });
    const largest = inverseTransform(model, origin);

    // Assess
    const codes = (drawn.columns[1] as CategoryColumn).codes;
    const shares = [0, 1, 2].map((level) => codes.filter((code) => code === level).length / 20_000);
    expect(shares[0]).toBeCloseTo(0.5, 1);
    expect(shares[1]).toBeCloseTo(0.3, 1);
    expect(shares[2]).toBeCloseTo(0.2, 1);
    expect(Array.from((again.columns[1] as CategoryColumn).codes)).toEqual(Array.from(codes));
    expect(new Set((largest.columns[1] as CategoryColumn).codes)).toEqual(new Set([0]));
    expect(new Set((largest.columns[0] as NumberColumn).values)).toEqual(new Set([4.5]));
  });

  it('refuses coordinates of another dimension', () => {
    // Prepare
    const model = fitProjection(mixed, { nf: 2, random: createRandom(1) });

    // Act / Assess
    expect(() => inverseTransform(model, { data: new Float64Array(3), count: 1, dims: 3 })).toThrow(
      /3 dimensions/,
    );
  });
});

describe('WBCD (breast_cancer_wisconsin.csv)', () => {
  const bytes = dataFile('breast_cancer_wisconsin.csv');
  const features = WBCD_FEATURES;

  it('projects its ten integer columns by PCA, two thirds of the variance on the first axis', () => {
    // Prepare
    const table = parseTable(bytes, { dropColumns: ['Sample_code_number'] });

    // Act
    const model = fitProjection(table, { nf: 2, random: createRandom(1) });
    const coords = transformTable(model, table);

    // Assess: the first axis is "more abnormal cells", every column loading with one sign.
    expect(model.type).toBe('pca');
    expect(model.svd).toBe('randomized');
    expect(coords.count).toBe(683);
    expect(coords.data.every(Number.isFinite)).toBe(true);
    expect(model.explainedVarianceRatio[0]).toBeCloseTo(0.673, 3);
    const first = model.components.slice(0, 10);
    expect(first.every((value) => Math.sign(value) === Math.sign(first[0]!))).toBe(true);
  });

  it('projects it as FAMD (Class a category) and as MCA (every column a category), and back', () => {
    // Prepare
    const famdTable = parseTable(bytes, {
      dropColumns: ['Sample_code_number'],
      types: { Class: 'category' },
    });
    const mcaTable = parseTable(bytes, {
      dropColumns: ['Sample_code_number'],
      types: Object.fromEntries([...features, 'Class'].map((name) => [name, 'category' as const])),
    });

    for (const [table, type] of [
      [famdTable, 'famd'],
      [mcaTable, 'mca'],
    ] as const) {
      // Act
      const model = fitProjection(table, { nf: 5, random: createRandom(2) });
      const inverse = inverseTransform(model, transformTable(model, table));

      // Assess
      expect(model.type).toBe(type);
      expect(inverse.rowCount).toBe(683);
      const originalClass = table.columns.at(-1) as CategoryColumn;
      const inverseClass = inverse.columns.at(-1) as CategoryColumn;
      expect(inverseClass.levels).toEqual(originalClass.levels);
      // Five axes keep the class: few rows come back with the other one.
      const kept = originalClass.codes.filter((code, i) => code === inverseClass.codes[i]).length;
      expect(kept / 683).toBeGreaterThan(0.9);
    }
  });
});

describe('the exact SVD’s limit', () => {
  it('decomposes a projection wider than EXACT_SVD_MAX_WIDTH with the randomized SVD even when exact is asked', () => {
    // Prepare: one category of 500 levels (500 dummy columns).
    const n = 1000;
    const table: Table = {
      rowCount: n,
      columns: [
        { name: 'x', type: 'numeric', values: Float64Array.from({ length: n }, (_, i) => (i * 7) % 13) },
        {
          name: 'c',
          type: 'category',
          codes: Int32Array.from({ length: n }, (_, i) => i % 500),
          levels: Array.from({ length: 500 }, (_, l) => `l${String(l).padStart(3, '0')}`),
        },
      ],
    };

    // Act
    const wide = fitProjection(table, { nf: 5, random: createRandom(1), exactSvd: true });
    const narrow = fitProjection(
      { rowCount: n, columns: [table.columns[0]!] },
      { nf: 1, random: createRandom(1), exactSvd: true },
    );

    // Assess
    expect(EXACT_SVD_MAX_WIDTH).toBeLessThan(501);
    expect(wide.svd).toBe('randomized');
    expect(narrow.svd).toBe('exact');
  });
});
