import { describe, expect, it } from 'vitest';
import {
  computePrivacy,
  computePrivacyMetrics,
  defaultNcp,
} from '../../../../../../lambdas/domain/avatars/engine/metrics/privacy.ts';
import { PRIVACY_METRIC_NAMES } from '../../../../../../lambdas/domain/avatars/engine/metrics/targets.ts';
import { createRandom } from '../../../../../../lambdas/domain/avatars/engine/rng.ts';
import type { NumberColumn, Table } from '../../../../../../lambdas/domain/avatars/engine/table.ts';
import { category, numbers, table } from './tables.ts';
import { readWbcd } from './wbcd.ts';

const original = readWbcd('breast_cancer_wisconsin.csv');
const avatars = readWbcd('breast_cancer_wisconsin_avatarized_k20.csv');

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

/** Distinct rows of continuous values and a category, drawn from a seeded generator. */
function randomTable(rows: number, seed: number): Table {
  const random = createRandom(seed);
  return table(
    numbers(
      'x',
      Array.from({ length: rows }, () => random.normal()),
    ),
    numbers(
      'y',
      Array.from({ length: rows }, () => random.normal() * 3 + 1),
    ),
    category(
      'c',
      Array.from({ length: rows }, () => ['a', 'b', 'c'][random.int(3)]!),
    ),
  );
}

describe('computePrivacyMetrics on the avatar paper’s WBCD avatars', () => {
  it('reproduces the reference values: hidden rate 92.68 %, local cloaking 24 (nf = 2)', async () => {
    // Act
    const metrics = await computePrivacyMetrics(original, avatars, {
      ncp: 2,
      random: createRandom(0),
      tableName: 'wbcd',
    });

    // Assess
    expect(metrics.hidden_rate.toFixed(2)).toBe('92.68');
    expect(metrics.local_cloaking).toBe(24);
    expect(metrics.details.local_cloaking_records_median).toBe(22);
    expect(metrics.details.local_cloaking_empty_rate).toBeCloseTo(0.006, 3);
    expect(metrics.distance_to_closest.toFixed(4)).toBe('0.0000');
    expect(metrics.closest_distances_ratio.toFixed(4)).toBe('0.9864');
    expect(metrics.met.hidden_rate).toBe(true);
    expect(metrics.met.local_cloaking).toBe(true);
    expect(metrics.met.distance_to_closest).toBe(false);
    expect(metrics.metadata).toEqual({ table_name: 'wbcd', computation_type: 'standalone', reference: null });
  });

  it('gives the same numbers whatever the seed: the metric space comes from an exact SVD', async () => {
    const first = await computePrivacyMetrics(original, avatars, { ncp: 2, random: createRandom(1) });
    const second = await computePrivacyMetrics(original, avatars, { ncp: 2, random: createRandom(2) });

    expect(second).toEqual(first);
  });

  it('reports every client metric with its target, its status and where its definition comes from', async () => {
    // Act
    const metrics = await computePrivacyMetrics(original, avatars, {
      ncp: 2,
      random: createRandom(0),
      knownVariables: ['Clump_Thickness', 'Uniformity_of_Cell_Size'],
      target: 'Class',
    });

    // Assess
    for (const name of PRIVACY_METRIC_NAMES) {
      expect(metrics.targets[name]).toMatch(/^[<>] /);
      expect(['octopize', 'synthforge']).toContain(metrics.definitions[name]);
      expect(name in metrics.met).toBe(true);
    }
    expect(metrics.inference_categorical).toBeGreaterThan(0);
    expect(metrics.inference_continuous).toBeNull();
    expect(metrics.met.inference_continuous).toBeNull();
    expect(metrics.correlation_protection_rate).toBeGreaterThan(95);
    expect(metrics.row_direct_match_protection).toBeLessThan(60);
    expect(JSON.parse(JSON.stringify(metrics))).toEqual(metrics);
  });

  it('leaves out the metrics that need known variables when none are given, as the client shows None', async () => {
    const metrics = await computePrivacyMetrics(original, avatars, { ncp: 2, random: createRandom(0) });

    expect(metrics.correlation_protection_rate).toBeNull();
    expect(metrics.inference_categorical).toBeNull();
    expect(metrics.met.correlation_protection_rate).toBeNull();
  });

  it.each(['wbcd_synthpop_base.csv', 'wbcd_CTGAN_base_2.csv'])(
    'scores %s (not made row by row from the originals) as well hidden and far',
    async (file) => {
      // Act
      const metrics = await computePrivacyMetrics(original, readWbcd(file), {
        ncp: 2,
        random: createRandom(0),
      });

      // Assess: a generator that does not pair rows hides nearly everyone, with more cloaking than the avatars.
      expect(metrics.hidden_rate).toBeGreaterThan(99);
      expect(metrics.local_cloaking).toBeGreaterThan(24);
      expect(metrics.distance_to_closest).toBeGreaterThan(0);
      expect(metrics.closest_rate).toBeGreaterThan(90);
      expect(metrics.row_direct_match_protection).toBeGreaterThan(50);
      expect(metrics.row_direct_match_protection).toBeLessThanOrEqual(100);
    },
  );
});

describe('computePrivacyMetrics: properties', () => {
  it('scores a copy of a table of distinct rows hidden rate 0, local cloaking 0, DCR 0', async () => {
    // Prepare
    const source = randomTable(300, 7);

    // Act
    const metrics = await computePrivacyMetrics(source, source, { random: createRandom(0) });

    // Assess
    expect(metrics.hidden_rate).toBe(0);
    expect(metrics.local_cloaking).toBe(0);
    expect(metrics.distance_to_closest).toBe(0);
    expect(metrics.row_direct_match_protection).toBe(0);
  });

  it('scores a copy with duplicate rows hidden rate = the share of rows repeating an earlier one', async () => {
    // Prepare: WBCD has 449 distinct rows out of 683; the copies of a row all find its first occurrence.
    const distinct = new Set<string>();
    for (let row = 0; row < original.rowCount; row++) {
      distinct.add(
        original.columns
          .map((column) => (column.type === 'category' ? column.codes[row] : column.values[row]))
          .join(','),
      );
    }

    // Act
    const metrics = await computePrivacyMetrics(original, original, { ncp: 2, random: createRandom(0) });

    // Assess
    expect(distinct.size).toBe(449);
    expect(metrics.hidden_rate).toBeCloseTo((100 * (683 - 449)) / 683, 10);
  });

  it('depends on the pairing of rows only, which is why it takes the unshuffled synthetic table', async () => {
    // Prepare: synthetic rows near their originals; the same pairs in another order; then the pairs broken.
    const source = randomTable(400, 3);
    const noise = randomTable(400, 4);
    const x = source.columns[0] as NumberColumn;
    const shift = noise.columns[0] as NumberColumn;
    const synthetic = table(
      numbers(
        'x',
        Array.from(x.values, (value, row) => value + 0.3 * shift.values[row]!),
      ),
      source.columns[1]!,
      source.columns[2]!,
    );
    const order = Array.from({ length: 400 }, (_, i) => (i * 157) % 400);

    // Act
    const paired = await computePrivacyMetrics(source, synthetic, { random: createRandom(0) });
    const reordered = await computePrivacyMetrics(reorder(source, order), reorder(synthetic, order), {
      random: createRandom(0),
    });
    const shuffled = await computePrivacyMetrics(source, reorder(synthetic, order), {
      random: createRandom(0),
    });

    // Assess
    expect(reordered.hidden_rate).toBeCloseTo(paired.hidden_rate, 9);
    expect(reordered.local_cloaking).toBe(paired.local_cloaking);
    expect(reordered.distance_to_closest).toBeCloseTo(paired.distance_to_closest, 9);
    expect(paired.hidden_rate).toBeLessThan(90);
    expect(shuffled.hidden_rate).toBeGreaterThan(99);
  });

  it('defaults ncp to min(5, variables after one-hot encoding)', async () => {
    expect(defaultNcp(original)).toBe(5);
    expect(defaultNcp(table(numbers('x', [1, 2]), category('c', ['a', 'b'])))).toBe(3);
    expect((await computePrivacy(original, avatars, { random: createRandom(0) })).records.dims).toBe(5);
  });
});

describe('computePrivacyMetrics: refused inputs', () => {
  it('refuses a synthetic table of another length: it must be row-aligned', async () => {
    const shorter = reorder(avatars, [0, 1, 2]);

    await expect(computePrivacyMetrics(original, shorter, { random: createRandom(0) })).rejects.toThrow(
      /3 rows and the original 683: .*unshuffled/,
    );
  });

  it('refuses tables with different columns, naming them', async () => {
    const renamed = {
      ...avatars,
      columns: [{ ...avatars.columns[0]!, name: 'Thickness' }, ...avatars.columns.slice(1)],
    };

    await expect(computePrivacyMetrics(original, renamed, { random: createRandom(0) })).rejects.toThrow(
      /missing "Clump_Thickness"; not in the original: "Thickness"/,
    );
  });

  it('refuses missing values: they are imputed before', async () => {
    const holed = table(numbers('x', [1, Number.NaN, 3]), category('c', ['a', 'b', 'a']));

    await expect(computePrivacyMetrics(holed, holed, { random: createRandom(0) })).rejects.toThrow(
      /missing values \(in "x"\): impute them first/,
    );
  });

  it('reads a synthetic number column as the original’s category when its values are the levels', async () => {
    // Prepare: `Class` read without the type override is an int column of 2 and 4.
    const untyped = {
      ...avatars,
      columns: avatars.columns.map((column) =>
        column.type === 'category'
          ? {
              name: column.name,
              type: 'int' as const,
              values: Float64Array.from(column.codes, (c) => Number(column.levels[c])),
            }
          : column,
      ),
    };

    // Act
    const metrics = await computePrivacyMetrics(original, untyped, { ncp: 2, random: createRandom(0) });

    // Assess
    expect(metrics.hidden_rate.toFixed(2)).toBe('92.68');
  });
});
