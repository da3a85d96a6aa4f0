/**
 * SageMaker's file contract around a local training job, between S3 and the job's root folder:
 *
 * - The `train` channel is downloaded into `<root>/input/data/train/`: `S3Prefix` takes every object
 *   under the key prefix of `S3Uri`; `ManifestFile` reads `S3Uri` as a manifest
 *   (`[{"prefix": "s3://bucket/"}, "relative/key", ...]`) and takes each listed object. A missing
 *   manifest, an empty prefix or a missing listed object fails the job with a `ClientError` reason.
 * - `CheckpointConfig.S3Uri` is restored into `<root>/checkpoints/` first; while the trainer runs, the
 *   files that changed there (mtime or size) are uploaded, and once more when it has exited. Hidden
 *   and temporary files (the trainer writes atomically, `.<name>.tmp-<pid>` then rename) are skipped.
 */
import { join, resolve, sep } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  downloadFolder,
  downloadObjects,
  type Fingerprints,
  getObjectBytes,
  listKeys,
  parseS3Uri,
  type S3Download,
  s3Folder,
  tryParseS3Uri,
  uploadChangedFiles,
} from '../support/s3.ts';

/** Ends a job early with its status and reason (a data download failure, a stop). */
export class JobEnded extends Error {
  constructor(
    readonly status: 'Failed' | 'Stopped',
    readonly secondaryStatus: string,
    reason: string,
  ) {
    super(reason);
  }
}

/** Where SageMaker's contract puts things under a job's root. */
export function jobPaths(root: string) {
  return {
    hyperparameters: join(root, 'input', 'config', 'hyperparameters.json'),
    train: join(root, 'input', 'data', 'train'),
    checkpoints: join(root, 'checkpoints'),
    model: join(root, 'model'),
    failure: join(root, 'output', 'failure'),
  };
}

/** What the transfers of one job need. */
export interface JobTransfers {
  s3: S3Client;
  trainingJobName: string;
  /** Aborted when the job is stopped: transfers give up. */
  signal: AbortSignal;
  /** Throws the job's stop (a JobEnded) when it was stopped: a transfer that failed failed because of it. */
  throwIfStopped: () => void;
  log: (message: string, details?: Record<string, unknown>) => void;
}

/** Downloads the train channel (`S3Prefix` or `ManifestFile`) into `into`. */
export async function downloadChannel(
  job: JobTransfers,
  dataType: string,
  uri: string,
  into: string,
): Promise<void> {
  const location = parseS3Uri(uri);
  let objects: S3Download[];
  if (dataType === 'ManifestFile') {
    let manifest: unknown;
    try {
      manifest = JSON.parse(Buffer.from(await getObjectBytes(job.s3, location, job.signal)).toString('utf8'));
    } catch (error) {
      job.throwIfStopped();
      throw new JobEnded(
        'Failed',
        'Failed',
        `ClientError: Failed to download the manifest file ${uri}: ${describeError(error)}`,
      );
    }
    objects = manifestObjects(manifest, uri);
  } else if (dataType === 'S3Prefix') {
    let keys: string[];
    try {
      keys = await listKeys(job.s3, location, job.signal);
    } catch (error) {
      job.throwIfStopped();
      throw new JobEnded(
        'Failed',
        'Failed',
        `ClientError: Data download failed: could not list ${uri}: ${describeError(error)}`,
      );
    }
    objects = keys
      .filter((key) => !key.endsWith('/'))
      .map((key) => ({ bucket: location.bucket, key, relativePath: key.slice(location.key.length) }));
    if (objects.length === 0) {
      throw new JobEnded(
        'Failed',
        'Failed',
        `ClientError: No S3 objects found under S3 URL "${uri}" given in input data source. Please ensure that the bucket exists in the selected region, that objects exist under that S3 prefix, and that the role has "s3:ListBucket" permissions on bucket "${location.bucket}".`,
      );
    }
  } else {
    throw new JobEnded('Failed', 'Failed', `ClientError: S3DataType ${dataType} is not supported here`);
  }
  await downloadObjects(job.s3, objects, {
    targetOf: (object) => inside(into, object.relativePath),
    signal: job.signal,
    failure: (object, error) => {
      job.throwIfStopped();
      return new JobEnded(
        'Failed',
        'Failed',
        `ClientError: Data download failed: could not download s3://${object.bucket}/${object.key}: ${describeError(error)}`,
      );
    },
  });
  job.log('train channel downloaded', { trainingJobName: job.trainingJobName, objects: objects.length });
}

/** Downloads what `CheckpointConfig.S3Uri` holds into `into`, noting each file as already uploaded. */
export async function restoreCheckpoints(
  job: JobTransfers,
  uri: string,
  into: string,
  fingerprints: Fingerprints,
): Promise<void> {
  const files = await downloadFolder(job.s3, s3Folder(uri), {
    targetOf: (object) => inside(into, object.relativePath),
    signal: job.signal,
    fingerprints,
  });
  if (files > 0) job.log('checkpoints restored', { trainingJobName: job.trainingJobName, files });
}

/** Uploads the files of `checkpoints/` that changed since the last upload. */
export async function uploadCheckpoints(
  job: JobTransfers,
  uri: string,
  from: string,
  fingerprints: Fingerprints,
): Promise<void> {
  await uploadChangedFiles(job.s3, from, s3Folder(uri), {
    fingerprints,
    skip: (relativePath) =>
      relativePath.split('/').some((part) => part.startsWith('.') || part.includes('.tmp')),
    onUploaded: (file, bytes) =>
      job.log('checkpoint uploaded', { trainingJobName: job.trainingJobName, file, bytes }),
  });
}

/** `[{"prefix": "s3://bucket/..."}, "key", ...]` → the objects to download and where. */
function manifestObjects(manifest: unknown, uri: string): S3Download[] {
  const [head, ...keys] = Array.isArray(manifest) ? manifest : [];
  const prefix = (head as { prefix?: unknown } | undefined)?.prefix;
  const base = typeof prefix === 'string' ? tryParseS3Uri(prefix) : undefined;
  if (!base || keys.some((key) => typeof key !== 'string' || key === '')) {
    throw new JobEnded(
      'Failed',
      'Failed',
      `ClientError: The manifest file ${uri} is invalid: expected a JSON array of {"prefix": "s3://bucket/prefix/"} followed by object keys relative to it`,
    );
  }
  return (keys as string[]).map((key) => ({
    bucket: base.bucket,
    key: `${base.key}${key}`,
    relativePath: key,
  }));
}

/** `root/relativePath`, refusing paths that would leave `root` (`..`, absolute). */
function inside(root: string, relativePath: string): string {
  const cleaned = relativePath.replace(/^\/+/, '');
  const target = resolve(root, cleaned);
  if (cleaned === '' || !target.startsWith(`${resolve(root)}${sep}`)) {
    throw new JobEnded(
      'Failed',
      'Failed',
      `ClientError: the object key ${relativePath} is not a usable file path`,
    );
  }
  return target;
}

function describeError(error: unknown): string {
  const named = error as { name?: string; message?: string; Code?: string };
  if (named.name === 'NoSuchKey' || named.Code === 'NoSuchKey') return 'NoSuchKey: the object does not exist';
  if (error instanceof SyntaxError) return `not JSON: ${error.message}`;
  return `${named.name ?? 'Error'}: ${named.message ?? String(error)}`;
}
