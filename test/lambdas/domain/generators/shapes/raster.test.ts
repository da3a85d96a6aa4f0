import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Point } from '../../../../../lambdas/domain/generators/shapes/geometry.ts';
import { type Coverage, rasterisePolygon } from '../../../../../lambdas/domain/generators/shapes/raster.ts';

function pixels(coverage: Coverage): Set<string> {
  const covered = new Set<string>();
  const { spans } = coverage;
  for (let k = 0; k < spans.length; k += 3) {
    for (let x = spans[k + 1] ?? 0; x < (spans[k + 2] ?? 0); x++) covered.add(`${x},${spans[k]}`);
  }
  return covered;
}

const rectangle = (left: number, top: number, right: number, bottom: number): Point[] => [
  { x: left, y: top },
  { x: right, y: top },
  { x: right, y: bottom },
  { x: left, y: bottom },
];

describe('rasterisePolygon', () => {
  it('covers exactly the pixels whose centres lie inside', () => {
    // Act: centres x + 0.5 in [2, 7.4) and y + 0.5 in [3.2, 5.5)
    const coverage = rasterisePolygon(rectangle(2, 3.2, 7.4, 5.5), 20, 20);

    // Assess
    const expected = [3, 4].flatMap((y) => [2, 3, 4, 5, 6].map((x) => `${x},${y}`));
    expect(pixels(coverage)).toEqual(new Set(expected));
    expect(coverage.pixelCount).toBe(10);
  });

  it('clips to the image', () => {
    // Act
    const coverage = rasterisePolygon(rectangle(-5, -5, 3, 30), 10, 8);

    // Assess
    expect(coverage.pixelCount).toBe(3 * 8);
    for (const pixel of pixels(coverage)) {
      const [x, y] = pixel.split(',').map(Number) as [number, number];
      expect(x >= 0 && x < 10 && y >= 0 && y < 8).toBe(true);
    }
  });

  it('fills a concave star without filling its notches', () => {
    // Prepare: a 4-pointed star around (10, 10); (10, 6.5) lies in the upper point, (5.5, 5.5) in a notch
    const star = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => {
      const radius = i % 2 === 0 ? 8 : 2;
      const angle = -Math.PI / 2 + (Math.PI * i) / 4;
      return { x: 10 + radius * Math.cos(angle), y: 10 + radius * Math.sin(angle) };
    });

    // Act
    const covered = pixels(rasterisePolygon(star, 20, 20));

    // Assess
    expect(covered.has('9,6') && covered.has('10,6')).toBe(true);
    expect(covered.has('5,5')).toBe(false);
    expect(covered.has('9,9')).toBe(true);
  });

  it('approaches the geometric area for a large polygon', () => {
    // Prepare
    const radius = 40;
    const circle = Array.from({ length: 200 }, (_, i) => ({
      x: 50 + radius * Math.cos((2 * Math.PI * i) / 200),
      y: 50 + radius * Math.sin((2 * Math.PI * i) / 200),
    }));

    // Act
    const { pixelCount } = rasterisePolygon(circle, 100, 100);

    // Assess
    expect(Math.abs(pixelCount - Math.PI * radius * radius) / (Math.PI * radius * radius)).toBeLessThan(0.01);
  });

  it('gives each pixel to exactly one of two polygons that share an edge', () => {
    const point = fc.record({
      x: fc.double({ min: 0, max: 30, noNaN: true }),
      y: fc.double({ min: 0, max: 30, noNaN: true }),
    });
    fc.assert(
      fc.property(point, point, (a, b) => {
        // Prepare: a rectangle cut in two along the line from a to b (both halves are convex)
        const box = rectangle(0, 0, 30, 30);
        const side = (p: Point) => (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x);
        fc.pre(Math.hypot(b.x - a.x, b.y - a.y) > 1);
        const halves = clipHalves(box, side);

        // Act
        const [left, right] = halves.map((half) => pixels(rasterisePolygon(half, 30, 30)));

        // Assess
        const whole = pixels(rasterisePolygon(box, 30, 30));
        const shared = [...(left ?? [])].filter((pixel) => right?.has(pixel));
        expect(shared).toEqual([]);
        expect((left?.size ?? 0) + (right?.size ?? 0)).toBe(whole.size);
      }),
      { numRuns: 200 },
    );
  });
});

/** Splits a convex polygon by the sign of `side` (Sutherland-Hodgman against one line). */
function clipHalves(polygon: Point[], side: (p: Point) => number): [Point[], Point[]] {
  const clip = (sign: number) => {
    const out: Point[] = [];
    polygon.forEach((current, i) => {
      const next = polygon[(i + 1) % polygon.length] as Point;
      const sc = sign * side(current);
      const sn = sign * side(next);
      if (sc >= 0) out.push(current);
      if (sc >= 0 !== sn >= 0) {
        const t = sc / (sc - sn);
        out.push({ x: current.x + t * (next.x - current.x), y: current.y + t * (next.y - current.y) });
      }
    });
    return out;
  };
  return [clip(1), clip(-1)];
}
