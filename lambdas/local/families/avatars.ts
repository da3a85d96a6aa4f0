/**
 * Seed 004's avatarization on the local platform, on the same code as in AWS: the avatars machine
 * (statemachines/avatars.asl.json) played by aws-local-stepfunctions, its AwaitParents steps waiting
 * on local task tokens, and the engine on worker threads (../avatar-workers.ts) so that a large table
 * does not stall the API. Tables above what the deployed 10 GB function holds take the machine's
 * processing branch: its Process step is a processing job of the local SageMaker
 * (../sagemaker/processing-jobs.ts) running the avatarizer container's code (containers/avatarizer)
 * as a process. An avatar job the last shutdown left open is decided again on the next start: it
 * runs (again), waits for its parents, or ends parent_error.
 */
import { fileURLToPath } from 'node:url';
import {
  type AvatarExecutionInput,
  avatarJobId,
  defaultComputeSettings,
  processingSettingsFor,
} from '../../domain/avatars/execution.ts';
import { processingJobNamesOf } from '../../domain/avatars/processing.ts';
import { releaseEnded } from '../../domain/avatars/workflow-tasks.ts';
import { isJobOfKind } from '../../domain/jobs/model.ts';
import { avatarsLambdas } from '../../families/avatars/family.ts';
import { type AvatarsRuntime, createAvatarsRuntime } from '../../families/avatars/runtime.ts';
import { logger } from '../../shared/logger.ts';
import { WorkerThreadEngine } from '../avatar-workers.ts';
import { LocalProcessingHost } from '../sagemaker/processing-jobs.ts';
import { LocalWorkflow } from '../stepfunctions/runner.ts';
import { LocalTaskTokens } from '../stepfunctions/task-tokens.ts';
import { LOCAL_ACCOUNT_ID } from '../support/local-aws.ts';
import type { LocalFamily } from './family.ts';
import type { PlatformRuntime } from './index.ts';

const REPOSITORY_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The avatars machine's service placeholders locally: the local SageMaker runs the image named here
 * as the avatarizer's code, and ignores the role.
 */
export const LOCAL_AVATAR_PROCESSING = {
  AvatarProcessingRoleArn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/synthforge-local-avatar-processing`,
  AvatarizerImageUri: `${LOCAL_ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com/synthforge-avatarizer:local`,
} as const;

export const localAvatars: LocalFamily<AvatarsRuntime, PlatformRuntime> = {
  lambdas: avatarsLambdas,
  async start({ core, runnerDefaults, options, jobEvents, runtime }) {
    const tokens = new LocalTaskTokens();
    const engine = new WorkerThreadEngine();
    // The image, as a process: the container's entry point run from the sources, with /opt/ml a
    // folder of the job's own (SYNTHFORGE_ML_ROOT).
    const processingJobs = new LocalProcessingHost({
      s3: core.clients.s3,
      launchers: {
        [LOCAL_AVATAR_PROCESSING.AvatarizerImageUri]: () => ({
          command: process.execPath,
          args: ['--import', 'tsx', 'containers/avatarizer/main.ts'],
          cwd: REPOSITORY_ROOT,
        }),
      },
      stopGraceMs: 5_000,
      log: (message, details) => logger.info(message, details ?? {}),
    });
    let stopping = false;
    const workflow = new LocalWorkflow<AvatarExecutionInput, PlatformRuntime>({
      ...runnerDefaults,
      machine: 'avatars',
      tasks: avatarsLambdas.tasks.avatars,
      serviceValues: LOCAL_AVATAR_PROCESSING,
      services: {
        'sagemaker:createProcessingJob.sync': (parameters) => processingJobs.run(parameters as never),
      },
      // Stopping the execution (a cancel) stops its processing job, as Step Functions does for `.sync`.
      onStop: (input) => processingJobs.stop(processingJobNamesOf(input.jobId)),
      jobIdOf: avatarJobId,
      maxConcurrency: 1,
      tokens,
    });
    const compute = defaultComputeSettings('local', processingSettingsFor());
    const threadsMax = options.avatars?.workerThreadsMaxInputBytes;
    const part = createAvatarsRuntime(
      core,
      {
        compute:
          threadsMax === undefined
            ? compute
            : { ...compute, maxInputBytes: { ...compute.maxInputBytes, large: threadsMax } },
      },
      { workflow, callbacks: tokens, engine, stopping: () => stopping },
    );
    // As the AvatarJobsEnded rule does in AWS: a job cancelled or failed outside its own steps wakes
    // its waiting dependants now.
    const unsubscribe = jobEvents.subscribe((change) => {
      if (stopping || change.kind !== 'avatars') return;
      releaseEnded(runtime().avatarTasks, change).catch((error: unknown) =>
        logger.warn('could not wake the dependants of an ended avatar job', {
          jobId: change.jobId,
          error: (error as Error).message,
        }),
      );
    });
    return {
      part,
      workflows: { avatars: workflow },
      resumers: [
        {
          kind: 'avatars',
          resume: async (job) => {
            if (!isJobOfKind(job, 'avatars')) return;
            // A job too large for the worker threads runs again as a processing job.
            const runner = job.avatars.compute.target === 'processing' ? 'processing' : 'local';
            await workflow.start({ tenant: job.tenant, jobId: job.id, runner });
            logger.info('resumed an interrupted avatar job', { jobId: job.id });
          },
        },
      ],
      async stop() {
        // A run cut off keeps its job running, to run again on the next start; waiting steps stop.
        // The executions are aborted first (synchronously, as the shutdown starts): a computation
        // ended next is then no failure of its job, which stays running for the next start.
        stopping = true;
        unsubscribe();
        const shutdown = workflow.shutdown();
        tokens.abandonAll();
        await Promise.all([engine.terminate(), processingJobs.stopAll()]);
        await shutdown;
      },
    };
  },
};
