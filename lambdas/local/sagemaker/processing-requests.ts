/**
 * CreateProcessingJob's request checks for the local Processing host (processing-jobs.ts): the job's
 * name, role, image, one instance's resources, stopping condition, inputs and outputs, refused with
 * the ValidationException SageMaker answers with. What the host does not emulate (more than one
 * instance, `Pipe` inputs, `Continuous` outputs, dataset definitions, Feature Store outputs) is
 * refused the same way, so that a request the host accepts is one it runs as SageMaker would.
 */
import { posix } from 'node:path';
import type { CreateProcessingJobRequest } from '@aws-sdk/client-sagemaker';
import { constraintMessage, NOT_NULL } from '../support/aws-validation.ts';
import { tryParseS3Uri } from '../support/s3.ts';
import { namedError } from './job-runs.ts';

/** SageMaker's pattern for ProcessingJobName. */
const PROCESSING_JOB_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
/** Where a container's inputs and outputs must lie, and what `<root>/processing` stands for. */
export const PROCESSING_FOLDER = '/opt/ml/processing/';
/** SageMaker's bounds on StoppingCondition.MaxRuntimeInSeconds. */
const MAX_RUNTIME_SECONDS = { min: 1, max: 777_600 };

/** The CreateProcessingJob request, as the Process state's Parameters resolve it. */
export type ProcessingJobRequest = Partial<CreateProcessingJobRequest>;

/** An input, validated: where its objects come from and the host folder they go to. */
export interface JobInput {
  name: string;
  uri: string;
  dataType: 'S3Prefix' | 'ManifestFile';
  /** Below `/opt/ml/processing/`, normalized. */
  localPath: string;
}

/** An output, validated: the host folder uploaded and where to. */
export interface JobOutput {
  name: string;
  uri: string;
  localPath: string;
}

/** What a valid request asks the host to run. */
export interface ValidatedRequest {
  imageUri: string;
  inputs: JobInput[];
  outputs: JobOutput[];
  maxRuntimeSeconds: number | undefined;
}

/** The request's ProcessingJobName, checked first (as SageMaker does); throws a ValidationException. */
export function processingJobName(request: ProcessingJobRequest): string {
  const name = request.ProcessingJobName ?? '';
  if (!PROCESSING_JOB_NAME.test(name)) {
    throw validationError(
      constraintMessage(
        'processingJobName',
        request.ProcessingJobName,
        'Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}',
      ),
    );
  }
  return name;
}

/** CreateProcessingJob's checks, past the name; throws a ValidationException. */
export function validate(request: ProcessingJobRequest): ValidatedRequest {
  if (!request.RoleArn) throw validationError(constraintMessage('roleArn', request.RoleArn, NOT_NULL));
  const imageUri = request.AppSpecification?.ImageUri;
  if (!imageUri) throw validationError(constraintMessage('appSpecification.imageUri', imageUri, NOT_NULL));
  const cluster = request.ProcessingResources?.ClusterConfig;
  if (!cluster) {
    throw validationError(constraintMessage('processingResources.clusterConfig', cluster, NOT_NULL));
  }
  if (cluster.VolumeSizeInGB === undefined) {
    throw validationError(
      constraintMessage('processingResources.clusterConfig.volumeSizeInGB', cluster.VolumeSizeInGB, NOT_NULL),
    );
  }
  if (cluster.InstanceCount === undefined) {
    throw validationError(
      constraintMessage('processingResources.clusterConfig.instanceCount', cluster.InstanceCount, NOT_NULL),
    );
  }
  if (cluster.InstanceCount !== 1) {
    throw validationError(
      `InstanceCount ${cluster.InstanceCount} is not emulated: the local platform runs a processing job on one instance (InstanceCount 1)`,
    );
  }
  const maxRuntimeSeconds = request.StoppingCondition?.MaxRuntimeInSeconds;
  if (
    request.StoppingCondition &&
    (!Number.isInteger(maxRuntimeSeconds) ||
      (maxRuntimeSeconds as number) < MAX_RUNTIME_SECONDS.min ||
      (maxRuntimeSeconds as number) > MAX_RUNTIME_SECONDS.max)
  ) {
    throw validationError(
      constraintMessage(
        'stoppingCondition.maxRuntimeInSeconds',
        maxRuntimeSeconds,
        `Member must be an integer between ${MAX_RUNTIME_SECONDS.min} and ${MAX_RUNTIME_SECONDS.max}`,
      ),
    );
  }

  const names = new Set<string>();
  const uniqueName = (name: string | undefined, member: string): string => {
    if (!name) throw validationError(constraintMessage(member, name, NOT_NULL));
    if (names.has(name)) {
      throw validationError(`The input and output names must be unique: ${name} is given more than once`);
    }
    names.add(name);
    return name;
  };
  const inputs = (request.ProcessingInputs ?? []).map((input, index): JobInput => {
    const member = `processingInputs.${index + 1}.member`;
    const name = uniqueName(input.InputName, `${member}.inputName`);
    const s3 = input.S3Input;
    if (!s3) {
      throw validationError(`Input ${name}: only S3Input is emulated (not DatasetDefinition)`);
    }
    if (!s3.S3Uri || !tryParseS3Uri(s3.S3Uri)) {
      throw validationError(
        constraintMessage(`${member}.s3Input.s3Uri`, s3.S3Uri, 'Member must be an s3:// URI'),
      );
    }
    if (s3.S3DataType !== 'S3Prefix' && s3.S3DataType !== 'ManifestFile') {
      throw validationError(
        constraintMessage(
          `${member}.s3Input.s3DataType`,
          s3.S3DataType,
          'Member must satisfy enum value set: [ManifestFile, S3Prefix]',
        ),
      );
    }
    if ((s3.S3InputMode ?? 'File') !== 'File') {
      throw validationError(`Input ${name}: S3InputMode ${s3.S3InputMode} is not emulated, only File`);
    }
    if ((s3.S3CompressionType ?? 'None') !== 'None') {
      throw validationError(`Input ${name}: S3CompressionType ${s3.S3CompressionType} needs Pipe mode`);
    }
    return {
      name,
      uri: s3.S3Uri,
      dataType: s3.S3DataType,
      localPath: containerPath(s3.LocalPath, `${member}.s3Input.localPath`),
    };
  });
  const outputs = (request.ProcessingOutputConfig?.Outputs ?? []).map((output, index): JobOutput => {
    const member = `processingOutputConfig.outputs.${index + 1}.member`;
    const name = uniqueName(output.OutputName, `${member}.outputName`);
    const s3 = output.S3Output;
    if (!s3) throw validationError(`Output ${name}: only S3Output is emulated (not FeatureStoreOutput)`);
    if (!s3.S3Uri || !tryParseS3Uri(s3.S3Uri)) {
      throw validationError(
        constraintMessage(`${member}.s3Output.s3Uri`, s3.S3Uri, 'Member must be an s3:// URI'),
      );
    }
    if (s3.S3UploadMode !== 'EndOfJob') {
      throw validationError(
        s3.S3UploadMode === 'Continuous'
          ? `Output ${name}: S3UploadMode Continuous is not emulated, only EndOfJob`
          : constraintMessage(
              `${member}.s3Output.s3UploadMode`,
              s3.S3UploadMode,
              'Member must satisfy enum value set: [Continuous, EndOfJob]',
            ),
      );
    }
    return { name, uri: s3.S3Uri, localPath: containerPath(s3.LocalPath, `${member}.s3Output.localPath`) };
  });
  return { imageUri, inputs, outputs, maxRuntimeSeconds };
}

/** A LocalPath, normalized; it must lie below `/opt/ml/processing/`. */
function containerPath(localPath: string | undefined, member: string): string {
  const normalized = localPath ? posix.normalize(localPath) : '';
  if (!normalized.startsWith(PROCESSING_FOLDER) || normalized.length === PROCESSING_FOLDER.length) {
    throw validationError(
      constraintMessage(member, localPath, `Member must be a path below ${PROCESSING_FOLDER}`),
    );
  }
  return normalized.replace(/\/+$/, '');
}

function validationError(message: string): Error {
  return namedError('SageMaker.ValidationException', message);
}
