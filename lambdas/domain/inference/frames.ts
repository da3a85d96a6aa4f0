/**
 * The frames of an inference request (seed 003), checked before any model is called: decoded
 * strictly, typed by their first bytes rather than by what the caller says, measured, and held to
 * Bedrock's limits and each model's own. Every violation is a 400 that names the frame and the limit,
 * so that a caller fixes its request instead of reading a model's error after paying for the call.
 */
import { imageSize } from 'image-size';
import type { RuntimeModel } from '../../../contracts/inference-models.ts';
import { sniffFormat } from '../../../contracts/inference-vocabulary.ts';
import { DomainError, invalidParameters } from '../errors.ts';
import type { BlobStore } from '../ports.ts';
import type { Frame } from './ports.ts';

export type MediaType = 'image' | 'video';
type ImageFormat = Extract<Frame, { kind: 'image' }>['format'];
type Format = ImageFormat | 'mp4';

/**
 * Bedrock's limits on one Converse message, which every model here is held to. Megabytes are
 * decimal: the stricter reading of "3.75 MB", so nothing passes here that Bedrock refuses.
 */
export const FRAME_LIMITS = {
  images: 20,
  imageBytes: 3_750_000,
  imageSidePx: 8000,
  /** A video sent inline must be smaller than this. */
  inlineVideoBytes: 25_000_000,
  /** A video Bedrock reads from S3 (`s3Location`). */
  s3VideoBytes: 1_000_000_000,
} as const;

const IMAGE_SIZE = { rule: 'the limit is 3.75 MB per image', constraint: 'at most 3750000 bytes per image' };

/** Where `s3://` frames are read from: the tenant's own uploads in the platform's bucket. */
export interface FrameSource {
  tenant: string;
  blobs: Pick<BlobStore, 'bucket' | 'size' | 'get'>;
}

/** Where the upload route puts a tenant's files: the only keys a frame may name. */
export const uploadsPrefix = (tenant: string) => `${tenant}/uploads/`;

/**
 * Decodes and checks every frame against Bedrock's limits and the limits of each model given (one
 * model, or every model of a multi-inference request), reading `s3://` frames from the tenant's
 * uploads. Throws the DomainError of the first bad frame in request order.
 */
export async function checkFrames(
  frames: readonly string[],
  mediaType: MediaType,
  models: RuntimeModel | readonly RuntimeModel[],
  source: FrameSource,
): Promise<Frame[]> {
  if (frames.length === 0) return [];
  const list: readonly RuntimeModel[] = isList(models) ? models : [models];
  checkCounts(frames.length, mediaType, list);
  const settled = await Promise.allSettled(
    frames.map((frame, index) => readFrame(frame, index, mediaType, source)),
  );
  const checked = settled.map((result) => {
    if (result.status === 'rejected') throw result.reason;
    return result.value;
  });
  checked.forEach((frame, index) => {
    for (const model of list) checkForModel(frame, index, model);
  });
  return checked;
}

const isList = (models: RuntimeModel | readonly RuntimeModel[]): models is readonly RuntimeModel[] =>
  Array.isArray(models);

/** What can be told from the request alone: how many frames, of which kind, for which models. */
function checkCounts(count: number, mediaType: MediaType, models: readonly RuntimeModel[]): void {
  if (mediaType === 'image' && count > FRAME_LIMITS.images) {
    throw invalidParameters(`frames has ${count} images; the limit is ${FRAME_LIMITS.images} per request`, {
      parameter: 'frames',
      value: count,
      constraint: `at most ${FRAME_LIMITS.images} images`,
    });
  }
  if (mediaType === 'video' && count !== 1) {
    throw invalidParameters(`mediaType "video" takes exactly one MP4 frame; frames has ${count}`, {
      parameter: 'frames',
      value: count,
      constraint: 'exactly 1 video',
    });
  }
  for (const model of models) {
    if (!model.media.includes(mediaType)) {
      throw invalidParameters(
        `model ${model.key} does not take ${mediaType} frames; it takes ${model.media.join(' and ')}`,
        {
          parameter: 'mediaType',
          value: mediaType,
          constraint: `${model.key} takes ${model.media.join(' and ')}`,
          model: model.key,
        },
      );
    }
    if (model.provider === 'sagemaker' && mediaType === 'image' && count > model.imagesPerPrompt) {
      throw invalidParameters(
        `frames has ${count} images; model ${model.key} takes at most ${model.imagesPerPrompt} per prompt`,
        {
          parameter: 'frames',
          value: count,
          constraint: `at most ${model.imagesPerPrompt} images for ${model.key}`,
          model: model.key,
        },
      );
    }
  }
}

/** A frame's own limits that depend on the model: only Bedrock reads a video from S3. */
function checkForModel(frame: Frame, index: number, model: RuntimeModel): void {
  if (frame.kind === 'video' && 's3Uri' in frame && model.provider !== 'bedrock') {
    const limit = megabytes(FRAME_LIMITS.inlineVideoBytes);
    throw invalidParameters(
      `frames[${index}] is a video of ${limit} MB or more in S3; model ${model.key} takes videos under ` +
        `${limit} MB only (Bedrock models read larger ones from S3)`,
      {
        parameter: `frames[${index}]`,
        constraint: `a video under ${limit} MB for ${model.key}`,
        model: model.key,
      },
    );
  }
}

async function readFrame(
  frame: string,
  index: number,
  mediaType: MediaType,
  source: FrameSource,
): Promise<Frame> {
  if (frame.startsWith('s3://')) return readS3Frame(frame, index, mediaType, source);
  return inspect(decodeBase64(frame, index), index, mediaType);
}

/**
 * A frame uploaded first (inputs larger than API Gateway's 10 MB body). Only the tenant's own
 * uploads can be named; anything else is the same 404 as a key that holds nothing, so that the answer
 * tells nothing of other tenants' files.
 */
async function readS3Frame(
  uri: string,
  index: number,
  mediaType: MediaType,
  { tenant, blobs }: FrameSource,
): Promise<Frame> {
  const name = `frames[${index}]`;
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) {
    throw invalidParameters(`${name} is not an s3:// URI of the form s3://bucket/key`, {
      parameter: name,
      value: uri,
      constraint: 's3://bucket/key',
    });
  }
  const bucket = match[1] ?? '';
  const key = match[2] ?? '';
  if (bucket !== blobs.bucket || !isUploadKey(key, tenant)) throw frameNotFound(name, uri);
  const size = await blobs.size(key);
  if (size === undefined) throw frameNotFound(name, uri);
  if (mediaType === 'video' && size >= FRAME_LIMITS.inlineVideoBytes) {
    if (size > FRAME_LIMITS.s3VideoBytes) {
      throw tooLarge(name, size, FRAME_LIMITS.s3VideoBytes, {
        rule: 'the limit is 1 GB for a video in S3',
        constraint: 'at most 1000000000 bytes for a video in S3',
      });
    }
    return { kind: 'video', format: 'mp4', s3Uri: uri };
  }
  // Refused before it is read: a large object is not worth downloading only to refuse it.
  if (mediaType === 'image' && size > FRAME_LIMITS.imageBytes) {
    throw tooLarge(name, size, FRAME_LIMITS.imageBytes, IMAGE_SIZE);
  }
  const bytes = await blobs.get(key);
  if (bytes === undefined) throw frameNotFound(name, uri);
  return inspect(bytes, index, mediaType);
}

/**
 * A key under the tenant's uploads with no empty, `.` nor `..` segment. S3 takes such a key as it is
 * written, but a store on disk (the local S3 emulator) resolves it, so that
 * `<tenant>/uploads/../../<other>/…` would read another tenant's objects.
 */
function isUploadKey(key: string, tenant: string): boolean {
  return (
    key.startsWith(uploadsPrefix(tenant)) &&
    key.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..')
  );
}

const frameNotFound = (name: string, uri: string) =>
  new DomainError('NOT_FOUND', `${name} was not found: ${uri} is not one of your uploads`, {
    parameter: name,
    value: uri,
  });

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const DATA_URL_PREFIX = /^data:[^,;]*;base64,/;

/**
 * Standard base64 (RFC 4648 §4), padded, nothing else: Node's own decoder skips what it does not
 * know, which would turn a damaged frame into a different image instead of an error. A data URL's
 * `data:image/png;base64,` prefix is accepted, as browsers' FileReader writes it.
 */
export function decodeBase64(text: string, index: number): Uint8Array {
  const name = `frames[${index}]`;
  const body = text.replace(DATA_URL_PREFIX, '');
  if (body.length === 0) {
    throw invalidParameters(`${name} is empty`, { parameter: name, constraint: 'a non-empty frame' });
  }
  if (!BASE64.test(body) || body.length % 4 !== 0) {
    throw invalidParameters(`${name} is not valid base64`, {
      parameter: name,
      constraint: 'standard base64: A-Z a-z 0-9 + /, padded with = to a multiple of 4 characters',
      ...base64Problem(body),
    });
  }
  const buffer = Buffer.from(body, 'base64');
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** Where a string stops being base64, for the error's details. */
function base64Problem(body: string): Record<string, unknown> {
  const bad = /[^A-Za-z0-9+/=]|=(?=[^=])/.exec(body);
  if (bad) return { position: bad.index, character: bad[0].slice(0, 1) };
  if (/={3,}$/.test(body)) return { problem: 'more than two padding characters' };
  return { problem: `its length (${body.length}) is not a multiple of 4` };
}

const FORMAT_NAMES: Record<Format, string> = {
  png: 'PNG',
  jpeg: 'JPEG',
  gif: 'GIF',
  webp: 'WebP',
  mp4: 'MP4',
};

/** image-size's name for each image format: a frame whose parser disagrees with its magic is corrupt. */
const SIZE_TYPES: Record<ImageFormat, string> = { png: 'png', jpeg: 'jpg', gif: 'gif', webp: 'webp' };

function inspect(bytes: Uint8Array, index: number, mediaType: MediaType): Frame {
  const name = `frames[${index}]`;
  const format = sniffFormat(bytes);
  if (mediaType === 'video') {
    if (format !== 'mp4') {
      throw invalidParameters(
        format === undefined
          ? `${name} is not an MP4 video (no ftyp box at byte 4)`
          : `${name} is a ${FORMAT_NAMES[format]} image; mediaType "video" takes one MP4 video`,
        { parameter: name, constraint: 'an MP4 video', ...(format ? { value: format } : {}) },
      );
    }
    if (bytes.length >= FRAME_LIMITS.inlineVideoBytes) {
      throw tooLarge(name, bytes.length, FRAME_LIMITS.inlineVideoBytes, {
        rule: 'a video sent inline must be under 25 MB: upload it and send its s3:// URI',
        constraint: 'under 25000000 bytes for a video sent inline',
      });
    }
    return { kind: 'video', format: 'mp4', bytes };
  }
  if (format === undefined || format === 'mp4') {
    throw invalidParameters(
      format === 'mp4'
        ? `${name} is an MP4 video; send it alone with mediaType "video"`
        : `${name} is not a PNG, JPEG, GIF or WebP image`,
      { parameter: name, constraint: 'a PNG, JPEG, GIF or WebP image', ...(format ? { value: format } : {}) },
    );
  }
  if (bytes.length > FRAME_LIMITS.imageBytes) {
    throw tooLarge(name, bytes.length, FRAME_LIMITS.imageBytes, IMAGE_SIZE);
  }
  const size = measure(bytes, format);
  if (size === undefined) {
    throw invalidParameters(
      `${name} is not a readable ${FORMAT_NAMES[format]} image (truncated or corrupt)`,
      {
        parameter: name,
        value: format,
        constraint: `a complete ${FORMAT_NAMES[format]} image`,
      },
    );
  }
  const side = FRAME_LIMITS.imageSidePx;
  if (size.width > side || size.height > side) {
    throw invalidParameters(`${name} is ${size.width}×${size.height} px; the limit is ${side} px a side`, {
      parameter: name,
      value: `${size.width}x${size.height}`,
      constraint: `at most ${side}x${side} px`,
    });
  }
  return { kind: 'image', format, bytes, ...size };
}

function measure(bytes: Uint8Array, format: ImageFormat): { width: number; height: number } | undefined {
  try {
    const { width, height, type } = imageSize(bytes);
    const whole = (value: number) => Number.isInteger(value) && value > 0;
    return type === SIZE_TYPES[format] && whole(width) && whole(height) ? { width, height } : undefined;
  } catch {
    return undefined;
  }
}

/** A frame over a size limit: its size, shown precisely enough to be seen to exceed the limit. */
function tooLarge(
  name: string,
  bytes: number,
  limit: number,
  { rule, constraint }: { rule: string; constraint: string },
): DomainError {
  return invalidParameters(`${name} is ${megabytes(bytes, limit)} MB; ${rule}`, {
    parameter: name,
    value: bytes,
    constraint,
  });
}

/**
 * Megabytes, cut (never rounded up) to as few decimals as show a size above its limit as above it:
 * 3750001 bytes is "3.750001 MB", not "3.8 MB" nor "3.75 MB" against a limit of 3.75 MB.
 */
export function megabytes(bytes: number, limit?: number): string {
  const mb = (digits: number) => Math.floor(bytes / 10 ** (6 - digits)) / 10 ** digits;
  let digits = 1;
  while (limit !== undefined && digits < 6 && bytes > limit && mb(digits) <= limit / 1_000_000) digits++;
  return String(limit === undefined ? mb(2) : mb(digits));
}
