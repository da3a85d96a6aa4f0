/**
 * Seed 004's avatarization on the local platform, on the same code as in AWS: the avatars machine
 * (statemachines/avatars.asl.json) played by aws-local-stepfunctions, its AwaitParents steps waiting
 * on local task tokens, and the engine on worker threads (../avatar-workers.ts) so that a large table
 * does not stall the API. An avatar job the last shutdown left open is decided again on the next
 * start: it runs (again), waits for its parents, or ends parent_error.
 */
import {
  type AvatarExecutionInput,
  avatarJobId,
  defaultComputeSettings,
} from '../../domain/avatars/execution.ts';
import { isJobOfKind } from '../../domain/jobs/model.ts';
import { avatarsLambdas } from '../../families/avatars/family.ts';
import { type AvatarsRuntime, createAvatarsRuntime } from '../../families/avatars/runtime.ts';
import { logger } from '../../shared/logger.ts';
import { WorkerThreadEngine } from '../avatar-workers.ts';
import { LocalWorkflow } from '../stepfunctions/runner.ts';
import { LocalTaskTokens } from '../stepfunctions/task-tokens.ts';
import type { LocalFamily } from './family.ts';
import type { PlatformRuntime } from './index.ts';

export const localAvatars: LocalFamily<AvatarsRuntime, PlatformRuntime> = {
  lambdas: avatarsLambdas,
  async start({ core, runnerDefaults }) {
    const tokens = new LocalTaskTokens();
    const engine = new WorkerThreadEngine();
    let stopping = false;
    const workflow = new LocalWorkflow<AvatarExecutionInput, PlatformRuntime>({
      ...runnerDefaults,
      machine: 'avatars',
      tasks: avatarsLambdas.tasks.avatars,
      jobIdOf: avatarJobId,
      maxConcurrency: 1,
      tokens,
    });
    const part = createAvatarsRuntime(
      core,
      { compute: defaultComputeSettings('local') },
      { workflow, callbacks: tokens, engine, stopping: () => stopping },
    );
    return {
      part,
      workflows: { avatars: workflow },
      resumers: [
        {
          kind: 'avatars',
          resume: async (job) => {
            if (!isJobOfKind(job, 'avatars')) return;
            await workflow.start({ tenant: job.tenant, jobId: job.id, runner: 'local' });
            logger.info('resumed an interrupted avatar job', { jobId: job.id });
          },
        },
      ],
      async stop() {
        // A run cut off keeps its job running, to run again on the next start; waiting steps stop.
        // The executions are aborted first (synchronously, as the shutdown starts): a computation
        // ended next is then no failure of its job, which stays running for the next start.
        stopping = true;
        const shutdown = workflow.shutdown();
        tokens.abandonAll();
        await engine.terminate();
        await shutdown;
      },
    };
  },
};
