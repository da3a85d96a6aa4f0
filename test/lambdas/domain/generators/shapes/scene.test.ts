import { describe, expect, it } from 'vitest';
import type { ParamValues } from '../../../../../contracts/generators.ts';
import { applyDefaults } from '../../../../../lambdas/domain/generators/params.ts';
import type { Point } from '../../../../../lambdas/domain/generators/shapes/geometry.ts';
import {
  readShapesParams,
  type ShapesParams,
} from '../../../../../lambdas/domain/generators/shapes/parameters.ts';
import { type RenderedScene, renderScene } from '../../../../../lambdas/domain/generators/shapes/scene.ts';
import { shapesGenerator } from '../../../../../lambdas/domain/generators/shapes/shapes-generator.ts';

function params(values: ParamValues): ShapesParams {
  return readShapesParams(applyDefaults(shapesGenerator, values));
}

/** Bounds and pixel counts per object id, recomputed from the object-id map. */
function regionsFromIds(scene: RenderedScene): Map<number, { bbox: number[]; area: number }> {
  const bounds = new Map<
    number,
    { left: number; top: number; right: number; bottom: number; area: number }
  >();
  for (let y = 0; y < scene.height; y++) {
    for (let x = 0; x < scene.width; x++) {
      const id = scene.objectIds[y * scene.width + x] ?? 0;
      if (id === 0) continue;
      const region = bounds.get(id) ?? { left: x, top: y, right: x, bottom: y, area: 0 };
      region.left = Math.min(region.left, x);
      region.right = Math.max(region.right, x);
      region.top = Math.min(region.top, y);
      region.bottom = Math.max(region.bottom, y);
      region.area += 1;
      bounds.set(id, region);
    }
  }
  return new Map(
    [...bounds].map(([id, r]) => [
      id,
      { bbox: [r.left, r.top, r.right - r.left + 1, r.bottom - r.top + 1], area: r.area },
    ]),
  );
}

function insidePolygon(points: readonly Point[], x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const a = points[i] as Point;
    const b = points[j] as Point;
    if (a.y > y !== b.y > y && x < ((b.x - a.x) * (y - a.y)) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}

const BACKGROUNDS = ['solid', 'gradient', 'texture'] as const;

describe('renderScene', () => {
  it.each(BACKGROUNDS)(
    'annotates every visible object with the tight box and pixel count of its pixels (%s)',
    (background) => {
      for (let seed = 0; seed < 6; seed++) {
        // Act
        const scene = renderScene(params({ background, min_objects: 4, max_objects: 12 }), 160, 120, seed);

        // Assess
        const regions = regionsFromIds(scene);
        expect(scene.annotations.map((annotation) => annotation.objectId)).toEqual(
          [...regions.keys()].sort((a, b) => a - b),
        );
        for (const annotation of scene.annotations) {
          expect({ bbox: annotation.bbox, area: annotation.area }).toEqual(regions.get(annotation.objectId));
        }
      }
    },
  );

  it('paints each object in its own colour over a solid background, exactly where the id map says', () => {
    // Act
    const scene = renderScene(params({ background: 'solid', min_objects: 6, max_objects: 6 }), 96, 64, 11);

    // Assess
    const backgroundColour = scene.background.colours[0];
    const wrong: number[] = [];
    for (let pixel = 0; pixel < scene.width * scene.height; pixel++) {
      const id = scene.objectIds[pixel] ?? 0;
      const expected = id === 0 ? backgroundColour : scene.objects[id - 1]?.colour;
      const actual = scene.rgb.subarray(pixel * 3, pixel * 3 + 3);
      if (!expected || actual.some((value, channel) => value !== expected[channel])) wrong.push(pixel);
    }
    expect(scene.objects).toHaveLength(6);
    expect(wrong).toEqual([]);
  });

  it('draws outlines that contain every pixel their object shows', () => {
    for (let seed = 0; seed < 5; seed++) {
      // Act
      const scene = renderScene(params({ min_objects: 5, max_objects: 10 }), 128, 128, seed);

      // Assess
      const outside: string[] = [];
      for (let y = 0; y < scene.height; y++) {
        for (let x = 0; x < scene.width; x++) {
          const id = scene.objectIds[y * scene.width + x] ?? 0;
          if (id !== 0 && !insidePolygon(scene.objects[id - 1]?.outline ?? [], x + 0.5, y + 0.5))
            outside.push(`${x},${y}`);
        }
      }
      expect(outside).toEqual([]);
      for (const annotation of scene.annotations) {
        const points = scene.objects[annotation.objectId - 1]?.outline ?? [];
        expect(annotation.segmentation).toHaveLength(points.length * 2);
        annotation.segmentation.forEach((coordinate, i) => {
          const point = points[Math.floor(i / 2)] as Point;
          expect(coordinate).toBeCloseTo(i % 2 === 0 ? point.x : point.y, 2);
        });
      }
    }
  });

  it('drops objects that later objects hide completely, and shrinks the area of those partly hidden', () => {
    // Prepare: many large objects, so that later ones bury earlier ones
    const crowded = params({ min_objects: 30, max_objects: 30, min_size: 0.6, max_size: 0.9 });

    // Act
    const scene = renderScene(crowded, 64, 64, 3);

    // Assess
    const annotated = new Set(scene.annotations.map((annotation) => annotation.objectId));
    const hidden = scene.objects.filter((object) => !annotated.has(object.id));
    expect(hidden.length).toBeGreaterThan(0);
    for (const object of hidden) expect(scene.objectIds.includes(object.id)).toBe(false);
    const partly = scene.annotations.filter((a) => a.area < (scene.objects[a.objectId - 1]?.coverage ?? 0));
    expect(partly.length).toBeGreaterThan(0);
    expect(scene.annotations.at(-1)?.objectId).toBe(30); // the last object is painted over nothing
  });

  it('never overlaps objects when occlusion is off: each shows every pixel of its shape', () => {
    for (let seed = 0; seed < 5; seed++) {
      // Act
      const scene = renderScene(
        params({ allow_occlusion: false, min_objects: 20, max_objects: 20, min_size: 0.2, max_size: 0.4 }),
        128,
        128,
        seed,
      );

      // Assess
      expect(scene.objects.length).toBeGreaterThan(3);
      for (const annotation of scene.annotations) {
        expect(annotation.area).toBe(scene.objects[annotation.objectId - 1]?.coverage);
      }
    }
  });

  it('draws only the chosen class', () => {
    // Act
    const scene = renderScene(params({ classes: 'star', min_objects: 10, max_objects: 10 }), 128, 128, 4);

    // Assess
    expect(scene.annotations.length).toBeGreaterThan(0);
    expect(new Set(scene.objects.map((object) => object.shape))).toEqual(new Set(['star']));
  });

  it('draws every class when asked for all', () => {
    // Act
    const scene = renderScene(
      params({ classes: 'all', min_objects: 50, max_objects: 50, max_size: 0.1 }),
      128,
      128,
      4,
    );

    // Assess
    expect(new Set(scene.objects.map((object) => object.shape))).toEqual(
      new Set(['circle', 'rectangle', 'triangle', 'polygon', 'star']),
    );
  });

  it('changes colours but not boxes when blur, noise and lighting are applied', () => {
    // Prepare
    const clean = params({ min_objects: 5, max_objects: 5 });
    const degraded = { ...clean, blur: 2.5, noise: 0.2, lighting: 0.7 };

    // Act
    const sharp = renderScene(clean, 96, 96, 21);
    const blurred = renderScene(degraded, 96, 96, 21);

    // Assess
    expect(blurred.annotations).toEqual(sharp.annotations);
    expect(blurred.objectIds).toEqual(sharp.objectIds);
    expect(Buffer.from(blurred.rgb).equals(Buffer.from(sharp.rgb))).toBe(false);
  });

  it('brightens the frame with a lighting gain above 1 and darkens it below', () => {
    // Prepare
    const base = params({ palette: 'muted' });
    const mean = (scene: RenderedScene) =>
      scene.rgb.reduce((sum, value) => sum + value, 0) / scene.rgb.length;

    // Act
    const dim = mean(renderScene({ ...base, lighting: 0.5 }, 64, 64, 8));
    const normal = mean(renderScene(base, 64, 64, 8));
    const bright = mean(renderScene({ ...base, lighting: 1.5 }, 64, 64, 8));

    // Assess
    expect(dim).toBeCloseTo(normal * 0.5, 0);
    expect(bright).toBeGreaterThan(normal * 1.3);
  });

  it('smooths hard edges with blur and scatters values with noise', () => {
    // Prepare
    const base = params({ background: 'solid', min_objects: 3, max_objects: 3 });
    const distinctValues = (scene: RenderedScene) => new Set(scene.rgb).size;

    // Act
    const sharp = distinctValues(renderScene(base, 64, 64, 2));
    const blurred = distinctValues(renderScene({ ...base, blur: 2 }, 64, 64, 2));
    const noisy = renderScene({ ...base, noise: 0.1 }, 64, 64, 2);

    // Assess
    expect(blurred).toBeGreaterThan(sharp * 3);
    const background = noisy.background.colours[0] as readonly number[];
    const deviations: number[] = [];
    noisy.objectIds.forEach((id, pixel) => {
      if (id === 0) deviations.push((noisy.rgb[pixel * 3] ?? 0) - (background[0] ?? 0));
    });
    const std = Math.sqrt(deviations.reduce((sum, d) => sum + d * d, 0) / deviations.length);
    expect(std).toBeGreaterThan(0.1 * 255 * 0.7); // clipping at 0 and 255 narrows it somewhat
    expect(std).toBeLessThan(0.1 * 255 * 1.1);
  });

  it('gives each background choice its kind and random a mix of them', () => {
    // Act
    const kinds = BACKGROUNDS.map(
      (background) => renderScene(params({ background }), 32, 32, 1).background.kind,
    );
    const random = new Set(
      Array.from(
        { length: 30 },
        (_, seed) => renderScene(params({ background: 'random' }), 32, 32, seed).background.kind,
      ),
    );

    // Assess
    expect(kinds).toEqual([...BACKGROUNDS]);
    expect(random).toEqual(new Set(BACKGROUNDS));
  });

  it('keeps every object inside the frame and of the requested size', () => {
    // Prepare
    const sized = params({
      min_size: 0.3,
      max_size: 0.5,
      min_objects: 10,
      max_objects: 10,
      allow_occlusion: false,
    });

    // Act
    const scene = renderScene(sized, 200, 100, 5);

    // Assess: sizes are diameters relative to the shorter side (100 px)
    for (const object of scene.objects) {
      const xs = object.outline.map((point) => point.x);
      const ys = object.outline.map((point) => point.y);
      expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...xs)).toBeLessThanOrEqual(200);
      expect(Math.min(...ys)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...ys)).toBeLessThanOrEqual(100);
      expect(
        Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys)),
      ).toBeLessThanOrEqual(50 + 1e-9);
    }
  });
});
