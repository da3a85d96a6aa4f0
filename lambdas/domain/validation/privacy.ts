/**
 * Seed 001's privacy check of one image (`POST /validate/privacy`): the faces in it, the text in it
 * and the personal data (PII) in that text, each reported as an issue with its place in the image,
 * and a score. Pure domain code: the faces and text come from the detectors behind `ImageDetectors`
 * (Amazon Rekognition in the cloud, the bundled face-api and Tesseract models offline:
 * lambdas/adapters/vision/), and PII from the rules of pii.ts everywhere, joined in the cloud by
 * Amazon Comprehend's findings (`PiiEntityDetector`; the text's issues are privacy-text.ts's).
 *
 * The score is 100 minus a penalty per issue, by its severity, and never below 0:
 *
 * | Issue | Severity | Penalty |
 * |---|---|---|
 * | a face of confidence 0.9 or more | high | 40 |
 * | a face below 0.9 (but at or above `faceConfidence`) | medium | 20 |
 * | PII that identifies or pays: card, IBAN, national id, passport, credentials... | high | 40 |
 * | PII that reaches a person: email, phone, name, address, URL, user name... | medium | 20 |
 * | text with no PII in it (one issue, however many lines) | low | 5 |
 *
 * So an image with nothing in it scores 100, text without PII 95, one clear face 60, and a card
 * number and an email 40. Every point off is an issue in the list: the seed's example answers 95 for
 * an image with no issues, which no listed finding would explain, so a clean image scores 100 here.
 * `passed` is false when more faces were found than `maxFaces` (0) allows, or any PII.
 */
import { imageSize } from 'image-size';
import { type FrameFormat, sniffFormat } from '../../../contracts/inference-vocabulary.ts';
import { DomainError, invalidParameters } from '../errors.ts';
import { megabytes } from '../inference/frames.ts';
import { textIssues } from './privacy-text.ts';

/** A rectangle in the image's pixels, as it is displayed (a JPEG's EXIF orientation applied). */
export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface DetectedFace {
  region: Region;
  /** 0–1. */
  confidence: number;
}

export interface DetectedWord {
  text: string;
  region: Region;
  /** 0–1. */
  confidence: number;
}

export interface DetectedLine {
  /** The line's words, joined by single spaces. */
  text: string;
  region: Region;
  /** 0–1. */
  confidence: number;
  /** The words of the line in order, when the detector boxes them: PII is then placed on its words. */
  words?: DetectedWord[];
}

export type ImageFormat = Exclude<FrameFormat, 'mp4'>;

/** Where the image's bytes are stored: a detector that reads storage itself may read them there. */
export interface StoredObject {
  bucket: string;
  key: string;
}

/** One image, checked and measured, as the detectors receive it. */
export interface ImageInput {
  bytes: Uint8Array;
  format: ImageFormat;
  /** Displayed size in pixels: a JPEG's EXIF orientation is applied, as detectors report boxes. */
  width: number;
  height: number;
  stored?: StoredObject;
}

/** What a detector takes; the check refuses any other image before calling it. */
export interface ImageLimits {
  /** The shortest side, in pixels. */
  minSidePx?: number;
  /** The most bytes, sent with the request. */
  maxBytes?: number;
  /** The most bytes of an image the detector reads from storage itself (`ImageInput.stored`). */
  maxStoredBytes?: number;
  maxPixels?: number;
}

export interface ImageDetectors {
  readonly limits: ImageLimits;
  faces(image: ImageInput): Promise<DetectedFace[]>;
  lines(image: ImageInput): Promise<DetectedLine[]>;
}

/** A finding of a PII service: its own type name, where it is in the text (UTF-16 indexes, end excluded). */
export interface PiiEntity {
  type: string;
  begin: number;
  end: number;
  /** 0–1. */
  score: number;
}

export interface PiiEntityDetector {
  entities(text: string): Promise<PiiEntity[]>;
}

export interface PrivacyDetectors {
  image: ImageDetectors;
  /** A PII service whose findings join the rules' (Comprehend in the cloud); none offline. */
  pii?: PiiEntityDetector;
}

export interface PrivacyThresholds {
  /** Faces below this confidence (0–1) are not counted. */
  faceConfidence: number;
  /** Lines of text below this confidence (0–1) are not read. */
  textConfidence: number;
  /** A PII service's findings below this score (0–1) are dropped; the rules' findings are always kept. */
  piiScore: number;
  /** The most faces an image may hold and pass. */
  maxFaces: number;
}

/**
 * 0.5 for faces is face-api's own default threshold, which the bundled detector applies too; 0.7
 * for lines is the bundled OCR's own line threshold (bundled-models.ts), so that Rekognition's lines
 * are held to the same; 0.5 for a PII service's score keeps what it reports as more likely than not.
 */
export const DEFAULT_PRIVACY_THRESHOLDS: Readonly<PrivacyThresholds> = {
  faceConfidence: 0.5,
  textConfidence: 0.7,
  piiScore: 0.5,
  maxFaces: 0,
};

export interface PrivacyOptions {
  checkFaces: boolean;
  checkText: boolean;
  thresholds?: Partial<PrivacyThresholds>;
  /** Where the bytes are stored, if they are: lets a detector take a larger image from there. */
  stored?: StoredObject;
}

export type Severity = 'low' | 'medium' | 'high';

export type PrivacyIssue =
  | { type: 'face'; severity: Severity; region: Region; confidence: number; message: string }
  | {
      type: 'pii';
      /** pii.ts's type (`email`, `phone`, `card`, `iban`, `national_id`) or Comprehend's, in lower case. */
      pii_type: string;
      severity: Severity;
      region: Region;
      confidence: number;
      /** Names the kind of data, with its value masked. */
      message: string;
    }
  | { type: 'text'; severity: 'low'; region: Region; confidence: number; message: string };

/** The seed's answer, less `image_path`, which the route echoes. */
export interface PrivacyReport {
  /** 0–100, higher is safer: 100 minus each issue's penalty (SEVERITY_PENALTY). */
  privacy_score: number;
  faces_detected: number;
  text_detected: boolean;
  pii_detected: boolean;
  issues: PrivacyIssue[];
  passed: boolean;
}

export const SEVERITY_PENALTY: Readonly<Record<Severity, number>> = { high: 40, medium: 20, low: 5 };

/** A face at or above this confidence is a high-severity issue; below it may be a false detection. */
export const CLEAR_FACE_CONFIDENCE = 0.9;

/**
 * Checks one image: refuses, before any detector runs, bytes that are no PNG, JPEG, GIF or WebP or
 * that the image detectors' limits exclude (a DomainError: 400, or 413 when too large); then finds
 * the faces and text the options ask for, the PII in the text, and scores them.
 */
export async function validatePrivacy(
  bytes: Uint8Array,
  options: PrivacyOptions,
  detectors: PrivacyDetectors,
): Promise<PrivacyReport> {
  const thresholds = checkThresholds({ ...DEFAULT_PRIVACY_THRESHOLDS, ...options.thresholds });
  const image = checkImage(bytes, detectors.image.limits, options.stored);
  // The lines first: the bundled OCR runs in a worker thread and is handed its job before faces run here.
  const [lines, faces] = await Promise.all([
    options.checkText ? detectors.image.lines(image) : [],
    options.checkFaces ? detectors.image.faces(image) : [],
  ]);
  const counted = faces
    .filter(({ confidence }) => confidence >= thresholds.faceConfidence)
    .sort((a, b) => b.confidence - a.confidence || a.region.y - b.region.y || a.region.x - b.region.x);
  const read = lines.filter(
    ({ text, confidence }) => confidence >= thresholds.textConfidence && text.trim() !== '',
  );
  const textual = await textIssues(read, detectors.pii, thresholds.piiScore);
  const pii = textual.filter(({ type }) => type === 'pii');
  const issues: PrivacyIssue[] = [...counted.map(faceIssue), ...textual];
  const penalty = issues.reduce((sum, { severity }) => sum + SEVERITY_PENALTY[severity], 0);
  return {
    privacy_score: Math.max(0, 100 - penalty),
    faces_detected: counted.length,
    text_detected: read.length > 0,
    pii_detected: pii.length > 0,
    issues,
    passed: counted.length <= thresholds.maxFaces && pii.length === 0,
  };
}

function checkThresholds(thresholds: PrivacyThresholds): PrivacyThresholds {
  for (const name of ['faceConfidence', 'textConfidence', 'piiScore'] as const) {
    const value = thresholds[name];
    if (!(value >= 0 && value <= 1)) {
      throw invalidParameters(`thresholds.${name} must be between 0 and 1`, {
        parameter: `thresholds.${name}`,
        value,
        constraint: 'a number from 0 to 1',
      });
    }
  }
  if (!Number.isInteger(thresholds.maxFaces) || thresholds.maxFaces < 0) {
    throw invalidParameters('thresholds.maxFaces must be a whole number of 0 or more', {
      parameter: 'thresholds.maxFaces',
      value: thresholds.maxFaces,
      constraint: 'an integer of 0 or more',
    });
  }
  return thresholds;
}

/** image-size's name for each format: bytes whose parser disagrees with their signature are corrupt. */
const SIZE_TYPES: Readonly<Record<ImageFormat, string>> = {
  png: 'png',
  jpeg: 'jpg',
  gif: 'gif',
  webp: 'webp',
};
const FORMAT_NAMES: Readonly<Record<ImageFormat, string>> = {
  png: 'PNG',
  jpeg: 'JPEG',
  gif: 'GIF',
  webp: 'WebP',
};
const PARAMETER = 'image_path';

/** The image as the detectors receive it, or the DomainError that says why they cannot take it. */
export function checkImage(bytes: Uint8Array, limits: ImageLimits, stored?: StoredObject): ImageInput {
  const format = sniffFormat(bytes);
  if (format === undefined || format === 'mp4') {
    throw invalidParameters('the image is not a PNG, JPEG, GIF or WebP image', {
      parameter: PARAMETER,
      constraint: 'a PNG, JPEG, GIF or WebP image',
      ...(format ? { value: format } : {}),
    });
  }
  const maxBytes = stored === undefined ? limits.maxBytes : (limits.maxStoredBytes ?? limits.maxBytes);
  if (maxBytes !== undefined && bytes.length > maxBytes) {
    const fromStorage =
      stored === undefined && limits.maxStoredBytes !== undefined
        ? `, or ${limits.maxStoredBytes} when it reads the image from the data bucket`
        : '';
    throw new DomainError(
      'PAYLOAD_TOO_LARGE',
      `the image is ${megabytes(bytes.length, maxBytes)} MB (${bytes.length} bytes); the privacy check takes at most ${maxBytes} bytes${fromStorage}`,
      { parameter: PARAMETER, value: bytes.length, constraint: `at most ${maxBytes} bytes` },
    );
  }
  const size = measure(bytes, format);
  if (size === undefined) {
    throw invalidParameters(
      `the image is not a readable ${FORMAT_NAMES[format]} image (truncated or corrupt)`,
      {
        parameter: PARAMETER,
        value: format,
        constraint: `a complete ${FORMAT_NAMES[format]} image`,
      },
    );
  }
  const { width, height } = size;
  if (limits.minSidePx !== undefined && Math.min(width, height) < limits.minSidePx) {
    throw invalidParameters(
      `the image is ${width}×${height} px; the privacy check needs at least ${limits.minSidePx} px a side`,
      {
        parameter: PARAMETER,
        value: `${width}x${height}`,
        constraint: `at least ${limits.minSidePx} px a side`,
      },
    );
  }
  if (limits.maxPixels !== undefined && width * height > limits.maxPixels) {
    throw new DomainError(
      'PAYLOAD_TOO_LARGE',
      `the image is ${width}×${height} px; the privacy check takes at most ${limits.maxPixels} pixels`,
      { parameter: PARAMETER, value: `${width}x${height}`, constraint: `at most ${limits.maxPixels} pixels` },
    );
  }
  return { bytes, format, width, height, ...(stored === undefined ? {} : { stored }) };
}

/** The displayed size: EXIF orientations 5 to 8 turn the image a quarter, swapping its sides. */
function measure(bytes: Uint8Array, format: ImageFormat): { width: number; height: number } | undefined {
  try {
    const { width, height, type, orientation } = imageSize(bytes);
    const whole = (value: number) => Number.isInteger(value) && value > 0;
    if (type !== SIZE_TYPES[format] || !whole(width) || !whole(height)) return undefined;
    return orientation !== undefined && orientation >= 5
      ? { width: height, height: width }
      : { width, height };
  } catch {
    return undefined;
  }
}

function faceIssue({ region, confidence }: DetectedFace): PrivacyIssue {
  return {
    type: 'face',
    severity: confidence >= CLEAR_FACE_CONFIDENCE ? 'high' : 'medium',
    region,
    confidence,
    message: `A face (confidence ${percent(confidence)}), ${region.width}×${region.height} px at (${region.x}, ${region.y})`,
  };
}

const percent = (value: number) => `${Math.round(value * 100)}%`;
