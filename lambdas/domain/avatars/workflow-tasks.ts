/**
 * The avatars machine's steps (statemachines/avatars.asl.json). A job's execution starts when the job
 * is created and runs:
 *
 *   Decide ──wait──▶ AwaitParents (task token) ──▶ Decide …
 *     │run                                 (a parent that ends sends the token back; the wait times
 *     ▼                                     out and decides again, so that a lost wake-up only delays)
 *   Run (the engine) ──▶ Release (wakes this job's dependants)
 *
 * `decide` ends a job whose parent failed or was cancelled as `parent_error` without running it, and
 * wakes its own dependants so that the failure travels down the graph. Run is ./run-job.ts; these
 * steps are kept apart from it so that their functions carry neither the engine nor the YAML parser.
 */
import type { JobsEngine } from '../jobs/engine.ts';
import { isTerminal } from '../jobs/lifecycle.ts';
import { isJobOfKind, type JobRecord } from '../jobs/model.ts';
import type { BlobStore, JobStateChange, TaskCallbacks } from '../ports.ts';
import type { AvatarEnginePort } from './compute.ts';
import { type AvatarJobRecord, PARENT_ERROR } from './job-record.ts';
import { READY_MESSAGE, WAITING_MESSAGE } from './present.ts';

/** How far clocks of two functions may differ, at most, for the dependants' lookup. */
const CLOCK_MARGIN_MS = 5 * 60_000;

export interface AvatarTaskDeps {
  engine: JobsEngine;
  blobs: Pick<BlobStore, 'get' | 'put'>;
  callbacks: TaskCallbacks;
  /**
   * Runs the engine: in this process (the Run functions) or on worker threads (the local platform).
   * Only Run needs it: the other steps' functions are built without it.
   */
  compute?: AvatarEnginePort;
  /** True once the local platform is stopping: a run it cut off stays running, to run again. */
  stopping?: () => boolean;
}

export interface StepInput {
  tenant: string;
  jobId: string;
}

export async function avatarJob(engine: JobsEngine, input: StepInput): Promise<AvatarJobRecord> {
  const job = await engine.get(input.tenant, input.jobId);
  if (!isJobOfKind(job, 'avatars')) throw new Error(`job ${job.id} is a ${job.kind} job, not an avatar job`);
  return job;
}

type Decision = 'run' | 'wait' | 'done';

/** Where a job stands against its parents: run, wait, or it has ended (now or before). */
export async function decide(deps: AvatarTaskDeps, input: StepInput): Promise<{ decision: Decision }> {
  const { engine } = deps;
  const job = await avatarJob(engine, input);
  if (isTerminal(job.status)) return { decision: 'done' };
  // Running already: an earlier attempt of Run was cut off (a restart); it runs again.
  if (job.status === 'running') return { decision: 'run' };
  const parents = await Promise.all(job.params.dependsOn.map((id) => engine.store.get(job.tenant, id)));
  const ended = parents.find(
    (parent) => !parent || (isTerminal(parent.status) && parent.status !== 'completed'),
  );
  if (ended !== undefined || parents.some((parent) => parent === undefined)) {
    const index = parents.indexOf(ended);
    const parentId = job.params.dependsOn[index] ?? 'unknown';
    // A cancelled parent cancels its dependants (as cancelling it through the API does); one that
    // failed or is gone ends them parent_error.
    const outcome =
      ended?.status === 'cancelled'
        ? await engine.transition(
            job.tenant,
            job.id,
            'cancelled',
            { message: `cancelled with job ${parentId} it depends on` },
            `cancelled with job ${parentId} it depends on`,
          )
        : await parentError(engine, job, parentId, ended);
    if (outcome.applied) await release(deps, input);
    return { decision: 'done' };
  }
  if (parents.every((parent) => parent?.status === 'completed')) {
    // Its parents have all finished: it is queued (no longer waiting) until Run starts it.
    if (job.message === WAITING_MESSAGE) {
      await engine.store.update(job.tenant, job.id, { message: READY_MESSAGE }, { whenStatus: 'pending' });
    }
    return { decision: 'run' };
  }
  return { decision: 'wait' };
}

async function parentError(
  engine: JobsEngine,
  job: AvatarJobRecord,
  parentId: string,
  parent: JobRecord | undefined,
) {
  const how = parent ? `ended ${parent.status}` : 'no longer exists';
  const message = `job ${parentId} it depends on ${how}${parent?.error ? `: ${parent.error.message}` : ''}`;
  return engine.transition(
    job.tenant,
    job.id,
    'failed',
    { error: { code: PARENT_ERROR, message }, message },
    `parent_error: ${message}`,
  );
}

/**
 * Waits for the parents: the step's token is kept on the job for a parent's Release to send back.
 * The parents are looked at once more after the token is stored, so that a parent that ended
 * between Decide and now (whose Release found no token) does not leave the job waiting.
 */
export async function awaitParents(
  deps: AvatarTaskDeps,
  input: StepInput & { taskToken: string },
): Promise<void> {
  const { engine, callbacks } = deps;
  const job = await avatarJob(engine, input);
  if (!isTerminal(job.status)) {
    await engine.store.update(
      job.tenant,
      job.id,
      { avatars: { ...job.avatars, waitToken: input.taskToken }, message: WAITING_MESSAGE },
      { whenStatus: 'pending' },
    );
  }
  const parents = await Promise.all(job.params.dependsOn.map((id) => engine.store.get(job.tenant, id)));
  const settled =
    isTerminal(job.status) ||
    parents.some((parent) => !parent || (isTerminal(parent.status) && parent.status !== 'completed')) ||
    parents.every((parent) => parent?.status === 'completed');
  if (settled) await wake(callbacks, input.taskToken);
}

/** Sends a waiting step its token back; a step that is no longer waiting is not an error. */
async function wake(callbacks: TaskCallbacks, token: string): Promise<void> {
  try {
    await callbacks.succeed(token, {});
  } catch (error) {
    if ((error as Error).name !== 'TaskTimedOut' && (error as Error).name !== 'InvalidToken') throw error;
  }
}

/** Wakes the open jobs that depend on this one, so that each decides again. */
export async function release(deps: AvatarTaskDeps, input: StepInput): Promise<{ woken: number }> {
  const job = await deps.engine.store.get(input.tenant, input.jobId);
  if (!job) return { woken: 0 };
  const open = await openAvatarJobsSince(deps.engine, input.tenant, job.createdAt);
  let woken = 0;
  for (const dependant of open) {
    if (!dependant.params.dependsOn.includes(input.jobId)) continue;
    // The list is read from an index that may lag; the job itself is read as it is now, so that the
    // token its current wait holds is the one sent back.
    const current = await deps.engine.store.get(dependant.tenant, dependant.id);
    const token = current && isJobOfKind(current, 'avatars') ? current.avatars.waitToken : undefined;
    if (!token || isTerminal(current!.status)) continue;
    await wake(deps.callbacks, token);
    woken++;
  }
  return { woken };
}

/**
 * Wakes the dependants of an avatar job that ended outside its execution's own steps: cancelled
 * through any route (the generic `DELETE /jobs/{id}` too, which knows nothing of dependants), or
 * failed by the reconciler. Its state change event brings it here, so that its waiting dependants
 * decide now (and end parent_error) instead of when their wait times out. A job that Release
 * already woke for is woken for again: harmless, each dependant only decides again.
 */
export async function releaseEnded(
  deps: AvatarTaskDeps,
  change: Pick<JobStateChange, 'tenant' | 'jobId' | 'kind' | 'status'>,
): Promise<{ woken: number }> {
  if (change.kind !== 'avatars' || (change.status !== 'cancelled' && change.status !== 'failed')) {
    return { woken: 0 };
  }
  return release(deps, { tenant: change.tenant, jobId: change.jobId });
}

/**
 * The tenant's avatar jobs created since about `since` that have not ended. A job's dependants are
 * created after it, so the jobs that may depend on one are those created since it: its tenant's
 * history before it is not read. The bound is moved back by a margin, so that two functions whose
 * clocks differ by a little cannot hide a dependant created right after its parent.
 */
export async function openAvatarJobsSince(
  engine: JobsEngine,
  tenant: string,
  since: string,
): Promise<AvatarJobRecord[]> {
  const from = new Date(Date.parse(since) - CLOCK_MARGIN_MS).toISOString();
  const open: AvatarJobRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await engine.store.list(tenant, {
      kind: 'avatars',
      since: from,
      limit: 100,
      ...(cursor ? { cursor } : {}),
    });
    open.push(
      ...page.items.filter(
        (job: JobRecord): job is AvatarJobRecord => isJobOfKind(job, 'avatars') && !isTerminal(job.status),
      ),
    );
    cursor = page.nextCursor;
  } while (cursor);
  return open;
}
