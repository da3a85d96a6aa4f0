/**
 * The `shapes` generator's parameters in Infinity's format, and their typed reading. Sizes are
 * fractions of the image so that a preview (rendered smaller) shows the same scene as frame 0.
 */
import type { ParameterSpec, ParamValues } from '../../../../contracts/generators.ts';
import type { OrderedPair } from '../generator.ts';

/** In COCO category-id order (id = index + 1): ids stay the same whatever `classes` selects. */
export const SHAPE_CLASSES = ['circle', 'rectangle', 'triangle', 'polygon', 'star'] as const;
export type ShapeClass = (typeof SHAPE_CLASSES)[number];

export const CLASS_CHOICES = ['all', ...SHAPE_CLASSES] as const;
export type ClassChoice = (typeof CLASS_CHOICES)[number];

export const PALETTES = ['vivid', 'pastel', 'muted', 'dark', 'grayscale', 'full'] as const;
export type Palette = (typeof PALETTES)[number];

export const BACKGROUND_CHOICES = ['solid', 'gradient', 'texture', 'random'] as const;
export type BackgroundChoice = (typeof BACKGROUND_CHOICES)[number];
export type BackgroundKind = Exclude<BackgroundChoice, 'random'>;

export const MAX_SEED = 2 ** 31 - 1;

export const SHAPES_PARAMETERS: readonly ParameterSpec[] = [
  int('image_width', 512, 64, 2048, 'Frame width in pixels.'),
  int('image_height', 512, 64, 2048, 'Frame height in pixels.'),
  int('frames', 4, 1, 100, 'Frames in a standard job; each is an independent scene. A preview renders one.'),
  int('min_objects', 2, 1, 50, 'Fewest objects placed in a frame; must not exceed max_objects.'),
  int(
    'max_objects',
    8,
    1,
    50,
    'Most objects placed in a frame (fewer when allow_occlusion is false and space runs out).',
  ),
  {
    name: 'classes',
    type: 'str',
    default_value: 'all',
    options: { choices: [...CLASS_CHOICES] },
    description:
      'Which shape classes appear: "all" draws each object\'s class uniformly, a class name makes every object ' +
      'that class. The COCO categories always list all five classes with fixed ids.',
  },
  float(
    'min_size',
    0.1,
    0.02,
    1,
    "Smallest object diameter (of its circumscribed circle) as a fraction of the image's shorter side.",
  ),
  float('max_size', 0.3, 0.02, 1, "Largest object diameter as a fraction of the image's shorter side."),
  {
    name: 'palette',
    type: 'str',
    default_value: 'vivid',
    options: { choices: [...PALETTES] },
    description:
      'Colour family of objects and background: vivid (saturated, bright), pastel, muted, dark, grayscale or ' +
      'full (any hue, saturation and value).',
  },
  float('max_rotation_deg', 180, 0, 180, 'Objects are rotated by a uniform angle in [-max, +max] degrees.'),
  {
    name: 'allow_occlusion',
    type: 'bool',
    default_value: true,
    description:
      'When true, later objects paint over earlier ones and fully hidden objects are left out of the ' +
      'annotations; when false, objects never overlap (an object that finds no free place is dropped).',
  },
  {
    name: 'background',
    type: 'str',
    default_value: 'random',
    options: { choices: [...BACKGROUND_CHOICES] },
    description:
      'solid colour, linear gradient, texture (checkerboard, stripes or smooth noise), or random (one of the ' +
      'three per frame).',
  },
  float('lighting', 1, 0.5, 1.5, 'Brightness gain applied to the whole frame (1 = unchanged).'),
  float(
    'blur',
    0,
    0,
    5,
    'Gaussian blur sigma in pixels, applied to the colours only: bounding boxes still bound the sharp objects.',
  ),
  float(
    'noise',
    0,
    0,
    0.5,
    'Gaussian pixel noise, standard deviation as a fraction of full scale, applied after blur; boxes do not move.',
  ),
  int(
    'seed',
    0,
    0,
    MAX_SEED,
    'Random seed: the same parameters and seed give a byte-identical archive. A job submitted without one gets a random seed, recorded in its param_values and params.json.',
  ),
];

export const SHAPES_ORDERED_PAIRS: readonly OrderedPair[] = [
  { lower: 'min_objects', upper: 'max_objects' },
  { lower: 'min_size', upper: 'max_size' },
];

/** The parameters as the renderer uses them. */
export interface ShapesParams {
  imageWidth: number;
  imageHeight: number;
  frames: number;
  minObjects: number;
  maxObjects: number;
  classes: ClassChoice;
  minSize: number;
  maxSize: number;
  palette: Palette;
  maxRotationDeg: number;
  allowOcclusion: boolean;
  background: BackgroundChoice;
  lighting: number;
  blur: number;
  noise: number;
  seed: number;
}

/**
 * Reads complete, validated values. Swapped min/max pairs are put in order rather than rejected,
 * so that a caller that skipped validation still gets a sensible scene.
 */
export function readShapesParams(values: ParamValues): ShapesParams {
  const minObjects = numberParam(values, 'min_objects');
  const maxObjects = numberParam(values, 'max_objects');
  const minSize = numberParam(values, 'min_size');
  const maxSize = numberParam(values, 'max_size');
  return {
    imageWidth: numberParam(values, 'image_width'),
    imageHeight: numberParam(values, 'image_height'),
    frames: numberParam(values, 'frames'),
    minObjects: Math.min(minObjects, maxObjects),
    maxObjects: Math.max(minObjects, maxObjects),
    classes: choiceParam(values, 'classes', CLASS_CHOICES),
    minSize: Math.min(minSize, maxSize),
    maxSize: Math.max(minSize, maxSize),
    palette: choiceParam(values, 'palette', PALETTES),
    maxRotationDeg: numberParam(values, 'max_rotation_deg'),
    allowOcclusion: booleanParam(values, 'allow_occlusion'),
    background: choiceParam(values, 'background', BACKGROUND_CHOICES),
    lighting: numberParam(values, 'lighting'),
    blur: numberParam(values, 'blur'),
    noise: numberParam(values, 'noise'),
    seed: numberParam(values, 'seed'),
  };
}

function numberParam(values: ParamValues, name: string): number {
  const value = values[name];
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`${name} must be a number`);
  return value;
}

function booleanParam(values: ParamValues, name: string): boolean {
  const value = values[name];
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean`);
  return value;
}

function choiceParam<T extends string>(values: ParamValues, name: string, choices: readonly T[]): T {
  const value = values[name];
  const choice = choices.find((candidate) => candidate === value);
  if (choice === undefined) throw new TypeError(`${name} must be one of: ${choices.join(', ')}`);
  return choice;
}

function int(
  name: string,
  defaultValue: number,
  min: number,
  max: number,
  description: string,
): ParameterSpec {
  return { name, type: 'int', default_value: defaultValue, options: { min, max }, description };
}

function float(
  name: string,
  defaultValue: number,
  min: number,
  max: number,
  description: string,
): ParameterSpec {
  return { name, type: 'float', default_value: defaultValue, options: { min, max }, description };
}
