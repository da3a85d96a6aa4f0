/**
 * An avatar job whose tables are larger than the largest Run function holds runs as a SageMaker
 * Processing job: the avatarizer container (containers/avatarizer) runs the same engine on one
 * instance. The avatars machine's steps around it:
 *
 *   PrepareProcessing ──▶ Process (createProcessingJob.sync) ──▶ RecordProcessing ──▶ Release
 *
 * `prepareProcessing` begins the run as Run does (the job running, its plan made), writes the job's
 * spec and the manifest of the objects it reads under `<tenant>/avatars/processing/<job>/`, and
 * answers the processing job's request. SageMaker downloads the spec and the objects into the
 * container, which writes the result files and an outcome into its output folder; SageMaker uploads
 * that folder to the job's results prefix when the container exits. `recordProcessing` then
 * completes the job from the outcome (or fails it with the engine's message), as Run does.
 *
 * The container has no access to the jobs table: the job shows no progress between Prepare and
 * Record, only that it runs as a Processing job, on which instance.
 */
import type { BlobStore } from '../ports.ts';
import type { ComputeOutput } from './compute.ts';
import type { JobPlan } from './inputs.ts';
import type { AvatarJobRecord, MeasuredTable } from './job-record.ts';
import { avatarKeys } from './keys.ts';
import {
  beginAvatarRun,
  completeAvatarRun,
  failAvatarRun,
  missingInput,
  type StepOutcome,
  tooLargeMessage,
} from './run-job.ts';
import { type AvatarTaskDeps, avatarJob, type StepInput } from './workflow-tasks.ts';

/** Where the container finds its inputs and leaves its results (SageMaker's LocalPath values). */
export const PROCESSING_PATHS = {
  /** The spec: `job.json`. */
  job: '/opt/ml/processing/input/job',
  /** The manifest's objects, each at its key relative to the manifest's prefix. */
  tables: '/opt/ml/processing/input/tables',
  /** Uploaded to the job's results prefix when the container exits. */
  results: '/opt/ml/processing/output/results',
} as const;

/** The spec's file name in the job input. */
export const PROCESSING_SPEC_FILE = 'job.json';
/** The outcome's file name among the results (read, then removed, by RecordProcessing). */
export const PROCESSING_OUTCOME_FILE = '_outcome.json';
/** Every processing job this stage starts is named `sfa-<job id>-<attempt>`: what its IAM names. */
export const PROCESSING_JOB_NAME_PREFIX = 'sfa-';

/** What the container runs: the same request the engine gets in Lambda, with inputs as files. */
export interface ProcessingSpec {
  jobId: string;
  plan: JobPlan;
  resultPrefix: string;
  /** Object key → its path under PROCESSING_PATHS.tables. */
  inputs: Record<string, string>;
}

/** What the container leaves in `_outcome.json`. */
export type ProcessingOutcome =
  | {
      status: 'completed';
      summary: string;
      measured?: MeasuredTable[];
      /** The result files beside it, by the client's result key. */
      files: { name: string; resultKey: string; contentType: string }[];
    }
  | { status: 'failed'; code: string; message: string };

/** The outcome of an engine run, its files written by the caller. */
export function completedOutcome(output: ComputeOutput): ProcessingOutcome {
  return {
    status: 'completed',
    summary: output.summary,
    ...(output.measured ? { measured: output.measured } : {}),
    files: output.files.map(({ name, resultKey, contentType }) => ({ name, resultKey, contentType })),
  };
}

/** The Process state's request: the ASL fixes the image, the role and the paths; this says the rest. */
export interface ProcessingRequest {
  processingJobName: string;
  /** The folder holding the spec (an S3Prefix input). */
  specUri: string;
  /** The manifest of the objects the job reads (a ManifestFile input). */
  manifestUri: string;
  /** The job's results prefix (the output's S3Uri, without a trailing slash). */
  resultsUri: string;
  instanceType: string;
  volumeSizeInGb: number;
  maxRuntimeSeconds: number;
  tags: { Key: string; Value: string }[];
}

export type PrepareProcessingOutput =
  | { decision: 'process'; request: ProcessingRequest }
  | { decision: 'done'; status: string };

/** The volume holds the inputs, the results (about three times the avatars' table) and room. */
const VOLUME_BYTES_PER_INPUT_BYTE = 6;
const MIN_VOLUME_GB = 10;

/** The steps' dependencies, with a blob store that also sizes, copies and deletes. */
export type ProcessingDeps = AvatarTaskDeps & {
  blobs: AvatarTaskDeps['blobs'] & Pick<BlobStore, 'size' | 'copy' | 'delete' | 'bucket'>;
  /** The processing job's StoppingCondition. */
  maxRuntimeSeconds: number;
};

/** Begins the run and answers the processing job's request, or `done` when the job will not run. */
export async function prepareProcessing(
  deps: ProcessingDeps,
  input: StepInput,
): Promise<PrepareProcessingOutput> {
  const { engine, blobs } = deps;
  const begun = await beginAvatarRun(deps, input);
  if (!('plan' in begun)) return { decision: 'done', status: begun.status };
  const { job, plan, keys } = begun;
  const instanceType = job.avatars.compute.instanceType;
  if (job.avatars.compute.target !== 'processing' || !instanceType) {
    throw new Error(`job ${job.id} was not made to run as a processing job`);
  }

  // Every object a job reads is the tenant's, under <tenant>/avatars/: the manifest's prefix.
  const base = `${job.tenant}/avatars/`;
  const inputs: Record<string, string> = {};
  let read = 0;
  for (const key of keys) {
    if (!key.startsWith(base)) throw new Error(`${key} is not an object of the job's tenant`);
    const bytes = await blobs.size(key);
    if (bytes === undefined)
      return ended(await failAvatarRun(engine, job, 'INPUT_MISSING', missingInput(key)));
    read += bytes;
    inputs[key] = key.slice(base.length);
  }
  const tooLarge = tooLargeMessage(job, read);
  if (tooLarge) return ended(await failAvatarRun(engine, job, 'INPUT_TOO_LARGE', tooLarge));

  const spec: ProcessingSpec = {
    jobId: job.id,
    plan,
    resultPrefix: avatarKeys.result(job.tenant, job.id, ''),
    inputs,
  };
  const s3 = (key: string) => `s3://${blobs.bucket}/${key}`;
  const specKey = avatarKeys.processing(job.tenant, job.id, `job/${PROCESSING_SPEC_FILE}`);
  const manifestKey = avatarKeys.processing(job.tenant, job.id, 'inputs.manifest');
  const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
  await blobs.put(specKey, encode(spec), 'application/json');
  await blobs.put(manifestKey, encode([{ prefix: s3(base) }, ...Object.values(inputs)]), 'application/json');

  // A name is never reused (SageMaker keeps them): each attempt of the job counts one more.
  const attempt = (job.avatars.processingAttempts ?? 0) + 1;
  const processingJobName = processingJobNameOf(job.id, attempt);
  await engine.store.update(
    job.tenant,
    job.id,
    {
      avatars: { ...job.avatars, processingAttempts: attempt },
      message: `running ${begun.kind} as SageMaker Processing job ${processingJobName} on ${instanceType}`,
    },
    { whenStatus: 'running' },
  );
  await engine.log(job.tenant, job.id, 'info', `processing job ${processingJobName} on ${instanceType}`);
  return {
    decision: 'process',
    request: {
      processingJobName,
      specUri: s3(avatarKeys.processing(job.tenant, job.id, 'job/')),
      manifestUri: s3(manifestKey),
      resultsUri: s3(avatarKeys.result(job.tenant, job.id, '')).replace(/\/$/, ''),
      instanceType,
      volumeSizeInGb: Math.max(MIN_VOLUME_GB, Math.ceil((read * VOLUME_BYTES_PER_INPUT_BYTE) / 1e9) + 5),
      maxRuntimeSeconds: deps.maxRuntimeSeconds,
      tags: [
        { Key: 'synthforge:family', Value: 'avatars' },
        { Key: 'synthforge:job', Value: job.id },
      ],
    },
  };
}

/** What every processing job of one avatar job is named from: `sfa-<job id>-`. */
export const processingJobNamesOf = (jobId: string) => `${PROCESSING_JOB_NAME_PREFIX}${jobId.toLowerCase()}-`;

/** `sfa-<job id>-<attempt>`, within SageMaker's 63 characters and its pattern. */
export const processingJobNameOf = (jobId: string, attempt: number) =>
  `${processingJobNamesOf(jobId)}${attempt}`;

/**
 * Completes (or fails) the job from what its processing job left among its results, then removes
 * the spec, the manifest and the outcome. Safe to run again (the step is retried): a job that has
 * completed keeps its results, one that has not keeps none.
 */
export async function recordProcessing(deps: ProcessingDeps, input: StepInput): Promise<StepOutcome> {
  const { engine, blobs } = deps;
  const job = await avatarJob(engine, input);
  const outcomeKey = avatarKeys.result(job.tenant, job.id, PROCESSING_OUTCOME_FILE);
  const outcomeBytes = await blobs.get(outcomeKey);
  const outcome = outcomeBytes
    ? (JSON.parse(new TextDecoder().decode(outcomeBytes)) as ProcessingOutcome)
    : undefined;
  const result = job.status === 'running' ? await settle(deps, job, outcome) : { status: job.status };
  // A job cancelled meanwhile (or refused) keeps no results.
  if (result.status !== 'completed' && outcome?.status === 'completed') {
    for (const file of outcome.files) await blobs.delete(avatarKeys.result(job.tenant, job.id, file.name));
  }
  // The spec, the manifest and the outcome have served; last, so that a retry still finds the outcome.
  for (const key of [
    avatarKeys.processing(job.tenant, job.id, `job/${PROCESSING_SPEC_FILE}`),
    avatarKeys.processing(job.tenant, job.id, 'inputs.manifest'),
    outcomeKey,
  ]) {
    await blobs.delete(key);
  }
  return result;
}

/** The running job completed with the outcome's files, or failed with its reason. */
async function settle(
  deps: ProcessingDeps,
  job: AvatarJobRecord,
  outcome: ProcessingOutcome | undefined,
): Promise<StepOutcome> {
  const { engine, blobs } = deps;
  if (!outcome) {
    return failAvatarRun(
      engine,
      job,
      'ENGINE_ERROR',
      'the processing job ended without saying what it made: see its logs',
    );
  }
  if (outcome.status === 'failed') return failAvatarRun(engine, job, outcome.code, outcome.message);

  // SageMaker uploads the files untyped: each gets its type back (a copy onto itself).
  const outputs: Record<string, string[]> = {};
  for (const file of outcome.files) {
    const key = avatarKeys.result(job.tenant, job.id, file.name);
    if ((await blobs.size(key)) === undefined) {
      return failAvatarRun(engine, job, 'ENGINE_ERROR', `the processing job did not upload ${file.name}`);
    }
    await blobs.copy(key, key, file.contentType);
    outputs[file.resultKey] = [...(outputs[file.resultKey] ?? []), key];
  }
  const current = await engine.get(job.tenant, job.id);
  if (current.status !== 'running') return { status: current.status };
  return completeAvatarRun(engine, job, { ...outcome, outputs });
}

const ended = (outcome: StepOutcome): PrepareProcessingOutput => ({
  decision: 'done',
  status: outcome.status,
});
