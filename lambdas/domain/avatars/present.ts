/**
 * An avatar job as seed 004's client reads it: the client's `JobResponse` (`name`, `status` in its
 * vocabulary, `done`, `exception`), with SynthForge's `depends_on`, `compute` and `Location`.
 */
import type { AvatarJob } from '../../../contracts/avatars.ts';
import type { AvatarJobRecord } from './job-record.ts';
import { PARENT_ERROR } from './job-record.ts';

export const avatarJobPath = (jobId: string) => `/api/v1/avatars/jobs/${jobId}`;

/**
 * The client's statuses: it stops polling on `finished`, `error` and `parent_error`, and on `done`.
 * A job waiting for its parents is `waiting`, one whose parents have all finished is `queued`.
 */
export function avatarStatusOf(job: AvatarJobRecord): AvatarJob['status'] {
  switch (job.status) {
    case 'pending':
      return job.message === WAITING_MESSAGE ? 'waiting' : 'queued';
    case 'running':
      return 'running';
    case 'completed':
      return 'finished';
    case 'cancelled':
      return 'cancelled';
    case 'failed':
      return job.error?.code === PARENT_ERROR ? 'parent_error' : 'error';
  }
}

export function presentAvatarJob(job: AvatarJobRecord): AvatarJob {
  const status = avatarStatusOf(job);
  const { compute } = job.avatars;
  return {
    name: job.id,
    set_name: job.params.setName,
    parameters_name: job.params.parametersName,
    kind: job.params.avatarKind,
    status,
    done: status === 'finished' || status === 'error' || status === 'parent_error' || status === 'cancelled',
    exception:
      job.status === 'failed' || job.status === 'cancelled'
        ? (job.error?.message ?? job.message ?? null)
        : null,
    progress: job.progress,
    depends_on: job.params.dependsOn,
    created_at: job.createdAt,
    ...(job.startedAt ? { started_at: job.startedAt } : {}),
    ...(job.finishedAt ? { finished_at: job.finishedAt } : {}),
    compute: {
      target: compute.target,
      ...(compute.memoryMb ? { memory_mb: compute.memoryMb } : {}),
      ...(compute.instanceType ? { instance_type: compute.instanceType } : {}),
      reason: compute.reason,
    },
    Location: avatarJobPath(job.id),
  };
}

/** The message of a job whose parents have not all finished. */
export const WAITING_MESSAGE = 'waiting for the jobs it depends on';
/** The message of a job whose parents have all finished, until it runs. */
export const READY_MESSAGE = 'the jobs it depends on have finished; queued to run';
