/**
 * Frames on the client side of the inference routes: what a file is (from its first bytes, as the
 * gateway itself decides), and which frames must go through an upload because the request would be
 * too large to send inline.
 */
import { INFERENCE_MAX_BODY_BYTES } from '../../contracts/inference.ts';

/** The content types the upload route takes (contracts/inference.ts `UploadRequest`). */
export type FrameContentType = 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp' | 'video/mp4';

const startsWith = (bytes: Uint8Array, offset: number, expected: readonly number[] | string) => {
  const codes = typeof expected === 'string' ? [...expected].map((c) => c.charCodeAt(0)) : expected;
  return codes.every((code, index) => bytes[offset + index] === code);
};

/** The frame's content type from its magic bytes; undefined when it is none the gateway takes. */
export function sniffFrameType(bytes: Uint8Array): FrameContentType | undefined {
  if (startsWith(bytes, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(bytes, 0, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(bytes, 0, 'GIF87a') || startsWith(bytes, 0, 'GIF89a')) return 'image/gif';
  if (startsWith(bytes, 0, 'RIFF') && startsWith(bytes, 8, 'WEBP')) return 'image/webp';
  // An ISO base media file opens with a box of type `ftyp` at offset 4.
  if (startsWith(bytes, 4, 'ftyp')) return 'video/mp4';
  return undefined;
}

/** The extension of a content type, for the file name of an upload made from bytes. */
export const FRAME_EXTENSIONS: Readonly<Record<FrameContentType, string>> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/gif': 'gif',
  'image/webp': 'webp',
  'video/mp4': 'mp4',
};

/** The length of `bytes` bytes in base64. */
export const base64Length = (bytes: number) => 4 * Math.ceil(bytes / 3);

/**
 * Which frames to upload so that the rest fit inline: the largest first, until the request body
 * (`otherBytes` for everything but the frames, plus each inline frame as a quoted base64 string)
 * is within `limit`. Answers the indexes of the frames to upload.
 */
export function framesToUpload(
  frameBytes: readonly number[],
  otherBytes: number,
  limit: number = INFERENCE_MAX_BODY_BYTES,
): Set<number> {
  const inlineCost = (bytes: number) => base64Length(bytes) + 3; // the quotes and the comma
  let total = otherBytes + frameBytes.reduce((sum, bytes) => sum + inlineCost(bytes), 0);
  const upload = new Set<number>();
  const largestFirst = frameBytes.map((bytes, index) => ({ bytes, index })).sort((a, b) => b.bytes - a.bytes);
  for (const { bytes, index } of largestFirst) {
    if (total <= limit) break;
    upload.add(index);
    // The frame is replaced by its s3:// URI, about 100 characters.
    total -= inlineCost(bytes) - 100;
  }
  return upload;
}
