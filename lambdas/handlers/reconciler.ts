import type { EventBridgeEvent } from 'aws-lambda';
import { type ClosedExecution, reconcileClosedExecution } from '../domain/jobs/reconciler.ts';
import type { Runtime } from '../runtime.ts';
import { logger } from '../shared/logger.ts';
import { taskEntry } from '../shared/task-entry.ts';

/** The fields of Step Functions' `Execution Status Change` event the reconciler reads. */
export interface ExecutionStatusChange {
  executionArn: string;
  status: string;
  /** The execution's input, a JSON string: `{tenant, batchId, ...}`. */
  input?: string | null;
  error?: string | null;
  cause?: string | null;
}

/** Reads the batch out of the event; undefined for an execution that is not a batch's. */
export function closedExecutionOf(detail: ExecutionStatusChange): ClosedExecution | undefined {
  let input: { tenant?: unknown; batchId?: unknown };
  try {
    input = JSON.parse(detail.input ?? '{}');
  } catch {
    return undefined;
  }
  if (typeof input.tenant !== 'string' || typeof input.batchId !== 'string') return undefined;
  return {
    tenant: input.tenant,
    batchId: input.batchId,
    status: detail.status,
    ...(detail.error ? { error: detail.error } : {}),
    ...(detail.cause ? { cause: detail.cause } : {}),
  };
}

export type ExecutionStatusChangeEvent = EventBridgeEvent<
  'Step Functions Execution Status Change',
  ExecutionStatusChange
>;

export const reconcileTask = async (runtime: Runtime, event: ExecutionStatusChangeEvent) => {
  const execution = closedExecutionOf(event.detail);
  if (!execution) {
    logger.warn('execution without a batch input; nothing to reconcile', {
      executionArn: event.detail.executionArn,
    });
    return { reconciled: false };
  }
  const result = await reconcileClosedExecution(runtime.engine, execution);
  logger.info('reconciled a closed execution', {
    ...result,
    status: execution.status,
    batchId: execution.batchId,
  });
  return { reconciled: true, ...result };
};

export const handler = taskEntry(reconcileTask);
