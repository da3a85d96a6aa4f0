/**
 * What synthforge/local-vision sees in one image: its format and size (from the bytes, by sharp),
 * its mean brightness and dominant colours (pixel statistics), the faces in it (face-api) and the
 * text it holds (Tesseract). The two neural models run in lambdas/adapters/vision/bundled-models.ts,
 * which the privacy check shares; everything else is arithmetic on the decoded pixels, so the same
 * bytes always give the same analysis.
 *
 * Transparent pixels are laid on white first, as a viewer shows them; an animated GIF or WebP is
 * read from its first frame.
 */
import { setImmediate } from 'node:timers/promises';
import sharp from 'sharp';
import { sniffFormat } from '../../contracts/inference-vocabulary.ts';
import {
  detectFaces,
  type FaceBox,
  type FaceDetectorKind,
  MAX_IMAGE_PIXELS,
  readText,
} from '../../lambdas/adapters/vision/bundled-models.ts';

export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'webp';

/** What an error says of bytes in no format this model takes (those the hosted VLMs' endpoints take). */
export const NOT_AN_IMAGE = 'is not a PNG, JPEG, GIF or WebP image';

export { MAX_IMAGE_PIXELS };

/** A colour named in an answer takes at least this share of the image's pixels. */
export const MIN_COLOUR_SHARE = 0.1;
/** At most this many colours are named, largest share first. */
export const MAX_COLOURS = 3;
/**
 * The resolution the OCR is told: a raw image has none, and Tesseract warns on stderr and assumes
 * 70 dpi below 70. 72 is the screen convention images without one are read at.
 */
const OCR_DPI = 72;
/** Colours are counted on the image shrunk to fit this square: shares change little, time a lot. */
const COLOUR_SAMPLE_SIDE = 64;

export interface ImageAnalysis {
  format: ImageFormat;
  width: number;
  height: number;
  /** Mean luma (Rec. 601: 0.299 R + 0.587 G + 0.114 B) over every pixel, 0–255, rounded. */
  brightness: number;
  /** Up to MAX_COLOURS named colours with their share of the pixels (0–1, two decimals). */
  colours: { name: ColourName; share: number }[];
  faces: FaceBox[];
  /** The words read, joined by spaces; empty when none. */
  text: string;
  /** Milliseconds spent: decoding and statistics, face detection, OCR (the last two run together). */
  timings: { decodeMs: number; facesMs: number; ocrMs: number };
}

/** A request the image itself makes impossible to answer: the caller's fault (a 400). */
export class ImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageError';
  }
}

/** The format from the file's first bytes (its signature), or undefined for any other file. */
export function detectImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  const format = sniffFormat(bytes);
  return format === 'mp4' ? undefined : format;
}

/** Analyses one image; an ImageError when it is not a readable PNG, JPEG, GIF or WebP. */
export async function analyzeImage(
  bytes: Uint8Array,
  options: { faceDetector?: FaceDetectorKind } = {},
): Promise<ImageAnalysis> {
  const started = performance.now();
  const format = detectImageFormat(bytes);
  if (!format) throw new ImageError(NOT_AN_IMAGE);
  const { rgb, width, height } = await decode(bytes);
  const brightness = meanLuma(rgb);
  const colours = await dominantColours(rgb, width, height);
  const grey = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .greyscale()
    .withDensity(OCR_DPI)
    .png({ compressionLevel: 1 })
    .toBuffer();
  const decodeMs = performance.now() - started;

  const timed = async <T>(work: Promise<T>): Promise<[T, number]> => {
    const from = performance.now();
    const value = await work;
    return [value, performance.now() - from];
  };
  // OCR runs in its worker thread and face detection on this one: the OCR job is handed over first,
  // and this thread lets it go out before the detector holds it.
  const ocr = timed(readText(grey));
  // Awaited below; a failure while this thread waits must not count as unhandled.
  ocr.catch(() => undefined);
  await setImmediate();
  const [[faces, facesMs], [text, ocrMs]] = await Promise.all([
    timed(detectFaces({ rgb, width, height }, options.faceDetector)),
    ocr,
  ]);
  return {
    format,
    width,
    height,
    brightness,
    colours,
    faces,
    text,
    timings: { decodeMs: Math.round(decodeMs), facesMs: Math.round(facesMs), ocrMs: Math.round(ocrMs) },
  };
}

/** The first frame as 8-bit RGB, transparency laid on white. */
async function decode(bytes: Uint8Array): Promise<{ rgb: Uint8Array; width: number; height: number }> {
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: MAX_IMAGE_PIXELS })
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    return {
      rgb: new Uint8Array(data.buffer, data.byteOffset, data.length),
      width: info.width,
      height: info.height,
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/pixel limit/i.test(message)) {
      throw new ImageError(`has more than ${MAX_IMAGE_PIXELS} pixels (4096×4096)`);
    }
    throw new ImageError(`cannot be decoded: ${message}`);
  }
}

function meanLuma(rgb: Uint8Array): number {
  let r = 0;
  let g = 0;
  let b = 0;
  for (let i = 0; i < rgb.length; i += 3) {
    r += rgb[i] as number;
    g += rgb[i + 1] as number;
    b += rgb[i + 2] as number;
  }
  const pixels = rgb.length / 3;
  return Math.round((0.299 * r + 0.587 * g + 0.114 * b) / pixels);
}

/** The palette colours are named from. */
export type ColourName =
  | 'black'
  | 'white'
  | 'gray'
  | 'red'
  | 'orange'
  | 'brown'
  | 'yellow'
  | 'green'
  | 'cyan'
  | 'blue'
  | 'purple'
  | 'pink';

/** The palette in the order that breaks ties between equal shares. */
const PALETTE: readonly ColourName[] = [
  'black',
  'white',
  'gray',
  'red',
  'orange',
  'brown',
  'yellow',
  'green',
  'cyan',
  'blue',
  'purple',
  'pink',
];

/**
 * The palette name of an sRGB colour, by lightness, saturation and hue (HSL): very dark is black,
 * very light and pale is white, unsaturated is gray, and the rest is named by its hue, with dark
 * oranges and reds called brown and light reds and magentas called pink.
 */
export function colourName(r: number, g: number, b: number): ColourName {
  const max = Math.max(r, g, b) / 255;
  const min = Math.min(r, g, b) / 255;
  const lightness = (max + min) / 2;
  const chroma = max - min;
  const saturation = chroma === 0 ? 0 : chroma / (1 - Math.abs(2 * lightness - 1));
  if (lightness < 0.12) return 'black';
  if (lightness > 0.92 || (lightness > 0.8 && saturation < 0.25)) return 'white';
  if (saturation < 0.18 || chroma < 0.08) return lightness < 0.25 ? 'black' : 'gray';
  const hue = hueOf(r / 255, g / 255, b / 255, max, chroma);
  if (hue < 15 || hue >= 345) {
    if (lightness < 0.3) return 'brown';
    return lightness > 0.7 ? 'pink' : 'red';
  }
  if (hue < 45) return lightness < 0.4 ? 'brown' : 'orange';
  if (hue < 70) return lightness < 0.3 ? 'brown' : 'yellow';
  if (hue < 165) return 'green';
  if (hue < 195) return 'cyan';
  if (hue < 260) return 'blue';
  if (hue < 290) return 'purple';
  return 'pink';
}

function hueOf(r: number, g: number, b: number, max: number, chroma: number): number {
  let hue: number;
  if (max === r) hue = ((g - b) / chroma) % 6;
  else if (max === g) hue = (b - r) / chroma + 2;
  else hue = (r - g) / chroma + 4;
  return (hue * 60 + 360) % 360;
}

/** The named colours covering at least MIN_COLOUR_SHARE of a sample of the image; at least one. */
async function dominantColours(
  rgb: Uint8Array,
  width: number,
  height: number,
): Promise<ImageAnalysis['colours']> {
  const sample = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .resize(COLOUR_SAMPLE_SIDE, COLOUR_SAMPLE_SIDE, { fit: 'inside', withoutEnlargement: true })
    .raw()
    .toBuffer();
  const counts = new Map<ColourName, number>();
  for (let i = 0; i < sample.length; i += 3) {
    const name = colourName(sample[i] as number, sample[i + 1] as number, sample[i + 2] as number);
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const pixels = sample.length / 3;
  const ranked = [...counts]
    .map(([name, count]) => ({ name, share: count / pixels }))
    .sort((a, b) => b.share - a.share || PALETTE.indexOf(a.name) - PALETTE.indexOf(b.name));
  const kept = ranked
    .filter((colour, i) => i === 0 || colour.share >= MIN_COLOUR_SHARE)
    .slice(0, MAX_COLOURS);
  return kept.map(({ name, share }) => ({ name, share: Math.round(share * 100) / 100 }));
}
