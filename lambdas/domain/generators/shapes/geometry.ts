/**
 * Shape outlines as polygons. Every class, the circle included, is a polygon: the same vertices
 * are rasterised and written as the COCO segmentation, so mask and outline cannot disagree.
 */
import type { Rng } from '../rng.ts';
import type { ShapeClass } from './parameters.ts';

export interface Point {
  x: number;
  y: number;
}

/** Where an object sits: its circumscribed circle and its rotation. */
export interface Placement {
  centre: Point;
  radius: number;
  rotation: number;
}

/** Shape-specific proportions, drawn once per object so that placement retries keep the shape. */
export type ShapeForm =
  | { shape: 'circle' }
  | { shape: 'rectangle'; halfDiagonalAngle: number }
  | { shape: 'triangle'; vertexAngles: readonly [number, number, number] }
  | { shape: 'polygon'; sides: number }
  | { shape: 'star'; points: number; innerRatio: number };

/** A circle's polygon strays at most this many pixels inside the true circle. */
const CIRCLE_TOLERANCE_PX = 0.25;
const MIN_CIRCLE_VERTICES = 16;
const MAX_CIRCLE_VERTICES = 256;
/** Pointing up: image y grows downwards. */
const UP = -Math.PI / 2;

export function drawShapeForm(shape: ShapeClass, rng: Rng): ShapeForm {
  switch (shape) {
    case 'circle':
      return { shape };
    case 'rectangle':
      // Aspect ratio (short side / long side) between 0.4 and 1.
      return { shape, halfDiagonalAngle: Math.atan(rng.between(0.4, 1)) };
    case 'triangle': {
      // Jittered equilateral: vertices at least 60 degrees apart, so no triangle is a sliver.
      const jitter = Math.PI / 6;
      return {
        shape,
        vertexAngles: [
          0,
          (2 * Math.PI) / 3 + rng.between(-jitter, jitter),
          (4 * Math.PI) / 3 + rng.between(-jitter, jitter),
        ],
      };
    }
    case 'polygon':
      return { shape, sides: rng.int(5, 8) };
    case 'star':
      return { shape, points: 5, innerRatio: rng.between(0.38, 0.55) };
  }
}

/** The outline's vertices in order around the shape, in pixel coordinates. */
export function outline(form: ShapeForm, placement: Placement): Point[] {
  const { radius } = placement;
  switch (form.shape) {
    case 'circle':
      return regular(placement, circleVertexCount(radius), 0);
    case 'rectangle': {
      const a = form.halfDiagonalAngle;
      return onCircle(placement, [a, Math.PI - a, Math.PI + a, 2 * Math.PI - a], 0);
    }
    case 'triangle':
      return onCircle(placement, form.vertexAngles, UP);
    case 'polygon':
      return regular(placement, form.sides, UP);
    case 'star': {
      const points: Point[] = [];
      for (let i = 0; i < form.points * 2; i++) {
        const r = i % 2 === 0 ? radius : radius * form.innerRatio;
        const angle = UP + placement.rotation + (Math.PI * i) / form.points;
        points.push(pointAt(placement.centre, r, angle));
      }
      return points;
    }
  }
}

/** Enough vertices that the polygon stays within CIRCLE_TOLERANCE_PX of the true circle. */
export function circleVertexCount(radius: number): number {
  if (radius <= CIRCLE_TOLERANCE_PX) return MIN_CIRCLE_VERTICES;
  const needed = Math.ceil(Math.PI / Math.acos(1 - CIRCLE_TOLERANCE_PX / radius));
  return Math.min(MAX_CIRCLE_VERTICES, Math.max(MIN_CIRCLE_VERTICES, needed));
}

function regular(placement: Placement, sides: number, start: number): Point[] {
  const angles = Array.from({ length: sides }, (_, i) => (2 * Math.PI * i) / sides);
  return onCircle(placement, angles, start);
}

function onCircle(placement: Placement, angles: readonly number[], start: number): Point[] {
  return angles.map((angle) =>
    pointAt(placement.centre, placement.radius, start + placement.rotation + angle),
  );
}

function pointAt(centre: Point, radius: number, angle: number): Point {
  return { x: centre.x + radius * Math.cos(angle), y: centre.y + radius * Math.sin(angle) };
}
