/**
 * Frames on the client side of the inference routes: what a file is (from its first bytes, as the
 * gateway itself decides), and which frames must go through an upload because the request would be
 * too large to send inline.
 */
import { INFERENCE_MAX_BODY_BYTES, type UploadRequest } from '../../contracts/inference.ts';
import { FRAME_CONTENT_TYPES, sniffFormat } from '../../contracts/inference-vocabulary.ts';

/** The content types the upload route takes (contracts/inference.ts `UploadRequest`). */
export type FrameContentType = UploadRequest['content_type'];

/**
 * The frame's content type from its magic bytes, read as the gateway reads them (a HEIF or AVIF
 * image is no MP4); undefined when it is none the gateway takes.
 */
export function sniffFrameType(bytes: Uint8Array): FrameContentType | undefined {
  const format = sniffFormat(bytes);
  return format === undefined ? undefined : FRAME_CONTENT_TYPES[format];
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
