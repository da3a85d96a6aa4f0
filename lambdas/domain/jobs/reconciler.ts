import type { JobsEngine } from './engine.ts';

/** What the reconciler needs of a closed execution (from EventBridge, or the local runner). */
export interface ClosedExecution {
  tenant: string;
  /** The job the execution ran (a batch, a training run): executions are named after it. */
  jobId: string;
  /** Step Functions' status: only FAILED, TIMED_OUT and ABORTED reach the reconciler. */
  status: string;
  error?: string;
  cause?: string;
}

/**
 * Marks a job and its open items failed when its execution closed without saying so (a task that
 * could not run its Catch, a timeout, an abort from outside), whichever family's machine ran it: a
 * batch and its jobs, or a training run (which has no items). Idempotent: a replayed event finds
 * every job terminal and writes nothing.
 */
export async function reconcileClosedExecution(
  engine: JobsEngine,
  execution: ClosedExecution,
): Promise<{ jobsFailed: number; ownerFailed: boolean }> {
  const owner = await engine.store.get(execution.tenant, execution.jobId);
  // "the batch execution ended FAILED: BatchFailed", "the training execution ended TIMED_OUT".
  const ended = `the ${owner ? `${owner.kind} ` : ''}execution ended ${execution.status}`;
  const error = {
    code: `EXECUTION_${execution.status}`,
    message: execution.error ? `${ended}: ${execution.error}`.slice(0, 500) : ended,
  };
  // A job the user cancelled was aborted on purpose: its open items are cancelled, not failed,
  // whichever of the cancel and this event reaches them first.
  if (owner?.status === 'cancelled') {
    await engine.closeOpenItems(
      execution.tenant,
      execution.jobId,
      'cancelled',
      undefined,
      'cancelled with its batch',
    );
    return { jobsFailed: 0, ownerFailed: false };
  }
  // Only a batch owns jobs and records their counts; a training run is failed alone (counts on it
  // would make its record one of no kind, which the store refuses to read back).
  if (owner && owner.kind !== 'batch') {
    const outcome = await engine.transition(
      execution.tenant,
      execution.jobId,
      'failed',
      { error },
      error.message,
    );
    return { jobsFailed: 0, ownerFailed: outcome.applied };
  }
  const jobsFailed = await engine.closeOpenItems(
    execution.tenant,
    execution.jobId,
    'failed',
    error,
    error.message,
  );
  const counts = await engine.countItems(execution.tenant, execution.jobId);
  const outcome = await engine.transition(
    execution.tenant,
    execution.jobId,
    'failed',
    { error, counts },
    error.message,
  );
  return { jobsFailed, ownerFailed: outcome.applied };
}
