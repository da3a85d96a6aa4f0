/**
 * The tenant's images as seed 001's routes name them (paths.ts reads the names): one image for the
 * validation routes (`resolveImage`), and a dataset for the batch validation, the profiles and the
 * exports (`resolveDataset`). What SynthForge keeps is read where it is kept: an uploaded or any
 * other object of the tenant in the data bucket; an image job's image (`<tenant>/jobs/<id>/image.png`,
 * its parameters in the job's record); a generation job's frames inside its result ZIP
 * (`<tenant>/jobs/<id>/result.zip`, entries `<id>/frames/frame_0000.png` with COCO annotations in
 * `<id>/annotations.json`). Whatever is not the tenant's is answered exactly as what does not exist.
 */
import { DomainError } from '../errors.ts';
import type { CocoAnnotation, CocoCategory } from '../generators/shapes/coco.ts';
import type { JobRecord } from '../jobs/model.ts';
import type { BlobListing, BlobStore, JobStore } from '../ports.ts';
import { type ArchiveFrame, archiveFrames, readArchive } from './archive-frames.ts';
import {
  DATASET_DIR_FORMS,
  IMAGE_PATH_FORMS,
  imageContentType,
  imageTypeOfName,
  parseDatasetDir,
  parseImagePath,
} from './paths.ts';

export interface DatasetSourceDeps {
  /** The jobs store (`engine.store`): a job's record, a batch's items. */
  jobs: Pick<JobStore, 'get' | 'listBatchItems'>;
  /** The data bucket. */
  blobs: Pick<BlobStore, 'bucket' | 'get' | 'size' | 'list'>;
}

/** What an image was made with: an image job's prompt and parameters, or a generator's parameters. */
export type ImageParameters = Record<string, unknown>;

/** The COCO annotations of one image: its annotations, and the categories they use. */
export interface ImageAnnotations {
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
}

/** One image of the tenant. */
export interface ResolvedImage {
  /**
   * Where it is, in a form `resolveImage` takes back: `s3://<bucket>/<key>` for an object (an image
   * job's image included), `<jobId>/<entry>` for a frame inside a generation job's result.
   */
  uri: string;
  /** Its file name: unique within a dataset, a safe relative path (what an export writes it as). */
  name: string;
  /** From its name or its record; the bytes decide (exports sniff them). */
  contentType: string;
  /** Bytes, as stored. */
  size: number;
  jobId?: string;
  batchId?: string;
  /** The generator (seed 000) or the model's name in the catalogue (seed 001) that made it. */
  generator?: string;
  parameters?: ImageParameters;
  /** Reads the image: from the bucket on each call, or from its job's archive already read. */
  bytes(): Promise<Uint8Array>;
}

/** An image of a dataset. */
export interface DatasetImage extends ResolvedImage {
  /** A generation job's frame: its COCO annotations (an empty list when it shows no object). */
  annotations?: ImageAnnotations;
}

/** A dataset, resolved: what it is, how many images it holds, and the images themselves. */
export interface Dataset {
  kind: 'batch' | 'job' | 'prefix';
  /** As named, made canonical: the batch or job id, or the prefix's `s3://` URI (ending in `/`). */
  uri: string;
  /** How many images `images()` yields (a generation job counts the frames its record says it made). */
  count: number;
  /**
   * The images, always in one order: a batch's jobs oldest first, a job's frames by name, a prefix's
   * objects by key. `start` skips the first ones (a job resuming where it stopped) without reading
   * the archives it skips.
   */
  images(start?: number): AsyncIterable<DatasetImage>;
}

export interface DatasetLimits {
  /** The most images a dataset may hold. Default 100 000. */
  maxImages?: number;
  /** The most objects a prefix's listing reads (images or not). Default 200 000. */
  maxListed?: number;
}

export const DEFAULT_MAX_DATASET_IMAGES = 100_000;
export const DEFAULT_MAX_LISTED_OBJECTS = 200_000;

/** An object larger than this is refused as one image: a 50 MB image is already far beyond any model's. */
export const MAX_IMAGE_BYTES = 50 * 1024 * 1024;

const LIST_PAGE = 1000;

/** The jobs whose results are images. */
type ImageSourceJob = Extract<JobRecord, { kind: 'image' | 'generation' }>;

/**
 * One image of the tenant, by its image path. 404 for a path of no accepted form, for any object
 * that is not the tenant's (another bucket, another tenant's key, an unsafe segment) and for a
 * missing one, all alike; 409 for a job of the tenant that has no image (not completed, or not an
 * image); 413 for an object over MAX_IMAGE_BYTES.
 */
export async function resolveImage(
  deps: DatasetSourceDeps,
  tenant: string,
  imagePath: string,
): Promise<ResolvedImage> {
  const { blobs } = deps;
  const path = parseImagePath(tenant, blobs.bucket, imagePath);
  switch (path.form) {
    case 's3': {
      const size = await blobs.size(path.key);
      if (size === undefined) throw imageNotFound(imagePath);
      if (size > MAX_IMAGE_BYTES) throw imageTooLarge(imagePath, size);
      return objectImage(blobs, path.key, path.key.slice(path.key.lastIndexOf('/') + 1), size);
    }
    case 'job': {
      const job = await deps.jobs.get(tenant, path.jobId);
      if (job?.kind === 'image') return imageOfJob(blobs, completed(job, imagePath));
      if (job?.kind === 'generation') {
        throw new DomainError(
          'NOT_FOUND',
          `${imagePath} is a generation job: name one of its frames, such as ${imagePath}/frames/frame_0000.png`,
          { image_path: imagePath, forms: IMAGE_PATH_FORMS },
        );
      }
      throw imageNotFound(imagePath);
    }
    case 'frame': {
      const job = await deps.jobs.get(tenant, path.jobId);
      if (job?.kind !== 'generation') throw imageNotFound(imagePath);
      const frames = archiveFrames(await readArchive(blobs, completed(job, imagePath)), job.id);
      const frame = frames.find((candidate) => candidate.entry === path.entry);
      if (!frame) throw frameNotFound(imagePath, frames);
      return frameImage(job, frame);
    }
    case 'foreign':
      throw imageNotFound(imagePath);
    case 'unknown':
      throw new DomainError(
        'NOT_FOUND',
        `image ${JSON.stringify(imagePath)} was not found: name ${IMAGE_PATH_FORMS}`,
        {
          image_path: imagePath,
          forms: IMAGE_PATH_FORMS,
        },
      );
  }
}

/**
 * A dataset of the tenant, by its name. A batch yields each completed image job's image, or each
 * frame of each completed generation job with its annotations; a job its image or frames; a prefix
 * its PNG, JPEG, GIF and WebP objects (by extension, or by the content type a listing gives: S3's
 * gives none, so an object without an image extension is left out). 404 for an unknown one or a
 * prefix without images, 409 for a batch or job with nothing completed, 400 above the limits.
 */
export async function resolveDataset(
  deps: DatasetSourceDeps,
  tenant: string,
  datasetDir: string,
  limits: DatasetLimits = {},
): Promise<Dataset> {
  const maxImages = limits.maxImages ?? DEFAULT_MAX_DATASET_IMAGES;
  const dir = parseDatasetDir(tenant, deps.blobs.bucket, datasetDir);
  switch (dir.form) {
    case 'job': {
      const job = await deps.jobs.get(tenant, dir.jobId);
      if (job) return jobsDataset(deps, tenant, job, datasetDir, maxImages);
      return prefixDataset(deps, datasetDir, dir.prefix, limits, maxImages);
    }
    case 'prefix':
      return prefixDataset(deps, datasetDir, dir.prefix, limits, maxImages);
    case 'foreign':
      throw datasetNotFound(datasetDir, 'no images of yours are there');
    case 'unknown':
      throw datasetNotFound(datasetDir, `name ${DATASET_DIR_FORMS}`);
  }
}

async function jobsDataset(
  deps: DatasetSourceDeps,
  tenant: string,
  job: JobRecord,
  datasetDir: string,
  maxImages: number,
): Promise<Dataset> {
  const items = job.kind === 'batch' ? await deps.jobs.listBatchItems(tenant, job.id) : [job];
  const sources = items.filter(
    (item): item is ImageSourceJob =>
      (item.kind === 'image' || item.kind === 'generation') && item.status === 'completed' && !!item.result,
  );
  if (sources.length === 0) {
    const what = job.kind === 'batch' ? `batch ${job.id}` : `job ${job.id}`;
    if (!items.some((item) => item.kind === 'image' || item.kind === 'generation')) {
      throw datasetNotFound(datasetDir, `${what} makes no images`);
    }
    const why =
      job.kind === 'batch'
        ? `${what} has no completed job yet: ${statusSummary(items)}`
        : `${what} is ${job.status}: it has no images yet`;
    throw new DomainError('ILLEGAL_STATE', why, { dataset_dir: datasetDir, status: job.status });
  }
  const counts = await Promise.all(sources.map((source) => imagesOfJob(deps.blobs, source)));
  const count = counts.reduce((sum, n) => sum + n, 0);
  if (count > maxImages) throw tooManyImages(datasetDir, count, maxImages);
  return {
    kind: job.kind === 'batch' ? 'batch' : 'job',
    uri: job.id,
    count,
    async *images(start = 0) {
      let skip = Math.max(0, start);
      for (const [index, source] of sources.entries()) {
        const inJob = counts[index] ?? 0;
        if (skip >= inJob) {
          skip -= inJob;
          continue;
        }
        if (source.kind === 'image') yield imageOfJob(deps.blobs, source);
        else {
          const frames = archiveFrames(await readArchive(deps.blobs, source), source.id);
          for (const frame of frames.slice(skip)) yield frameImage(source, frame);
        }
        skip = 0;
      }
    },
  };
}

/** Images a completed job holds: one, or its frames as its record counts them (its archive when it does not). */
async function imagesOfJob(blobs: DatasetSourceDeps['blobs'], job: JobRecord): Promise<number> {
  if (job.kind === 'image') return 1;
  if (job.result?.frames !== undefined) return job.result.frames;
  return archiveFrames(await readArchive(blobs, job), job.id).length;
}

async function prefixDataset(
  deps: DatasetSourceDeps,
  datasetDir: string,
  prefix: string,
  limits: DatasetLimits,
  maxImages: number,
): Promise<Dataset> {
  const maxListed = limits.maxListed ?? DEFAULT_MAX_LISTED_OBJECTS;
  const found: { object: BlobListing; contentType: string }[] = [];
  let listed = 0;
  let after: string | undefined;
  for (;;) {
    const page = await deps.blobs.list(prefix, {
      limit: LIST_PAGE,
      ...(after === undefined ? {} : { after }),
    });
    listed += page.length;
    for (const object of page) {
      const contentType = imageTypeOfName(object.key) ?? imageContentType(object.contentType);
      if (contentType !== undefined) found.push({ object, contentType });
    }
    if (found.length > maxImages) throw tooManyImages(datasetDir, found.length, maxImages);
    if (page.length < LIST_PAGE) break;
    if (listed >= maxListed) {
      throw new DomainError(
        'INVALID_PARAMETERS',
        `${datasetDir} holds more than ${maxListed} objects: name a narrower prefix`,
        {
          parameter: 'dataset_dir',
          value: datasetDir,
          constraint: `at most ${maxListed} objects under the prefix`,
        },
      );
    }
    after = page.at(-1)?.key;
  }
  const uri = `s3://${deps.blobs.bucket}/${prefix}`;
  if (found.length === 0)
    throw datasetNotFound(datasetDir, `no PNG, JPEG, GIF or WebP images are under ${uri}`);
  return {
    kind: 'prefix',
    uri,
    count: found.length,
    async *images(start = 0) {
      for (const { object, contentType } of found.slice(Math.max(0, start))) {
        const image = objectImage(deps.blobs, object.key, object.key.slice(prefix.length), object.bytes);
        yield { ...image, contentType };
      }
    },
  };
}

/** An object of the data bucket, read when asked. */
function objectImage(
  blobs: DatasetSourceDeps['blobs'],
  key: string,
  name: string,
  size: number,
): ResolvedImage {
  const uri = `s3://${blobs.bucket}/${key}`;
  return {
    uri,
    name,
    contentType: imageTypeOfName(key) ?? 'application/octet-stream',
    size,
    async bytes() {
      if (size > MAX_IMAGE_BYTES) throw imageTooLarge(uri, size);
      const bytes = await blobs.get(key);
      if (bytes === undefined) throw imageNotFound(uri);
      return bytes;
    },
  };
}

/** A completed image job's image, with what it was made with. */
function imageOfJob(
  blobs: DatasetSourceDeps['blobs'],
  job: Extract<JobRecord, { kind: 'image' }>,
): ResolvedImage {
  const key = job.result?.key ?? '';
  const image = objectImage(blobs, key, `${job.id}.png`, job.result?.bytes ?? 0);
  return {
    ...image,
    contentType: job.result?.contentType ?? 'image/png',
    jobId: job.id,
    ...(job.batchId ? { batchId: job.batchId } : {}),
    generator: job.generator,
    parameters: { ...job.params },
  };
}

/** A frame of a generation job's archive, with the job's parameters and the frame's annotations. */
function frameImage(job: Extract<JobRecord, { kind: 'generation' }>, frame: ArchiveFrame): DatasetImage {
  const name = `${job.id}/${frame.entry}`;
  return {
    uri: name,
    name,
    contentType: imageTypeOfName(frame.entry) ?? 'application/octet-stream',
    size: frame.size,
    jobId: job.id,
    ...(job.batchId ? { batchId: job.batchId } : {}),
    generator: job.generator,
    parameters: { ...job.params },
    ...(frame.annotations ? { annotations: frame.annotations } : {}),
    bytes: async () => frame.read(),
  };
}

/** The job, when it has completed with a result; 409 otherwise (the tenant's own job: no secret). */
function completed<J extends JobRecord>(job: J, imagePath: string): J & { result: NonNullable<J['result']> } {
  if (job.status === 'completed' && job.result) return job as J & { result: NonNullable<J['result']> };
  throw new DomainError('ILLEGAL_STATE', `job ${job.id} is ${job.status}: it has no image yet`, {
    image_path: imagePath,
    job_id: job.id,
    status: job.status,
  });
}

function statusSummary(items: readonly JobRecord[]): string {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item.status, (counts.get(item.status) ?? 0) + 1);
  return [...counts].map(([status, n]) => `${n} ${status}`).join(', ') || 'no jobs';
}

const imageNotFound = (imagePath: string) =>
  new DomainError('NOT_FOUND', `image ${JSON.stringify(imagePath)} was not found`, { image_path: imagePath });

function frameNotFound(imagePath: string, frames: readonly ArchiveFrame[]): DomainError {
  const names = frames.map((frame) => frame.entry);
  const shown = names.length <= 3 ? names.join(', ') : `${names[0]} … ${names.at(-1)}`;
  return new DomainError(
    'NOT_FOUND',
    `image ${JSON.stringify(imagePath)} was not found: its job holds ${shown || 'no images'}`,
    {
      image_path: imagePath,
    },
  );
}

const imageTooLarge = (imagePath: string, size: number) =>
  new DomainError(
    'PAYLOAD_TOO_LARGE',
    `${imagePath} is ${size} bytes; an image may be at most ${MAX_IMAGE_BYTES}`,
    {
      image_path: imagePath,
      value: size,
      constraint: `at most ${MAX_IMAGE_BYTES} bytes`,
    },
  );

const datasetNotFound = (datasetDir: string, why: string) =>
  new DomainError('NOT_FOUND', `dataset ${JSON.stringify(datasetDir)} was not found: ${why}`, {
    dataset_dir: datasetDir,
    forms: DATASET_DIR_FORMS,
  });

const tooManyImages = (datasetDir: string, count: number, max: number) =>
  new DomainError(
    'INVALID_PARAMETERS',
    `${datasetDir} holds more than ${max} images (${count} so far): name a narrower dataset`,
    {
      parameter: 'dataset_dir',
      value: datasetDir,
      constraint: `at most ${max} images`,
    },
  );
