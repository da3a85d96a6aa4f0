/**
 * B14, seed 001's dataset routes (issue 15), each next to a plain reference in the same run:
 * - Quality metrics: `qualityMetrics` against the straightforward loops of
 *   bench/lib/quality-reference.ts over the same decoded pixels (which must give the same five
 *   numbers, or the row is an ERROR), in ms per megapixel, interleaved ABAB.
 * - Privacy validation offline: `validatePrivacy` over `BundledDetectors` on images made here (two
 *   lines of text with an e-mail and a card number; face-api's sample photo; the photo with a
 *   caption), in ms per image, with where the time goes (decode, faces, OCR, from the detectors'
 *   `observe`; the PII rules timed apart on the lines read), and the models' load time in a row of
 *   its own. No reference: the models are the work, and there is no other offline detector.
 * - Exports over N noise PNGs of about 100 KB in the S3 emulator (s3rver, in this process, as the
 *   local platform runs it): `exportJsonl` in lines/s against a plain read of the same objects
 *   (list, GetObject at the same concurrency); `exportToS3` with the S3 destination into a second
 *   bucket against a plain copy with the SDK (list, GetObject + PutObject at the same concurrency,
 *   no hashing, no manifest, no retry), target ≥ 0.8 of its images/s.
 * - The rate limiter: `POST /api/v1/validate/quality` (the validation group) through the API
 *   handler in process, over the platform's runtime on dynalite, with the DynamoDB counter against
 *   the same route with no limit, interleaved; an in-memory counter alone says how much of the
 *   difference is DynamoDB's. Tenants take turns so that no window's limit is reached.
 *
 * Absolute times are informational; only ratios are held to targets, never by a test.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import sharp from 'sharp';
import { type AwsClients, awsClientsFor } from '../lambdas/adapters/clients.ts';
import { createS3ExportDestination, exportS3Client } from '../lambdas/adapters/s3/export-destination.ts';
import { BundledDetectors, type BundledStep } from '../lambdas/adapters/vision/bundled-detectors.ts';
import { closeVisionModels, loadVisionModels } from '../lambdas/adapters/vision/bundled-models.ts';
import { SharpPixelDecoder } from '../lambdas/adapters/vision/sharp-decoder.ts';
import type { DatasetSourceDeps } from '../lambdas/domain/datasets/sources.ts';
import { exportJsonl } from '../lambdas/domain/exports/jsonl.ts';
import { exportToS3 } from '../lambdas/domain/exports/s3-export.ts';
import type { BlobStore } from '../lambdas/domain/ports.ts';
import {
  DEFAULT_RATE_LIMITS,
  MAX_REQUESTS_PER_MINUTE,
  type RateLimitCounter,
  TenantRateLimiter,
} from '../lambdas/domain/rate-limits.ts';
import {
  DEFAULT_PRIVACY_THRESHOLDS,
  type DetectedLine,
  type ImageDetectors,
  type PrivacyReport,
  validatePrivacy,
} from '../lambdas/domain/validation/privacy.ts';
import { textIssues } from '../lambdas/domain/validation/privacy-text.ts';
import { type Pixels, type QualityMetrics, qualityMetrics } from '../lambdas/domain/validation/quality.ts';
import { createDatasetsRuntime } from '../lambdas/families/datasets/runtime.ts';
import { validationRoutes } from '../lambdas/handlers/api/validation.ts';
import { type ApiHandler, createApiHandler, type RouteBinding } from '../lambdas/http/api-handler.ts';
import { type RunningEmulators, startEmulators } from '../lambdas/local/storage/emulators.ts';
import { type CoreConfig, type CoreRuntime, compose, createCoreRuntime } from '../lambdas/runtime/core.ts';
import { plainQualityMetrics } from './lib/quality-reference.ts';
import { errorRow, fmt, type Row, row } from './lib/rows.ts';
import { bootstrapMedianCi, median, pairedRatios } from './lib/stats.ts';

export interface B14Options {
  /** Measured rounds of each interleaved pair (quality, exports, limiter), after a discarded one. */
  rounds: number;
  /**
   * Also measure the quality metrics on a 2048 × 2048 image (at 4096 × 4096, the largest the routes
   * decode, the reference's arrays of numbers take 2.4 GB and 6 to 11 s a round).
   */
  largeQuality: boolean;
  /** Measured privacy checks of each image, after a discarded one. */
  privacyRounds: number;
  /** Images of the exported dataset. */
  exportImages: number;
  /** Requests of each limiter variant in each round. */
  limiterRequests: number;
  log: (line: string) => void;
}

/** The issue's target: the S3 export copies at least 0.8 of a plain SDK copy's images per second. */
const S3_EXPORT_TARGET = 0.8;
/** The exports' own default. */
const EXPORT_CONCURRENCY = 8;
/** Closed-loop workers of the limiter's throughput rows. */
const LIMITER_CONCURRENCY = 8;
/** Tenants the limiter's requests take turns over: 16 × 10 000 a minute is never reached. */
const LIMITER_TENANTS = 16;
const TENANT = 'bench';
const EXPORT_BUCKET = 'b14-exports';
const DATASET_DIR = 'b14/dataset/';

const require = createRequire(import.meta.url);
const FACE_PHOTO = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo', 'sample1.jpg');

export async function benchDatasets(options: B14Options): Promise<Row[]> {
  const load = `1-min load average ${loadavg()[0]!.toFixed(1)} at the start (${availableParallelism()} CPUs)`;
  options.log(`B14: ${load}`);
  const rows: Row[] = [];
  const attempt = async (label: string, measure: () => Promise<Row[]>) => {
    try {
      rows.push(...(await measure()));
    } catch (error) {
      options.log(`B14: ${label} failed: ${(error as Error).stack ?? error}`);
      rows.push(errorRow('B14', label, error));
    }
  };
  await attempt('quality metrics', () => qualityRows(options));
  await attempt('privacy validation', () => privacyRows(options));

  let emulators: RunningEmulators | undefined;
  let clients: AwsClients | undefined;
  try {
    emulators = await startEmulators();
    clients = awsClientsFor(emulators);
    // The core of the platform's runtime over the emulators: its data bucket, its rate limiter.
    const core = createCoreRuntime(coreConfig(emulators), { clients, events: noEvents });
    const running = emulators;
    await attempt('exports', () => exportRows(options, running, core));
    await attempt('rate limiter', () => limiterRows(options, running, core));
  } catch (error) {
    options.log(`B14: the emulators did not start: ${(error as Error).stack ?? error}`);
    rows.push(errorRow('B14', 'exports and rate limiter (emulators)', error));
  } finally {
    clients?.destroy();
    await emulators?.stop();
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Quality metrics

async function qualityRows(options: B14Options): Promise<Row[]> {
  const decoder = new SharpPixelDecoder();
  const photo = await readFile(FACE_PHOTO);
  const images: { label: string; pixels: Pixels }[] = [
    { label: "face-api's sample1.jpg", pixels: await decoder.decode(photo) },
  ];
  if (options.largeQuality) {
    const large = await sharp(photo)
      .resize(2048, 2048, { fit: 'cover' })
      .png({ compressionLevel: 1 })
      .toBuffer();
    images.push({ label: 'sample1.jpg resized to 2048 × 2048', pixels: await decoder.decode(large) });
  }
  return images.map(({ label, pixels }) => qualityRow(label, pixels, options));
}

function qualityRow(label: string, pixels: Pixels, options: B14Options): Row {
  const megapixels = (pixels.width * pixels.height) / 1e6;
  const expected = plainQualityMetrics(pixels);
  const actual = qualityMetrics(pixels);
  const differs = (Object.keys(expected) as (keyof QualityMetrics)[]).filter(
    (name) => Math.abs(actual[name] - expected[name]) > 1e-9 * Math.max(1, Math.abs(expected[name])),
  );
  if (differs.length > 0) {
    throw new Error(
      `qualityMetrics and the plain loops disagree on ${differs.map((name) => `${name} (${actual[name]} vs ${expected[name]})`).join(', ')}`,
    );
  }
  const project: number[] = [];
  const reference: number[] = [];
  for (let round = 0; round <= options.rounds; round++) {
    const [p, r] = alternate(
      round,
      () => timedMs(() => qualityMetrics(pixels)),
      () => timedMs(() => plainQualityMetrics(pixels)),
    );
    // Round 0 warms the JIT: discarded.
    if (round > 0) {
      project.push(p / megapixels);
      reference.push(r / megapixels);
    }
  }
  const ratios = pairedRatios(project, reference);
  options.log(`B14: quality ${label}: ${fmt(median(project))} vs ${fmt(median(reference))} ms/MP`);
  return row({
    bench: 'B14',
    metric: `quality metrics per megapixel (${label}, ${pixels.width} × ${pixels.height})`,
    unit: 'ms/MP',
    reference: median(reference),
    project: median(project),
    ratio: median(ratios),
    ratioCi: bootstrapMedianCi(ratios),
    note:
      `n=${project.length} rounds ABAB; ${fmt(1000 / median(project))} MP/s vs ${fmt(1000 / median(reference))} MP/s; ` +
      'reference = plain loops over rows of number arrays, two-pass means and variances, the kernels as 3 × 3 loops (the same five numbers)',
  });
}

/** Runs both, `a` first in even rounds and `b` first in odd ones, so neither always runs second; answers [a's, b's]. */
function alternate<T>(round: number, a: () => T, b: () => T): [T, T] {
  if (round % 2 === 0) {
    const first = a();
    return [first, b()];
  }
  const first = b();
  return [a(), first];
}

/** `alternate` for work that must be awaited. */
async function alternateAsync<T>(round: number, a: () => Promise<T>, b: () => Promise<T>): Promise<[T, T]> {
  if (round % 2 === 0) {
    const first = await a();
    return [first, await b()];
  }
  const first = await b();
  return [await a(), first];
}

function timedMs(work: () => unknown): number {
  const started = performance.now();
  work();
  return performance.now() - started;
}

// ---------------------------------------------------------------------------------------------
// Privacy validation

/** Two lines of 40 px bold type (bold: Tesseract reads its digits surely), as the detectors' tests draw them. */
const TEXT_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="300">
  <rect width="100%" height="100%" fill="white"/>
  <text x="40" y="80" font-family="DejaVu Sans" font-weight="bold" font-size="40" fill="black">Contact jane.doe@example.com</text>
  <text x="40" y="180" font-family="DejaVu Sans" font-weight="bold" font-size="40" fill="black">card 4111 1111 1111 1111</text>
</svg>`;

const captionSvg = (width: number) => `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="120">
  <rect width="100%" height="100%" fill="white"/>
  <text x="40" y="80" font-family="DejaVu Sans" font-weight="bold" font-size="48" fill="black">Call +44 20 7946 0958 or mail jane.doe@example.com</text>
</svg>`;

async function privacyImages(): Promise<{ label: string; bytes: Uint8Array }[]> {
  const photo = await readFile(FACE_PHOTO);
  const { width = 1920, height = 1280 } = await sharp(photo).metadata();
  const captioned = await sharp(photo)
    .extend({ bottom: 120, background: '#ffffff' })
    .composite([{ input: Buffer.from(captionSvg(width)), top: height, left: 0 }])
    .jpeg({ quality: 90 })
    .toBuffer();
  return [
    {
      label: 'text, 1000 × 300 PNG: an e-mail and a card number',
      bytes: await sharp(Buffer.from(TEXT_SVG)).png().toBuffer(),
    },
    { label: `face photo, sample1.jpg ${width} × ${height}`, bytes: photo },
    { label: `the photo with a caption (phone, e-mail), ${width} × ${height + 120} JPEG`, bytes: captioned },
  ];
}

/** The detectors, keeping the lines they read so that the PII rules can be timed on them apart. */
class RecordingDetectors implements ImageDetectors {
  lastLines: DetectedLine[] = [];
  constructor(private readonly inner: BundledDetectors) {}
  get limits() {
    return this.inner.limits;
  }
  faces(image: Parameters<ImageDetectors['faces']>[0]) {
    return this.inner.faces(image);
  }
  async lines(image: Parameters<ImageDetectors['lines']>[0]) {
    this.lastLines = await this.inner.lines(image);
    return this.lastLines;
  }
}

interface PrivacySample {
  totalMs: number;
  steps: Record<BundledStep, number>;
  piiMs: number;
  /** Lines the OCR read (at the check's confidence): the PII rules' input. */
  linesRead: number;
  report: PrivacyReport;
}

async function privacyRows(options: B14Options): Promise<Row[]> {
  const rows: Row[] = [];
  try {
    const started = performance.now();
    const timings = await loadVisionModels('tiny');
    const wall = performance.now() - started;
    options.log(`B14: models loaded in ${fmt(wall)} ms`);
    rows.push(
      row({
        bench: 'B14',
        metric: 'bundled privacy models: load, once per process (informational)',
        unit: 'ms',
        reference: Number.NaN,
        project: wall,
        note:
          `face-api on TensorFlow.js wasm + TinyFaceDetector ${fmt(timings.facesMs)} ms, Tesseract worker + eng ` +
          `${fmt(timings.ocrMs)} ms, loaded side by side; a cold Lambda or the first local privacy check pays it once`,
      }),
    );
    for (const { label, bytes } of await privacyImages()) {
      const samples: PrivacySample[] = [];
      for (let round = 0; round <= options.privacyRounds; round++) {
        const sample = await privacySample(bytes);
        // Round 0: the first image of a size through the models (their buffers, the worker's): discarded.
        if (round > 0) samples.push(sample);
      }
      rows.push(privacyRow(label, samples));
      options.log(`B14: privacy ${label}: ${fmt(median(samples.map((s) => s.totalMs)))} ms`);
    }
  } finally {
    await closeVisionModels();
  }
  return rows;
}

async function privacySample(bytes: Uint8Array): Promise<PrivacySample> {
  const steps: Record<BundledStep, number> = { decode: 0, faces: 0, ocr: 0 };
  const detectors = new RecordingDetectors(
    new BundledDetectors({ observe: (step, ms) => (steps[step] += ms) }),
  );
  const started = performance.now();
  const report = await validatePrivacy(bytes, { checkFaces: true, checkText: true }, { image: detectors });
  const totalMs = performance.now() - started;
  // The rules alone, on what the OCR read, as validatePrivacy filters it; repeated: they take microseconds.
  const read = detectors.lastLines.filter(
    ({ text, confidence }) => confidence >= DEFAULT_PRIVACY_THRESHOLDS.textConfidence && text.trim() !== '',
  );
  const repeats = 50;
  const piiStarted = performance.now();
  for (let i = 0; i < repeats; i++) await textIssues(read, undefined, DEFAULT_PRIVACY_THRESHOLDS.piiScore);
  const piiMs = (performance.now() - piiStarted) / repeats;
  return { totalMs, steps, piiMs, linesRead: read.length, report };
}

function privacyRow(label: string, samples: PrivacySample[]): Row {
  const of = (pick: (s: PrivacySample) => number) => fmt(median(samples.map(pick)));
  const report = samples.at(-1)?.report;
  const piiTypes = (report?.issues ?? []).flatMap((issue) => (issue.type === 'pii' ? [issue.pii_type] : []));
  const found = report
    ? `${report.faces_detected} face(s), ${piiTypes.length > 0 ? `PII ${piiTypes.join(', ')}` : report.text_detected ? 'text without PII' : 'no text'}, score ${report.privacy_score}`
    : 'nothing';
  return row({
    bench: 'B14',
    metric: `privacy validation per image, bundled detectors: ${label} (informational)`,
    unit: 'ms',
    reference: Number.NaN,
    project: median(samples.map((s) => s.totalMs)),
    note:
      `n=${samples.length} (p50s): decode ${of((s) => s.steps.decode)} ms, faces ${of((s) => s.steps.faces)} ms, ` +
      `OCR ${of((s) => s.steps.ocr)} ms (in its worker thread, beside the faces), ` +
      (samples.some((s) => s.linesRead > 0)
        ? `PII rules ${of((s) => s.piiMs)} ms; `
        : 'no text read for the PII rules; ') +
      `found ${found}`,
  });
}

// ---------------------------------------------------------------------------------------------
// Exports

const noEvents = { publishJobStateChanges: async () => undefined };

function coreConfig(emulators: RunningEmulators): CoreConfig {
  return {
    region: emulators.region,
    stage: 'bench',
    stateTable: emulators.tableNames.state,
    keysTable: emulators.tableNames.keys,
    bucket: emulators.bucketName,
    resultUrlTtlSeconds: 900,
    idempotencyTtlSeconds: 3600,
    rateLimits: { ...DEFAULT_RATE_LIMITS, validation: MAX_REQUESTS_PER_MINUTE },
    cursorSecret: 'b14-bench',
  };
}

/** `count` PNGs of noise, each about 100 KB (noise does not compress), under the dataset's prefix. */
async function putDataset(store: BlobStore, count: number): Promise<{ bytes: number }> {
  let bytes = 0;
  const width = 184;
  const height = 184;
  for (let start = 0; start < count; start += EXPORT_CONCURRENCY) {
    await Promise.all(
      Array.from({ length: Math.min(EXPORT_CONCURRENCY, count - start) }, async (_, offset) => {
        const index = start + offset;
        const png = await sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } })
          .png({ compressionLevel: 6 })
          .toBuffer();
        bytes += png.length;
        await store.put(
          `${TENANT}/${DATASET_DIR}img_${String(index).padStart(5, '0')}.png`,
          png,
          'image/png',
        );
      }),
    );
  }
  return { bytes };
}

const datasetSources = (store: BlobStore): DatasetSourceDeps & { blobs: BlobStore } => ({
  // A prefix names the dataset: no job is read.
  jobs: { get: async () => undefined, listBatchItems: async () => [] },
  blobs: store,
});

async function exportRows(
  options: B14Options,
  emulators: RunningEmulators,
  core: CoreRuntime,
): Promise<Row[]> {
  const { blobs: store, clients } = core;
  const count = options.exportImages;
  const { bytes } = await putDataset(store, count);
  const megabytes = bytes / 1024 / 1024;
  options.log(`B14: ${count} images (${fmt(megabytes)} MiB) in the S3 emulator`);
  await clients.s3.send(new CreateBucketCommand({ Bucket: EXPORT_BUCKET }));
  const writer = exportS3Client({ region: emulators.region, endpoints: { s3: emulators.s3Endpoint } });
  const deps = datasetSources(store);
  const prefix = `${TENANT}/${DATASET_DIR}`;
  try {
    const jsonl = { project: [] as number[], reference: [] as number[] };
    const s3 = { project: [] as number[], reference: [] as number[] };
    for (let round = 0; round <= options.rounds; round++) {
      const projectJsonl = () =>
        timedAsync(async () => {
          const answer = await exportJsonl(deps, TENANT, {
            dataset_dir: DATASET_DIR,
            output_file: `b14-${round}.jsonl`,
            include_metadata: true,
            include_annotations: true,
          });
          if (answer.exported_count !== count)
            throw new Error(`exportJsonl wrote ${answer.exported_count} lines of ${count}`);
        });
      const referenceJsonl = () =>
        timedAsync(() => plainRead(clients.s3, emulators.bucketName, prefix, count));
      const projectS3 = () =>
        timedAsync(async () => {
          const answer = await exportToS3(
            { ...deps, destination: createS3ExportDestination(writer) },
            TENANT,
            {
              dataset_dir: DATASET_DIR,
              bucket_name: EXPORT_BUCKET,
              s3_prefix: `project/${round}`,
              include_metadata: true,
              public_read: false,
            },
            { concurrency: EXPORT_CONCURRENCY },
          );
          if (answer.status !== 'success' || answer.uploaded_count !== count) {
            throw new Error(
              `exportToS3 answered ${answer.status}, ${answer.uploaded_count} of ${count} written`,
            );
          }
        });
      const referenceS3 = () =>
        timedAsync(() =>
          plainCopy(clients.s3, writer, emulators.bucketName, prefix, `reference/${round}/`, count),
        );
      const jsonlPair = await alternateAsync(round, projectJsonl, referenceJsonl);
      const s3Pair = await alternateAsync(round, projectS3, referenceS3);
      options.log(
        `B14: exports round ${round}: JSONL ${fmt(jsonlPair[0])} vs read ${fmt(jsonlPair[1])} ms, ` +
          `S3 ${fmt(s3Pair[0])} vs copy ${fmt(s3Pair[1])} ms`,
      );
      // Round 0 warms the connections, the JIT and the emulator's first writes: discarded.
      if (round > 0) {
        jsonl.project.push(jsonlPair[0]);
        jsonl.reference.push(jsonlPair[1]);
        s3.project.push(s3Pair[0]);
        s3.reference.push(s3Pair[1]);
      }
    }
    const perSecond = (ms: number[]) => ms.map((value) => (count * 1000) / value);
    const jsonlRatios = pairedRatios(perSecond(jsonl.project), perSecond(jsonl.reference));
    const s3Ratios = pairedRatios(perSecond(s3.project), perSecond(s3.reference));
    const dataset = `${count} PNGs of ${fmt(bytes / count / 1024)} KB (${fmt(megabytes)} MiB) in s3rver`;
    return [
      row({
        bench: 'B14',
        metric: 'JSONL export: lines per second (exportJsonl vs a plain read of the same objects)',
        unit: 'lines/s',
        reference: median(perSecond(jsonl.reference)),
        project: median(perSecond(jsonl.project)),
        ratio: median(jsonlRatios),
        ratioCi: bootstrapMedianCi(jsonlRatios),
        note:
          `n=${jsonlRatios.length} rounds ABAB; ${dataset}; reference = ListObjectsV2 + GetObject at ${EXPORT_CONCURRENCY} at once; ` +
          'the export also types, measures and hashes each image, writes its line (metadata and annotations) and puts the file',
      }),
      row({
        bench: 'B14',
        metric: 'S3 export: images per second (exportToS3 vs a plain SDK copy)',
        unit: 'images/s',
        reference: median(perSecond(s3.reference)),
        project: median(perSecond(s3.project)),
        ratio: median(s3Ratios),
        ratioCi: bootstrapMedianCi(s3Ratios),
        target: { kind: 'min', value: S3_EXPORT_TARGET },
        note:
          `n=${s3Ratios.length} rounds ABAB; ${dataset}, into another bucket of the emulator; reference = ListObjectsV2, ` +
          `then GetObject + PutObject at ${EXPORT_CONCURRENCY} at once on the same two clients (no hashing, manifest or retry); ` +
          `the export adds SHA-256, ChecksumSHA256 on each PUT, metadata.jsonl and manifest.json; ` +
          `${fmt(megabytes / (median(s3.project) / 1000))} vs ${fmt(megabytes / (median(s3.reference) / 1000))} MiB/s`,
      }),
    ];
  } finally {
    writer.destroy();
  }
}

async function timedAsync(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

/** Runs `action` over `items`, `concurrency` at a time. */
async function eachAtOnce<T>(items: readonly T[], concurrency: number, action: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await action(items[next++]!);
    }),
  );
}

async function readObject(s3: S3Client, bucket: string, key: string): Promise<Uint8Array> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!object.Body) throw new Error(`${key} has no body`);
  return object.Body.transformToByteArray();
}

/** The JSONL export's floor: every object of the prefix read, nothing else. */
async function plainRead(s3: S3Client, bucket: string, prefix: string, count: number): Promise<void> {
  const keys = await listKeys(s3, bucket, prefix);
  if (keys.length !== count) throw new Error(`listed ${keys.length} objects of ${count}`);
  await eachAtOnce(keys, EXPORT_CONCURRENCY, async (key) => {
    await readObject(s3, bucket, key);
  });
}

/** The S3 export's reference: every object of the prefix read and written as it is. */
async function plainCopy(
  reader: S3Client,
  writer: S3Client,
  bucket: string,
  prefix: string,
  into: string,
  count: number,
): Promise<void> {
  const keys = await listKeys(reader, bucket, prefix);
  if (keys.length !== count) throw new Error(`listed ${keys.length} objects of ${count}`);
  await eachAtOnce(keys, EXPORT_CONCURRENCY, async (key) => {
    const body = await readObject(reader, bucket, key);
    await writer.send(
      new PutObjectCommand({
        Bucket: EXPORT_BUCKET,
        Key: `${into}${key.slice(prefix.length)}`,
        Body: body,
        ContentType: 'image/png',
      }),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Rate limiter

/** Counts nothing and lets everything through: the limiter's own work without a store. */
const freeCounter: RateLimitCounter = {
  take: async () => ({ allowed: true, count: 1 }),
};

async function limiterRows(
  options: B14Options,
  emulators: RunningEmulators,
  core: CoreRuntime,
): Promise<Row[]> {
  const store = core.blobs;
  const runtime = compose(
    core,
    createDatasetsRuntime(
      core,
      {
        detectors: 'bundled',
        allowPublicRead: false,
        exportBuckets: 'any',
        requirePrivacyValidation: false,
        syncExportLimit: 200,
      },
      // Never called by the quality route; given so that nothing reaches for AWS's detectors.
      { detectors: { image: new BundledDetectors() } },
    ),
  );
  // Noise: the decoder and the metrics do their full work on it.
  const image = await sharp(randomBytes(256 * 256 * 3), { raw: { width: 256, height: 256, channels: 3 } })
    .png()
    .toBuffer();
  const tenants = Array.from({ length: LIMITER_TENANTS }, (_, i) => `b14t${String(i).padStart(2, '0')}`);
  await Promise.all(tenants.map((tenant) => store.put(`${tenant}/b14/limiter.png`, image, 'image/png')));

  const bindings = validationRoutes(runtime);
  const limited = createApiHandler(bindings, { rateLimiter: () => runtime.rateLimiter });
  const inMemory = new TenantRateLimiter(freeCounter, core.config.rateLimits);
  const limitedInMemory = createApiHandler(bindings, { rateLimiter: () => inMemory });
  const unlimited = createApiHandler(bindings.map(withoutLimit));
  const eventFor = qualityEvent(emulators.bucketName, tenants);

  const variants = { none: unlimited, memory: limitedInMemory, dynamo: limited } as const;
  type Variant = keyof typeof variants;
  const latency: Record<Variant, number[]> = { none: [], memory: [], dynamo: [] };
  const throughput: Record<Variant, number[]> = { none: [], memory: [], dynamo: [] };
  const order: Variant[][] = [
    ['none', 'memory', 'dynamo'],
    ['dynamo', 'memory', 'none'],
  ];
  let sent = 0;
  for (let round = 0; round <= options.rounds; round++) {
    for (const variant of order[round % 2]!) {
      const handler = variants[variant];
      const sequential = await sequentialLatency(handler, () => eventFor(sent++), options.limiterRequests);
      const rate = await closedLoopRate(handler, () => eventFor(sent++), options.limiterRequests);
      // Round 0 warms the JIT, the clients' connections and dynalite: discarded.
      if (round > 0) {
        latency[variant].push(sequential);
        throughput[variant].push(rate);
      }
    }
    options.log(`B14: limiter round ${round} done (${sent} requests)`);
  }
  const takeMs = await counterMs(runtime.rateLimiter, tenants, options.limiterRequests);
  const latencyRatios = pairedRatios(latency.dynamo, latency.none);
  const throughputRatios = pairedRatios(throughput.dynamo, throughput.none);
  const added = latency.dynamo.map((value, i) => value - latency.none[i]!);
  const route = 'POST /api/v1/validate/quality (256 × 256 PNG from the S3 emulator), API handler in process';
  return [
    row({
      bench: 'B14',
      metric: 'rate limiter: latency per request with the DynamoDB counter vs no limit',
      unit: 'ms',
      reference: median(latency.none),
      project: median(latency.dynamo),
      ratio: median(latencyRatios),
      ratioCi: bootstrapMedianCi(latencyRatios),
      note:
        `n=${latencyRatios.length} rounds of ${options.limiterRequests} sequential requests (median of each round); ${route}; ` +
        `the counter adds ${fmt(median(added))} ms; with an in-memory counter ${fmt(median(latency.memory))} ms; ` +
        `one UpdateItem on dynalite alone ${fmt(takeMs)} ms; dynalite and s3rver run in this process, as the local platform runs them`,
    }),
    row({
      bench: 'B14',
      metric: `rate limiter: requests per second at ${LIMITER_CONCURRENCY} at once, DynamoDB counter vs no limit`,
      unit: 'req/s',
      reference: median(throughput.none),
      project: median(throughput.dynamo),
      ratio: median(throughputRatios),
      ratioCi: bootstrapMedianCi(throughputRatios),
      note:
        `n=${throughputRatios.length} rounds of ${options.limiterRequests} requests; in-memory counter ` +
        `${fmt(median(throughput.memory))} req/s; ${LIMITER_TENANTS} tenants take turns, none near its limit`,
    }),
  ];
}

/** The same route, counted against no limit: its operationId names no group. */
export function withoutLimit(binding: RouteBinding): RouteBinding {
  return binding.route.operationId === 'validateImageQuality'
    ? { ...binding, route: { ...binding.route, operationId: 'b14UnlimitedQuality' } }
    : binding;
}

/** The i-th request: the quality of the tenant's image, tenants taking turns. */
export function qualityEvent(bucket: string, tenants: readonly string[]) {
  return (index: number): APIGatewayProxyEvent => {
    const tenant = tenants[index % tenants.length]!;
    return {
      resource: '/api/v1/validate/quality',
      path: '/api/v1/validate/quality',
      httpMethod: 'POST',
      headers: { 'content-type': 'application/json', host: '127.0.0.1' },
      multiValueHeaders: {},
      queryStringParameters: null,
      multiValueQueryStringParameters: null,
      pathParameters: null,
      stageVariables: null,
      body: JSON.stringify({
        image_path: `s3://${bucket}/${tenant}/b14/limiter.png`,
        metrics: ['sharpness', 'contrast', 'noise', 'brightness'],
      }),
      isBase64Encoded: false,
      requestContext: { requestId: `b14-${index}`, stage: 'bench', authorizer: { tenant } },
    } as unknown as APIGatewayProxyEvent;
  };
}

async function send(handler: ApiHandler, event: APIGatewayProxyEvent): Promise<void> {
  const answer = await handler(event);
  if (answer.statusCode !== 200)
    throw new Error(`the quality route answered ${answer.statusCode}: ${answer.body.slice(0, 300)}`);
}

/** The median latency of `count` requests sent one after the other. */
async function sequentialLatency(handler: ApiHandler, next: () => APIGatewayProxyEvent, count: number) {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const event = next();
    const started = performance.now();
    await send(handler, event);
    times.push(performance.now() - started);
  }
  return median(times);
}

/** Requests per second of `count` requests, LIMITER_CONCURRENCY workers each sending its next at once. */
async function closedLoopRate(handler: ApiHandler, next: () => APIGatewayProxyEvent, count: number) {
  let left = count;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: LIMITER_CONCURRENCY }, async () => {
      while (left-- > 0) await send(handler, next());
    }),
  );
  return (count * 1000) / (performance.now() - started);
}

/** The median time of one take of the counter on dynalite, outside any request. */
async function counterMs(limiter: TenantRateLimiter, tenants: readonly string[], count: number) {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const decision = await limiter.take(tenants[i % tenants.length]!, 'validation');
    times.push(performance.now() - started);
    if (!decision.allowed) throw new Error(`the counter refused a request (${decision.refusal})`);
  }
  return median(times);
}
