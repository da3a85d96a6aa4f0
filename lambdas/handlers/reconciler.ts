import type { EventBridgeEvent } from 'aws-lambda';
import { type ClosedExecution, reconcileClosedExecution } from '../domain/jobs/reconciler.ts';
import type { CoreRuntime } from '../runtime/core.ts';
import { logger } from '../shared/logger.ts';
import { taskEntry } from '../shared/task-entry.ts';

/** The fields of Step Functions' `Execution Status Change` event the reconciler reads. */
export interface ExecutionStatusChange {
  /** `arn:...:execution:<machine>:<name>`, the name being the id of the job it runs. */
  executionArn: string;
  status: string;
  /** The execution's input, a JSON string: `{tenant, ...}`. */
  input?: string | null;
  error?: string | null;
  cause?: string | null;
}

/**
 * Reads the job out of the event, whichever family's machine ran it: every execution is named after
 * its job (the last part of its ARN) and its input names the tenant. Undefined for an execution that
 * is not a job's.
 */
export function closedExecutionOf(detail: ExecutionStatusChange): ClosedExecution | undefined {
  let input: { tenant?: unknown };
  try {
    input = JSON.parse(detail.input ?? '{}');
  } catch {
    return undefined;
  }
  const jobId = detail.executionArn.split(':').pop();
  if (typeof input.tenant !== 'string' || !jobId) return undefined;
  return {
    tenant: input.tenant,
    jobId,
    status: detail.status,
    ...(detail.error ? { error: detail.error } : {}),
    ...(detail.cause ? { cause: detail.cause } : {}),
  };
}

export type ExecutionStatusChangeEvent = EventBridgeEvent<
  'Step Functions Execution Status Change',
  ExecutionStatusChange
>;

export const reconcileTask = async (runtime: CoreRuntime, event: ExecutionStatusChangeEvent) => {
  const execution = closedExecutionOf(event.detail);
  if (!execution) {
    logger.warn('execution without a job input; nothing to reconcile', {
      executionArn: event.detail.executionArn,
    });
    return { reconciled: false };
  }
  const result = await reconcileClosedExecution(runtime.engine, execution);
  logger.info('reconciled a closed execution', {
    ...result,
    status: execution.status,
    jobId: execution.jobId,
  });
  return { reconciled: true, ...result };
};

export const handler = taskEntry(reconcileTask);
