/**
 * The bundled models behind the privacy check's image detectors: face-api's detector and Tesseract
 * (bundled-models.ts, the models the local vision model runs), for the local platform and for any
 * stage that chooses them over Rekognition. No network, no AWS: the same bytes give the same answer.
 *
 * sharp decodes the image once for both detectors: a JPEG is turned by its EXIF orientation first,
 * as Rekognition turns it, so that boxes are in the same displayed pixels whichever detector runs;
 * transparent pixels are laid on white, as a viewer shows them; a GIF or WebP is read from its first
 * frame. The OCR reads a greyscale PNG of the decoded pixels.
 */
import { setImmediate } from 'node:timers/promises';
import sharp from 'sharp';
import { DomainError, invalidParameters } from '../../domain/errors.ts';
import type {
  DetectedFace,
  DetectedLine,
  ImageDetectors,
  ImageInput,
  ImageLimits,
} from '../../domain/validation/privacy.ts';
import {
  detectFaces,
  type FaceDetectorKind,
  MAX_IMAGE_PIXELS,
  type OcrWord,
  readLines,
} from './bundled-models.ts';

/**
 * The resolution the OCR is told: a raw image has none, and Tesseract warns on stderr and assumes
 * 70 dpi below 70. 72 is the screen convention images without one are read at.
 */
const OCR_DPI = 72;

export type BundledStep = 'decode' | 'faces' | 'ocr';

export interface BundledDetectorOptions {
  /** Default `tiny`: TinyFaceDetector. */
  faceDetector?: FaceDetectorKind;
  /** Told how long each step took for each image, in milliseconds (for logs and measurements). */
  observe?: (step: BundledStep, ms: number) => void;
}

interface Decoded {
  rgb: Uint8Array;
  width: number;
  height: number;
  /** The OCR's input. */
  grey: Uint8Array;
}

export class BundledDetectors implements ImageDetectors {
  readonly limits: ImageLimits = { maxPixels: MAX_IMAGE_PIXELS };
  /** Each image decoded once, for whichever detector asks first. */
  private readonly decoded = new WeakMap<ImageInput, Promise<Decoded>>();

  constructor(private readonly options: BundledDetectorOptions = {}) {}

  async faces(image: ImageInput): Promise<DetectedFace[]> {
    const { rgb, width, height } = await this.decode(image);
    // The OCR of the same image, handed to its worker thread in this turn, goes out before the
    // detector holds this thread for its whole run.
    await setImmediate();
    const started = performance.now();
    const boxes = await detectFaces({ rgb, width, height }, this.options.faceDetector);
    this.options.observe?.('faces', performance.now() - started);
    return boxes.map(({ score, ...region }) => ({ region, confidence: score }));
  }

  async lines(image: ImageInput): Promise<DetectedLine[]> {
    const { grey } = await this.decode(image);
    const started = performance.now();
    const lines = await readLines(grey);
    this.options.observe?.('ocr', performance.now() - started);
    // Tesseract's confidences are percentages.
    const word = ({ text, box, confidence }: OcrWord) => ({
      text,
      region: box,
      confidence: confidence / 100,
    });
    return lines.map(({ text, box, confidence, words }) => ({
      text,
      region: box,
      confidence: confidence / 100,
      words: words.map(word),
    }));
  }

  private decode(image: ImageInput): Promise<Decoded> {
    let decoding = this.decoded.get(image);
    if (decoding === undefined) {
      decoding = this.decodeNow(image.bytes);
      this.decoded.set(image, decoding);
    }
    return decoding;
  }

  private async decodeNow(bytes: Uint8Array): Promise<Decoded> {
    const started = performance.now();
    try {
      const { data, info } = await sharp(bytes, { limitInputPixels: MAX_IMAGE_PIXELS, autoOrient: true })
        .flatten({ background: '#ffffff' })
        .toColourspace('srgb')
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      const { width, height } = info;
      const grey = await sharp(data, { raw: { width, height, channels: 3 } })
        .greyscale()
        .withDensity(OCR_DPI)
        .png({ compressionLevel: 1 })
        .toBuffer();
      this.options.observe?.('decode', performance.now() - started);
      return {
        rgb: new Uint8Array(data.buffer, data.byteOffset, data.length),
        width,
        height,
        grey: new Uint8Array(grey.buffer, grey.byteOffset, grey.length),
      };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (/pixel limit/i.test(message)) {
        throw new DomainError('PAYLOAD_TOO_LARGE', `the image has more than ${MAX_IMAGE_PIXELS} pixels`, {
          parameter: 'image_path',
          constraint: `at most ${MAX_IMAGE_PIXELS} pixels`,
        });
      }
      throw invalidParameters(`the image cannot be decoded: ${message}`, {
        parameter: 'image_path',
        constraint: 'a decodable PNG, JPEG, GIF or WebP image',
      });
    }
  }
}
