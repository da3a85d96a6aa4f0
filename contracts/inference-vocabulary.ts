/**
 * Seed 003's plain values, free of zod: the HTTP layer of every function carries them, and so does
 * the local vision model's container.
 *
 * Seed 003 echoes the request in every answer, errors included (`{time, request, error}`). An error
 * may come before the body parsed, so the echo is read leniently from whatever JSON arrived: the
 * fields that have the right type, the frames by count.
 */
// A type only: erased when run, so this file stays free of zod.
import type { RequestEcho } from './inference.ts';

/** The model that answers offline in place of every EMD model (containers/local-vision). */
export const LOCAL_VISION_MODEL = 'synthforge/local-vision';

/** The request as an answer echoes it (contracts/inference.ts `RequestEcho`). */
export type RequestEchoShape = RequestEcho;

/** The seed's defaults, which InferenceRequest (contracts/inference.ts) applies. */
export const INFERENCE_DEFAULTS = { mediaType: 'image', max_tokens: 1024, temperature: 0.1 } as const;

/** The longest text a request may have (InferenceRequest's limit): an echo shows no more of it. */
const MAX_ECHOED_TEXT = 100_000;

/**
 * The echo of a request body; `{}` when the body is not an object with a text. A text over the
 * request's limit is echoed up to it: an error answering a huge body must not hand it all back.
 */
export function echoOf(body: unknown): RequestEchoShape | Record<string, never> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return {};
  const fields = body as Record<string, unknown>;
  if (typeof fields.text !== 'string') return {};
  return {
    text: fields.text.slice(0, MAX_ECHOED_TEXT),
    frames_count: Array.isArray(fields.frames) ? fields.frames.length : 0,
    media_type: fields.mediaType === 'video' ? 'video' : INFERENCE_DEFAULTS.mediaType,
    max_tokens: typeof fields.max_tokens === 'number' ? fields.max_tokens : INFERENCE_DEFAULTS.max_tokens,
    temperature: typeof fields.temperature === 'number' ? fields.temperature : INFERENCE_DEFAULTS.temperature,
  };
}

/**
 * What a frame may be: the gateway's name of each format and its content type, the one an upload
 * is made with (contracts/inference.ts `UploadRequest`).
 */
export const FRAME_CONTENT_TYPES = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  mp4: 'video/mp4',
} as const;
export type FrameFormat = keyof typeof FRAME_CONTENT_TYPES;

/**
 * The format a frame's first bytes announce, whatever its name or its sender says; undefined for
 * any other file. The gateway checks frames by it, the SDK names uploads by it, and the local
 * vision model reads images by it, so that all three agree on what a file is.
 */
export function sniffFormat(bytes: Uint8Array): FrameFormat | undefined {
  const at = (offset: number, signature: string) =>
    [...signature].every((character, i) => bytes[offset + i] === character.charCodeAt(0));
  if (at(0, '\x89PNG\r\n\x1a\n')) return 'png';
  if (at(0, '\xff\xd8\xff')) return 'jpeg';
  if (at(0, 'GIF87a') || at(0, 'GIF89a')) return 'gif';
  if (at(0, 'RIFF') && at(8, 'WEBP')) return 'webp';
  // An ISO base media file opens with its `ftyp` box: 4 bytes of size, the type, the major brand.
  // HEIF and AVIF images are such files too: they are no video.
  if (at(4, 'ftyp') && !STILL_IMAGE_BRANDS.some((brand) => at(8, brand))) return 'mp4';
  return undefined;
}

const STILL_IMAGE_BRANDS = ['avif', 'avis', 'heic', 'heix', 'heim', 'heis', 'mif1', 'msf1'] as const;
