import type { JobsEngine } from './engine.ts';

/** What the reconciler needs of a closed execution (from EventBridge, or the local runner). */
export interface ClosedExecution {
  tenant: string;
  batchId: string;
  /** Step Functions' status: only FAILED, TIMED_OUT and ABORTED reach the reconciler. */
  status: string;
  error?: string;
  cause?: string;
}

/**
 * Marks a batch and its open jobs failed when their execution closed without saying so (a task that
 * could not run its Catch, a timeout, an abort from outside). Idempotent: a replayed event finds
 * every job terminal and writes nothing.
 */
export async function reconcileClosedExecution(
  engine: JobsEngine,
  execution: ClosedExecution,
): Promise<{ jobsFailed: number; batchFailed: boolean }> {
  const error = {
    code: `EXECUTION_${execution.status}`,
    message: execution.error
      ? `the batch execution ended ${execution.status}: ${execution.error}`.slice(0, 500)
      : `the batch execution ended ${execution.status}`,
  };
  // A batch the user cancelled was aborted on purpose: its open jobs are cancelled, not failed,
  // whichever of the cancel and this event reaches them first.
  const batch = await engine.store.get(execution.tenant, execution.batchId);
  if (batch?.status === 'cancelled') {
    await engine.closeOpenItems(
      execution.tenant,
      execution.batchId,
      'cancelled',
      undefined,
      'cancelled with its batch',
    );
    return { jobsFailed: 0, batchFailed: false };
  }
  const jobsFailed = await engine.closeOpenItems(
    execution.tenant,
    execution.batchId,
    'failed',
    error,
    error.message,
  );
  const counts = await engine.countItems(execution.tenant, execution.batchId);
  const outcome = await engine.transition(
    execution.tenant,
    execution.batchId,
    'failed',
    { error, counts },
    error.message,
  );
  return { jobsFailed, batchFailed: outcome.applied };
}
