import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alignSynthetic } from '../../../../../../lambdas/domain/avatars/engine/metrics/align.ts';
import {
  categoricalHiddenRate,
  columnDirectMatchProtection,
  correlationProtectionRate,
  rowDirectMatchProtection,
} from '../../../../../../lambdas/domain/avatars/engine/metrics/rows.ts';
import { category, numbers, table } from './tables.ts';

describe('rowDirectMatchProtection', () => {
  it('is the share of original rows that no synthetic row copies, wherever the copy is', () => {
    // Prepare: only original (3, x) is copied, by synthetic row 0.
    const original = table(numbers('a', [1, 2, 3], 'int'), category('c', ['x', 'y', 'x']));
    const synthetic = alignSynthetic(
      original,
      table(numbers('a', [3, 5, 1], 'int'), category('c', ['x', 'y', 'y'])),
    );

    // Act
    const protection = rowDirectMatchProtection(original, synthetic);

    // Assess
    expect(protection).toBeCloseTo(200 / 3, 10);
  });

  it('is 0 for a copy, in any order, and 100 when every value is moved', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 50 }), (values) => {
        const original = table(numbers('a', values, 'int'));

        expect(rowDirectMatchProtection(original, table(numbers('a', [...values].reverse(), 'int')))).toBe(0);
        expect(
          rowDirectMatchProtection(
            original,
            table(
              numbers(
                'a',
                values.map((v) => v + 0.5),
              ),
            ),
          ),
        ).toBe(100);
      }),
    );
  });

  it('compares categories by their level, not by their code', () => {
    // Prepare: the synthetic table was read alone, so its codes differ from the original's.
    const original = table(category('c', ['b', 'c']));
    const synthetic = alignSynthetic(original, table(category('c', ['c', 'c'])));

    // Act / Assess: original "c" is copied, "b" is not.
    expect(rowDirectMatchProtection(original, synthetic)).toBe(50);
  });
});

describe('columnDirectMatchProtection', () => {
  it('counts the columns in which no value identifying one original row reappears', () => {
    // Prepare: 1.5 and 7 are unique in the original's `a`; the synthetic `a` has 7. `c` has no unique value.
    const original = table(numbers('a', [1.5, 2.25, 2.25, 7]), category('c', ['x', 'x', 'y', 'y']));
    const copying = alignSynthetic(
      original,
      table(numbers('a', [2.25, 7, 3, 4]), category('c', ['y', 'x', 'x', 'y'])),
    );
    const safe = alignSynthetic(
      original,
      table(numbers('a', [2.25, 2.25, 3, 4]), category('c', ['y', 'x', 'x', 'y'])),
    );

    // Act / Assess
    expect(columnDirectMatchProtection(original, copying)).toBe(50);
    expect(columnDirectMatchProtection(original, safe)).toBe(100);
  });
});

describe('categoricalHiddenRate', () => {
  it('counts a record hit when its own synthetic row alone shows its categorical values', () => {
    // Prepare: synthetic "x" (row 0) and "z" (row 3) are unique and equal to their originals; "y" appears twice.
    const original = table(category('c', ['x', 'x', 'y', 'z']));
    const synthetic = alignSynthetic(original, table(category('c', ['x', 'y', 'y', 'z'])));

    // Act
    const rate = categoricalHiddenRate(original, synthetic, ['c']);

    // Assess
    expect(rate).toBe(50);
  });

  it('names a variable the table lacks', () => {
    const original = table(category('c', ['x', 'y']));

    expect(() => categoricalHiddenRate(original, original, ['d'])).toThrow(/no column "d"/);
  });
});

describe('correlationProtectionRate', () => {
  // Original (a, c): (10, x) and (30, y) are unique; (20, x) appears twice. mean(a) = 20: tolerance ±1.
  const original = table(numbers('a', [10, 20, 20, 30], 'int'), category('c', ['x', 'x', 'x', 'y']));
  // (10, x) is matched once (10.5); (30, y) twice (30 and 29.5).
  const synthetic = alignSynthetic(
    original,
    table(numbers('a', [10.5, 30, 29.5, 20]), category('c', ['x', 'y', 'y', 'x'])),
  );

  it.each([
    // n2 = 1 individual matched once; exposed = round(n2 · (1 − HR/100)), Python's round (0.5 → 0).
    [0, 75],
    [25, 75],
    [50, 100],
    [100, 100],
  ])('with a hidden rate of %d, is %d', (hidden, expected) => {
    expect(correlationProtectionRate(original, synthetic, ['a', 'c'], hidden)).toBe(expected);
  });

  it('matches numbers strictly inside the tolerance', () => {
    // Prepare: 11 is exactly at the bound (10 + 1), so (10, x) has no match at all.
    const edge = alignSynthetic(
      original,
      table(numbers('a', [11, 30, 29.5, 20]), category('c', ['x', 'y', 'y', 'x'])),
    );

    // Act / Assess: nobody is matched exactly once.
    expect(correlationProtectionRate(original, edge, ['a', 'c'], 0)).toBe(100);
  });
});
