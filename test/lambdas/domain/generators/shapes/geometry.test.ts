import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../../../lambdas/domain/generators/rng.ts';
import {
  circleVertexCount,
  drawShapeForm,
  outline,
} from '../../../../../lambdas/domain/generators/shapes/geometry.ts';
import { SHAPE_CLASSES } from '../../../../../lambdas/domain/generators/shapes/parameters.ts';

describe('shape outlines', () => {
  it('stay inside the circumscribed circle, touching it, for every class', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SHAPE_CLASSES),
        fc.nat(),
        fc.double({ min: 1, max: 1000, noNaN: true }),
        fc.double({ min: -Math.PI, max: Math.PI, noNaN: true }),
        (shape, seed, radius, rotation) => {
          // Prepare
          const centre = { x: 500, y: 400 };

          // Act
          const points = outline(drawShapeForm(shape, new Rng(seed)), { centre, radius, rotation });

          // Assess
          const distances = points.map((point) => Math.hypot(point.x - centre.x, point.y - centre.y));
          expect(Math.max(...distances)).toBeCloseTo(radius, 6);
        },
      ),
    );
  });

  it.each([
    ['triangle', 3, 3],
    ['rectangle', 4, 4],
    ['polygon', 5, 8],
    ['star', 10, 10],
  ] as const)('gives a %s between %i and %i vertices', (shape, fewest, most) => {
    // Act
    const counts = Array.from(
      { length: 100 },
      (_, seed) =>
        outline(drawShapeForm(shape, new Rng(seed)), { centre: { x: 0, y: 0 }, radius: 10, rotation: 0 })
          .length,
    );

    // Assess
    expect(Math.min(...counts)).toBe(fewest);
    expect(Math.max(...counts)).toBe(most);
  });

  it('draws upright shapes when not rotated: a star and a polygon point up', () => {
    // Prepare
    const placement = { centre: { x: 0, y: 0 }, radius: 10, rotation: 0 };

    // Act
    const star = outline(drawShapeForm('star', new Rng(1)), placement);
    const polygon = outline(drawShapeForm('polygon', new Rng(1)), placement);

    // Assess: image y grows downwards, so "up" is y = -radius
    expect(star[0]?.y).toBeCloseTo(-10);
    expect(polygon[0]?.y).toBeCloseTo(-10);
  });

  it('makes circles round to within a quarter pixel at any size', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.5, max: 1024, noNaN: true }), (radius) => {
        // Act
        const vertices = circleVertexCount(radius);

        // Assess: the polygon's edge midpoints are its farthest points from the circle
        const sagitta = radius * (1 - Math.cos(Math.PI / vertices));
        expect(sagitta).toBeLessThanOrEqual(0.25 + 1e-9);
      }),
    );
  });
});
