/**
 * The avatars machine's Run step: the job's inputs read from S3, the engine run on them (in this
 * process, or on the local platform's worker threads), the results written beside the job, and the
 * job completed with where they are. A table the engine refuses fails the job with its message.
 *
 * Its two halves, `beginAvatarRun` and `completeAvatarRun`, are also the PrepareProcessing and
 * RecordProcessing steps' (./processing.ts): a job too large for Lambda runs between them as a
 * SageMaker Processing job.
 */
import { DomainError } from '../errors.ts';
import type { JobsEngine } from '../jobs/engine.ts';
import { isTerminal } from '../jobs/lifecycle.ts';
import { isJobOfKind } from '../jobs/model.ts';
import type { ComputeOutput } from './compute.ts';
import { MAX_JOB_INPUT_BYTES, maxInputBytesFor } from './execution.ts';
import { type JobPlan, planOf } from './inputs.ts';
import type { AvatarJobRecord, MeasuredTable } from './job-record.ts';
import { avatarKeys } from './keys.ts';
import { type AvatarSet, parametersOf } from './resources.ts';
import { type AvatarTaskDeps, avatarJob, type StepInput } from './workflow-tasks.ts';

/** Where a step leaves the job: its status, when the step has nothing more to do. */
export interface StepOutcome {
  status: string;
}

/** A job that is running and whose inputs are known: what the engine is run on. */
export interface BegunRun {
  job: AvatarJobRecord;
  plan: JobPlan;
  /** Every object the plan reads. */
  keys: string[];
  /** `standard`, `privacy_metrics`...: the parameters document's kind, for the log. */
  kind: string;
}

/** Runs the job's engine on its inputs and completes it with its results. */
export async function runAvatarJob(deps: AvatarTaskDeps, input: StepInput): Promise<StepOutcome> {
  const { engine, blobs } = deps;
  const begun = await beginAvatarRun(deps, input);
  if (!('plan' in begun)) return begun;
  const { job, plan } = begun;

  const inputs: Record<string, Uint8Array> = {};
  for (const key of begun.keys) {
    const bytes = await blobs.get(key);
    if (!bytes) return failAvatarRun(engine, job, 'INPUT_MISSING', missingInput(key));
    inputs[key] = bytes;
  }

  if (!deps.compute) throw new Error('this function runs no avatar engine: Run needs the runtime with one');
  const read = Object.values(inputs).reduce((sum, bytes) => sum + bytes.length, 0);
  const tooLarge = tooLargeMessage(job, read);
  if (tooLarge) return failAvatarRun(engine, job, 'INPUT_TOO_LARGE', tooLarge);
  let output: ComputeOutput;
  try {
    output = await deps.compute.run(
      {
        plan,
        inputs,
        jobId: job.id,
        resultPrefix: avatarKeys.result(job.tenant, job.id, ''),
        ...(job.avatars.compute.memoryMb ? { memoryBytes: job.avatars.compute.memoryMb * 2 ** 20 } : {}),
      },
      (share, step) => {
        void engine.store
          .update(
            job.tenant,
            job.id,
            { progress: Math.round(5 + share * 90), message: step },
            { whenStatus: 'running' },
          )
          .catch(() => undefined);
      },
    );
  } catch (error) {
    if (deps.stopping?.()) throw error;
    const code = (error as { code?: string }).code ?? 'ENGINE_ERROR';
    return failAvatarRun(engine, job, code.toUpperCase(), (error as Error).message);
  }

  // A job cancelled while it ran keeps no results.
  const current = await engine.get(job.tenant, job.id);
  if (current.status !== 'running') return { status: current.status };
  const outputs: Record<string, string[]> = {};
  for (const file of output.files) {
    const key = avatarKeys.result(job.tenant, job.id, file.name);
    await blobs.put(key, file.bytes, file.contentType);
    outputs[file.resultKey] = [...(outputs[file.resultKey] ?? []), key];
  }
  return completeAvatarRun(engine, job, { outputs, measured: output.measured, summary: output.summary });
}

/**
 * The job read with the set it was created with, its plan made, and the job moved to running; or,
 * when it cannot run (it ended meanwhile, its set or parameters are gone, its plan is refused), its
 * status, the job failed with the reason where it had not ended.
 */
export async function beginAvatarRun(
  deps: AvatarTaskDeps,
  input: StepInput,
): Promise<BegunRun | StepOutcome> {
  const { engine, blobs } = deps;
  const job = await avatarJob(engine, input);
  if (isTerminal(job.status)) return { status: job.status };
  const setBytes = await blobs.get(avatarKeys.jobSet(job.tenant, job.params.setName, job.id));
  if (!setBytes)
    return failAvatarRun(
      engine,
      job,
      'SET_MISSING',
      `the set ${job.params.setName} this job was created with is gone`,
    );
  const set = JSON.parse(new TextDecoder().decode(setBytes)) as AvatarSet;
  const found = parametersOf(set, job.params.parametersName);
  if (!found) {
    return failAvatarRun(
      engine,
      job,
      'PARAMETERS_MISSING',
      `parameters ${job.params.parametersName} are no longer in set ${job.params.setName}`,
    );
  }
  const parents = (
    await Promise.all(job.params.dependsOn.map((id) => engine.store.get(job.tenant, id)))
  ).filter((parent): parent is AvatarJobRecord => parent !== undefined && isJobOfKind(parent, 'avatars'));

  let plan: JobPlan;
  try {
    plan = planOf(set, found, parents, job.tenant);
  } catch (error) {
    if (error instanceof DomainError) return failAvatarRun(engine, job, 'INVALID_INPUT', error.message);
    throw error;
  }
  if (job.status === 'pending') {
    const outcome = await engine.transition(
      job.tenant,
      job.id,
      'running',
      { message: `running ${found.kind}` },
      `running ${found.kind}`,
    );
    if (!outcome.applied) return { status: outcome.reason === 'illegal' ? outcome.job.status : 'missing' };
  } else {
    await engine.log(
      job.tenant,
      job.id,
      'info',
      `running ${found.kind} again: the previous attempt did not finish`,
    );
  }
  return { job, plan, keys: keysOf(plan), kind: found.kind };
}

/**
 * A table uploaded again under the same name since the job was created may be larger than its
 * runner holds: the message that refuses it with the sizes (rather than run out of memory), or
 * undefined when `readBytes` fits.
 */
export function tooLargeMessage(job: AvatarJobRecord, readBytes: number): string | undefined {
  const limit = job.avatars.compute.memoryMb
    ? maxInputBytesFor(job.avatars.compute.memoryMb)
    : MAX_JOB_INPUT_BYTES;
  if (readBytes <= limit) return undefined;
  return `the job's tables are ${(readBytes / 1e6).toFixed(0)} MB now, more than the ${(limit / 1e6).toFixed(0)} MB its runner holds: were they uploaded again? Create the job again`;
}

export const missingInput = (key: string) => `${key.split('/').pop()} could not be read: was it deleted?`;

/** Completes a running job with its stored results. */
export async function completeAvatarRun(
  engine: JobsEngine,
  job: AvatarJobRecord,
  result: { outputs: Record<string, string[]>; measured?: MeasuredTable[] | undefined; summary: string },
): Promise<StepOutcome> {
  const outcome = await engine.transition(
    job.tenant,
    job.id,
    'completed',
    {
      progress: 100,
      message: result.summary,
      avatars: {
        ...job.avatars,
        outputs: result.outputs,
        ...(result.measured ? { measured: result.measured } : {}),
      },
    },
    result.summary,
  );
  return {
    status: outcome.applied ? 'completed' : outcome.reason === 'illegal' ? outcome.job.status : 'missing',
  };
}

/** Every object a plan reads. */
function keysOf(plan: JobPlan): string[] {
  const keys = new Set<string>();
  for (const entry of plan.tables) {
    keys.add(entry.table.key);
    if ('synthetic' in entry) keys.add(entry.synthetic.key);
    if ('privacyKey' in entry && entry.privacyKey) keys.add(entry.privacyKey);
    if ('signalKey' in entry && entry.signalKey) keys.add(entry.signalKey);
  }
  return [...keys];
}

/** Fails the job with `code` and `message`; its status after. */
export async function failAvatarRun(
  engine: JobsEngine,
  job: AvatarJobRecord,
  code: string,
  message: string,
): Promise<StepOutcome> {
  const outcome = await engine.transition(
    job.tenant,
    job.id,
    'failed',
    { error: { code, message }, message },
    `failed: ${message}`,
  );
  return {
    status: outcome.applied ? 'failed' : outcome.reason === 'illegal' ? outcome.job.status : 'missing',
  };
}
