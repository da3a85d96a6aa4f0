/**
 * Stores a job that a workflow runs (a batch with its jobs, a training run) and starts its
 * execution: the one way such work begins. No job is ever left pending with nothing to run it: a
 * failure to store or to start fails whatever was written.
 */
import { unavailable } from '../errors.ts';
import type { ExecutionInput, Workflow } from '../ports.ts';
import type { JobsEngine } from './engine.ts';
import type { JobRecord } from './model.ts';

export interface WorkToStart<I extends ExecutionInput, J extends JobRecord> {
  /** The job its execution is named after (a batch, a training run). */
  job: J;
  /** The jobs stored with it for the execution to run (a batch's); none for a training run. */
  items?: readonly JobRecord[];
  /** The job's first log line. */
  logLine: string;
  input: I;
  /**
   * What the errors call it: `the batch`, whose workflow is `the batch workflow`, and the key that
   * holds its id in a 503's details (`batch_id`).
   */
  names: { job: string; workflow: string; idDetail: string };
}

/** Stores the work and starts its execution; answers the job as stored, with its execution's id. */
export async function storeAndStart<I extends ExecutionInput, J extends JobRecord>(
  deps: { engine: JobsEngine; workflow: Workflow<I> },
  work: WorkToStart<I, J>,
): Promise<J> {
  const { engine, workflow } = deps;
  const { job, names } = work;
  // Stored with its execution's id, known in advance: a cancel that comes before `start` answers
  // still stops the execution, and no second write records it.
  const stored: J = { ...job, executionId: workflow.executionIdOf(job.id) };
  const written = [stored, ...(work.items ?? [])];
  try {
    // The jobs' ids were just drawn and their workflow starts only below: nothing else can write them.
    await engine.createUnstarted(written, [{ job: stored, level: 'info', message: work.logLine }]);
  } catch (error) {
    // A batch write can land in part: what did land must not stay pending.
    await failUnstarted(engine, written, {
      code: 'SUBMISSION_FAILED',
      message: `${names.job} could not be stored`,
    });
    throw error;
  }
  let executionId: string;
  try {
    ({ executionId } = await workflow.start(work.input));
  } catch (error) {
    const reason = { code: 'WORKFLOW_UNAVAILABLE', message: `${names.workflow} could not be started` };
    await failUnstarted(engine, written, reason);
    throw unavailable(reason.message, { [names.idDetail]: job.id, cause: (error as Error).name }, 5);
  }
  // Only a workflow that names its executions some other way costs this second write.
  if (executionId !== stored.executionId) await engine.store.update(job.tenant, job.id, { executionId });
  return stored;
}

/** Fails jobs that never started from the records in hand (no index read); one that is not there stays so. */
async function failUnstarted(
  engine: JobsEngine,
  jobs: readonly JobRecord[],
  error: { code: string; message: string },
): Promise<void> {
  for (const job of jobs) {
    await engine.transition(job.tenant, job.id, 'failed', { error }, error.message).catch(() => undefined);
  }
}
