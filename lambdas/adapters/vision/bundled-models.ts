/**
 * The two bundled neural models: the local stand-in for the hosted VLMs
 * (containers/local-vision) and the privacy check's offline detectors (bundled-detectors.ts) both
 * run these, so that what one finds the other finds too. Both ship inside npm packages with their
 * weights, so nothing is downloaded at run time:
 *
 * - Faces: @vladmandic/face-api (MIT), its TinyFaceDetector (a 190 kB Tiny-YOLOv2 variant) or, on
 *   request, SSD MobileNet v1 (5.4 MB, slower and finds more small or turned faces), on TensorFlow.js
 *   with the WebAssembly backend (`face-api.node-wasm.js`, which needs no native TensorFlow). Weights
 *   come from the package's own `model/` folder.
 * - Text: tesseract.js (Apache-2.0), Tesseract 5's LSTM engine compiled to WebAssembly, in one worker
 *   thread kept for the process, with the English data of @tesseract.js-data/eng read from its
 *   folder (`langPath`); the worker neither fetches nor caches data (`cacheMethod: 'none'`).
 *
 * Each is loaded once per process, on first use (or by `loadVisionModels`, which the local-vision server
 * calls at start so that `/ping` turns 200 when they are ready), and reused by every request. Both run on the
 * CPU and give the same output for the same pixels: there is no sampling anywhere.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type Tesseract from 'tesseract.js';

type FaceApi = typeof import('@vladmandic/face-api/dist/face-api.node-wasm.js');
/** face-api's declarations of `tf` cover the ops it uses; at run time it is @tensorflow/tfjs itself. */
type Tfjs = typeof import('@tensorflow/tfjs');

const require = createRequire(import.meta.url);

/** Which face detector runs: `tiny` (default, fast) or `ssd` (SSD MobileNet v1, more thorough). */
export type FaceDetectorKind = 'tiny' | 'ssd';
export const FACE_DETECTORS: readonly FaceDetectorKind[] = ['tiny', 'ssd'];

/**
 * The most pixels an image may have, wherever these models or the dataset routes read one: Qwen2-VL's
 * own limit on what it reads of an image is 12.8 MP (`max_pixels`), and 16.7 MP (4096×4096) keeps
 * decoding and OCR within a few seconds on a CPU.
 */
export const MAX_IMAGE_PIXELS = 4096 * 4096;

/**
 * Detections below this score are dropped. 0.5 is face-api's own default for both detectors; on the
 * package's sample photos it keeps every face a person sees and finds none in rendered text.
 */
export const MIN_FACE_SCORE = 0.5;
/** The side TinyFaceDetector scales an image to (a multiple of 32); face-api's default. */
const TINY_INPUT_SIZE = 416;

/**
 * OCR keeps a word with this confidence (0–100) and a letter or digit in it, on a line with at least
 * MIN_LINE_CONFIDENCE where one such word has two letters or digits or more. On the package's sample
 * photos, Tesseract "reads" lines of stray marks (`|`, `\`, a lone `4`) at up to 96: these rules keep
 * none of them, and keep every word of rendered text.
 */
export const MIN_WORD_CONFIDENCE = 80;
export const MIN_LINE_CONFIDENCE = 70;

/** A face, in the image's pixels. */
export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
  /** The detector's score, 0–1, to two decimals. */
  score: number;
}

/** One decoded image, as the models read it: 8-bit RGB, row by row. */
export interface RgbImage {
  width: number;
  height: number;
  rgb: Uint8Array;
}

/** How long each model took to load, in milliseconds. */
export interface LoadTimings {
  facesMs: number;
  ocrMs: number;
}

let faceApi: Promise<{ api: FaceApi; ms: number }> | undefined;
const faceNets = new Map<FaceDetectorKind, Promise<number>>();
let ocrWorker: Promise<{ worker: Tesseract.Worker; ms: number }> | undefined;

/** The face-api module on the WebAssembly backend; its own wasm files are read from disk. */
function loadFaceApi(): Promise<{ api: FaceApi; ms: number }> {
  faceApi ??= (async () => {
    const started = performance.now();
    const api = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
    const tf = api.tf as unknown as Tfjs;
    await tf.setBackend('wasm');
    await tf.ready();
    return { api, ms: performance.now() - started };
  })();
  return faceApi;
}

/** The detector's weights, read from the package's `model/` folder; resolves to the load time. */
function loadFaceNet(kind: FaceDetectorKind): Promise<number> {
  let loading = faceNets.get(kind);
  if (!loading) {
    loading = (async () => {
      const { api, ms } = await loadFaceApi();
      const started = performance.now();
      const folder = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
      const net = kind === 'ssd' ? api.nets.ssdMobilenetv1 : api.nets.tinyFaceDetector;
      await net.loadFromDisk(folder);
      return ms + performance.now() - started;
    })();
    faceNets.set(kind, loading);
  }
  return loading;
}

/** The one Tesseract worker of the process, English loaded from the package's folder. */
function loadOcr(): Promise<{ worker: Tesseract.Worker; ms: number }> {
  ocrWorker ??= (async () => {
    const started = performance.now();
    // Required when the OCR first starts, as face-api is: tesseract.js reads __dirname as it loads,
    // which an ESM bundle does not have, and a function that never reads text (Rekognition's) must
    // not fail importing it. Where the bundled models run, the package is installed beside the bundle.
    const tesseract = require('tesseract.js') as typeof Tesseract;
    const { langPath, gzip } = require('@tesseract.js-data/eng') as { langPath: string; gzip: boolean };
    const worker = await tesseract.createWorker('eng', tesseract.OEM.LSTM_ONLY, {
      langPath,
      gzip,
      cacheMethod: 'none',
    });
    // Tesseract prints its diagnostics ("Line cannot be recognized!!") on the process's stderr.
    await worker.setParameters({ debug_file: '/dev/null' });
    return { worker, ms: performance.now() - started };
  })();
  return ocrWorker;
}

/** Loads both models (once per process) and says how long each took the first time. */
export async function loadVisionModels(faceDetector: FaceDetectorKind = 'tiny'): Promise<LoadTimings> {
  const [facesMs, ocr] = await Promise.all([loadFaceNet(faceDetector), loadOcr()]);
  return { facesMs: Math.round(facesMs), ocrMs: Math.round(ocr.ms) };
}

/**
 * Ends the Tesseract worker thread, so that the process can exit; the next use starts a new one. The
 * face nets stay loaded: they hold no thread.
 */
export async function closeVisionModels(): Promise<void> {
  const loading = ocrWorker;
  ocrWorker = undefined;
  if (!loading) return;
  const { worker } = await loading;
  await worker.terminate();
}

/** The faces in an image, best score first (ties: top to bottom, then left to right). */
export async function detectFaces(image: RgbImage, kind: FaceDetectorKind = 'tiny'): Promise<FaceBox[]> {
  await loadFaceNet(kind);
  const { api } = await loadFaceApi();
  const options =
    kind === 'ssd'
      ? new api.SsdMobilenetv1Options({ minConfidence: MIN_FACE_SCORE })
      : new api.TinyFaceDetectorOptions({ inputSize: TINY_INPUT_SIZE, scoreThreshold: MIN_FACE_SCORE });
  const tensor = api.tf.tensor3d(image.rgb, [image.height, image.width, 3], 'int32');
  try {
    const detections = await api.detectAllFaces(tensor, options);
    return detections
      .map(({ score, box }) => {
        const x = clamp(Math.round(box.x), 0, image.width);
        const y = clamp(Math.round(box.y), 0, image.height);
        return {
          x,
          y,
          width: clamp(Math.round(box.x + box.width), 0, image.width) - x,
          height: clamp(Math.round(box.y + box.height), 0, image.height) - y,
          score: Math.round(score * 100) / 100,
        };
      })
      .sort((a, b) => b.score - a.score || a.y - b.y || a.x - b.x);
  } finally {
    tensor.dispose();
  }
}

/** A box in the image's pixels: its top-left corner, width and height. */
export interface PixelBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A word Tesseract kept (the thresholds above), with its confidence (0–100). */
export interface OcrWord {
  text: string;
  box: PixelBox;
  confidence: number;
}

/** A line of kept words: their text joined by single spaces, and the box that holds them all. */
export interface OcrLine {
  text: string;
  box: PixelBox;
  /** Tesseract's confidence in the whole line, 0–100. */
  confidence: number;
  words: OcrWord[];
}

/**
 * The lines Tesseract reads in an encoded image (PNG), in reading order, each with the words it is
 * sure of (the thresholds above) and their boxes in the image's pixels; empty when it reads nothing
 * it is sure of. A line's box holds its kept words only, not the stray marks Tesseract put on it.
 */
export async function readLines(png: Uint8Array): Promise<OcrLine[]> {
  const { worker } = await loadOcr();
  const { data } = await worker.recognize(Buffer.from(png), {}, { text: false, blocks: true });
  const lines: OcrLine[] = [];
  for (const block of data.blocks ?? []) {
    for (const paragraph of block.paragraphs) {
      for (const line of paragraph.lines) {
        if (line.confidence < MIN_LINE_CONFIDENCE) continue;
        const kept = line.words
          .map((word) => ({ text: word.text.trim(), box: boxOf(word.bbox), confidence: word.confidence }))
          .filter(({ text, confidence }) => confidence >= MIN_WORD_CONFIDENCE && alphanumerics(text) >= 1);
        if (!kept.some(({ text }) => alphanumerics(text) >= 2)) continue;
        lines.push({
          text: kept.map(({ text }) => text).join(' '),
          box: unionOf(kept.map(({ box }) => box)),
          confidence: line.confidence,
          words: kept,
        });
      }
    }
  }
  return lines;
}

/**
 * The words Tesseract reads in an encoded image (PNG), in reading order, joined by single spaces;
 * empty when it reads nothing it is sure of (the thresholds above).
 */
export async function readText(png: Uint8Array): Promise<string> {
  return (await readLines(png)).map(({ text }) => text).join(' ');
}

function boxOf({ x0, y0, x1, y1 }: Tesseract.Bbox): PixelBox {
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

function unionOf(boxes: PixelBox[]): PixelBox {
  const left = Math.min(...boxes.map(({ x }) => x));
  const top = Math.min(...boxes.map(({ y }) => y));
  const right = Math.max(...boxes.map(({ x, width }) => x + width));
  const bottom = Math.max(...boxes.map(({ y, height }) => y + height));
  return { x: left, y: top, width: right - left, height: bottom - top };
}

function alphanumerics(text: string): number {
  return text.match(/[\p{L}\p{N}]/gu)?.length ?? 0;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
