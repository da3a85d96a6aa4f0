/**
 * The `shapes` generator: procedural 2D scenes of geometric objects with exact COCO annotations,
 * or (output=identity_crops) a re-identification dataset of crops per object identity, described
 * in identity-crops.ts. It runs on a CPU in Lambda: a 512x512 frame takes tens of milliseconds,
 * about 200 ms with strong blur and noise.
 *
 * Scenes archive layout (standard and preview alike), every entry under one folder named after the
 * job (RenderOptions.folder), so that many jobs extract into one folder without colliding:
 *   <job>/annotations.json         COCO: images, categories, annotations (bbox, area, segmentation)
 *   <job>/frames/frame_0000.png    one 8-bit RGB PNG per frame
 *   <job>/params.json              the complete parameter set, so the job can be rerun
 * Paths inside the files (COCO's file_name, identities.json's crops) are relative to that folder.
 *
 * What the annotations mean:
 * - bbox and area come from the map of which object each pixel shows, written while painting:
 *   bbox tightly bounds the object's visible pixels, area counts them. Blur and noise are applied
 *   to the colours afterwards and do not move boxes.
 * - segmentation is the object's whole outline from its geometry (circles as polygons within a
 *   quarter pixel), including any part hidden behind later objects.
 * - Later objects paint over earlier ones; an object left with no visible pixel is not annotated.
 * - Objects lie wholly inside the frame, so outlines and boxes never leave the image.
 * - A preview is frame 0 at a smaller size (sizes and positions are fractions of the frame);
 *   its params.json holds the submitted parameters, which rerun it as a standard job.
 */
import type { ParamValues, ParamViolation } from '../../../../contracts/generators.ts';
import { encodePng } from '../../archive/png.ts';
import { createZip, type ZipEntry } from '../../archive/zip.ts';
import type { Generator, RenderOptions, RenderResult } from '../generator.ts';
import { applyDefaults } from '../params.ts';
import { deriveSeed } from '../rng.ts';
import { type AnnotatedFrame, cocoDataset } from './coco.ts';
import { cropCounts, renderIdentityCrops } from './identity-crops.ts';
import {
  MAX_PIXELS_PER_JOB,
  OUTPUTS,
  readShapesParams,
  SHAPES_ORDERED_PAIRS,
  SHAPES_PARAMETERS,
  type ShapesParams,
} from './parameters.ts';
import { checkProfile, steerFrame } from './profile.ts';
import { type RenderedScene, renderScene } from './scene.ts';

/** A preview's longest side in pixels; smaller images are previewed at their own size. */
export const PREVIEW_LONGEST_SIDE = 256;

/**
 * Crops one job may render (identities x crops_per_identity); MAX_PIXELS_PER_JOB applies to crops
 * too. Every crop is its own PNG and ZIP entry, so the count is held under ZIP32's 65,535 entries
 * with room to spare. Small crops cost more per pixel than frames (each is relit, blurred and
 * noised, and has its own background and occluder): about 1 ms a 32 px crop and 2.5 ms a 64 px one
 * on one core, so the largest jobs either limit allows take under a minute of the worker's 15.
 */
export const MAX_CROPS_PER_JOB = 50_000;

/**
 * The generator's cross-field rules, for the output the values choose. Scenes have none: their
 * ranges keep them within MAX_PIXELS_PER_JOB (parameters.ts), so that every scene Infinity's client
 * draws is valid. Identity crops have budgets across parameters, which `random_job()` never meets
 * because it never draws `output` (the random-parameters route does meet them).
 */
function shapesRules(params: ParamValues): ParamViolation[] {
  const output = params.output;
  if (!OUTPUTS.some((choice) => choice === output)) {
    // `output` declares no choices (see parameters.ts), so its value is checked here.
    const constraint = `one of: ${OUTPUTS.join(', ')}`;
    return [
      {
        parameter: 'output',
        kind: 'choice',
        value: output,
        constraint,
        message: `output must be ${constraint}, got ${JSON.stringify(output)}`,
      },
    ];
  }
  return output === 'identity_crops' ? cropBudget(params) : [];
}

function cropBudget(values: ParamValues): ParamViolation[] {
  const { identities, cropsPerIdentity, cropSize } = readShapesParams(values);
  const crops = identities * cropsPerIdentity;
  const pixels = crops * cropSize * cropSize;
  const shown = `${identities}x${cropsPerIdentity}`;
  const violations: ParamViolation[] = [];
  if (crops > MAX_CROPS_PER_JOB) {
    violations.push({
      parameter: 'crops_per_identity',
      kind: 'range',
      value: cropsPerIdentity,
      constraint: `identities x crops_per_identity <= ${MAX_CROPS_PER_JOB}`,
      message: `a job may render at most ${MAX_CROPS_PER_JOB} crops; ${shown} is ${crops}: split it into more jobs`,
    });
  }
  if (pixels > MAX_PIXELS_PER_JOB) {
    violations.push({
      parameter: 'crops_per_identity',
      kind: 'range',
      value: cropsPerIdentity,
      constraint: `identities x crops_per_identity x crop_size² <= ${MAX_PIXELS_PER_JOB}`,
      message: `a job may render at most ${MAX_PIXELS_PER_JOB} pixels; ${shown} crops of ${cropSize}x${cropSize} is ${pixels}: split it into more jobs or use smaller crops`,
    });
  }
  return violations;
}

export const shapesGenerator: Generator = {
  name: 'shapes',
  description:
    'Procedural 2D scenes of circles, rectangles, triangles, regular polygons and stars over solid, gradient ' +
    'or textured backgrounds, with pixel-exact COCO boxes, areas and outlines; or (output=identity_crops) a ' +
    're-identification dataset of crops of distinct object identities under varied pose, lighting and occlusion.',
  output:
    'A ZIP holding one folder named after the job: PNG frames (<job>/frames/frame_0000.png, ...), COCO ' +
    'annotations (<job>/annotations.json) and the complete parameters (<job>/params.json); with ' +
    'output=identity_crops, a folder of PNG crops per identity (<job>/identities/id_0000/crop_0000.png, ...), ' +
    '<job>/identities.json and <job>/params.json.',
  runsOn: 'lambda',
  allowsPreview: true,
  parameters: SHAPES_PARAMETERS,
  orderedPairs: SHAPES_ORDERED_PAIRS,
  valueChecks: new Map([['profile', checkProfile]]),
  validate: shapesRules,
  estimateFrames,
  render: renderShapesJob,
};

/** Frames for scenes; for identity crops, the crops (each is one image). */
function estimateFrames(values: ParamValues, preview: boolean): number {
  const params = readShapesParams(values);
  if (params.output === 'identity_crops') {
    const { identities, crops } = cropCounts(params, preview);
    return identities * crops;
  }
  return preview ? 1 : params.frames;
}

export async function renderShapesJob(values: ParamValues, options: RenderOptions): Promise<RenderResult> {
  const params = readShapesParams(values);
  // Canonical order, so that the same parameters in another key order give the same bytes.
  const paramsEntry = { name: 'params.json', data: jsonBytes(applyDefaults(shapesGenerator, values)) };
  if (params.output === 'identity_crops') {
    const { entries, crops } = await renderIdentityCrops(params, options);
    return { archive: createZip([...entries, paramsEntry], { folder: options.folder }), frames: crops };
  }

  const frameCount = shapesGenerator.estimateFrames(values, options.preview);

  const entries: ZipEntry[] = [];
  const frames: AnnotatedFrame[] = [];
  for (let index = 0; index < frameCount; index++) {
    const scene = renderFrame(params, index, options.preview);
    const { width, height } = scene;
    const fileName = frameFileName(index);
    entries.push({ name: fileName, data: encodePng(width, height, scene.rgb), store: true });
    frames.push({ fileName, width, height, annotations: scene.annotations });
    await options.onProgress?.((index + 1) / frameCount, `rendered frame ${index + 1} of ${frameCount}`);
  }
  entries.push({ name: 'annotations.json', data: jsonBytes(cocoDataset(frames)) }, paramsEntry);
  return { archive: createZip(entries, { folder: options.folder }), frames: frameCount };
}

/**
 * Frame `index` of a job, exactly as the archive holds it: drawn from deriveSeed(seed, index) at
 * frameSize, and steered toward the job's profile if it has one (colours only: the annotations
 * and the object-id map are the unsteered scene's). Blur is given in full-size pixels, so a
 * preview scales it down with the frame.
 */
export function renderFrame(params: ShapesParams, index: number, preview: boolean): RenderedScene {
  const { width, height } = frameSize(params, preview);
  const scale = width / params.imageWidth;
  const scene = renderScene(
    { ...params, blur: params.blur * scale },
    width,
    height,
    deriveSeed(params.seed, index),
  );
  return params.profile ? { ...scene, rgb: steerFrame(scene.rgb, width, height, params.profile) } : scene;
}

/** A preview keeps the aspect ratio and fits within PREVIEW_LONGEST_SIDE; sizes are fractions, so the scene is the same. */
export function frameSize(params: ShapesParams, preview: boolean): { width: number; height: number } {
  const longest = Math.max(params.imageWidth, params.imageHeight);
  const scale = preview ? Math.min(1, PREVIEW_LONGEST_SIDE / longest) : 1;
  return {
    width: Math.max(1, Math.round(params.imageWidth * scale)),
    height: Math.max(1, Math.round(params.imageHeight * scale)),
  };
}

export function frameFileName(index: number): string {
  return `frames/frame_${String(index).padStart(4, '0')}.png`;
}

function jsonBytes(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value), 'utf8');
}
