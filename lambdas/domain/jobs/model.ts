import type { JobKind, JobStatus, LogEntry, StatusCounts } from '../../../contracts/jobs.ts';

/**
 * A job as the store keeps it. `tenant` is set only from the authorizer and is the first part of
 * every storage key; nothing in a request can choose it.
 */
export interface JobRecord {
  tenant: string;
  id: string;
  kind: JobKind;
  status: JobStatus;
  /** Incremented by every write; conditional updates compare it. */
  version: number;
  name?: string;
  /** Set on jobs that belong to a batch. */
  batchId?: string;
  generator?: string;
  preview?: boolean;
  params?: Record<string, unknown>;
  /** 0..100. Monotone while the job runs. */
  progress: number;
  message?: string;
  /** Batch jobs: how many jobs the batch holds. */
  total?: number;
  /** Batch jobs: final counts, written when the batch ends. While it runs they are computed from its items. */
  counts?: StatusCounts;
  result?: { key: string; bytes: number; frames?: number; contentType: string };
  error?: { code: string; message: string };
  /** Handle of the workflow execution that runs this job (batch jobs). */
  executionId?: string;
  /** Image jobs: the endpoint invocation that is making the image, and the workflow step waiting for it. */
  inference?: InferenceRecord;
  /** Training jobs: the run's name, data, attempts and, once it ended, its last progress. */
  training?: TrainingRecord;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
}

/** An image job's invocation of a model endpoint. Internal: never presented by the API. */
export interface InferenceRecord {
  endpointName: string;
  /** The Step Functions task token the workflow waits on; the endpoint's notification sends it back. */
  taskToken: string;
  invokedAt: string;
  /** Instances the endpoint had when invoked: 0 means this job waits for a cold start. */
  instancesAtInvoke: number;
}

/** A training job's run. Internal, like every storage key: the API presents it in seed 002's shape. */
export interface TrainingRecord {
  /** The run name: its checkpoints live under it, so a later run of this name can resume them. */
  customName: string;
  /** The `train` channel: a manifest of result archives (a batch) or a folder of identity folders. */
  dataset: { type: 'ManifestFile' | 'S3Prefix'; key: string; identities?: number; batchId?: string };
  /**
   * Training jobs started so far: the first, each resume after a suspension, and each restart after
   * an interruption (a local platform that stopped). It names them: SageMaker never reuses a name.
   */
  attempts: number;
  /** Suspensions resumed so far: what `maxAutoResumes` limits. An interruption is not one. */
  autoResumes?: number;
  /** Set when a suspension was granted its resume; the next attempt reads and clears it. */
  resumingAfterSuspension?: boolean;
  /** The current (or last) SageMaker training job. */
  trainingJobName?: string;
  instanceType: string;
  spot: boolean;
  maxRuntimeSeconds: number;
  /** Billable instance seconds of the attempts that ended. */
  billableSeconds?: number;
  /** The trainer's last progress, kept when the run ends (live progress is read from its checkpoints). */
  progress?: Record<string, unknown>;
}

/** Fields a transition or an update may set besides status and version. */
export type JobPatch = Partial<
  Pick<
    JobRecord,
    | 'progress'
    | 'message'
    | 'result'
    | 'error'
    | 'executionId'
    | 'inference'
    | 'training'
    | 'counts'
    | 'startedAt'
    | 'finishedAt'
  >
>;

export type { JobKind, JobStatus, LogEntry, StatusCounts };
