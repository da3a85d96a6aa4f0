/**
 * How seed 001's paths name the tenant's images, read without touching any store: an image path
 * (`image_path`) and a dataset (`dataset_dir`). Every key these functions give starts with
 * `<tenant>/` and holds no empty, `.` or `..` segment, whatever the input: S3 takes such a key as
 * written, but a store on disk (the local S3 emulator) resolves it, so that
 * `<tenant>/uploads/../../<other>/…` would read another tenant's objects.
 */
import { JOB_ID_PATTERN } from '../../../contracts/vocabulary.ts';
import { isUnsafeEntryName } from '../archive/entry-names.ts';

/** What an image path names. `foreign`: an `s3://` URI that is not one of the tenant's keys. */
export type ImagePathForm =
  | { form: 's3'; key: string }
  | { form: 'job'; jobId: string }
  | { form: 'frame'; jobId: string; entry: string }
  | { form: 'foreign' }
  | { form: 'unknown' };

/** What a dataset names: a job or batch by its id (or, failing that, a folder of that name), or a prefix. */
export type DatasetDirForm =
  | { form: 'job'; jobId: string; prefix: string }
  | { form: 'prefix'; prefix: string }
  | { form: 'foreign' }
  | { form: 'unknown' };

/** Said by every NOT_FOUND of an image path that is none of these. */
export const IMAGE_PATH_FORMS =
  "s3://<data bucket>/<tenant>/<key> (one of your objects), an image job's id, or <job id>/<frame> (a frame of a generation job's result, e.g. <job id>/frames/frame_0000.png)";

/** Said by every NOT_FOUND of a dataset that is none of these. */
export const DATASET_DIR_FORMS =
  'a batch or job id (its images, or the frames of its generation jobs), s3://<data bucket>/<tenant>/<prefix>, or a prefix relative to your data such as uploads/2026/';

/** The first part of every key of the tenant. */
export const tenantPrefix = (tenant: string) => `${tenant}/`;

/** `s3://bucket/key` → its parts; undefined when it is no `s3://` URI with a bucket. */
function splitS3Uri(uri: string): { bucket: string; key: string } | undefined {
  const match = /^s3:\/\/([^/]+)\/([\s\S]*)$/.exec(uri);
  return match ? { bucket: match[1] ?? '', key: match[2] ?? '' } : undefined;
}

/**
 * A relative path of at least one segment, none of them empty, `.` or `..`, with no backslash, NUL
 * or drive letter: the rule of ZIP entry names (archive/entry-names.ts), which is the rule of keys
 * too. Control characters are refused as well: no name of the tenant's needs them, and a line break
 * in a key would split the lines of an export.
 */
export function isSafeRelativePath(path: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  return !isUnsafeEntryName(path) && !/[\u0000-\u001f\u007f]/.test(path);
}

/** A key of the tenant: `<tenant>/` and a safe relative path. */
export function isTenantKey(tenant: string, key: string): boolean {
  const own = tenantPrefix(tenant);
  return key.startsWith(own) && isSafeRelativePath(key.slice(own.length));
}

/**
 * An image path: `s3://<bucket>/<tenant>/<key>`, `<jobId>` or `<jobId>/<entry>`. An `s3://` URI of
 * another bucket, of another tenant's key or with an unsafe segment is `foreign`; the caller answers
 * it exactly as a missing object, so that nobody learns whether another tenant's object exists.
 */
export function parseImagePath(tenant: string, bucket: string, path: string): ImagePathForm {
  if (path.startsWith('s3://')) {
    const uri = splitS3Uri(path);
    if (!uri || uri.bucket !== bucket || !isTenantKey(tenant, uri.key)) return { form: 'foreign' };
    return { form: 's3', key: uri.key };
  }
  if (JOB_ID_PATTERN.test(path)) return { form: 'job', jobId: path };
  const slash = path.indexOf('/');
  const jobId = path.slice(0, slash);
  const entry = path.slice(slash + 1);
  if (slash > 0 && JOB_ID_PATTERN.test(jobId) && isSafeRelativePath(entry)) {
    return { form: 'frame', jobId, entry };
  }
  return { form: 'unknown' };
}

/**
 * A dataset: a job or batch id; `s3://<bucket>/<tenant>[/<prefix>]`; or a prefix relative to the
 * tenant's data. A prefix is a folder: `uploads/2026` lists `uploads/2026/…`, never
 * `uploads/2026-old/…`, so every prefix given ends in `/`. A job id is also a folder's name: when no
 * job has it, the caller lists `prefix`.
 */
export function parseDatasetDir(tenant: string, bucket: string, dir: string): DatasetDirForm {
  const own = tenantPrefix(tenant);
  if (dir.startsWith('s3://')) {
    const uri = splitS3Uri(dir);
    if (!uri || uri.bucket !== bucket) return { form: 'foreign' };
    if (uri.key === tenant || uri.key === own) return { form: 'prefix', prefix: own };
    const folder = uri.key.endsWith('/') ? uri.key.slice(0, -1) : uri.key;
    return isTenantKey(tenant, folder) ? { form: 'prefix', prefix: `${folder}/` } : { form: 'foreign' };
  }
  const folder = dir.endsWith('/') ? dir.slice(0, -1) : dir;
  if (!isSafeRelativePath(folder)) return { form: 'unknown' };
  if (JOB_ID_PATTERN.test(folder)) return { form: 'job', jobId: folder, prefix: `${own}${folder}/` };
  return { form: 'prefix', prefix: `${own}${folder}/` };
}

/** The image formats a dataset holds, by extension, with their content types. */
const IMAGE_TYPES: Readonly<Record<string, string>> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
};

const IMAGE_CONTENT_TYPES = new Set(Object.values(IMAGE_TYPES));

/** The content type an image's name says (by extension, any case); undefined for any other name. */
export function imageTypeOfName(name: string): string | undefined {
  const extension = /\.([A-Za-z0-9]+)$/.exec(name)?.[1]?.toLowerCase();
  return extension === undefined ? undefined : IMAGE_TYPES[extension];
}

/** An image content type of the four formats (`image/png; charset=…` too), normalised; undefined otherwise. */
export function imageContentType(contentType: string | undefined): string | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  return type !== undefined && IMAGE_CONTENT_TYPES.has(type) ? type : undefined;
}
