import { JOB_STATUSES, type JobStatus, TERMINAL_STATUSES } from '../../../contracts/vocabulary.ts';

/**
 * The allowed edges of the job lifecycle. Everything else is illegal, and a terminal status never
 * changes: a late `completed` after `cancelled` is a no-op.
 */
export const ALLOWED_TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  pending: ['running', 'failed', 'cancelled'],
  running: ['completed', 'failed', 'cancelled'],
  completed: [],
  failed: [],
  cancelled: [],
};

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return ALLOWED_TRANSITIONS[from].includes(to);
}

/** The statuses a job must be in for a transition to `to` to be allowed. */
export function allowedSources(to: JobStatus): JobStatus[] {
  return JOB_STATUSES.filter((from) => canTransition(from, to));
}
