/**
 * S3 as the local emulators of AWS use it: `s3://bucket/key` URIs as requests carry them, and the
 * moves of objects and folders the local SageMaker makes (an async endpoint's input, output and
 * failure objects; a training job's data channel, checkpoints and model). A folder is a key prefix
 * ending in `/` (or empty, for a bucket's root).
 *
 * Bodies are sent whole, never as streams: s3rver, the local S3, stores a stream body with its
 * chunk framing.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { listFiles, portableRelative } from './files.ts';

export interface S3Location {
  bucket: string;
  key: string;
}

/** An object to download, and its path below the folder it goes to. */
export interface S3Download extends S3Location {
  relativePath: string;
}

/** Each file's modification time and size when it last went to or came from S3, by relative path. */
export type Fingerprints = Map<string, string>;

export interface DownloadOptions {
  /** The local file an object is written to; throws to refuse one (a key that would leave the folder). */
  targetOf: (object: S3Download) => string;
  /** Aborts the requests (a stopped job gives up its downloads). */
  signal?: AbortSignal;
  /** Requests at once; default 8. */
  concurrency?: number;
  /** What a failed download becomes; default the SDK's error. */
  failure?: (object: S3Download, error: unknown) => Error;
  /** Records the files written, so that `uploadChangedFiles` skips them until they change. */
  fingerprints?: Fingerprints;
}

export interface UploadOptions {
  /** What was uploaded (or downloaded) before; updated as files go up. */
  fingerprints: Fingerprints;
  /** Files to leave out, by their path relative to the folder (`/`-separated). */
  skip?: (relativePath: string) => boolean;
  /** Default: JSON for `.json`, bytes otherwise. */
  contentTypeOf?: (relativePath: string) => string;
  onUploaded?: (relativePath: string, bytes: number) => void;
}

const DEFAULT_CONCURRENCY = 8;

export function tryParseS3Uri(uri: string): S3Location | undefined {
  // `s`: a key may hold line breaks and separators (U+2028), which `.` alone does not match.
  const match = /^s3:\/\/([^/]+)\/?(.*)$/s.exec(uri);
  return match ? { bucket: match[1] ?? '', key: match[2] ?? '' } : undefined;
}

export function parseS3Uri(uri: string): S3Location {
  const location = tryParseS3Uri(uri);
  if (!location) throw new Error(`not an S3 URI: ${uri}`);
  return location;
}

export function formatS3Uri(location: S3Location): string {
  return `s3://${location.bucket}/${location.key}`;
}

/**
 * `s3://bucket/prefix` and the parts after it, one slash between each: the base's trailing slashes
 * and the inner parts' outer ones are dropped, empty or absent parts are left out, and the last part
 * (a file name) is kept as given.
 */
export function joinS3Uri(base: string, ...parts: (string | undefined)[]): string {
  const last = parts.length - 1;
  const trimmed = parts.map((part, index) => (index === last ? part : part?.replace(/^\/+|\/+$/g, '')));
  return [base.replace(/\/+$/, ''), ...trimmed].filter((part) => part !== undefined && part !== '').join('/');
}

/** An S3 URI as a folder: its key ends with `/` (or is empty, for a bucket's root). */
export function s3Folder(uri: string): S3Location {
  const location = parseS3Uri(uri);
  return {
    bucket: location.bucket,
    key: location.key === '' || location.key.endsWith('/') ? location.key : `${location.key}/`,
  };
}

/** Every key under `prefix`, in S3's order, across pages. */
export async function listKeys(s3: S3Client, prefix: S3Location, signal?: AbortSignal): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: prefix.bucket, Prefix: prefix.key, ContinuationToken: token }),
      signal ? { abortSignal: signal } : {},
    );
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

export async function getObjectBytes(
  s3: S3Client,
  location: S3Location,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const object = await s3.send(
    new GetObjectCommand({ Bucket: location.bucket, Key: location.key }),
    signal ? { abortSignal: signal } : {},
  );
  if (!object.Body) throw new Error('the object has no body');
  return object.Body.transformToByteArray();
}

export async function putObjectBytes(
  s3: S3Client,
  location: S3Location,
  body: Uint8Array,
  contentType: string,
): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: location.bucket,
      Key: location.key,
      Body: body,
      ContentType: contentType,
    }),
  );
}

/** Deletes every object under `prefix`, one at a time; resolves with how many. */
export async function deleteObjectsUnder(s3: S3Client, prefix: S3Location): Promise<number> {
  const keys = await listKeys(s3, prefix);
  for (const key of keys) await s3.send(new DeleteObjectCommand({ Bucket: prefix.bucket, Key: key }));
  return keys.length;
}

/** Downloads each object to its file, `concurrency` at a time; the first failure rejects. */
export async function downloadObjects(
  s3: S3Client,
  objects: readonly S3Download[],
  options: DownloadOptions,
): Promise<void> {
  await eachLimited(objects, options.concurrency ?? DEFAULT_CONCURRENCY, async (object) => {
    const target = options.targetOf(object);
    let body: Uint8Array;
    try {
      body = await getObjectBytes(s3, object, options.signal);
    } catch (error) {
      throw options.failure ? options.failure(object, error) : error;
    }
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, body);
    options.fingerprints?.set(object.relativePath, fingerprint(await stat(target)));
  });
}

/** Downloads every object under `folder` (folder markers aside); resolves with how many. */
export async function downloadFolder(
  s3: S3Client,
  folder: S3Location,
  options: DownloadOptions,
): Promise<number> {
  const keys = (await listKeys(s3, folder, options.signal)).filter((key) => !key.endsWith('/'));
  const objects = keys.map((key) => ({
    bucket: folder.bucket,
    key,
    relativePath: key.slice(folder.key.length),
  }));
  await downloadObjects(s3, objects, options);
  return objects.length;
}

/** Uploads the files under `dir` that changed (modification time or size) since `fingerprints` saw them. */
export async function uploadChangedFiles(
  s3: S3Client,
  dir: string,
  folder: S3Location,
  options: UploadOptions,
): Promise<void> {
  for (const path of await listFiles(dir)) {
    const relativePath = portableRelative(dir, path);
    if (options.skip?.(relativePath)) continue;
    let body: Buffer;
    let mark: string;
    try {
      mark = fingerprint(await stat(path));
      if (options.fingerprints.get(relativePath) === mark) continue;
      body = await readFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // replaced or removed meanwhile
      throw error;
    }
    const contentType = (options.contentTypeOf ?? contentTypeOf)(relativePath);
    await putObjectBytes(
      s3,
      { bucket: folder.bucket, key: `${folder.key}${relativePath}` },
      body,
      contentType,
    );
    options.fingerprints.set(relativePath, mark);
    options.onUploaded?.(relativePath, body.length);
  }
}

function fingerprint(stats: { mtimeMs: number; size: number }): string {
  return `${stats.mtimeMs}:${stats.size}`;
}

function contentTypeOf(path: string): string {
  return path.endsWith('.json') ? 'application/json' : 'application/octet-stream';
}

async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(workers);
}
