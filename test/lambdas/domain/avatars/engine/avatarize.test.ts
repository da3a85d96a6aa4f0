/**
 * The avatar generation: what a seed fixes, what the shuffle keeps, and the paper's published WBCD
 * avatars reproduced in what can be checked (the share of rows equal to their original, hidden rate
 * and local cloaking with the paper's metric setup, the Hellinger mean).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { avatarize, mixRows } from '../../../../../lambdas/domain/avatars/engine/avatarize.ts';
import { parseTable } from '../../../../../lambdas/domain/avatars/engine/csv.ts';
import { computePrivacy } from '../../../../../lambdas/domain/avatars/engine/metrics/privacy.ts';
import { computeSignal } from '../../../../../lambdas/domain/avatars/engine/metrics/signal.ts';
import { createRandom } from '../../../../../lambdas/domain/avatars/engine/rng.ts';
import type { Column, Table } from '../../../../../lambdas/domain/avatars/engine/table.ts';
import { dataFile, WBCD_COLUMNS } from './support.ts';

const WBCD = dataFile('breast_cancer_wisconsin.csv');

/** WBCD as the paper avatarized it: every column a category. */
const wbcdCategorical = () =>
  parseTable(WBCD, {
    dropColumns: ['Sample_code_number'],
    types: Object.fromEntries(WBCD_COLUMNS.map((name) => [name, 'category'])),
  });

/** A categorical WBCD table as the paper's metrics read it: nine integers and `Class` a category. */
function asMetricsReadIt(table: Table): Table {
  return {
    rowCount: table.rowCount,
    columns: table.columns.map((column): Column => {
      if (column.type !== 'category' || column.name === 'Class') return column;
      return {
        name: column.name,
        type: 'int',
        values: Float64Array.from(column.codes, (code) => Number(column.levels[code])),
      };
    }),
  };
}

const rowsOf = (table: Table) =>
  Array.from({ length: table.rowCount }, (_, i) =>
    table.columns
      .map((column) => (column.type === 'category' ? column.levels[column.codes[i]!] : column.values[i]))
      .join('|'),
  );

describe('avatarize', () => {
  it('reproduces the paper’s published WBCD avatars in what can be checked (k 20, ncp 2, all categories)', async () => {
    // Prepare
    const original = wbcdCategorical();

    // Act
    const avatars = await avatarize(original, { k: 20, ncp: 2, seed: 0, threads: 1 });

    // Assess: the published set has 41 % of rows equal to their original (duplicates at distance 0),
    // hidden rate 92.68 % and local cloaking 24 (nf 2), Hellinger mean 0.03.
    const originals = rowsOf(original);
    const same =
      rowsOf(avatars.unshuffled).filter((row, i) => row === originals[i]).length / original.rowCount;
    expect(same).toBeGreaterThan(0.38);
    expect(same).toBeLessThan(0.44);
    const { metrics } = await computePrivacy(asMetricsReadIt(original), asMetricsReadIt(avatars.unshuffled), {
      random: createRandom(5),
      ncp: 2,
    });
    expect(metrics.hidden_rate).toBeGreaterThan(88);
    expect(metrics.hidden_rate).toBeLessThan(97);
    expect(metrics.local_cloaking).toBeGreaterThanOrEqual(18);
    expect(metrics.local_cloaking).toBeLessThanOrEqual(30);
    expect(computeSignal(original, avatars.unshuffled).metrics.hellinger_mean).toBeLessThan(0.06);
  });

  it('gives identical avatars for the same seed, whatever the neighbour search’s threads, and others for another', async () => {
    // Prepare: enough rows (22,000) for the search to start its worker threads.
    const random = createRandom(9);
    const n = 22_000;
    const column = (name: string) => ({
      name,
      type: 'numeric' as const,
      values: Float64Array.from({ length: n }, () => random.normal()),
    });
    const original: Table = { rowCount: n, columns: [column('a'), column('b'), column('c')] };

    // Act
    const one = await avatarize(original, { k: 5, ncp: 2, seed: 42, threads: 1 });
    const two = await avatarize(original, { k: 5, ncp: 2, seed: 42, threads: 2 });
    const other = await avatarize(original, { k: 5, ncp: 2, seed: 43, threads: 1 });

    // Assess
    expect(rowsOf(two.shuffled)).toEqual(rowsOf(one.shuffled));
    expect(rowsOf(other.shuffled)).not.toEqual(rowsOf(one.shuffled));
  });

  it('shuffles the avatars without changing them, and keeps the original’s columns and types', async () => {
    // Prepare
    const original = parseTable(WBCD, { dropColumns: ['Sample_code_number'], types: { Class: 'category' } });

    // Act
    const avatars = await avatarize(original, { k: 20, ncp: 2, seed: 1, threads: 1 });

    // Assess
    expect(rowsOf(avatars.shuffled).sort()).toEqual(rowsOf(avatars.unshuffled).sort());
    expect(avatars.unshuffled.columns.map((column) => [column.name, column.type])).toEqual(
      original.columns.map((column) => [column.name, column.type]),
    );
    expect(avatars.avatarProjections.count).toBe(original.rowCount);
  });

  it('leaves out the excluded columns and gives each row its own value back (row_order)', async () => {
    // Prepare
    const original = parseTable(WBCD, { dropColumns: ['Sample_code_number'], types: { Class: 'category' } });

    // Act
    const avatars = await avatarize(original, {
      k: 20,
      ncp: 2,
      seed: 3,
      threads: 1,
      exclude: { names: ['Mitoses'], strategy: 'row_order' },
    });

    // Assess
    const mitoses = (table: Table) =>
      table.columns.find((column) => column.name === 'Mitoses') as Column & { values: Float64Array };
    expect([...mitoses(avatars.unshuffled).values]).toEqual([...mitoses(original).values]);
  });

  it('refuses a k the table cannot give', async () => {
    const original = parseTable(new TextEncoder().encode('a,b\n1,2\n2,1\n3,5\n'));
    await expect(avatarize(original, { k: 3, ncp: 1, seed: 0 })).rejects.toThrow(
      /k = 3 needs more than 3 rows/,
    );
  });

  it('mixes numbers within the range of the values mixed and integers to whole values (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 30 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 1000 }),
        (n, k0, seed) => {
          // Prepare
          const k = Math.min(k0, n - 1);
          const random = createRandom(seed);
          const values = Float64Array.from({ length: n }, () => Math.floor(random.next() * 100) - 50);
          const table: Table = { rowCount: n, columns: [{ name: 'x', type: 'int', values }] };
          const indices = Int32Array.from({ length: n * k }, () => random.int(n));
          const weights = Float64Array.from({ length: n * k }, () => 1 / k);

          // Act
          const mixed = mixRows(table, indices, weights, k).columns[0] as Column & { values: Float64Array };

          // Assess
          for (let i = 0; i < n; i++) {
            const mixedFrom = Array.from({ length: k }, (_, r) => values[indices[i * k + r]!]!);
            expect(Number.isInteger(mixed.values[i])).toBe(true);
            expect(mixed.values[i]).toBeGreaterThanOrEqual(Math.min(...mixedFrom));
            expect(mixed.values[i]).toBeLessThanOrEqual(Math.max(...mixedFrom));
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
