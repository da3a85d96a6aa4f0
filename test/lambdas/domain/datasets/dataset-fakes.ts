/**
 * The ports the dataset service and its jobs use besides the stores, as fakes: a PNG decoder (the
 * domain decodes nothing itself; sharp is the adapter's), detectors that find a face where a test
 * puts one, the datasets workflow, an export destination, and the `DatasetWork` over a world of
 * dataset-fixtures.ts.
 */
import { PNG } from 'pngjs';
import type {
  DatasetExecutionInput,
  DatasetsWorkflow,
  DecodedImage,
  PixelDecoder,
} from '../../../../lambdas/domain/datasets/ports.ts';
import { DatasetWork, type DatasetWorkSettings } from '../../../../lambdas/domain/datasets/work.ts';
import { invalidParameters } from '../../../../lambdas/domain/errors.ts';
import type { ExportDestination, PutOptions } from '../../../../lambdas/domain/exports/ports.ts';
import type { ImageInput, PrivacyDetectors } from '../../../../lambdas/domain/validation/privacy.ts';
import { aPng, type World } from './dataset-fixtures.ts';

/** Decodes PNGs (as RGBA) with pngjs and refuses anything else as the port says: a 400. */
export class PngDecoder implements PixelDecoder {
  decoded = 0;

  constructor(private readonly onDecode: () => void = () => undefined) {}

  async decode(bytes: Uint8Array): Promise<DecodedImage> {
    this.onDecode();
    let png: PNG;
    try {
      png = PNG.sync.read(Buffer.from(bytes));
    } catch (error) {
      throw invalidParameters(`the image cannot be decoded: ${(error as Error).message}`, {});
    }
    this.decoded++;
    const { width, height, data } = png;
    return { format: 'png', width, height, channels: 4, data: new Uint8Array(data) };
  }
}

/** Detectors that find one clear face in each image stored under a key holding `face`, and no text. */
export function faceDetectors() {
  const asked: { faces: ImageInput[]; lines: ImageInput[] } = { faces: [], lines: [] };
  const detectors: PrivacyDetectors = {
    image: {
      limits: {},
      async faces(image) {
        asked.faces.push(image);
        return image.stored?.key.includes('face')
          ? [{ region: { x: 1, y: 1, width: 4, height: 4 }, confidence: 0.97 }]
          : [];
      },
      async lines(image) {
        asked.lines.push(image);
        return [];
      },
    },
  };
  return { detectors, asked };
}

/** The datasets workflow: records what it starts, or fails to start when told to. */
export class RecordingWorkflow implements DatasetsWorkflow {
  readonly started: DatasetExecutionInput[] = [];
  failStart = false;

  async start(input: DatasetExecutionInput) {
    if (this.failStart) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    this.started.push(input);
    return { executionId: this.executionIdOf(input.jobId) };
  }

  executionIdOf(jobId: string): string {
    return `arn:aws:states:local:000000000000:execution:datasets:${jobId}`;
  }

  async stop(): Promise<void> {}
}

/** A user's buckets in memory: every object written, by `bucket/key`. */
export class MemoryDestination implements ExportDestination {
  readonly objects = new Map<string, { bytes: Uint8Array; contentType: string; options: PutOptions }>();

  async put(bucket: string, key: string, bytes: Uint8Array, contentType: string, options: PutOptions) {
    this.objects.set(`${bucket}/${key}`, { bytes, contentType, options });
  }

  keys(): string[] {
    return [...this.objects.keys()].sort();
  }
}

/** A stage that allows nothing special: bundled detectors, no public objects, any bucket, no gate. */
export const SETTINGS: DatasetWorkSettings = {
  detectors: 'bundled',
  allowPublicRead: false,
  exportBuckets: 'any',
  requirePrivacyValidation: false,
};

/** The work over the world's bucket and jobs, with fake detectors and destination. */
export function aWork(world: World, settings: Partial<DatasetWorkSettings> = {}) {
  const { detectors, asked } = faceDetectors();
  const destination = new MemoryDestination();
  let detectorsBuilt = 0;
  const work = new DatasetWork({
    ...world.deps,
    privacyDetectors: () => {
      detectorsBuilt++;
      return detectors;
    },
    destination: () => destination,
    settings: { ...SETTINGS, ...settings },
  });
  return { work, asked, destination, detectorsBuilt: () => detectorsBuilt };
}

/** `count` PNG uploads under `<tenant>/<folder>/`, named img-00.png…; the keys, in order. */
export async function someUploads(world: World, folder: string, count: number, first = 0): Promise<string[]> {
  const keys: string[] = [];
  for (let i = first; i < first + count; i++) {
    keys.push(await world.anUpload(`${folder}/img-${String(i).padStart(2, '0')}.png`, aPng(8, 6, i + 1)));
  }
  return keys;
}
