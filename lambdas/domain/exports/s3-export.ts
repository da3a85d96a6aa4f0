/**
 * Seed 001's `POST /export/s3`: a dataset's images copied into the user's own bucket, each to
 * `<s3_prefix>/<file_name>` with its SHA-256 for S3 to check, then (with include_metadata) a
 * `metadata.jsonl` of the lines the JSONL export writes, then `manifest.json`, last, so that a
 * manifest lists only objects already there:
 *
 *   {"created_at", "source": dataset_dir, "count", "total_size_bytes",
 *    "objects": [{"key", "size_bytes", "sha256" (hex), "content_type"}], "metadata_key"?}
 *
 * Writes run a few at a time (`concurrency`); a transient failure (throttling, a 5xx, the network, a
 * checksum mismatch) is tried again up to `maxAttempts` times in all, after a full-jitter exponential
 * backoff. A failure every object would meet (access denied, no such bucket, ACLs disabled, another
 * region) stops the export at once: before anything was written it is the answer's error (403, 404
 * or 400, naming what to change); after, the answer is `partial`. Only transient failures are retried.
 */
import { createHash } from 'node:crypto';
import type { ExportS3Request, ExportS3Response } from '../../../contracts/datasets.ts';
import {
  type DatasetImage,
  type DatasetLimits,
  type DatasetSourceDeps,
  resolveDataset,
} from '../datasets/sources.ts';
import { DomainError, invalidParameters, withoutAwsIdentifiers } from '../errors.ts';
import type { Clock } from '../ports.ts';
import { type ExportedImage, jsonlLine, mapInOrder, readForExport, UnreadableImageError } from './lines.ts';
import { DestinationError, type ExportDestination, type FatalReason, isFatal } from './ports.ts';

export interface S3ExportDeps extends DatasetSourceDeps {
  destination: ExportDestination;
  /** The manifest's `created_at`. Default the system clock. */
  clock?: Clock;
  /** Waits between attempts. Default setTimeout (tests pass one that returns at once). */
  sleep?: (ms: number) => Promise<void>;
  /** In [0, 1): the jitter. Default Math.random. */
  random?: () => number;
}

const systemClock: Clock = { now: () => new Date() };
const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface S3ExportOptions {
  /**
   * `public_read: true` is refused (403) unless the stage allows it: a public object is readable by
   * anyone on the internet, which an API key alone should not be enough to decide.
   */
  allowPublicRead?: boolean;
  /**
   * Buckets no export may write to: the platform's own (its data bucket is always one), whose
   * writer's role may reach them where a user could not.
   */
  protectedBuckets?: readonly string[];
  /** The principal a bucket policy must allow, named in the access-denied answer. */
  writerPrincipal?: string;
  /** Objects written at once, 1 to 16. Default 8. */
  concurrency?: number;
  /** Attempts per object, the first included. Default 3. */
  maxAttempts?: number;
  /** The first retry waits below this (full jitter), doubling each time. Default 200 ms. */
  baseDelayMs?: number;
  /** No wait is longer than this. Default 5 s. */
  maxDelayMs?: number;
  limits?: DatasetLimits;
  /** Called as each image is written or given up: how many of the dataset's `total`. */
  onProgress?: (done: number, total: number) => void | Promise<void>;
}

export type S3ExportResult = ExportS3Response;

export const MAX_S3_PREFIX_CHARS = 900;
/** S3's limit on a key, in UTF-8 bytes. */
const MAX_KEY_BYTES = 1024;
const MAX_CONCURRENCY = 16;
/** Failures listed in the answer; failed_count counts them all. */
const MAX_FAILURES_LISTED = 100;
export const MANIFEST_NAME = 'manifest.json';
export const METADATA_NAME = 'metadata.jsonl';

/**
 * A bucket name by S3's rules for general purpose buckets (docs.aws.amazon.com/AmazonS3/latest/
 * userguide/bucketnamingrules.html): 3 to 63 lower-case letters, digits, dots and hyphens, a letter or
 * digit at each end, no two dots side by side, not an IP address, none of the reserved prefixes and
 * suffixes.
 */
export function isValidBucketName(name: string): boolean {
  return (
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes('..') &&
    !/^\d{1,3}(\.\d{1,3}){3}$/.test(name) &&
    !/^(xn--|sthree-|amzn-s3-demo-)/.test(name) &&
    !/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(name)
  );
}

/**
 * The prefix keys are written under, without its trailing `/` ('' for the bucket's root): no leading
 * `/`, no empty, `.` or `..` segment, no backslash or control character, at most 900 characters (a
 * key is at most 1024 bytes, file name included).
 */
export function normalizeS3Prefix(prefix: string): string {
  const trimmed = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  const control = /[\u0000-\u001f\u007f]/.test(trimmed);
  const segments = trimmed === '' ? [] : trimmed.split('/');
  if (
    prefix.length > MAX_S3_PREFIX_CHARS ||
    prefix.startsWith('/') ||
    trimmed.includes('\\') ||
    control ||
    segments.some((segment) => segment === '' || segment === '.' || segment === '..')
  ) {
    throw invalidParameters(
      `s3_prefix ${JSON.stringify(prefix.slice(0, 100))} is not a relative key prefix`,
      {
        parameter: 's3_prefix',
        value: prefix.slice(0, MAX_S3_PREFIX_CHARS),
        constraint: `at most ${MAX_S3_PREFIX_CHARS} characters, no leading /, no empty, . or .. segment, no backslash or control character`,
      },
    );
  }
  return trimmed;
}

/**
 * Checks an export's destination before anything is read: 400 for a bad bucket name or prefix, 403
 * for a protected bucket (`dataBucket`, the platform's data bucket, is always one) or a refused
 * `public_read`. Answers the bucket and the prefix keys go under (no trailing `/`).
 */
export function checkS3ExportRequest(
  request: Pick<ExportS3Request, 'bucket_name' | 's3_prefix' | 'public_read'>,
  options: Pick<S3ExportOptions, 'allowPublicRead' | 'protectedBuckets'> & { dataBucket?: string } = {},
): { bucket: string; prefix: string } {
  const bucket = request.bucket_name;
  if (!isValidBucketName(bucket)) {
    throw invalidParameters(
      `bucket_name ${JSON.stringify(bucket.slice(0, 100))} is not a valid S3 bucket name`,
      {
        parameter: 'bucket_name',
        value: bucket.slice(0, 100),
        constraint:
          '3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit, not an IP address',
      },
    );
  }
  const prefix = normalizeS3Prefix(request.s3_prefix);
  if (bucket === options.dataBucket || options.protectedBuckets?.includes(bucket)) {
    throw new DomainError(
      'FORBIDDEN',
      `bucket ${bucket} is the platform's own: export to a bucket of yours`,
      {
        parameter: 'bucket_name',
        value: bucket,
      },
    );
  }
  if (request.public_read && !options.allowPublicRead) {
    throw new DomainError(
      'FORBIDDEN',
      'public_read is not allowed on this platform: the objects are written private; to share them, grant read access in your bucket policy',
      { parameter: 'public_read', value: true, reason: 'public_read_disabled' },
    );
  }
  return { bucket, prefix };
}

/** An object written to the user's bucket: what the manifest and metadata.jsonl say of it (its bytes are not kept). */
interface Uploaded {
  key: string;
  sizeBytes: number;
  sha256: string;
  contentType: string;
  /** Its line of metadata.jsonl, when asked for. */
  line?: string;
}

type Outcome =
  | { uploaded: Uploaded; retries: number }
  | { failed: { file_name: string; error: string }; retries: number }
  | { notAttempted: true };

/**
 * Copies the dataset to `s3://<bucket_name>/<s3_prefix>/`. Throws before writing anything for a bad
 * request (400/403), an unknown dataset (404) or a destination refusing the first writes (403, 404,
 * 400); otherwise answers `success`, `partial` (some objects failed: they are in `failures`, up to
 * 100) or `failed` (none was written).
 */
export async function exportToS3(
  deps: S3ExportDeps,
  tenant: string,
  request: Pick<
    ExportS3Request,
    'dataset_dir' | 'bucket_name' | 's3_prefix' | 'include_metadata' | 'public_read'
  >,
  options: S3ExportOptions = {},
): Promise<S3ExportResult> {
  const { bucket, prefix } = checkS3ExportRequest(request, { ...options, dataBucket: deps.blobs.bucket });
  const dataset = await resolveDataset(deps, tenant, request.dataset_dir, options.limits);
  const keyOf = (name: string) => (prefix === '' ? name : `${prefix}/${name}`);
  const concurrency = Math.min(MAX_CONCURRENCY, Math.max(1, options.concurrency ?? 8));
  const write = writer(deps, options, bucket, request.public_read);

  let fatal: DestinationError | undefined;
  let done = 0;
  let retries = 0;
  let failedCount = 0;
  const uploaded: Uploaded[] = [];
  const failures: { file_name: string; error: string }[] = [];
  const copy = async (image: DatasetImage): Promise<Outcome> => {
    if (fatal) return { notAttempted: true };
    let exported: ExportedImage;
    try {
      exported = await readForExport(image);
    } catch (error) {
      const gone = error instanceof DomainError && error.code === 'NOT_FOUND';
      if (error instanceof UnreadableImageError || gone) {
        return { failed: { file_name: image.name, error: (error as Error).message }, retries: 0 };
      }
      throw error;
    }
    const key = keyOf(image.name);
    if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
      return {
        failed: { file_name: image.name, error: `its key is over S3's ${MAX_KEY_BYTES} bytes` },
        retries: 0,
      };
    }
    if (fatal) return { notAttempted: true };
    const written = await write(key, exported.bytes, exported.contentType, exported.sha256Base64);
    if (written.error === undefined) {
      return {
        uploaded: summary(exported, key, request.include_metadata ? bucket : undefined),
        retries: written.retries,
      };
    }
    if (isFatal(written.error.reason)) fatal ??= written.error;
    return { failed: { file_name: image.name, error: written.error.message }, retries: written.retries };
  };

  for await (const outcome of mapInOrder(dataset.images(), concurrency, copy)) {
    if ('notAttempted' in outcome) {
      failedCount++;
      continue;
    }
    retries += outcome.retries;
    if ('uploaded' in outcome) uploaded.push(outcome.uploaded);
    else {
      failedCount++;
      if (failures.length < MAX_FAILURES_LISTED) failures.push(outcome.failed);
    }
    done++;
    await options.onProgress?.(done, dataset.count);
  }
  if (fatal && uploaded.length === 0) throw fatalAnswer(fatal, bucket, prefix, request.public_read, options);

  const manifestKey = keyOf(MANIFEST_NAME);
  const base = {
    uploaded_count: uploaded.length,
    failed_count: failedCount,
    total_size_bytes: uploaded.reduce((sum, object) => sum + object.sizeBytes, 0),
    bucket_name: bucket,
    s3_prefix: prefix,
    manifest_url: `s3://${bucket}/${manifestKey}`,
  };
  if (uploaded.length > 0 && !fatal) {
    const closing = await writeClosingFiles(deps, write, request, uploaded, keyOf, base.total_size_bytes);
    retries += closing.retries;
    failures.push(...closing.failures);
  }
  let status: S3ExportResult['status'] = 'success';
  if (failedCount > 0 || failures.length > 0) status = 'partial';
  if (uploaded.length === 0) status = 'failed';
  return { status, ...base, retries, ...(failures.length > 0 ? { failures } : {}) };
}

/**
 * What is kept of a written object; with `bucket`, its metadata.jsonl line, which points at the copy
 * (`image_uri`) and says where it came from (`source_uri`).
 */
function summary(exported: ExportedImage, key: string, bucket: string | undefined): Uploaded {
  return {
    key,
    sizeBytes: exported.bytes.byteLength,
    sha256: exported.sha256,
    contentType: exported.contentType,
    ...(bucket === undefined
      ? {}
      : {
          line: jsonlLine(exported, {
            includeMetadata: true,
            includeAnnotations: true,
            imageUri: `s3://${bucket}/${key}`,
            sourceUri: exported.image.uri,
          }),
        }),
  };
}

/** metadata.jsonl (when asked) and manifest.json, in that order: the manifest is the last word. */
async function writeClosingFiles(
  deps: S3ExportDeps,
  write: ReturnType<typeof writer>,
  request: Pick<ExportS3Request, 'dataset_dir' | 'include_metadata'>,
  uploaded: readonly Uploaded[],
  keyOf: (name: string) => string,
  totalBytes: number,
): Promise<{ retries: number; failures: { file_name: string; error: string }[] }> {
  const encoder = new TextEncoder();
  const failures: { file_name: string; error: string }[] = [];
  let retries = 0;
  const put = async (name: string, text: string, contentType: string) => {
    const bytes = encoder.encode(text);
    const digest = createHash('sha256').update(bytes).digest('base64');
    const written = await write(keyOf(name), bytes, contentType, digest);
    retries += written.retries;
    if (written.error) failures.push({ file_name: name, error: written.error.message });
    return written.error === undefined;
  };
  let metadataKey: string | undefined;
  if (request.include_metadata) {
    const lines = uploaded.map((object) => object.line ?? '');
    if (await put(METADATA_NAME, `${lines.join('\n')}\n`, 'application/x-ndjson'))
      metadataKey = keyOf(METADATA_NAME);
  }
  const manifest = {
    created_at: (deps.clock ?? systemClock).now().toISOString(),
    source: request.dataset_dir,
    count: uploaded.length,
    total_size_bytes: totalBytes,
    objects: uploaded.map((object) => ({
      key: object.key,
      size_bytes: object.sizeBytes,
      sha256: object.sha256,
      content_type: object.contentType,
    })),
    ...(metadataKey === undefined ? {} : { metadata_key: metadataKey }),
  };
  await put(MANIFEST_NAME, `${JSON.stringify(manifest, null, 2)}\n`, 'application/json');
  return { retries, failures };
}

/**
 * One object's write, tried again after a transient failure: up to `maxAttempts` in all, waiting a
 * uniform draw below min(maxDelay, base · 2^(retry − 1)) before each retry ("full jitter": many
 * writers throttled at once spread out instead of coming back together).
 */
function writer(deps: S3ExportDeps, options: S3ExportOptions, bucket: string, publicRead: boolean) {
  const maxAttempts = Math.max(1, options.maxAttempts ?? 3);
  const base = options.baseDelayMs ?? 200;
  const cap = options.maxDelayMs ?? 5_000;
  return async (
    key: string,
    bytes: Uint8Array,
    contentType: string,
    sha256Base64: string,
  ): Promise<{ retries: number; error?: DestinationError }> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await deps.destination.put(bucket, key, bytes, contentType, { publicRead, sha256Base64 });
        return { retries: attempt - 1 };
      } catch (caught) {
        const error =
          caught instanceof DestinationError
            ? caught
            : new DestinationError(
                'rejected',
                withoutAwsIdentifiers(String((caught as Error)?.message ?? caught)),
                false,
              );
        if (!error.retryable || attempt >= maxAttempts) return { retries: attempt - 1, error };
        const random = deps.random ?? Math.random;
        await (deps.sleep ?? wait)(Math.floor(random() * Math.min(cap, base * 2 ** (attempt - 1))));
      }
    }
  };
}

/** The answer to an export that the destination refused before anything was written. */
function fatalAnswer(
  error: DestinationError,
  bucket: string,
  prefix: string,
  publicRead: boolean,
  options: S3ExportOptions,
): DomainError {
  const target = `arn:aws:s3:::${bucket}/${prefix === '' ? '' : `${prefix}/`}*`;
  const details = { bucket_name: bucket, reason: error.reason, cause: error.message };
  const answers: Record<FatalReason, () => DomainError> = {
    access_denied: () =>
      new DomainError(
        'FORBIDDEN',
        `bucket ${bucket} refused the export: its bucket policy must allow s3:PutObject on ${target}` +
          (options.writerPrincipal ? ` to ${options.writerPrincipal}` : ' to SynthForge’s export role') +
          (publicRead
            ? ', and its Block Public Access settings must allow public ACLs (or export with public_read false)'
            : ''),
        details,
      ),
    no_such_bucket: () => new DomainError('NOT_FOUND', `bucket ${bucket} does not exist`, details),
    acl_not_supported: () =>
      invalidParameters(
        `bucket ${bucket} has ACLs disabled (Object Ownership "bucket owner enforced"), so public_read cannot make its objects public: export with public_read false and grant read access in its bucket policy`,
        { ...details, parameter: 'public_read' },
      ),
    wrong_region: () =>
      invalidParameters(`bucket ${bucket} is in another region than this platform's exports write to`, {
        ...details,
        parameter: 'bucket_name',
      }),
    invalid_bucket_name: () =>
      invalidParameters(`bucket_name ${bucket} is refused by S3 as a bucket name`, {
        ...details,
        parameter: 'bucket_name',
      }),
  };
  return isFatal(error.reason)
    ? answers[error.reason]()
    : new DomainError('FORBIDDEN', error.message, details);
}
