/**
 * The batch workflow's steps (statemachines/generation-batch.asl.json), as plain functions over
 * the jobs engine. The Lambda task handlers and the local platform both call these.
 */
import { withoutAwsIdentifiers } from '../errors.ts';
import { type JobsEngine, NOT_REPORTED } from '../jobs/engine.ts';
import { isTerminal } from '../jobs/lifecycle.ts';

export interface StepError {
  /** Step Functions' `Error` (e.g. `States.TaskFailed`, `Lambda.Unknown`, or the thrown error's name). */
  Error?: string;
  /** Step Functions' `Cause`: for Lambda errors a JSON string with `errorMessage`. */
  Cause?: string;
}

/** Turns a Step Functions error into something safe to show: no stack, no ARN, bounded length. */
export function describeStepError(error: StepError | undefined): { code: string; message: string } {
  const code = (error?.Error ?? 'JobFailed').slice(0, 100);
  let message = error?.Cause ?? 'the job failed';
  try {
    const parsed = JSON.parse(message) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') message = parsed.errorMessage;
  } catch {
    // A plain-text cause is used as it is.
  }
  return { code, message: withoutAwsIdentifiers(message).slice(0, 500) };
}

export async function startBatch(
  engine: JobsEngine,
  input: { tenant: string; batchId: string; executionId: string },
): Promise<{ status: string }> {
  const outcome = await engine.transition(
    input.tenant,
    input.batchId,
    'running',
    { executionId: input.executionId },
    'running',
  );
  if (outcome.applied) return { status: 'running' };
  // Cancelled before its execution started: the Map still runs, and every job finds itself cancelled.
  return { status: outcome.reason === 'illegal' ? outcome.job.status : 'missing' };
}

export async function failJob(
  engine: JobsEngine,
  input: { tenant: string; jobId: string; error?: StepError },
): Promise<{ status: string }> {
  const error = describeStepError(input.error);
  const outcome = await engine.transition(
    input.tenant,
    input.jobId,
    'failed',
    { error },
    `failed: ${error.message}`,
  );
  return {
    status: outcome.applied ? 'failed' : outcome.reason === 'illegal' ? outcome.job.status : 'missing',
  };
}

/**
 * Ends a batch. Any job still open at this point did not report (its worker died past every retry)
 * and is failed, so no job is ever left running after its batch.
 */
export async function finishBatch(
  engine: JobsEngine,
  input: { tenant: string; batchId: string; outcome: 'completed' | 'failed'; error?: StepError },
): Promise<{ status: string }> {
  const { tenant, batchId } = input;
  const batch = await engine.store.get(tenant, batchId);
  if (!batch) return { status: 'missing' };
  if (isTerminal(batch.status)) {
    // Cancelled (or ended) while the execution ran: its jobs end the way the batch did, not failed.
    await engine.closeOpenItemsOfEndedBatch(batch);
    return { status: batch.status };
  }
  const error = input.outcome === 'failed' ? describeStepError(input.error) : { ...NOT_REPORTED };
  await engine.closeOpenItems(tenant, batchId, 'failed', error, `failed: ${error.message}`);
  const counts = await engine.countItems(tenant, batchId);
  const patch = input.outcome === 'failed' ? { counts, error, progress: 100 } : { counts, progress: 100 };
  const summary = `${counts.completed} completed, ${counts.failed} failed, ${counts.cancelled} cancelled`;
  const outcome = await engine.transition(
    tenant,
    batchId,
    input.outcome,
    patch,
    `${input.outcome}: ${summary}`,
  );
  return {
    status: outcome.applied ? input.outcome : outcome.reason === 'illegal' ? outcome.job.status : 'missing',
  };
}
