/**
 * How an avatar job's execution is started (statemachines/avatars.asl.json reads this input) and
 * where its engine runs. The target is chosen when the job is created, from the size of what it
 * reads, and kept on the record with its reason.
 */
import type { ExecutionInput, Workflow } from '../ports.ts';
import type { AvatarCompute } from './job-record.ts';

export interface AvatarExecutionInput extends ExecutionInput {
  /** The job's id: it names the execution. */
  jobId: string;
  /**
   * `lambda` (the function of 4 GB), `lambda-large` (10 GB), `processing` (a SageMaker Processing job,
   * for tables larger than that) or `local` (worker threads); the machine's Choice reads it.
   */
  runner: 'lambda' | 'lambda-large' | 'processing' | 'local';
}

export const avatarJobId = (input: AvatarExecutionInput): string => input.jobId;

export type AvatarWorkflow = Workflow<AvatarExecutionInput>;

/** What the stage runs avatar jobs on. */
export interface AvatarComputeSettings {
  /** `lambda`: deployed; `local`: the local platform's worker threads. */
  mode: 'lambda' | 'local';
  /** The memory of the two functions that run the engine (MB). */
  memoryMb: { standard: number; large: number };
  /**
   * The largest input (bytes of CSV read by a job) each function takes. The engine's working set is
   * about `WORKING_SET_PER_CSV_BYTE` times its CSV (typed columns, the projection, the neighbours and
   * the avatars side by side), plus the runtime's own.
   */
  maxInputBytes: { standard: number; large: number };
  /**
   * Tables larger than the large function holds run as a SageMaker Processing job (the avatarizer
   * image of containers/avatarizer); absent when the stage has no such image, and such tables are
   * then refused with the limit. Locally, the emulated SageMaker runs the same container's code.
   */
  processing?: AvatarProcessingSettings;
}

/** How an avatar job too large for Lambda runs as a SageMaker Processing job. */
export interface AvatarProcessingSettings {
  /** The one instance it runs on (`ml.m5.4xlarge`). */
  instanceType: string;
  /** Its memory (MB), from which the largest input is reckoned. */
  memoryMb: number;
  maxInputBytes: number;
  /** The job's StoppingCondition: it is stopped (and fails) past this. */
  maxRuntimeSeconds: number;
}

/**
 * The memory of the instance types a Processing job may run on (MiB): the general-purpose and
 * memory-optimised ones with room for the largest table one job reads.
 */
export const PROCESSING_INSTANCE_MEMORY_MB: Readonly<Record<string, number>> = {
  'ml.m5.2xlarge': 32 * 1024,
  'ml.m5.4xlarge': 64 * 1024,
  'ml.m5.12xlarge': 192 * 1024,
  'ml.r5.2xlarge': 64 * 1024,
  'ml.r5.4xlarge': 128 * 1024,
  'ml.r5.8xlarge': 256 * 1024,
};

/** The instance a Processing job runs on unless the stage says otherwise: 8 vCPU, 32 GiB. */
export const DEFAULT_PROCESSING_INSTANCE_TYPE = 'ml.m5.2xlarge';
/** Six hours: far more than the largest table takes (B13: 1M rows in under a minute on 2 cores). */
export const DEFAULT_PROCESSING_MAX_RUNTIME_SECONDS = 6 * 3600;

/** The Processing settings for an instance type (one of PROCESSING_INSTANCE_MEMORY_MB). */
export function processingSettingsFor(
  instanceType: string = DEFAULT_PROCESSING_INSTANCE_TYPE,
  maxRuntimeSeconds: number = DEFAULT_PROCESSING_MAX_RUNTIME_SECONDS,
): AvatarProcessingSettings {
  const memoryMb = PROCESSING_INSTANCE_MEMORY_MB[instanceType];
  if (memoryMb === undefined) {
    throw new Error(
      `${instanceType} is not an instance type for avatar processing jobs: one of ${Object.keys(PROCESSING_INSTANCE_MEMORY_MB).join(', ')}`,
    );
  }
  return { instanceType, memoryMb, maxInputBytes: maxInputBytesFor(memoryMb), maxRuntimeSeconds };
}

/**
 * Peak memory per byte of CSV. B13 measured 12 on 1M rows × 20 mixed columns of 4–6 decimals, and a
 * review measured 32–42 on narrow tables of one-digit values (each 2-byte cell becomes 8-byte floats
 * and offsets several times over): the larger, so that a table that passes fits whatever its values.
 */
export const WORKING_SET_PER_CSV_BYTE = 42;
/**
 * The most CSV one job reads, whatever its memory: the reader decodes a table into one string, and V8
 * caps a string at 2²⁹ − 24 characters (the avatars are written a block of rows at a time).
 */
export const MAX_JOB_INPUT_BYTES = 500_000_000;
/** What Node and the function's code take before any table is read. */
const RUNTIME_MB = 200;

/** The most CSV a runner of `memoryMb` takes. */
export const maxInputBytesFor = (memoryMb: number): number =>
  Math.min(
    MAX_JOB_INPUT_BYTES,
    Math.floor(((memoryMb - RUNTIME_MB) * 1024 * 1024) / WORKING_SET_PER_CSV_BYTE),
  );

export function defaultComputeSettings(
  mode: 'lambda' | 'local',
  processing?: AvatarProcessingSettings,
): AvatarComputeSettings {
  const memoryMb = { standard: 4096, large: 10240 };
  const inputFor = maxInputBytesFor;
  return {
    mode,
    memoryMb,
    maxInputBytes: { standard: inputFor(memoryMb.standard), large: inputFor(memoryMb.large) },
    ...(processing ? { processing } : {}),
  };
}

/** The most CSV one job of this stage reads, whichever runner takes it. */
export const stageMaxInputBytes = (settings: AvatarComputeSettings): number =>
  Math.max(settings.maxInputBytes.large, settings.processing?.maxInputBytes ?? 0);

/**
 * Where a job reading `inputBytes` of CSV runs, and why; undefined when no runner here can hold it
 * (the caller refuses the job with the limit).
 */
export function chooseCompute(
  settings: AvatarComputeSettings,
  inputBytes: number,
): { compute: AvatarCompute; runner: AvatarExecutionInput['runner'] } | undefined {
  const size =
    inputBytes < 1e6
      ? `${Math.ceil(inputBytes / 1e3)} kB of CSV`
      : `${(inputBytes / 1e6).toFixed(1)} MB of CSV`;
  const workingMb = Math.ceil((inputBytes * WORKING_SET_PER_CSV_BYTE) / (1024 * 1024)) + RUNTIME_MB;
  if (settings.mode === 'local' && inputBytes <= settings.maxInputBytes.large) {
    return {
      runner: 'local',
      compute: { target: 'local', reason: `${size}: the local platform runs the engine on worker threads` },
    };
  }
  if (settings.mode === 'lambda' && inputBytes <= settings.maxInputBytes.standard) {
    return {
      runner: 'lambda',
      compute: {
        target: 'lambda',
        memoryMb: settings.memoryMb.standard,
        reason: `${size}: about ${workingMb} MB working set, within the ${settings.memoryMb.standard} MB function`,
      },
    };
  }
  if (settings.mode === 'lambda' && inputBytes <= settings.maxInputBytes.large) {
    return {
      runner: 'lambda-large',
      compute: {
        target: 'lambda',
        memoryMb: settings.memoryMb.large,
        reason: `${size}: about ${workingMb} MB working set, more than the ${settings.memoryMb.standard} MB function holds`,
      },
    };
  }
  const processing = settings.processing;
  if (processing && inputBytes <= processing.maxInputBytes) {
    return {
      runner: 'processing',
      compute: {
        target: 'processing',
        memoryMb: processing.memoryMb,
        instanceType: processing.instanceType,
        reason: `${size}: about ${workingMb} MB working set, more than the ${settings.memoryMb.large} MB function holds: a SageMaker Processing job on ${processing.instanceType}`,
      },
    };
  }
  return undefined;
}
