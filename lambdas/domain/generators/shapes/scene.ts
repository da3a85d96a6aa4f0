/**
 * One frame: a background, objects painted in order, and annotations read back from the map of
 * which object each pixel shows. That map is written while painting, before blur and noise touch
 * the colours, so a box bounds exactly the pixels an object won.
 */
import { Rng } from '../rng.ts';
import { type PaintedBackground, paintBackground } from './background.ts';
import { contrastingColour, type Rgb } from './colour.ts';
import { applyEffects } from './effects.ts';
import { drawShapeForm, outline, type Placement, type Point, type ShapeForm } from './geometry.ts';
import { SHAPE_CLASSES, type ShapeClass, type ShapesParams } from './parameters.ts';
import { type Coverage, rasterisePolygon } from './raster.ts';

export interface SceneObject {
  /** 1-based paint order: the value this object writes into the object-id map. */
  id: number;
  shape: ShapeClass;
  colour: Rgb;
  outline: Point[];
  /** Pixels of the whole shape, before later objects hide any of it. */
  coverage: number;
}

/** An object that is still visible once every object is painted. */
export interface ObjectAnnotation {
  objectId: number;
  shape: ShapeClass;
  /** [x, y, width, height] in pixels: the tight bounds of the pixels the object shows in. */
  bbox: [number, number, number, number];
  /** Visible pixels. */
  area: number;
  /** The whole outline [x1, y1, x2, y2, ...] in pixel coordinates, hidden parts included. */
  segmentation: number[];
}

export interface RenderedScene {
  width: number;
  height: number;
  /** Final colours (effects applied), 3 bytes per pixel, row-major. */
  rgb: Uint8Array;
  /** Per pixel: 0 for background, else the id of the object whose colour was painted there. */
  objectIds: Uint16Array;
  background: PaintedBackground;
  /** Every object that was placed, in paint order. */
  objects: SceneObject[];
  /** The visible objects, in paint order. */
  annotations: ObjectAnnotation[];
}

/** Without occlusion, an object tries this many positions before it is dropped. */
const PLACEMENT_ATTEMPTS = 32;
const DEGREES = Math.PI / 180;

export function renderScene(
  params: ShapesParams,
  width: number,
  height: number,
  seed: number,
): RenderedScene {
  const rng = new Rng(seed);
  const rgb = new Uint8Array(width * height * 3);
  const objectIds = new Uint16Array(width * height);
  const background = paintBackground(params.background, params.palette, rgb, width, height, rng);

  const objects: SceneObject[] = [];
  const placements: Placement[] = [];
  const shorterSide = Math.min(width, height);
  const count = rng.int(params.minObjects, params.maxObjects);
  for (let i = 0; i < count; i++) {
    const shape = params.classes === 'all' ? rng.pick(SHAPE_CLASSES) : params.classes;
    const form = drawShapeForm(shape, rng);
    const radius = (rng.between(params.minSize, params.maxSize) * shorterSide) / 2;
    const rotation = rng.between(-params.maxRotationDeg, params.maxRotationDeg) * DEGREES;
    const colour = contrastingColour(params.palette, background.colours, rng);
    const attempts = params.allowOcclusion ? 1 : PLACEMENT_ATTEMPTS;
    const found = place(form, radius, rotation, attempts, { width, height, objectIds, placements }, rng);
    if (!found) continue;

    const id = objects.length + 1;
    paint(found.coverage, id, colour, rgb, objectIds, width);
    placements.push(found.placement);
    objects.push({ id, shape, colour, outline: found.outline, coverage: found.coverage.pixelCount });
  }

  const effects = { lighting: params.lighting, blur: params.blur, noise: params.noise };
  return {
    width,
    height,
    rgb: applyEffects(rgb, width, height, effects, rng),
    objectIds,
    background,
    objects,
    annotations: annotate(objects, objectIds, width, height),
  };
}

interface Canvas {
  width: number;
  height: number;
  objectIds: Uint16Array;
  placements: readonly Placement[];
}

interface Found {
  placement: Placement;
  outline: Point[];
  coverage: Coverage;
}

/**
 * A position for the shape that keeps its circumscribed circle inside the frame (so outlines and
 * boxes never leave the image) and, with one attempt, accepts it whatever it covers; with more,
 * only where no pixel is taken yet.
 */
function place(
  form: ShapeForm,
  radius: number,
  rotation: number,
  attempts: number,
  canvas: Canvas,
  rng: Rng,
): Found | undefined {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const centre = {
      x: radius + rng.float() * (canvas.width - 2 * radius),
      y: radius + rng.float() * (canvas.height - 2 * radius),
    };
    const placement = { centre, radius, rotation };
    const points = outline(form, placement);
    const coverage = rasterisePolygon(points, canvas.width, canvas.height);
    if (attempts === 1 || isFree(placement, coverage, canvas))
      return { placement, outline: points, coverage };
  }
  return undefined;
}

function isFree(placement: Placement, coverage: Coverage, canvas: Canvas): boolean {
  // Circumscribed circles that do not meet cannot share a pixel; only near neighbours need the exact test.
  const near = canvas.placements.some(
    (other) =>
      Math.hypot(other.centre.x - placement.centre.x, other.centre.y - placement.centre.y) <=
      other.radius + placement.radius + 1,
  );
  if (!near) return true;
  const { spans } = coverage;
  for (let k = 0; k < spans.length; k += 3) {
    const rowStart = (spans[k] ?? 0) * canvas.width;
    for (let x = spans[k + 1] ?? 0; x < (spans[k + 2] ?? 0); x++) {
      if (canvas.objectIds[rowStart + x] !== 0) return false;
    }
  }
  return true;
}

function paint(
  coverage: Coverage,
  id: number,
  colour: Rgb,
  rgb: Uint8Array,
  objectIds: Uint16Array,
  width: number,
): void {
  const { spans } = coverage;
  for (let k = 0; k < spans.length; k += 3) {
    const rowStart = (spans[k] ?? 0) * width;
    const start = rowStart + (spans[k + 1] ?? 0);
    const end = rowStart + (spans[k + 2] ?? 0);
    objectIds.fill(id, start, end);
    for (let pixel = start; pixel < end; pixel++) {
      rgb[pixel * 3] = colour[0];
      rgb[pixel * 3 + 1] = colour[1];
      rgb[pixel * 3 + 2] = colour[2];
    }
  }
}

/** Boxes and areas from the object-id map; objects with no visible pixel are left out. */
function annotate(
  objects: readonly SceneObject[],
  objectIds: Uint16Array,
  width: number,
  height: number,
): ObjectAnnotation[] {
  const slots = objects.length + 1;
  const left = new Int32Array(slots).fill(width);
  const top = new Int32Array(slots).fill(height);
  const right = new Int32Array(slots).fill(-1);
  const bottom = new Int32Array(slots).fill(-1);
  const area = new Int32Array(slots);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const id = objectIds[y * width + x] ?? 0;
      if (id === 0) continue;
      area[id] = (area[id] ?? 0) + 1;
      if (x < (left[id] ?? width)) left[id] = x;
      if (x > (right[id] ?? -1)) right[id] = x;
      if (y < (top[id] ?? height)) top[id] = y;
      bottom[id] = y;
    }
  }
  return objects.flatMap((object) => {
    const visible = area[object.id] ?? 0;
    if (visible === 0) return [];
    const x = left[object.id] ?? 0;
    const y = top[object.id] ?? 0;
    const annotation: ObjectAnnotation = {
      objectId: object.id,
      shape: object.shape,
      bbox: [x, y, (right[object.id] ?? 0) - x + 1, (bottom[object.id] ?? 0) - y + 1],
      area: visible,
      segmentation: object.outline.flatMap((point) => [roundCoordinate(point.x), roundCoordinate(point.y)]),
    };
    return [annotation];
  });
}

/** Hundredths of a pixel: finer than any mask, and the JSON stays small. */
function roundCoordinate(value: number): number {
  return Math.round(value * 100) / 100;
}
