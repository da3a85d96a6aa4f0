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
 *
 * The manifest's reading, the path checks and `JobEnded` are the processing host's too (job-runs.ts).
 */
import { join } from 'node:path';
import {
  downloadFolder,
  downloadObjects,
  type Fingerprints,
  getObjectBytes,
  listKeys,
  parseS3Uri,
  type S3Download,
  s3Folder,
  uploadChangedFiles,
} from '../support/s3.ts';
import { describeError, inside, JobEnded, type JobTransfers, manifestObjects } from './job-runs.ts';

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
        `ClientError: Data download failed: could not list ${uri}: ${describeError(error)}`,
      );
    }
    objects = keys
      .filter((key) => !key.endsWith('/'))
      .map((key) => ({ bucket: location.bucket, key, relativePath: key.slice(location.key.length) }));
    if (objects.length === 0) {
      throw new JobEnded(
        'Failed',
        `ClientError: No S3 objects found under S3 URL "${uri}" given in input data source. Please ensure that the bucket exists in the selected region, that objects exist under that S3 prefix, and that the role has "s3:ListBucket" permissions on bucket "${location.bucket}".`,
      );
    }
  } else {
    throw new JobEnded('Failed', `ClientError: S3DataType ${dataType} is not supported here`);
  }
  await downloadObjects(job.s3, objects, {
    targetOf: (object) => inside(into, object.relativePath),
    signal: job.signal,
    failure: (object, error) => {
      job.throwIfStopped();
      return new JobEnded(
        'Failed',
        `ClientError: Data download failed: could not download s3://${object.bucket}/${object.key}: ${describeError(error)}`,
      );
    },
  });
  job.log('train channel downloaded', { trainingJobName: job.jobName, objects: objects.length });
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
  if (files > 0) job.log('checkpoints restored', { trainingJobName: job.jobName, files });
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
      job.log('checkpoint uploaded', { trainingJobName: job.jobName, file, bytes }),
  });
}
