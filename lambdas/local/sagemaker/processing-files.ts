/**
 * SageMaker's file contract around a local processing job (processing-jobs.ts, whose header says
 * what it does), between S3 and the job's root folder, which stands for the container's `/opt/ml`:
 * where a `LocalPath` lies on the host, the inputs (`S3Prefix`, `ManifestFile`) downloaded before the
 * container starts, the outputs uploaded once it has exited 0. A transfer that fails ends the job
 * with a `ClientError` reason (a JobEnded). The manifest's reading, the path checks and `JobEnded` are
 * the training host's too (job-runs.ts).
 */
import { join, posix } from 'node:path';
import {
  downloadObjects,
  getObjectBytes,
  listKeys,
  parseS3Uri,
  type S3Download,
  s3Folder,
  uploadChangedFiles,
} from '../support/s3.ts';
import { describeError, inside, JobEnded, type JobTransfers, manifestObjects } from './job-runs.ts';
import { type JobInput, type JobOutput, PROCESSING_FOLDER } from './processing-requests.ts';

/** `/opt/ml/processing/x/y` → `<root>/processing/x/y`. */
export function hostPath(root: string, localPath: string): string {
  return join(root, 'processing', ...localPath.slice(PROCESSING_FOLDER.length).split('/'));
}

/** Downloads one input (`S3Prefix` or `ManifestFile`) into `into`. */
export async function downloadInput(job: JobTransfers, input: JobInput, into: string): Promise<void> {
  const location = parseS3Uri(input.uri);
  let objects: S3Download[];
  if (input.dataType === 'ManifestFile') {
    let manifest: unknown;
    try {
      manifest = JSON.parse(Buffer.from(await getObjectBytes(job.s3, location, job.signal)).toString('utf8'));
    } catch (error) {
      job.throwIfStopped();
      throw new JobEnded(
        'Failed',
        `ClientError: Failed to download the manifest file ${input.uri} of input ${input.name}: ${describeError(error)}`,
      );
    }
    objects = manifestObjects(manifest, `${input.uri} of input ${input.name}`);
  } else {
    let keys: string[];
    try {
      keys = await listKeys(job.s3, location, job.signal);
    } catch (error) {
      job.throwIfStopped();
      throw new JobEnded('Failed', `ClientError: Failed to list ${input.uri}: ${describeError(error)}`);
    }
    objects = keys
      .filter((key) => !key.endsWith('/'))
      .map((key) => ({
        bucket: location.bucket,
        key,
        // The URI names the object itself: it keeps its name.
        relativePath: key.slice(location.key.length).replace(/^\/+/, '') || posix.basename(key),
      }));
    if (objects.length === 0) {
      throw new JobEnded(
        'Failed',
        `ClientError: No S3 objects found under S3 URL "${input.uri}" given in input data source. Please ensure that the bucket exists in the selected region, that objects exist under that S3 prefix, and that the role has "s3:ListBucket" permissions on bucket "${location.bucket}".`,
      );
    }
  }
  await downloadObjects(job.s3, objects, {
    targetOf: (object) => inside(into, object.relativePath),
    signal: job.signal,
    failure: (object, error) => {
      job.throwIfStopped();
      return new JobEnded(
        'Failed',
        `ClientError: Failed to download s3://${object.bucket}/${object.key} for input ${input.name}: ${describeError(error)}`,
      );
    },
  });
  job.log('processing input downloaded', {
    processingJobName: job.jobName,
    input: input.name,
    objects: objects.length,
  });
}

/** Uploads every file under `from` to the output's S3Uri, at its relative path. */
export async function uploadOutput(job: JobTransfers, output: JobOutput, from: string): Promise<void> {
  let files = 0;
  try {
    await uploadChangedFiles(job.s3, from, s3Folder(output.uri), {
      fingerprints: new Map(),
      onUploaded: () => {
        files++;
      },
    });
  } catch (error) {
    throw new JobEnded(
      'Failed',
      `ClientError: Failed to upload output ${output.name} to ${output.uri}: ${describeError(error)}`,
    );
  }
  job.log('processing output uploaded', {
    processingJobName: job.jobName,
    output: output.name,
    files,
  });
}
