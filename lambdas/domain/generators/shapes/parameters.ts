/**
 * The `shapes` generator's parameters in Infinity's format, and their typed reading. Sizes are
 * fractions of the image so that a preview (rendered smaller) shows the same scene as frame 0.
 *
 * One generator, two outputs: annotated scenes, or identity crops for re-identification. The
 * parameter format has no way to say "applies only when output is X", so each description says
 * which output reads it; the other output ignores it.
 */
import type { ParameterSpec, ParamValues } from '../../../../contracts/generators.ts';
import type { OrderedPair } from '../generator.ts';
import { PROFILE_PARAMETER, readProfile, type ShapesProfile } from './profile.ts';

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

/** What a job produces: annotated scenes, or a folder of crops per object identity. */
export const OUTPUTS = ['scenes', 'identity_crops'] as const;
export type Output = (typeof OUTPUTS)[number];

export const MAX_SEED = 2 ** 31 - 1;

/**
 * Pixels one job may render (width x height x frames, or crops x crop_size²). A job's archive is
 * built in memory: noisy PNGs barely compress (about 3 bytes a pixel), so 64 megapixels keep the
 * worst case near 200 MB, well inside the 2 GB worker.
 */
export const MAX_PIXELS_PER_JOB = 64 * 1024 * 1024;

/**
 * A scene's largest side, and its most frames: as many of the largest frames as MAX_PIXELS_PER_JOB
 * holds (1024 x 1024 x 64). The ranges alone keep a scene job within the budget, so every
 * combination of in-range values is a valid scene job. Infinity's client (seed 000) relies on that:
 * its `random_job()` draws each parameter on its own from its published min/max, and its
 * validation checks each on its own.
 */
export const MAX_FRAME_SIDE = 1024;
export const MAX_FRAMES = MAX_PIXELS_PER_JOB / (MAX_FRAME_SIDE * MAX_FRAME_SIDE);

const SCENES_ONLY = 'For scenes only.';

export const SHAPES_PARAMETERS: readonly ParameterSpec[] = [
  {
    // No `choices`: random sampling draws every choice uniformly, and a random batch that mixed
    // scene archives with crop archives would be of no use to anyone. Without choices the sampler
    // keeps the default unless the user fixes the output; the generator's validate checks the value.
    name: 'output',
    type: 'str',
    default_value: 'scenes',
    description:
      'What a job produces, one of: scenes, identity_crops. "scenes": annotated frames ' +
      '(frames/frame_0000.png, ..., COCO annotations.json). "identity_crops": a re-identification dataset, ' +
      'one folder of square crops per object identity (identities/id_0000/crop_0000.png, ...) and ' +
      'identities.json; each identity is one fixed object (shape, proportions, colours, pattern) seen under ' +
      'varied pose, lighting, occlusion, background and noise. Random parameters keep this value unless it ' +
      'is given, so a random batch never mixes the two.',
  },
  int('image_width', 512, 64, MAX_FRAME_SIDE, `Frame width in pixels. ${SCENES_ONLY}`),
  int('image_height', 512, 64, MAX_FRAME_SIDE, `Frame height in pixels. ${SCENES_ONLY}`),
  int(
    'frames',
    4,
    1,
    MAX_FRAMES,
    'Frames in a standard job; each is an independent scene. A preview renders one. For more, submit more ' +
      `jobs: a batch holds up to 1000. ${SCENES_ONLY}`,
  ),
  int(
    'min_objects',
    2,
    1,
    50,
    'Fewest objects placed in a frame. With max_objects it bounds the count; given above max_objects, the ' +
      `two are read the other way round (a frame holds between the smaller and the larger). ${SCENES_ONLY}`,
  ),
  int(
    'max_objects',
    8,
    1,
    50,
    `Most objects placed in a frame (fewer when allow_occlusion is false and space runs out). ${SCENES_ONLY}`,
  ),
  {
    name: 'classes',
    type: 'str',
    default_value: 'all',
    options: { choices: [...CLASS_CHOICES] },
    description:
      'Which shape classes appear: "all" draws each object\'s class uniformly, a class name makes every object ' +
      'that class. The COCO categories always list all five classes with fixed ids. For identity_crops, the ' +
      'class of each identity (one class makes identities differ by proportions, colours and pattern only).',
  },
  float(
    'min_size',
    0.1,
    0.02,
    1,
    "Smallest object diameter (of its circumscribed circle) as a fraction of the image's shorter side; " +
      `above max_size, the two are read the other way round. ${SCENES_ONLY}`,
  ),
  float(
    'max_size',
    0.3,
    0.02,
    1,
    `Largest object diameter as a fraction of the image's shorter side. ${SCENES_ONLY}`,
  ),
  {
    name: 'palette',
    type: 'str',
    default_value: 'vivid',
    options: { choices: [...PALETTES] },
    description:
      'Colour family of objects and background: vivid (saturated, bright), pastel, muted, dark, grayscale or ' +
      'full (any hue, saturation and value).',
  },
  float(
    'max_rotation_deg',
    180,
    0,
    180,
    'Objects are rotated by a uniform angle in [-max, +max] degrees (for identity_crops, each crop of an ' +
      'identity independently).',
  ),
  {
    name: 'allow_occlusion',
    type: 'bool',
    default_value: true,
    description:
      'When true, later objects paint over earlier ones and fully hidden objects are left out of the ' +
      `annotations; when false, objects never overlap (an object that finds no free place is dropped). ${SCENES_ONLY}`,
  },
  {
    name: 'background',
    type: 'str',
    default_value: 'random',
    options: { choices: [...BACKGROUND_CHOICES] },
    description:
      'solid colour, linear gradient, texture (checkerboard, stripes or smooth noise), or random (one of the ' +
      'three per frame, or per crop).',
  },
  float(
    'lighting',
    1,
    0.5,
    1.5,
    'Brightness gain applied to the whole frame (1 = unchanged). For identity_crops, the mean gain: each crop ' +
      'varies it by up to ±25 % and adds its own contrast and colour cast.',
  ),
  float(
    'blur',
    0,
    0,
    5,
    'Gaussian blur sigma in pixels, applied to the colours only: bounding boxes still bound the sharp objects. ' +
      "For identity_crops, added to each crop's own random blur (up to 1 % of crop_size).",
  ),
  float(
    'noise',
    0,
    0,
    0.5,
    'Gaussian pixel noise, standard deviation as a fraction of full scale, applied after blur; boxes do not move. ' +
      "For identity_crops, added to each crop's own random noise (up to 0.04).",
  ),
  int(
    'seed',
    0,
    0,
    MAX_SEED,
    'Random seed: the same parameters and seed give a byte-identical archive. A job submitted without one gets a random seed, recorded in its param_values and params.json.',
  ),
  // The identity_crops parameters come after seed so that random sampling, which draws parameters
  // in this order, draws every earlier parameter exactly as it did before they existed.
  int(
    'identities',
    16,
    2,
    500,
    'For identity_crops only: distinct objects in the dataset. Identity i depends on the seed and i alone, so ' +
      'a larger job starts with the identities of a smaller one.',
  ),
  int(
    'crops_per_identity',
    8,
    2,
    200,
    'For identity_crops only: crops of each identity. identities x crops_per_identity x crop_size² must ' +
      'stay within the job pixel budget, and the crops within the job crop budget.',
  ),
  int('crop_size', 64, 32, 256, 'For identity_crops only: side of each square crop in pixels.'),
  float(
    'max_occlusion',
    0.3,
    0,
    0.6,
    'For identity_crops only: the largest fraction of an object an occluding shape may hide. About half ' +
      'the crops are occluded, each hiding between a quarter of this and this (the measured fraction is in ' +
      'identities.json); 0 for none.',
  ),
  // Last, like the identity_crops parameters, and drawing nothing: random sets stay as they were.
  PROFILE_PARAMETER,
];

/** Drawn in order by the random-parameters route; accepted in either order (see OrderedPair). */
export const SHAPES_ORDERED_PAIRS: readonly OrderedPair[] = [
  { lower: 'min_objects', upper: 'max_objects' },
  { lower: 'min_size', upper: 'max_size' },
];

/** The parameters as the renderer uses them. */
export interface ShapesParams {
  output: Output;
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
  identities: number;
  cropsPerIdentity: number;
  cropSize: number;
  maxOcclusion: number;
  /** The profile frames are steered toward; undefined for none. */
  profile: ShapesProfile | undefined;
}

/**
 * Reads complete, validated values. A min/max pair given the other way round is put in order: the
 * two values bound the range whichever is larger (see OrderedPair).
 */
export function readShapesParams(values: ParamValues): ShapesParams {
  const minObjects = numberParam(values, 'min_objects');
  const maxObjects = numberParam(values, 'max_objects');
  const minSize = numberParam(values, 'min_size');
  const maxSize = numberParam(values, 'max_size');
  return {
    output: choiceParam(values, 'output', OUTPUTS),
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
    identities: numberParam(values, 'identities'),
    cropsPerIdentity: numberParam(values, 'crops_per_identity'),
    cropSize: numberParam(values, 'crop_size'),
    maxOcclusion: numberParam(values, 'max_occlusion'),
    profile: readProfile(values.profile),
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
