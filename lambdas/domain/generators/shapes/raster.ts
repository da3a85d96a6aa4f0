/**
 * Polygon rasterisation without anti-aliasing: a pixel belongs to a polygon when its centre lies
 * inside (even-odd rule). Hard edges are what make the annotations exact: every pixel belongs to
 * exactly one object or to the background.
 */
import type { Point } from './geometry.ts';

/**
 * The pixels a polygon covers, as horizontal runs: for run k, row `spans[3k]` and columns
 * `spans[3k + 1]` up to (excluding) `spans[3k + 2]`.
 */
export interface Coverage {
  spans: Int32Array;
  pixelCount: number;
}

export function rasterisePolygon(points: readonly Point[], width: number, height: number): Coverage {
  if (points.length < 3) return { spans: new Int32Array(0), pixelCount: 0 };
  let top = Number.POSITIVE_INFINITY;
  let bottom = Number.NEGATIVE_INFINITY;
  for (const { y } of points) {
    top = Math.min(top, y);
    bottom = Math.max(bottom, y);
  }
  const firstRow = Math.max(0, Math.ceil(top - 0.5));
  const lastRow = Math.min(height - 1, Math.floor(bottom - 0.5));

  const spans: number[] = [];
  let pixelCount = 0;
  const crossings: number[] = [];
  for (let row = firstRow; row <= lastRow; row++) {
    const centreY = row + 0.5;
    crossings.length = 0;
    for (let i = 0; i < points.length; i++) {
      const from = points[i] as Point;
      const to = points[(i + 1) % points.length] as Point;
      // Half-open in y, so a vertex exactly on the scanline is counted once, not twice.
      if (from.y <= centreY === to.y <= centreY) continue;
      // Always from the upper end: polygons that share an edge then compute bit-identical
      // crossings, and each pixel on the seam goes to exactly one of them.
      const [a, b] = from.y < to.y ? [from, to] : [to, from];
      crossings.push(a.x + ((centreY - a.y) * (b.x - a.x)) / (b.y - a.y));
    }
    crossings.sort((p, q) => p - q);
    for (let k = 0; k + 1 < crossings.length; k += 2) {
      // Columns whose centre x + 0.5 lies in [enter, leave).
      const start = Math.max(0, Math.ceil((crossings[k] as number) - 0.5));
      const end = Math.min(width, Math.ceil((crossings[k + 1] as number) - 0.5));
      if (end > start) {
        spans.push(row, start, end);
        pixelCount += end - start;
      }
    }
  }
  return { spans: Int32Array.from(spans), pixelCount };
}
