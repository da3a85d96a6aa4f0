/**
 * Seed 004's plain values, free of zod: the job records and the workflow steps load them without the
 * schema library (contracts/avatars.ts builds its schemas from them).
 */

/** The job kinds of seed 004 (the client's `JobKind`), each run by one parameters document kind. */
export const AVATAR_JOB_KINDS = [
  'standard',
  'privacy_metrics',
  'signal_metrics',
  'report',
  'advice',
] as const;
export type AvatarJobKind = (typeof AVATAR_JOB_KINDS)[number];

/**
 * The statuses of the client's vocabulary: `finished`, `error` and `parent_error` end a job (the
 * client stops polling on them); every other string keeps it polling.
 */
export const AVATAR_JOB_STATUSES = [
  'queued',
  'waiting',
  'running',
  'finished',
  'error',
  'parent_error',
  'cancelled',
] as const;
export type AvatarJobStatus = (typeof AVATAR_JOB_STATUSES)[number];

/** The job kind that runs each parameters document kind. */
export const JOB_KIND_OF_DOCUMENT: Readonly<Record<string, AvatarJobKind>> = {
  AvatarParameters: 'standard',
  AvatarPrivacyMetricsParameters: 'privacy_metrics',
  AvatarSignalMetricsParameters: 'signal_metrics',
  AvatarReportParameters: 'report',
  AvatarAdviceParameters: 'advice',
};
