/**
 * B13's inputs and outputs, without its timings: the generated table is the mixed table the
 * benchmark claims, the straightforward reference does the avatar method's work on it, and the
 * metric comparison prints as a Markdown table.
 */
import { describe, expect, it } from 'vitest';
import {
  type MetricComparisonRow,
  metricComparisonMarkdown,
  mixedTableCsv,
  projectedPoints,
} from '../../bench/b13-avatars.ts';
import { straightforwardAvatars } from '../../bench/lib/avatars-reference.ts';
import { parseTable } from '../../lambdas/domain/avatars/engine/csv.ts';
import { missingCount } from '../../lambdas/domain/avatars/engine/impute.ts';
import { isCategorical, isContinuous } from '../../lambdas/domain/avatars/engine/table.ts';

const csv = (rows: number, seed = 1, missingRate = 0.01) =>
  [...mixedTableCsv(rows, { seed, missingRate, chunkRows: 700 })].join('');

describe('the generated mixed table', () => {
  it('has 10 continuous columns, 5 of them integers, and 10 categories of 2 to 8 levels', () => {
    // Act
    const table = parseTable(new TextEncoder().encode(csv(3000)));

    // Assess
    expect(table.rowCount).toBe(3000);
    const continuous = table.columns.filter(isContinuous);
    const categories = table.columns.filter(isCategorical);
    expect(continuous).toHaveLength(10);
    expect(continuous.filter((column) => column.type === 'int')).toHaveLength(5);
    expect(categories).toHaveLength(10);
    for (const column of categories) {
      expect(column.levels.length, column.name).toBeGreaterThanOrEqual(2);
      expect(column.levels.length, column.name).toBeLessThanOrEqual(8);
    }
  });

  it('leaves about 1 % of its cells empty', () => {
    // Act
    const table = parseTable(new TextEncoder().encode(csv(5000)));

    // Assess: 100,000 cells, 1 % missing, within a few standard deviations (σ ≈ 31).
    expect(missingCount(table)).toBeGreaterThan(850);
    expect(missingCount(table)).toBeLessThan(1150);
  });

  it('is the same text for the same seed, whatever the chunk size, and another for another seed', () => {
    // Act
    const chunked = csv(1500);
    const whole = [...mixedTableCsv(1500, { seed: 1, missingRate: 0.01 })].join('');

    // Assess
    expect(chunked).toBe(whole);
    expect(csv(1500, 2)).not.toBe(chunked);
  });
});

describe('projectedPoints', () => {
  it('gives count × dims points with axes of decreasing spread', () => {
    // Act
    const points = projectedPoints(4000, 3);

    // Assess
    expect(points.data).toHaveLength(4000 * 5);
    const spread = Array.from({ length: 5 }, (_, d) => {
      let max = 0;
      for (let i = 0; i < points.count; i++) max = Math.max(max, points.data[i * 5 + d]!);
      return max;
    });
    for (let d = 1; d < 5; d++) expect(spread[d]!).toBeLessThan(spread[d - 1]!);
  });
});

describe('the straightforward reference pipeline', () => {
  it('writes one avatar per row, with the original columns and only the original categories', () => {
    // Prepare
    const text = csv(400);
    const original = parseTable(new TextEncoder().encode(text));

    // Act
    const run = straightforwardAvatars(text, { k: 20, ncp: 5, seed: 0 });

    // Assess
    const avatars = parseTable(new TextEncoder().encode(run.csv), { validate: false });
    expect(avatars.rowCount).toBe(400);
    expect(avatars.columns.map((column) => column.name)).toEqual(original.columns.map((c) => c.name));
    expect(missingCount(avatars)).toBe(0);
    for (const column of avatars.columns) {
      const source = original.columns.find((candidate) => candidate.name === column.name)!;
      if (isCategorical(column) && isCategorical(source)) {
        for (const level of column.levels) expect(source.levels, column.name).toContain(level);
      }
    }
    expect(run.knnSeconds).toBeGreaterThan(0);
    expect(run.totalSeconds).toBeGreaterThanOrEqual(run.knnSeconds);
  });
});

describe('metricComparisonMarkdown', () => {
  it('prints a targets line, then one line per synthetic table, with a dash for a metric not computed', () => {
    // Prepare
    const rows: MetricComparisonRow[] = [
      {
        dataset: 'WBCD',
        synthetic: 'avatars',
        values: {
          hidden_rate: 92.6793,
          local_cloaking: 24,
          distance_to_closest: 0,
          closest_distances_ratio: 0.98641,
          hellinger_mean: 0.0298,
          correlation_difference_ratio: null,
        },
      },
    ];

    // Act
    const markdown = metricComparisonMarkdown(rows);

    // Assess
    const lines = markdown.split('\n').filter((line) => line.startsWith('|'));
    expect(lines[0]).toContain('| hidden_rate | local_cloaking |');
    expect(lines[2]).toBe('| | target | > 90 | > 5 | > 0.2 | > 0.3 | < 0.1 | < 10 |');
    expect(lines[3]).toBe('| WBCD | avatars | 92.68 | 24 | 0 | 0.9864 | 0.0298 | — |');
    expect(metricComparisonMarkdown([])).toBe('');
  });
});
