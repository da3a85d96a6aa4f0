/**
 * Amazon Rekognition behind the privacy check's image detectors: DetectFaces (Attributes DEFAULT:
 * the boxes and confidences are all the check reads) and DetectText. Rekognition gives boxes as
 * ratios of the image's size, measured after it has turned a JPEG by its EXIF orientation; they are
 * turned into pixels of that displayed image, whose size the domain read from the header.
 *
 * Rekognition takes PNG and JPEG only, of at least 80 px a side, as bytes of up to 5 MB in the
 * request or as an S3 object of up to 15 MB (docs.aws.amazon.com/rekognition/latest/dg/limits.html).
 * An image over 5 MB is therefore read by Rekognition from the data bucket (`S3Object`), which the
 * function's role must let it read; one over 5 MB that is stored nowhere is refused before any call.
 * A GIF or WebP is sent as a PNG of its first frame, in the request, so it must fit in 5 MB as a PNG.
 * DetectText reads at most 100 words of an image: text beyond them goes unread.
 */
import {
  type BoundingBox,
  DetectFacesCommand,
  DetectTextCommand,
  type Image,
  RekognitionClient,
  type TextDetection,
} from '@aws-sdk/client-rekognition';
import sharp from 'sharp';
import { DomainError, invalidParameters, unavailable, withoutAwsIdentifiers } from '../../domain/errors.ts';
import type {
  DetectedFace,
  DetectedLine,
  DetectedWord,
  ImageDetectors,
  ImageInput,
  ImageLimits,
  Region,
} from '../../domain/validation/privacy.ts';
import { type AwsClientOptions, clientSettings } from '../clients.ts';

/**
 * Rekognition's own limits. The request's 5 MB is the API's 5242880 bytes (the `Bytes` field's
 * maximum); "15 MB" for S3 objects is read as 15,000,000 bytes, the stricter reading, so that
 * nothing passes here that Rekognition refuses.
 */
export const REKOGNITION_LIMITS: Readonly<Required<Omit<ImageLimits, 'maxPixels'>>> = {
  minSidePx: 80,
  maxBytes: 5 * 1024 * 1024,
  maxStoredBytes: 15_000_000,
};

/** Rekognition's client, made once per set of clients: `clients.own(createRekognition)`. */
export function createRekognition(options: AwsClientOptions): RekognitionClient {
  return new RekognitionClient(clientSettings(options, undefined));
}

export class RekognitionDetectors implements ImageDetectors {
  readonly limits: ImageLimits = REKOGNITION_LIMITS;
  /** The PNG a GIF or WebP is sent as, made once for both calls on the same image. */
  private readonly transcoded = new WeakMap<ImageInput, Promise<Uint8Array>>();

  constructor(private readonly client: RekognitionClient) {}

  async faces(image: ImageInput): Promise<DetectedFace[]> {
    const input = { Image: await this.imageOf(image), Attributes: ['DEFAULT' as const] };
    const output = await called(() => this.client.send(new DetectFacesCommand(input)));
    return (output.FaceDetails ?? []).flatMap(({ BoundingBox: box, Confidence }) =>
      box === undefined ? [] : [{ region: pixels(box, image), confidence: ratio(Confidence) }],
    );
  }

  async lines(image: ImageInput): Promise<DetectedLine[]> {
    const input = { Image: await this.imageOf(image) };
    const output = await called(() => this.client.send(new DetectTextCommand(input)));
    const detections = output.TextDetections ?? [];
    const wordsOf = new Map<number, DetectedWord[]>();
    for (const detection of detections) {
      const box = detection.Geometry?.BoundingBox;
      if (detection.Type !== 'WORD' || detection.ParentId === undefined || box === undefined) continue;
      const words = wordsOf.get(detection.ParentId) ?? [];
      words.push({
        text: detection.DetectedText ?? '',
        region: pixels(box, image),
        confidence: ratio(detection.Confidence),
      });
      wordsOf.set(detection.ParentId, words);
    }
    return detections.filter(isLine).map((line) => {
      const words = line.Id === undefined ? undefined : wordsOf.get(line.Id);
      return {
        text: line.DetectedText ?? '',
        region: pixels(line.Geometry?.BoundingBox ?? {}, image),
        confidence: ratio(line.Confidence),
        ...(words === undefined ? {} : { words }),
      };
    });
  }

  /** The image as Rekognition takes it: its bytes, its S3 object, or a PNG of its first frame. */
  private async imageOf(image: ImageInput): Promise<Image> {
    if (image.format === 'png' || image.format === 'jpeg') {
      if (image.bytes.length <= REKOGNITION_LIMITS.maxBytes) return { Bytes: image.bytes };
      if (image.stored) return { S3Object: { Bucket: image.stored.bucket, Name: image.stored.key } };
      throw tooLarge(image.bytes.length);
    }
    let png = this.transcoded.get(image);
    if (png === undefined) {
      png = toPng(image.bytes);
      this.transcoded.set(image, png);
    }
    const bytes = await png;
    if (bytes.length > REKOGNITION_LIMITS.maxBytes) throw tooLarge(bytes.length, image.format);
    return { Bytes: bytes };
  }
}

async function called<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toDomainError(error);
  }
}

const isLine = (detection: TextDetection) => detection.Type === 'LINE';

/** Rekognition's confidences are percentages. */
const ratio = (confidence: number | undefined) => (confidence ?? 0) / 100;

/**
 * A box of ratios in pixels of the displayed image, cut to the image: a face at the edge of the
 * picture gets a box that reaches past it (a negative Left, or Left + Width over 1).
 */
export function pixels(box: BoundingBox, size: { width: number; height: number }): Region {
  const clamp = (value: number, max: number) => Math.min(max, Math.max(0, Math.round(value)));
  const left = clamp((box.Left ?? 0) * size.width, size.width);
  const top = clamp((box.Top ?? 0) * size.height, size.height);
  const right = clamp(((box.Left ?? 0) + (box.Width ?? 0)) * size.width, size.width);
  const bottom = clamp(((box.Top ?? 0) + (box.Height ?? 0)) * size.height, size.height);
  return { x: left, y: top, width: right - left, height: bottom - top };
}

async function toPng(bytes: Uint8Array): Promise<Uint8Array> {
  const png = await sharp(bytes).png().toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.length);
}

function tooLarge(bytes: number, format?: string): DomainError {
  const what = format === undefined ? 'the image' : `the ${format.toUpperCase()} image, as a PNG,`;
  return new DomainError(
    'PAYLOAD_TOO_LARGE',
    `${what} is ${bytes} bytes; Rekognition takes at most ${REKOGNITION_LIMITS.maxBytes} bytes in a request, and more only from the data bucket`,
    { parameter: 'image_path', value: bytes, constraint: `at most ${REKOGNITION_LIMITS.maxBytes} bytes` },
  );
}

/** Rekognition's throttles and outages as 503s the caller may retry. */
const RETRYABLE = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'InternalServerError',
  'ServiceUnavailableException',
]);

/**
 * Rekognition's errors as the API answers them: an image it cannot read is the caller's (400, 413),
 * a throttle or outage a 503 to retry. Others (access denied, an S3 object it may not read) are the
 * deployment's fault and stay errors (500).
 */
function toDomainError(error: unknown): unknown {
  const name = error instanceof Error ? error.name : '';
  const message = withoutAwsIdentifiers(error instanceof Error ? error.message : String(error));
  if (name === 'InvalidImageFormatException') {
    return invalidParameters(`Rekognition cannot read the image: ${message}`, {
      parameter: 'image_path',
      constraint: 'a PNG or JPEG image Rekognition can decode',
    });
  }
  if (name === 'ImageTooLargeException') {
    return new DomainError('PAYLOAD_TOO_LARGE', `Rekognition refused the image as too large: ${message}`, {
      parameter: 'image_path',
    });
  }
  if (RETRYABLE.has(name))
    return unavailable(`Rekognition is unavailable: ${message}`, { service: 'rekognition' }, 1);
  return error;
}
