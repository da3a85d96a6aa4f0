/**
 * The avatars machine's Run step: the job's inputs read from S3, the engine run on them (in this
 * process, or on the local platform's worker threads), the results written beside the job, and the
 * job completed with where they are. A table the engine refuses fails the job with its message.
 */
import { DomainError } from '../errors.ts';
import type { JobsEngine } from '../jobs/engine.ts';
import { isTerminal } from '../jobs/lifecycle.ts';
import { isJobOfKind } from '../jobs/model.ts';
import type { ComputeOutput } from './compute.ts';
import { MAX_JOB_INPUT_BYTES, maxInputBytesFor } from './execution.ts';
import { planOf } from './inputs.ts';
import type { AvatarJobRecord } from './job-record.ts';
import { avatarKeys } from './keys.ts';
import { type AvatarSet, parametersOf } from './resources.ts';
import { type AvatarTaskDeps, avatarJob, type StepInput } from './workflow-tasks.ts';

/** Runs the job's engine on its inputs and completes it with its results. */
export async function runAvatarJob(deps: AvatarTaskDeps, input: StepInput): Promise<{ status: string }> {
  const { engine, blobs } = deps;
  const job = await avatarJob(engine, input);
  if (isTerminal(job.status)) return { status: job.status };
  const setBytes = await blobs.get(avatarKeys.jobSet(job.tenant, job.params.setName, job.id));
  if (!setBytes)
    return fail(
      engine,
      job,
      'SET_MISSING',
      `the set ${job.params.setName} this job was created with is gone`,
    );
  const set = JSON.parse(new TextDecoder().decode(setBytes)) as AvatarSet;
  const found = parametersOf(set, job.params.parametersName);
  if (!found) {
    return fail(
      engine,
      job,
      'PARAMETERS_MISSING',
      `parameters ${job.params.parametersName} are no longer in set ${job.params.setName}`,
    );
  }
  const parents = (
    await Promise.all(job.params.dependsOn.map((id) => engine.store.get(job.tenant, id)))
  ).filter((parent): parent is AvatarJobRecord => parent !== undefined && isJobOfKind(parent, 'avatars'));

  let plan: ReturnType<typeof planOf>;
  try {
    plan = planOf(set, found, parents, job.tenant);
  } catch (error) {
    if (error instanceof DomainError) return fail(engine, job, 'INVALID_INPUT', error.message);
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

  const inputs: Record<string, Uint8Array> = {};
  for (const key of keysOf(plan)) {
    const bytes = await blobs.get(key);
    if (!bytes)
      return fail(engine, job, 'INPUT_MISSING', `${key.split('/').pop()} could not be read: was it deleted?`);
    inputs[key] = bytes;
  }

  if (!deps.compute) throw new Error('this function runs no avatar engine: Run needs the runtime with one');
  // A table uploaded again under the same name since the job was created may be larger than its
  // runner holds: refused with the sizes rather than run out of memory.
  const read = Object.values(inputs).reduce((sum, bytes) => sum + bytes.length, 0);
  const limit = job.avatars.compute.memoryMb
    ? maxInputBytesFor(job.avatars.compute.memoryMb)
    : MAX_JOB_INPUT_BYTES;
  if (read > limit) {
    return fail(
      engine,
      job,
      'INPUT_TOO_LARGE',
      `the job's tables are ${(read / 1e6).toFixed(0)} MB now, more than the ${(limit / 1e6).toFixed(0)} MB its runner holds: were they uploaded again? Create the job again`,
    );
  }
  let output: ComputeOutput;
  try {
    output = await deps.compute.run(
      { plan, inputs, jobId: job.id, resultPrefix: avatarKeys.result(job.tenant, job.id, '') },
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
    return fail(engine, job, code.toUpperCase(), (error as Error).message);
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
  const outcome = await engine.transition(
    job.tenant,
    job.id,
    'completed',
    {
      progress: 100,
      message: output.summary,
      avatars: { ...job.avatars, outputs, ...(output.measured ? { measured: output.measured } : {}) },
    },
    output.summary,
  );
  return {
    status: outcome.applied ? 'completed' : outcome.reason === 'illegal' ? outcome.job.status : 'missing',
  };
}

/** Every object a plan reads. */
function keysOf(plan: ReturnType<typeof planOf>): string[] {
  const keys = new Set<string>();
  for (const entry of plan.tables) {
    keys.add(entry.table.key);
    if ('synthetic' in entry) keys.add(entry.synthetic.key);
    if ('privacyKey' in entry && entry.privacyKey) keys.add(entry.privacyKey);
    if ('signalKey' in entry && entry.signalKey) keys.add(entry.signalKey);
  }
  return [...keys];
}

async function fail(engine: JobsEngine, job: AvatarJobRecord, code: string, message: string) {
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
