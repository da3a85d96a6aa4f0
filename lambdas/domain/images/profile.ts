/**
 * The `profile` of an image request (seed 001 profiles): the image a model makes is steered toward
 * the profile's statistics (colour means, brightness, RMS contrast; validation/steer.ts) when the
 * endpoint's answer lands, before it becomes the job's image. The endpoints know nothing of
 * profiles, so every model's image is steered the same way.
 *
 * The PNG is decoded with pngjs and encoded again in JavaScript: the function that handles the
 * endpoints' notifications bundles no native image library, and a 1024 × 1024 image takes about
 * 0.2 s of one core this way (decoding, steering and encoding together).
 */
import { PNG } from 'pngjs';
import { encodePng } from '../archive/png.ts';
import { steeringTarget, steerTowardProfile } from '../validation/steer.ts';
import type { ImageProfile } from './job-record.ts';

/**
 * Images are steered all the way, as the shapes generator's frames are: a set made with one
 * profile then has the profile's statistics on average, while each image keeps its own content.
 */
export const IMAGE_PROFILE_STRENGTH = 1;

/** The zlib level of a steered image with transparency (an opaque one is encoded by archive/png.ts, at the same level). */
const DEFLATE_LEVEL = 6;
const FILTER_PAETH = 4;

/** A model's answer that is no PNG pngjs can read: there is no image to steer. */
export class UnreadableImageError extends Error {
  override readonly name = 'UnreadableImageError';
}

/**
 * The PNG `png` steered toward `profile`: the same width and height, colours mapped per channel,
 * alpha kept. An opaque image comes back as 8-bit RGB, one with transparency as 8-bit RGBA.
 * UnreadableImageError when `png` cannot be decoded.
 */
export function steerPng(
  png: Uint8Array,
  profile: ImageProfile,
  strength = IMAGE_PROFILE_STRENGTH,
): Uint8Array {
  const decoded = decode(png);
  const { width, height } = decoded;
  // pngjs gives every image (grey, palette, 16-bit) as 8-bit RGBA.
  const steered = steerTowardProfile(
    { width, height, channels: 4, data: decoded.data },
    steeringTarget(profile.statistics),
    strength,
  ).data;
  if (isOpaque(steered)) return encodePng(width, height, withoutAlpha(steered));
  const out = new PNG({ width, height });
  out.data = Buffer.from(steered.buffer, steered.byteOffset, steered.byteLength);
  const encoded = PNG.sync.write(out, {
    colorType: 6,
    deflateLevel: DEFLATE_LEVEL,
    filterType: FILTER_PAETH,
  });
  return new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.byteLength);
}

function decode(png: Uint8Array): PNG {
  try {
    return PNG.sync.read(Buffer.from(png.buffer, png.byteOffset, png.byteLength));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UnreadableImageError(`the model's image is not a PNG that can be read (${reason})`);
  }
}

function isOpaque(rgba: Uint8Array | Uint8ClampedArray): boolean {
  for (let p = 3; p < rgba.length; p += 4) if (rgba[p] !== 255) return false;
  return true;
}

function withoutAlpha(rgba: Uint8Array | Uint8ClampedArray): Uint8Array {
  const rgb = new Uint8Array((rgba.length / 4) * 3);
  for (let p = 0, q = 0; p < rgba.length; p += 4, q += 3) {
    rgb[q] = rgba[p] as number;
    rgb[q + 1] = rgba[p + 1] as number;
    rgb[q + 2] = rgba[p + 2] as number;
  }
  return rgb;
}
