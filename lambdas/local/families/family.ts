/**
 * A job family on the local platform: what it adds to the one process that plays AWS. Each family
 * registers what it uses of the emulated services (endpoints on the local SageMaker) and starts
 * one local runner per state machine it owns, builds its part of the runtime over the core, and
 * says how its open jobs are resumed after a restart and how it stops. The platform
 * (../platform.ts) derives the route table, the task bindings, the cancel fan-out, the resume rules
 * and the shutdown order from the registered families (./index.ts).
 */
import type { SNSEvent } from 'aws-lambda';
import type { FamilyManifest, StateMachineName } from '../../../contracts/families/index.ts';
import type { Resumer } from '../../domain/jobs/recovery.ts';
import type { BatchExecutionInput, ExecutionInput, JobStateChange, Workflow } from '../../domain/ports.ts';
import type { LambdaFamily } from '../../families/family.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import { logger } from '../../shared/logger.ts';
import type { LocalModels } from '../local-models.ts';
import type { LocalPlatformOptions } from '../platform.ts';
import type { SageMakerHost } from '../sagemaker/host.ts';
import type { LocalTrainingHost } from '../sagemaker/training-jobs.ts';
import type { LocalWorkflow, LocalWorkflowOptions } from '../stepfunctions/runner.ts';
import type { RunningEmulators } from '../storage/emulators.ts';

/** A started local runner, whatever its machine's input. */
export type LocalMachine<R> = Pick<
  LocalWorkflow<ExecutionInput, R>,
  'stop' | 'shutdown' | 'idle' | 'executions' | 'executionIdOf' | 'definition'
>;

/** What a family's local part is given when the platform starts. */
export interface LocalFamilyContext<R> {
  /** The platform's options, with the defaults families share resolved once. */
  readonly options: LocalPlatformOptions & { batchMaxConcurrency: number };
  readonly emulators: RunningEmulators;
  /** The emulated SageMaker (endpoints answer at its URL; its runtime and control plane share it). */
  readonly sageMaker: SageMakerHost;
  /** The emulated SageMaker's training jobs: a trainer process on CPU per training job. */
  readonly trainingJobs: LocalTrainingHost;
  /** The models that answer offline: the local vision model, and Bedrock's emulator when emulated. */
  readonly localModels: LocalModels;
  /** Where the local SageMaker's asynchronous-inference notifications (SNS in AWS) are delivered. */
  readonly endpointNotifications: { subscribe(handler: (event: SNSEvent) => Promise<unknown>): void };
  /** The local bus's job state changes, as a rule on the SynthForge bus forwards them in AWS. */
  readonly jobEvents: { subscribe(listener: (event: JobStateChange) => void): () => void };
  readonly core: CoreRuntime;
  /** Options every local runner shares: the retry interval, fault injection, the reconciler. */
  readonly runnerDefaults: Pick<
    LocalWorkflowOptions<ExecutionInput, R>,
    'retryIntervalMs' | 'wrapTask' | 'onClosedAbnormally' | 'runtime'
  >;
  /** The whole runtime, once every family has built its part (task functions and hooks run on it). */
  readonly runtime: () => R;
}

/** A family started on the local platform. */
export interface StartedLocalFamily<Part, R> {
  /** Its part of the runtime (composed with the core and the other families' parts). */
  readonly part: Part;
  /** One local runner per state machine it owns. */
  readonly workflows: { readonly [M in StateMachineName]?: LocalMachine<R> };
  /** How the open jobs it owns are run again after a restart. */
  readonly resumers: readonly Resumer[];
  /** Stops its executions and services; their jobs stay open and resume on the next start. */
  stop(): Promise<void>;
}

export interface LocalFamily<Part, R> {
  readonly lambdas: LambdaFamily<R>;
  start(context: LocalFamilyContext<R>): Promise<StartedLocalFamily<Part, R>>;
}

/**
 * Resumes on `workflow` the batches whose items are all jobs of `family`'s kinds (an image batch and
 * a generation batch are both `batch` jobs): their execution starts again with all their items, and
 * skips those that ended.
 */
export function batchResumer(workflow: Workflow<BatchExecutionInput>, family: FamilyManifest): Resumer {
  const kinds: readonly string[] = family.jobKinds;
  return {
    kind: 'batch',
    claims: (_batch, items) => items.every((job) => kinds.includes(job.kind)),
    resume: async (batch, items) => {
      await workflow.start({
        tenant: batch.tenant,
        batchId: batch.id,
        items: items.map((job) => ({ jobId: job.id })),
      });
      logger.info('resumed an interrupted batch', { batchId: batch.id });
    },
  };
}
