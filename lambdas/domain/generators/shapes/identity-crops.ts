/**
 * The identity-crops output of `shapes`: a re-identification dataset, one folder of square crops
 * per identity, as metric-learning trainers read it ("a folder per identity with its crops").
 *
 * Archive layout (standard and preview alike; shapes-generator.ts adds params.json and puts it all
 * under the job's folder, `<job>/identities/...`; the names in identities.json are relative to it):
 *   identities/id_0000/crop_0000.png   one 8-bit RGB PNG per crop, crop_size square
 *   identities.json                    each identity's fixed attributes and each crop's varied ones
 *
 * A preview renders the first PREVIEW_IDENTITIES identities' first PREVIEW_CROPS crops, exactly
 * as the standard job renders them (crops are at most 256 px, the preview size of scenes).
 */
import { encodePng } from '../../archive/png.ts';
import type { ZipEntry } from '../../archive/zip.ts';
import type { RenderOptions } from '../generator.ts';
import { type CropAttributes, renderCrop } from './crop.ts';
import { cropSeed, drawIdentities, type Identity, type Pattern } from './identity.ts';
import type { ShapesParams } from './parameters.ts';

export const PREVIEW_IDENTITIES = 2;
export const PREVIEW_CROPS = 2;

export interface RenderedCrops {
  entries: ZipEntry[];
  crops: number;
}

/** How many identities and crops of each a job renders. */
export function cropCounts(params: ShapesParams, preview: boolean): { identities: number; crops: number } {
  return preview
    ? {
        identities: Math.min(PREVIEW_IDENTITIES, params.identities),
        crops: Math.min(PREVIEW_CROPS, params.cropsPerIdentity),
      }
    : { identities: params.identities, crops: params.cropsPerIdentity };
}

/** Every crop of the job and identities.json, reporting progress after each identity. */
export async function renderIdentityCrops(
  params: ShapesParams,
  options: RenderOptions,
): Promise<RenderedCrops> {
  const counts = cropCounts(params, options.preview);
  const total = counts.identities * counts.crops;
  const identities = drawIdentities(params.seed, counts.identities, params.classes, params.palette);

  const entries: ZipEntry[] = [];
  const described: IdentityRecord[] = [];
  for (const identity of identities) {
    const crops: CropRecord[] = [];
    for (let crop = 0; crop < counts.crops; crop++) {
      const rendered = renderCrop(
        identity,
        params,
        params.cropSize,
        cropSeed(params.seed, identity.index, crop),
      );
      const file = cropFileName(identity.index, crop);
      entries.push({ name: file, data: encodePng(rendered.size, rendered.size, rendered.rgb), store: true });
      crops.push(cropRecord(file, rendered.attributes));
    }
    described.push(identityRecord(identity, crops));
    const done = (identity.index + 1) * counts.crops;
    // Per identity rather than per crop: a job may hold thousands of crops, and each report can
    // cost the worker a store update.
    await options.onProgress?.(
      done / total,
      `rendered identity ${identity.index + 1} of ${counts.identities} (${done} of ${total} crops)`,
    );
  }
  const manifest: IdentitiesManifest = {
    info: {
      description: 'SynthForge shapes generator: identity crops for re-identification',
      version: '1.0',
      crop_size: params.cropSize,
      identities: counts.identities,
      crops_per_identity: counts.crops,
    },
    identities: described,
  };
  entries.push({ name: 'identities.json', data: Buffer.from(JSON.stringify(manifest), 'utf8') });
  return { entries, crops: total };
}

export function cropFileName(identity: number, crop: number): string {
  return `identities/id_${pad(identity)}/crop_${pad(crop)}.png`;
}

function pad(index: number): string {
  return String(index).padStart(4, '0');
}

/** identities.json. Angles are in degrees, colours 8-bit sRGB, lengths fractions of the crop side. */
export interface IdentitiesManifest {
  info: {
    description: string;
    version: string;
    crop_size: number;
    identities: number;
    crops_per_identity: number;
  };
  identities: IdentityRecord[];
}

export interface IdentityRecord {
  /** The identity's folder name, e.g. `id_0003`. */
  id: string;
  index: number;
  shape: Identity['shape'];
  /** The class's own proportions (rectangle side ratio, triangle vertex angles, polygon sides, star points). */
  proportions: Record<string, number | number[]>;
  /** Height over width of the object before it is posed. */
  aspect: number;
  colour: readonly number[];
  pattern: Record<string, unknown>;
  crops: CropRecord[];
}

export interface CropRecord {
  file: string;
  rotation_deg: number;
  scale: number;
  centre: number[];
  foreshortening: number;
  foreshortening_axis_deg: number;
  background: CropAttributes['background'];
  brightness: number;
  contrast: number;
  colour_cast: number[];
  occluder: CropAttributes['occluder'];
  occlusion: number;
  blur: number;
  noise: number;
}

function identityRecord(identity: Identity, crops: CropRecord[]): IdentityRecord {
  return {
    id: identity.name,
    index: identity.index,
    shape: identity.shape,
    proportions: proportions(identity),
    aspect: round(identity.aspect),
    colour: [...identity.colour],
    pattern: patternRecord(identity.pattern),
    crops,
  };
}

function proportions({ form }: Identity): IdentityRecord['proportions'] {
  switch (form.shape) {
    case 'circle':
      return {};
    case 'rectangle':
      return { side_ratio: round(Math.tan(form.halfDiagonalAngle)) };
    case 'triangle':
      return { vertex_angles_deg: form.vertexAngles.map((angle) => round(angle / DEGREES)) };
    case 'polygon':
      return { sides: form.sides };
    case 'star':
      return { points: form.points, inner_ratio: round(form.innerRatio) };
  }
}

/** Pattern geometry is in the object's unit frame: its circumscribed radius is 1. */
function patternRecord(pattern: Pattern): Record<string, unknown> {
  switch (pattern.kind) {
    case 'plain':
      return { kind: pattern.kind };
    case 'stripes':
      return {
        kind: pattern.kind,
        colour: [...pattern.colour],
        angle_deg: round(pattern.angle / DEGREES),
        period: round(pattern.period),
      };
    case 'halves':
      return { kind: pattern.kind, colour: [...pattern.colour], angle_deg: round(pattern.angle / DEGREES) };
    case 'core':
      return { kind: pattern.kind, colour: [...pattern.colour], radius: round(pattern.radius) };
    case 'spots':
      return {
        kind: pattern.kind,
        colour: [...pattern.colour],
        spots: pattern.spots.map((spot) => ({
          x: round(spot.x),
          y: round(spot.y),
          radius: round(spot.radius),
        })),
      };
  }
}

function cropRecord(file: string, crop: CropAttributes): CropRecord {
  return {
    file,
    rotation_deg: round(crop.rotationDeg),
    scale: round(crop.scale),
    centre: crop.centre.map(round),
    foreshortening: round(crop.foreshortening),
    foreshortening_axis_deg: round(crop.foreshorteningAxisDeg),
    background: crop.background,
    brightness: round(crop.brightness),
    contrast: round(crop.contrast),
    colour_cast: crop.colourCast.map(round),
    occluder: crop.occluder,
    occlusion: round(crop.occlusion),
    blur: round(crop.blur),
    noise: round(crop.noise),
  };
}

const DEGREES = Math.PI / 180;

/** Four decimals: finer than anything visible at 256 px, and the JSON stays small. */
function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
