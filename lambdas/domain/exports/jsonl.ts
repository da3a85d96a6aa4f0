/**
 * Seed 001's `POST /export/jsonl`: one JSON line per image of a dataset (lines.ts says what a line
 * holds), written to the tenant's exports folder of the data bucket, `<tenant>/exports/<output_file>`.
 * The file is built in memory, up to MAX_JSONL_BYTES, and written once at the end: a reader never
 * sees half an export, and a failed export leaves the previous file of that name as it was. Lines
 * measured: about 270 bytes for an upload, 600 for an image job's image with its parameters, 1.2 to
 * 2.9 KB for a shapes frame with its parameters and COCO polygons; 64 MiB thus holds some 110 000
 * image jobs' lines (more than a dataset's 100 000 images) or 25 000 to 50 000 annotated frames.
 */
import type { ExportJsonlRequest, ExportJsonlResponse } from '../../../contracts/datasets.ts';
import { concatBytes } from '../archive/bytes.ts';
import { isSafeRelativePath } from '../datasets/paths.ts';
import {
  type DatasetImage,
  type DatasetLimits,
  type DatasetSourceDeps,
  resolveDataset,
} from '../datasets/sources.ts';
import { DomainError, invalidParameters } from '../errors.ts';
import type { BlobStore } from '../ports.ts';
import { type ExportedImage, jsonlLine, mapInOrder, readForExport, UnreadableImageError } from './lines.ts';

export interface JsonlExportDeps extends DatasetSourceDeps {
  blobs: Pick<BlobStore, 'bucket' | 'get' | 'size' | 'list' | 'put'>;
}

export interface JsonlExportOptions {
  /** Images read at once. Default 8. */
  concurrency?: number;
  /** The largest file written. Default MAX_JSONL_BYTES. */
  maxBytes?: number;
  limits?: DatasetLimits;
  /** Called as images are read: how many of the dataset's `total`. */
  onProgress?: (done: number, total: number) => void | Promise<void>;
}

/** What the export answers: the seed's fields, and the images left out because they could not be read. */
export type JsonlExportResult = ExportJsonlResponse & {
  skipped?: { file_name: string; error: string }[];
};

export const MAX_JSONL_BYTES = 64 * 1024 * 1024;
export const MAX_OUTPUT_FILE_CHARS = 512;
const DEFAULT_CONCURRENCY = 8;
const JSONL_CONTENT_TYPE = 'application/x-ndjson';

/** The tenant's exports folder of the data bucket. */
export const exportsPrefix = (tenant: string) => `${tenant}/exports/`;

/**
 * The key `output_file` is written to: `<tenant>/exports/<output_file>`, a leading `exports/` being
 * the folder itself (`exports/nature_set.jsonl` and `nature_set.jsonl` are one file). A relative
 * path of safe segments ending in `.jsonl`, at most 512 characters; 400 otherwise.
 */
export function jsonlOutputKey(tenant: string, outputFile: string): string {
  const refuse = (why: string, constraint: string) =>
    invalidParameters(`output_file ${JSON.stringify(outputFile.slice(0, 100))} ${why}`, {
      parameter: 'output_file',
      value: outputFile.slice(0, MAX_OUTPUT_FILE_CHARS),
      constraint,
    });
  if (outputFile.length > MAX_OUTPUT_FILE_CHARS) {
    throw refuse(
      `is longer than ${MAX_OUTPUT_FILE_CHARS} characters`,
      `at most ${MAX_OUTPUT_FILE_CHARS} characters`,
    );
  }
  const name = outputFile.startsWith('exports/') ? outputFile.slice('exports/'.length) : outputFile;
  if (!isSafeRelativePath(name)) {
    throw refuse(
      'is not a relative path in your exports folder',
      'a relative path such as nature_set.jsonl: no leading /, no empty, . or .. segment, no backslash or control character',
    );
  }
  if (!name.endsWith('.jsonl') || name.split('/').at(-1) === '.jsonl') {
    throw refuse('does not end in .jsonl', 'a file name ending in .jsonl');
  }
  return `${exportsPrefix(tenant)}${name}`;
}

/**
 * Writes the dataset's JSONL. Images whose bytes are no PNG, JPEG, GIF or WebP (an upload named
 * `.png` that is not one), or that were deleted since the listing, are left out and named in
 * `skipped`; a dataset with no readable image is a 404 and writes nothing.
 */
export async function exportJsonl(
  deps: JsonlExportDeps,
  tenant: string,
  request: Pick<
    ExportJsonlRequest,
    'dataset_dir' | 'output_file' | 'include_metadata' | 'include_annotations'
  >,
  options: JsonlExportOptions = {},
): Promise<JsonlExportResult> {
  const key = jsonlOutputKey(tenant, request.output_file);
  const dataset = await resolveDataset(deps, tenant, request.dataset_dir, options.limits);
  const maxBytes = options.maxBytes ?? MAX_JSONL_BYTES;
  const lineOptions = {
    includeMetadata: request.include_metadata,
    includeAnnotations: request.include_annotations,
  };
  const encoder = new TextEncoder();
  const lines: Uint8Array[] = [];
  const skipped: { file_name: string; error: string }[] = [];
  let bytes = 0;
  let done = 0;
  const read = mapInOrder(dataset.images(), options.concurrency ?? DEFAULT_CONCURRENCY, readOrSkip);
  for await (const outcome of read) {
    done++;
    if ('skipped' in outcome) skipped.push(outcome.skipped);
    else {
      const line = encoder.encode(`${jsonlLine(outcome, lineOptions)}\n`);
      bytes += line.byteLength;
      if (bytes > maxBytes) throw tooLarge(request.dataset_dir, maxBytes, done, dataset.count);
      lines.push(line);
    }
    await options.onProgress?.(done, dataset.count);
  }
  if (lines.length === 0) {
    throw new DomainError(
      'NOT_FOUND',
      `dataset ${JSON.stringify(request.dataset_dir)} holds no readable image`,
      {
        dataset_dir: request.dataset_dir,
        skipped: skipped.slice(0, 10),
      },
    );
  }
  const file = concatBytes(lines);
  await deps.blobs.put(key, file, JSONL_CONTENT_TYPE);
  return {
    status: 'success',
    exported_count: lines.length,
    output_file: `s3://${deps.blobs.bucket}/${key}`,
    file_size_bytes: file.byteLength,
    ...(skipped.length > 0 ? { skipped } : {}),
  };
}

/** The image read, or why it is left out; any other failure (the store's) ends the export. */
async function readOrSkip(
  image: DatasetImage,
): Promise<ExportedImage | { skipped: { file_name: string; error: string } }> {
  try {
    return await readForExport(image);
  } catch (error) {
    const gone = error instanceof DomainError && error.code === 'NOT_FOUND';
    if (error instanceof UnreadableImageError || gone) {
      return { skipped: { file_name: image.name, error: (error as Error).message } };
    }
    throw error;
  }
}

const tooLarge = (datasetDir: string, maxBytes: number, done: number, total: number) =>
  new DomainError(
    'PAYLOAD_TOO_LARGE',
    `the JSONL of ${datasetDir} passes ${maxBytes} bytes after ${done} of its ${total} images: export a smaller dataset, or leave out the annotations`,
    {
      dataset_dir: datasetDir,
      constraint: `at most ${maxBytes} bytes`,
      images_read: done,
      image_count: total,
    },
  );
