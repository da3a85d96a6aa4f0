import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alignSynthetic } from '../../../../../../lambdas/domain/avatars/engine/metrics/align.ts';
import {
  associations,
  computeSignal,
  computeSignalMetrics,
  hellinger,
  variableDistributions,
} from '../../../../../../lambdas/domain/avatars/engine/metrics/signal.ts';
import type { Table } from '../../../../../../lambdas/domain/avatars/engine/table.ts';
import { category, numbers, table } from './tables.ts';
import { readWbcd } from './wbcd.ts';

/** Random small mixed tables: a continuous column, an int column with few values, a category. */
const mixedTables = fc
  .array(
    fc.tuple(
      fc.double({ min: -1e6, max: 1e6, noNaN: true }),
      fc.integer({ min: 0, max: 4 }),
      fc.constantFrom('a', 'b', 'c', '<d>'),
    ),
    { minLength: 1, maxLength: 80 },
  )
  .map((rows) =>
    table(
      numbers(
        'x',
        rows.map(([x]) => x),
      ),
      numbers(
        'n',
        rows.map(([, n]) => n),
        'int',
      ),
      category(
        'c',
        rows.map(([, , c]) => c),
      ),
    ),
  );

/** The rows of a table in the order given. */
function reorder(source: Table, order: readonly number[]): Table {
  return {
    rowCount: order.length,
    columns: source.columns.map((column) =>
      column.type === 'category'
        ? { ...column, codes: Int32Array.from(order, (row) => column.codes[row]!) }
        : { ...column, values: Float64Array.from(order, (row) => column.values[row]!) },
    ),
  };
}

describe('hellinger', () => {
  it('is 0 for equal distributions, 1 for disjoint ones, and √(1 − Σ√(pq)) between', () => {
    expect(hellinger([0.5, 0.5], [0.5, 0.5])).toBe(0);
    expect(hellinger([1, 0], [0, 1])).toBeCloseTo(1, 12);
    expect(hellinger([0.25, 0.75], [0.5, 0.5])).toBeCloseTo(
      Math.sqrt(1 - Math.sqrt(0.25 * 0.5) - Math.sqrt(0.75 * 0.5)),
      12,
    );
  });
});

describe('variableDistributions', () => {
  it('bins categories per level, few-valued numbers per value and the rest over Sturges bins', () => {
    // Prepare: 25 distinct values, so ⌈log₂ 25⌉ + 1 = 6 bins over [0, 40]; one synthetic value above the range.
    const continuous = Array.from({ length: 25 }, (_, i) => i * (40 / 24));
    const original = table(
      numbers('x', continuous),
      numbers('n', [...Array(20).fill(1), 2, 2, 2, 2, 3], 'int'),
      category('c', [...Array(24).fill('u'), 'v']),
    );
    const synthetic = alignSynthetic(
      original,
      table(
        numbers('x', [...continuous.slice(0, 24), 50]),
        numbers('n', Array(25).fill(2), 'int'),
        category('c', Array(25).fill('w')),
      ),
    );

    // Act
    const [x, n, c] = variableDistributions(original, synthetic);

    // Assess
    expect(x!.kind).toBe('continuous');
    expect(x!.labels).toHaveLength(Math.ceil(Math.log2(25)) + 1 + 1);
    expect(x!.labels.at(-1)).toBe('above');
    expect(x!.synthetic.at(-1)).toBeCloseTo(1 / 25, 12);
    expect(n!.kind).toBe('discrete');
    expect(n!.labels).toEqual(['1', '2', '3']);
    expect(Array.from(n!.original)).toEqual([0.8, 0.16, 0.04]);
    expect(Array.from(n!.synthetic)).toEqual([0, 1, 0]);
    expect(c!.labels).toEqual(['u', 'v', 'w']);
    expect(Array.from(c!.synthetic)).toEqual([0, 0, 1]);
  });

  it('gives missing values their own bin', () => {
    const original = table(category('c', ['a', null, 'a', 'a']));
    const [c] = variableDistributions(original, original);

    expect(c!.labels).toEqual(['a', '(missing)']);
    expect(Array.from(c!.original)).toEqual([0.75, 0.25]);
  });
});

describe('associations', () => {
  it('uses Pearson between numbers, η between a category and a number, Cramér’s V between categories', () => {
    // Prepare: y = 2x exactly; the category determines z exactly; k is a relabelling of the category.
    const x = [1, 2, 3, 4, 5, 6];
    const original = table(
      numbers('x', x),
      numbers(
        'y',
        x.map((v) => -2 * v),
      ),
      category('g', ['a', 'b', 'c', 'a', 'b', 'c']),
      numbers('z', [10, 20, 30, 10, 20, 30]),
      category('k', ['p', 'q', 'r', 'p', 'q', 'r']),
    );

    // Act
    const { names, original: matrix } = associations(original, original);

    // Assess
    const at = (a: string, b: string) => matrix[names.indexOf(a) * names.length + names.indexOf(b)]!;
    expect(at('x', 'y')).toBeCloseTo(-1, 12);
    expect(at('g', 'z')).toBeCloseTo(1, 12);
    expect(at('g', 'k')).toBeCloseTo(1, 12);
    expect(at('x', 'x')).toBe(1);
  });
});

describe('computeSignalMetrics', () => {
  it('scores a table against itself 0 everywhere', () => {
    fc.assert(
      fc.property(mixedTables, (original) => {
        // Act
        const metrics = computeSignalMetrics(original, original);

        // Assess
        expect(metrics.hellinger_mean).toBe(0);
        expect(metrics.hellinger_std).toBe(0);
        for (const variable of metrics.details.variables) expect(variable.hellinger).toBe(0);
        expect(metrics.correlation_difference_ratio ?? 0).toBe(0);
      }),
    );
  });

  it('does not change when the synthetic rows are shuffled: it compares distributions only', () => {
    fc.assert(
      fc.property(mixedTables, mixedTables, fc.integer(), (original, synthetic, seed) => {
        // Prepare
        const order = Array.from({ length: synthetic.rowCount }, (_, i) => i).sort(
          (a, b) => Math.sin(a * 97 + seed) - Math.sin(b * 97 + seed),
        );

        // Act
        const plain = computeSignalMetrics(original, synthetic);
        const shuffled = computeSignalMetrics(original, reorder(synthetic, order));

        // Assess
        expect(shuffled.hellinger_mean).toBeCloseTo(plain.hellinger_mean, 12);
        expect(shuffled.correlation_difference_ratio ?? 0).toBeCloseTo(
          plain.correlation_difference_ratio ?? 0,
          6,
        );
      }),
      { numRuns: 50 },
    );
  });

  it('defines the correlation difference ratio as 100 · Σ|Δ| / Σ|original| over pairs', () => {
    // Prepare: r(x, y) = 1 in the original and −1 in the synthetic table.
    const original = table(numbers('x', [1, 2, 3]), numbers('y', [1, 2, 3]));
    const synthetic = table(numbers('x', [1, 2, 3]), numbers('y', [3, 2, 1]));

    // Act
    const metrics = computeSignalMetrics(original, synthetic);

    // Assess
    expect(metrics.correlation_difference_ratio).toBeCloseTo(200, 10);
    expect(metrics.met.correlation_difference_ratio).toBe(false);
  });

  it('ranks the paper’s WBCD comparators as expected: avatars and synthpop within target, CTGAN off', () => {
    // Prepare
    const original = readWbcd('breast_cancer_wisconsin.csv');

    // Act
    const [avatars, synthpop, ctgan] = [
      'breast_cancer_wisconsin_avatarized_k20.csv',
      'wbcd_synthpop_base.csv',
      'wbcd_CTGAN_base_2.csv',
    ].map((file) => computeSignal(original, readWbcd(file), { tableName: 'wbcd' }).metrics);

    // Assess
    expect(avatars!.hellinger_mean).toBeGreaterThan(0);
    expect(avatars!.met).toEqual({ hellinger_mean: true, correlation_difference_ratio: true });
    expect(synthpop!.met.hellinger_mean).toBe(true);
    expect(ctgan!.hellinger_mean).toBeGreaterThan(synthpop!.hellinger_mean);
    expect(ctgan!.met.hellinger_mean).toBe(false);
    expect(avatars!.details.variables.map((v) => v.name)).toContain('Class');
    expect(avatars!.metadata).toEqual({
      table_name: 'wbcd',
      computation_type: 'standalone',
      reference: null,
    });
  });
});
