import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deriveSeed, Rng } from '../../../../lambdas/domain/generators/rng.ts';

const draw = (rng: Rng, count: number) => Array.from({ length: count }, () => rng.uint32());

describe('Rng', () => {
  it('repeats its sequence for the same seed and not for another', () => {
    // Act
    const first = draw(new Rng(42), 100);
    const again = draw(new Rng(42), 100);
    const other = draw(new Rng(43), 100);

    // Assess
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
  });

  it('draws floats in [0, 1) spread over the whole interval', () => {
    // Prepare
    const rng = new Rng(7);

    // Act
    const values = Array.from({ length: 10_000 }, () => rng.float());

    // Assess
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    const deciles = new Array(10).fill(0);
    for (const value of values) deciles[Math.floor(value * 10)] += 1;
    for (const count of deciles) expect(count).toBeGreaterThan(850);
  });

  it('reaches both ends of an inclusive integer range and nothing outside it', () => {
    // Prepare
    const rng = new Rng(1);

    // Act
    const values = new Set(Array.from({ length: 2000 }, () => rng.int(3, 7)));

    // Assess
    expect([...values].sort()).toEqual([3, 4, 5, 6, 7]);
  });

  it('keeps int and between inside their bounds for any seed and range', () => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.integer({ min: -1000, max: 1000 }),
        fc.integer({ min: 0, max: 1000 }),
        (seed, low, span) => {
          // Prepare
          const rng = new Rng(seed);

          // Act
          const integer = rng.int(low, low + span);
          const real = rng.between(low, low + span);

          // Assess
          expect(Number.isInteger(integer)).toBe(true);
          expect(integer).toBeGreaterThanOrEqual(low);
          expect(integer).toBeLessThanOrEqual(low + span);
          expect(real).toBeGreaterThanOrEqual(low);
          expect(real).toBeLessThanOrEqual(low + span);
        },
      ),
    );
  });

  it('draws standard normal values', () => {
    // Prepare
    const rng = new Rng(99);

    // Act
    const values = Array.from({ length: 20_000 }, () => rng.gaussian());

    // Assess
    const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
    const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / values.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
  });

  it('refuses to pick from an empty list', () => {
    // Act
    const act = () => new Rng(0).pick([]);

    // Assess
    expect(act).toThrow(RangeError);
  });
});

describe('deriveSeed', () => {
  it('gives every frame of a job its own seed, the same on every run', () => {
    // Act
    const seeds = Array.from({ length: 1000 }, (_, frame) => deriveSeed(12345, frame));

    // Assess
    expect(new Set(seeds).size).toBe(1000);
    expect(deriveSeed(12345, 7)).toBe(seeds[7]);
  });

  it('does not hand neighbouring jobs the same frame streams', () => {
    // Act
    const jobA = Array.from({ length: 100 }, (_, frame) => deriveSeed(1, frame));
    const jobB = Array.from({ length: 100 }, (_, frame) => deriveSeed(2, frame));

    // Assess
    expect(jobA.filter((seed) => jobB.includes(seed))).toEqual([]);
  });
});
