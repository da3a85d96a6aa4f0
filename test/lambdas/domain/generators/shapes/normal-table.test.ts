import { describe, expect, it } from 'vitest';
import {
  inverseNormalCdf,
  normalQuantiles,
} from '../../../../../lambdas/domain/generators/shapes/normal-table.ts';

describe('inverseNormalCdf', () => {
  it.each([
    [0.5, 0],
    [0.975, 1.959963985],
    [0.025, -1.959963985],
    [0.8413447461, 1],
    [0.001, -3.090232306],
    [1e-9, -5.997807015],
  ])('maps probability %f to the standard normal quantile %f', (p, quantile) => {
    // Act
    const value = inverseNormalCdf(p);

    // Assess
    expect(value).toBeCloseTo(quantile, 6);
  });

  it.each([0, 1, -0.1, Number.NaN])('rejects probability %f', (p) => {
    // Act
    const act = () => inverseNormalCdf(p);

    // Assess
    expect(act).toThrow(RangeError);
  });
});

describe('normalQuantiles', () => {
  it('holds increasing, symmetric quantiles with mean 0 and variance 1', () => {
    // Act
    const table = normalQuantiles();

    // Assess
    expect(table).toHaveLength(65_536);
    let mean = 0;
    let square = 0;
    let outOfOrder = 0;
    for (let i = 0; i < table.length; i++) {
      const value = table[i] ?? 0;
      mean += value / table.length;
      square += (value * value) / table.length;
      if (i > 0 && value <= (table[i - 1] ?? 0)) outOfOrder += 1;
    }
    expect(outOfOrder).toBe(0);
    expect(table[0]).toBeCloseTo(-(table.at(-1) ?? 0), 5);
    expect(mean).toBeCloseTo(0, 6);
    expect(square).toBeCloseTo(1, 3);
  });
});
