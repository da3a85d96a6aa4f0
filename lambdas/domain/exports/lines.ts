/**
 * What both exports say about an image: read once, typed by its first bytes (not by its name),
 * measured from its header, hashed; then written as one JSON line of the JSONL export and of the S3
 * export's metadata.jsonl:
 *
 *   {"image_uri", "file_name", "size_bytes", "width", "height", "content_type", "sha256",
 *    "metadata"?: {"job_id"?, "batch_id"?, "generator"?, "parameters"?},
 *    "annotations"?: {"annotations": [COCO annotations], "categories": [the categories they use]} | null}
 *
 * `sha256` is hex; `annotations` is null for an image without any (an image job's, an upload), and
 * an empty list for a frame that shows no object.
 */
import { createHash } from 'node:crypto';
import { imageSize } from 'image-size';
import {
  FRAME_CONTENT_TYPES,
  type FrameFormat,
  sniffFormat,
} from '../../../contracts/inference-vocabulary.ts';
import type { DatasetImage } from '../datasets/sources.ts';

/** An image read for an export. */
export interface ExportedImage {
  image: DatasetImage;
  bytes: Uint8Array;
  /** By the bytes' signature. */
  contentType: string;
  width: number;
  height: number;
  /** Hex. */
  sha256: string;
  /** The same digest in base64, as S3's `x-amz-checksum-sha256` takes it. */
  sha256Base64: string;
}

/** An image whose bytes are no PNG, JPEG, GIF or WebP, or whose header cannot be read. */
export class UnreadableImageError extends Error {
  override readonly name = 'UnreadableImageError';
}

/** image-size's name of each format: a header its parser reads as another format is corrupt. */
const SIZE_TYPES: Readonly<Record<Exclude<FrameFormat, 'mp4'>, string>> = {
  png: 'png',
  jpeg: 'jpg',
  gif: 'gif',
  webp: 'webp',
};

/** Reads, types, measures and hashes an image; throws UnreadableImageError for what is no image. */
export async function readForExport(image: DatasetImage): Promise<ExportedImage> {
  const bytes = await image.bytes();
  return { image, bytes, ...inspect(bytes, image.name) };
}

/** The type, size and digests of an image's bytes. */
export function inspect(bytes: Uint8Array, name: string): Omit<ExportedImage, 'image' | 'bytes'> {
  const format = sniffFormat(bytes);
  if (format === undefined || format === 'mp4') {
    throw new UnreadableImageError(`${name} is not a PNG, JPEG, GIF or WebP image`);
  }
  let size: { width: number; height: number; type?: string | undefined };
  try {
    size = imageSize(bytes);
  } catch (error) {
    throw new UnreadableImageError(`${name}: its header cannot be read (${(error as Error).message})`);
  }
  const whole = (value: number) => Number.isInteger(value) && value > 0;
  if (size.type !== SIZE_TYPES[format] || !whole(size.width) || !whole(size.height)) {
    throw new UnreadableImageError(`${name}: its ${format.toUpperCase()} header cannot be read`);
  }
  const digest = createHash('sha256').update(bytes).digest();
  return {
    contentType: FRAME_CONTENT_TYPES[format],
    width: size.width,
    height: size.height,
    sha256: digest.toString('hex'),
    sha256Base64: digest.toString('base64'),
  };
}

export interface LineOptions {
  includeMetadata: boolean;
  includeAnnotations: boolean;
  /** Where the image is for the reader of the line; default its dataset URI. */
  imageUri?: string;
  /** Where it was copied from, when `imageUri` is a copy (the S3 export's metadata.jsonl). */
  sourceUri?: string;
}

/** The image's JSON line, without its line break. */
export function jsonlLine(exported: ExportedImage, options: LineOptions): string {
  const { image } = exported;
  const line: Record<string, unknown> = {
    image_uri: options.imageUri ?? image.uri,
    ...(options.sourceUri === undefined ? {} : { source_uri: options.sourceUri }),
    file_name: image.name,
    size_bytes: exported.bytes.byteLength,
    width: exported.width,
    height: exported.height,
    content_type: exported.contentType,
    sha256: exported.sha256,
  };
  if (options.includeMetadata) {
    line.metadata = {
      ...(image.jobId === undefined ? {} : { job_id: image.jobId }),
      ...(image.batchId === undefined ? {} : { batch_id: image.batchId }),
      ...(image.generator === undefined ? {} : { generator: image.generator }),
      ...(image.parameters === undefined ? {} : { parameters: image.parameters }),
    };
  }
  if (options.includeAnnotations) line.annotations = image.annotations ?? null;
  // JSON.stringify escapes line breaks inside strings, so one image is always one line.
  return JSON.stringify(line);
}

/**
 * Runs `action` over `items` with at most `concurrency` in flight and yields the results in the
 * items' order, pulling the next item only when a slot is free (a dataset's images are read as they
 * are needed, not all at once). Stopping early waits for the actions in flight, so that none runs on
 * after the caller has moved on.
 */
export async function* mapInOrder<T, R>(
  items: AsyncIterable<T>,
  concurrency: number,
  action: (item: T, index: number) => Promise<R>,
): AsyncGenerator<R> {
  const iterator = items[Symbol.asyncIterator]();
  const running: Promise<R>[] = [];
  let exhausted = false;
  let index = 0;
  try {
    for (;;) {
      while (!exhausted && running.length < concurrency) {
        const next = await iterator.next();
        if (next.done) {
          exhausted = true;
          break;
        }
        const task = action(next.value, index++);
        // Awaited in order below; until then a rejection must not count as unhandled.
        task.catch(() => undefined);
        running.push(task);
      }
      const head = running.shift();
      if (head === undefined) return;
      yield await head;
    }
  } finally {
    await Promise.allSettled(running);
    if (!exhausted) await iterator.return?.();
  }
}
