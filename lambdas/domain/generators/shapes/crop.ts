/**
 * One crop of an identity: the identity's object, whole and roughly centred, under a pose
 * (rotation, scale, offset, foreshortening), over a background, partly hidden by another shape,
 * then relit (brightness, contrast, colour cast), blurred and noised. The object, occluder and
 * background are drawn with the scene renderer's own pieces; only the per-pixel pattern, the
 * affine pose and the relighting are specific to crops.
 */
import { Rng } from '../rng.ts';
import { type PaintedBackground, paintBackground } from './background.ts';
import { contrastingColour, MIN_CONTRAST, nearestDistance, type Rgb } from './colour.ts';
import { applyEffects } from './effects.ts';
import { drawShapeForm, outline, type Point } from './geometry.ts';
import type { Identity } from './identity.ts';
import { surfaceColour } from './identity.ts';
import { type BackgroundKind, SHAPE_CLASSES, type ShapeClass, type ShapesParams } from './parameters.ts';
import { type Coverage, rasterisePolygon } from './raster.ts';

/** How one crop shows its identity: everything that varies from crop to crop. */
export interface CropAttributes {
  /** Degrees; positive turns clockwise on screen (image y points down). */
  rotationDeg: number;
  /** The object's circumscribed diameter as a fraction of the crop side. */
  scale: number;
  /** The object's centre as fractions of the crop side (0.5, 0.5 is the middle). */
  centre: [number, number];
  /** Squash along `foreshorteningAxisDeg`, in (0, 1]: a tilt away from the camera. */
  foreshortening: number;
  foreshorteningAxisDeg: number;
  background: BackgroundKind;
  /** Gain on the whole crop; includes the job's `lighting`. */
  brightness: number;
  /** Gain on the distance from mid-grey. */
  contrast: number;
  /** Per-channel gain: a tint of the light. */
  colourCast: [number, number, number];
  /** Class of the shape in front of the object, or null where nothing hides it. */
  occluder: ShapeClass | null;
  /** Fraction of the object's pixels the occluder hides, measured on the rendered crop. */
  occlusion: number;
  /** Gaussian sigma in pixels. */
  blur: number;
  /** Noise standard deviation as a fraction of full scale. */
  noise: number;
}

export interface RenderedCrop {
  size: number;
  /** Final colours, 3 bytes per pixel, row-major. */
  rgb: Uint8Array;
  attributes: CropAttributes;
}

const DEGREES = Math.PI / 180;
/** Object diameter range as a fraction of the crop: big enough to show its pattern, never cut off. */
const MIN_SCALE = 0.65;
const MAX_SCALE = 0.9;
/** Of the room left between the object's circle and the crop edge, how much the centre may move. */
const MAX_OFFSET_SHARE = 0.5;
const MIN_FORESHORTENING = 0.8;
const BRIGHTNESS_SPREAD = 0.25;
const MIN_CONTRAST_GAIN = 0.7;
const MAX_CONTRAST_GAIN = 1.2;
const COLOUR_CAST_SPREAD = 0.1;
const MID_GREY = 128;
/** Each crop's own blur and noise, before the job's `blur` and `noise` are added. */
const MAX_CROP_BLUR_SHARE = 0.01;
const MAX_CROP_NOISE = 0.04;
const OCCLUDED_SHARE = 0.5;
/**
 * Occluder radius relative to the object's. A large occluder can hide the 60 % that max_occlusion
 * allows; a small or thin one (a star) may hide less than its target, and the crop records what
 * it actually hid.
 */
const MIN_OCCLUDER_RATIO = 0.6;
const MAX_OCCLUDER_RATIO = 0.9;
/** Bisection steps on the occluder's distance from the object; 2^-8 of the range is under a pixel. */
const OCCLUSION_SEARCH_STEPS = 8;
const BACKGROUND_ATTEMPTS = 8;

/** Crop `seed` of `identity`, `size` pixels square. */
export function renderCrop(
  identity: Identity,
  params: ShapesParams,
  size: number,
  seed: number,
): RenderedCrop {
  const rng = new Rng(seed);
  const rgb = new Uint8Array(size * size * 3);
  const background = paintContrastingBackground(identity, params, rgb, size, rng);

  const pose = drawPose(params, size, rng);
  const objectMask = new Uint8Array(size * size);
  const objectPixels = paintObject(identity, pose, rgb, objectMask, size);
  const object = { rgb, objectMask, objectPixels, size };
  const occlusion = occlude(identity, pose, params, background, object, rng);

  const lighting = drawLighting(params.lighting, rng);
  relight(rgb, lighting);
  const blur = params.blur + rng.between(0, MAX_CROP_BLUR_SHARE * size);
  const noise = params.noise + rng.between(0, MAX_CROP_NOISE);
  return {
    size,
    rgb: applyEffects(rgb, size, size, { lighting: 1, blur, noise }, rng),
    attributes: {
      rotationDeg: pose.rotation / DEGREES,
      scale: (2 * pose.radius) / size,
      centre: [pose.centre.x / size, pose.centre.y / size],
      foreshortening: pose.foreshortening,
      foreshorteningAxisDeg: pose.foreshorteningAxis / DEGREES,
      background: background.kind,
      ...lighting,
      ...occlusion,
      blur,
      noise,
    },
  };
}

/**
 * A background the object stands out from. The object's colour is fixed by its identity, so the
 * background is drawn again (a few times at most) when one of its colours is too close to it.
 */
function paintContrastingBackground(
  identity: Identity,
  params: ShapesParams,
  rgb: Uint8Array,
  size: number,
  rng: Rng,
): PaintedBackground {
  let best: { background: PaintedBackground; pixels: Uint8Array; contrast: number } | undefined;
  for (let attempt = 0; attempt < BACKGROUND_ATTEMPTS; attempt++) {
    const background = paintBackground(params.background, params.palette, rgb, size, size, rng);
    const contrast = nearestDistance(identity.colour, background.colours);
    if (contrast >= MIN_CONTRAST) return background;
    if (!best || contrast > best.contrast) best = { background, pixels: rgb.slice(), contrast };
  }
  rgb.set((best as NonNullable<typeof best>).pixels);
  return (best as NonNullable<typeof best>).background;
}

/** Where the object is and how it is seen; radius is its circumscribed circle's, in pixels. */
interface Pose {
  centre: Point;
  radius: number;
  rotation: number;
  foreshortening: number;
  foreshorteningAxis: number;
}

/** [a, b, c, d] for the 2x2 matrix [[a, b], [c, d]]. */
type Matrix = readonly [number, number, number, number];

function drawPose(params: ShapesParams, size: number, rng: Rng): Pose {
  const radius = (rng.between(MIN_SCALE, MAX_SCALE) * size) / 2;
  const room = Math.max(0, size / 2 - radius) * MAX_OFFSET_SHARE;
  const centre = { x: size / 2 + rng.between(-room, room), y: size / 2 + rng.between(-room, room) };
  const rotation = rng.between(-params.maxRotationDeg, params.maxRotationDeg) * DEGREES;
  const foreshortening = rng.between(MIN_FORESHORTENING, 1);
  const foreshorteningAxis = rng.between(0, Math.PI);
  return { centre, radius, rotation, foreshortening, foreshorteningAxis };
}

/**
 * Maps the object's frame (pixels, centred) into the crop: squash by the identity's aspect,
 * rotate, then foreshorten along an axis of the crop.
 */
function objectMatrix(identity: Identity, pose: Pose): Matrix {
  const squash: Matrix = [1, 0, 0, identity.aspect];
  const cos = Math.cos(pose.rotation);
  const sin = Math.sin(pose.rotation);
  const rotate: Matrix = [cos, -sin, sin, cos];
  // Scaling by f along unit axis n: I - (1 - f) n nᵀ.
  const nx = Math.cos(pose.foreshorteningAxis);
  const ny = Math.sin(pose.foreshorteningAxis);
  const k = 1 - pose.foreshortening;
  const foreshorten: Matrix = [1 - k * nx * nx, -k * nx * ny, -k * nx * ny, 1 - k * ny * ny];
  return multiply(foreshorten, multiply(rotate, squash));
}

/** Paints the object with its pattern and marks its pixels in `objectMask`; returns their count. */
function paintObject(
  identity: Identity,
  pose: Pose,
  rgb: Uint8Array,
  objectMask: Uint8Array,
  size: number,
): number {
  const matrix = objectMatrix(identity, pose);
  const inverse = invert(matrix);
  // The outline at the object's pixel radius, so that circles get enough vertices for their size.
  const local = outline(identity.form, { centre: { x: 0, y: 0 }, radius: pose.radius, rotation: 0 });
  const points = local.map((point) => add(pose.centre, apply(matrix, point)));
  const coverage = rasterisePolygon(points, size, size);
  forEachPixel(coverage, size, (pixel, x, y) => {
    // The pixel's centre in the object's unit frame, where the pattern is defined.
    const local = apply(inverse, { x: x + 0.5 - pose.centre.x, y: y + 0.5 - pose.centre.y });
    setPixel(rgb, pixel, surfaceColour(identity, local.x / pose.radius, local.y / pose.radius));
    objectMask[pixel] = 1;
  });
  return coverage.pixelCount;
}

interface PaintedObject {
  rgb: Uint8Array;
  objectMask: Uint8Array;
  objectPixels: number;
  size: number;
}

/**
 * About half the crops get a random shape in front of the object, placed along a random direction
 * at the distance (found by bisection) where it hides closest to a target fraction of the object.
 */
function occlude(
  identity: Identity,
  pose: Pose,
  params: ShapesParams,
  background: PaintedBackground,
  object: PaintedObject,
  rng: Rng,
): Pick<CropAttributes, 'occluder' | 'occlusion'> {
  // Drawn whether or not the crop is occluded, so that a crop's other draws do not depend on it.
  const { maxOcclusion, palette } = params;
  const occluded = rng.float() < OCCLUDED_SHARE;
  const target = rng.between(maxOcclusion / 4, maxOcclusion);
  const shape = rng.pick(SHAPE_CLASSES);
  const form = drawShapeForm(shape, rng);
  const radius = pose.radius * rng.between(MIN_OCCLUDER_RATIO, MAX_OCCLUDER_RATIO);
  const rotation = rng.between(0, 2 * Math.PI);
  const direction = rng.between(0, 2 * Math.PI);
  // Unlike the object, so that the hidden part reads as hidden rather than as a different outline.
  const markings = identity.pattern.kind === 'plain' ? [] : [identity.pattern.colour];
  const colour = contrastingColour(palette, [identity.colour, ...markings, ...background.colours], rng);
  if (!occluded || maxOcclusion === 0 || object.objectPixels === 0) return { occluder: null, occlusion: 0 };

  const coverageAt = (distance: number): { coverage: Coverage; hidden: number } => {
    const centre = {
      x: pose.centre.x + distance * Math.cos(direction),
      y: pose.centre.y + distance * Math.sin(direction),
    };
    const coverage = rasterisePolygon(outline(form, { centre, radius, rotation }), object.size, object.size);
    let hidden = 0;
    forEachPixel(coverage, object.size, (pixel) => {
      hidden += object.objectMask[pixel] ?? 0;
    });
    return { coverage, hidden: hidden / object.objectPixels };
  };
  // The hidden share falls (near enough monotonically) from the centre outwards, to 0 where the
  // circumscribed circles no longer meet: the starting candidate hides nothing.
  let near = 0;
  let far = pose.radius + radius;
  let best = coverageAt(far);
  for (let step = 0; step < OCCLUSION_SEARCH_STEPS; step++) {
    const middle = (near + far) / 2;
    const candidate = coverageAt(middle);
    // Never more than max_occlusion, whatever the target: it is a promise to the user.
    const closer = Math.abs(candidate.hidden - target) < Math.abs(best.hidden - target);
    if (closer && candidate.hidden <= maxOcclusion) best = candidate;
    if (candidate.hidden > target) near = middle;
    else far = middle;
  }
  forEachPixel(best.coverage, object.size, (pixel) => setPixel(object.rgb, pixel, colour));
  return { occluder: shape, occlusion: best.hidden };
}

type Lighting = Pick<CropAttributes, 'brightness' | 'contrast' | 'colourCast'>;

function drawLighting(lighting: number, rng: Rng): Lighting {
  const spread = () => 1 + rng.between(-COLOUR_CAST_SPREAD, COLOUR_CAST_SPREAD);
  return {
    brightness: lighting * (1 + rng.between(-BRIGHTNESS_SPREAD, BRIGHTNESS_SPREAD)),
    contrast: rng.between(MIN_CONTRAST_GAIN, MAX_CONTRAST_GAIN),
    colourCast: [spread(), spread(), spread()],
  };
}

/** Contrast about mid-grey, then brightness and cast; rounded and clamped as applyEffects does. */
function relight(rgb: Uint8Array, lighting: Lighting): void {
  const gains = lighting.colourCast.map((cast) => cast * lighting.brightness);
  const relit = new Uint8ClampedArray(rgb.length);
  for (let i = 0; i < rgb.length; i++) {
    relit[i] = (((rgb[i] ?? 0) - MID_GREY) * lighting.contrast + MID_GREY) * (gains[i % 3] ?? 1);
  }
  rgb.set(relit);
}

function forEachPixel(
  coverage: Coverage,
  width: number,
  visit: (pixel: number, x: number, y: number) => void,
): void {
  const { spans } = coverage;
  for (let k = 0; k < spans.length; k += 3) {
    const y = spans[k] ?? 0;
    for (let x = spans[k + 1] ?? 0; x < (spans[k + 2] ?? 0); x++) visit(y * width + x, x, y);
  }
}

function setPixel(rgb: Uint8Array, pixel: number, colour: Rgb): void {
  rgb[pixel * 3] = colour[0];
  rgb[pixel * 3 + 1] = colour[1];
  rgb[pixel * 3 + 2] = colour[2];
}

function multiply(left: Matrix, right: Matrix): Matrix {
  const [a, b, c, d] = left;
  const [e, f, g, h] = right;
  return [a * e + b * g, a * f + b * h, c * e + d * g, c * f + d * h];
}

function invert([a, b, c, d]: Matrix): Matrix {
  const determinant = a * d - b * c;
  return [d / determinant, -b / determinant, -c / determinant, a / determinant];
}

function apply([a, b, c, d]: Matrix, point: Point): Point {
  return { x: a * point.x + b * point.y, y: c * point.x + d * point.y };
}

function add(first: Point, second: Point): Point {
  return { x: first.x + second.x, y: first.y + second.y };
}
