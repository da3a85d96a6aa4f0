/**
 * The trainer's progress file (containers/trainer writes `progress.json` into its checkpoint folder,
 * which SageMaker copies to S3 as training goes) read into seed 002's progress object. Read by hand,
 * field by field: a file from an older or broken trainer yields nulls, never an exception.
 */
import type { TrainingProgress } from '../../../contracts/training.ts';

/** The progress of a run that has not written any yet. */
export function pendingProgress(status: string, message: string): TrainingProgress {
  return {
    status,
    current_epoch: null,
    total_epochs: null,
    current_loss: null,
    best_loss: null,
    message,
    datasets_found: null,
    datasets_processed: null,
    logs: [],
  };
}

const numberOrNull = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : null);
const intOrNull = (value: unknown) => (Number.isInteger(value) ? (value as number) : null);

export function parseProgress(bytes: Uint8Array | undefined): TrainingProgress | undefined {
  if (!bytes) return undefined;
  try {
    return progressFrom(JSON.parse(new TextDecoder().decode(bytes)));
  } catch {
    return undefined;
  }
}

/** A progress object already parsed (the one a task keeps when it ends), read the same way. */
export function progressFrom(value: unknown): TrainingProgress | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const raw = value as Record<string, unknown>;
  const metrics = raw.metrics as Record<string, unknown> | null | undefined;
  const recall = numberOrNull(metrics?.recall_at_1);
  const map = numberOrNull(metrics?.mean_average_precision);
  return {
    status: typeof raw.status === 'string' ? raw.status : 'running',
    current_epoch: intOrNull(raw.current_epoch),
    total_epochs: intOrNull(raw.total_epochs),
    current_loss: numberOrNull(raw.current_loss),
    best_loss: numberOrNull(raw.best_loss),
    message: typeof raw.message === 'string' ? raw.message : '',
    datasets_found: intOrNull(raw.datasets_found),
    datasets_processed: intOrNull(raw.datasets_processed),
    logs: Array.isArray(raw.logs)
      ? raw.logs.filter((line): line is string => typeof line === 'string').slice(-20)
      : [],
    metrics: recall === null || map === null ? null : { recall_at_1: recall, mean_average_precision: map },
    ...(typeof raw.updated_at === 'string' ? { updated_at: raw.updated_at } : {}),
  };
}
