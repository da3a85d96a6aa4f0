/**
 * Seed 002 on the local platform: the training machine, whose `createTrainingJob.sync` step the
 * emulated SageMaker's training jobs play (a trainer process on CPU per training job).
 */
import { TrainingConfigSchema, trainingSettingsOf } from '../../../contracts/training.ts';
import { type TrainingExecutionInput, trainingJobId } from '../../domain/training/execution.ts';
import { trainingJobPrefix } from '../../domain/training/keys.ts';
import { trainingLambdas } from '../../families/training/family.ts';
import { createTrainingRuntime, type TrainingRuntime } from '../../families/training/runtime.ts';
import { logger } from '../../shared/logger.ts';
import { LocalWorkflow } from '../stepfunctions/runner.ts';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../support/local-aws.ts';
import type { LocalFamily } from './family.ts';
import type { PlatformRuntime } from './index.ts';

/**
 * The values of the training machine's service placeholders locally: the training host runs the
 * trainer from the working tree and ignores the role and image, but the definition must name
 * something of the right shape. Script mode's code channel and hyperparameters
 * (lib/families/training.ts): the host reads only the train channel, and the trainer logs the two
 * sagemaker_* hyperparameters as unknown and ignores them.
 */
const LOCAL_SERVICE_VALUES = {
  TrainingRoleArn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/synthforge-local-training`,
  TrainerImageUri: `${LOCAL_ACCOUNT_ID}.dkr.ecr.${LOCAL_REGION}.amazonaws.com/synthforge-trainer:local`,
  TrainerEntryPoint: 'sagemaker_entry.py',
  TrainerSourcePath: '/opt/ml/input/data/code/sourcedir.tar.gz',
  TrainerSourceUri: 's3://synthforge-local-assets/trainer/sourcedir.tar.gz',
} as const;

export const localTraining: LocalFamily<TrainingRuntime, PlatformRuntime> = {
  lambdas: trainingLambdas,
  async start({ trainingJobs: host, core, runnerDefaults }) {
    const workflow = new LocalWorkflow<TrainingExecutionInput, PlatformRuntime>({
      ...runnerDefaults,
      machine: 'training',
      tasks: trainingLambdas.tasks.training,
      serviceValues: LOCAL_SERVICE_VALUES,
      jobIdOf: trainingJobId,
      maxConcurrency: 1,
      services: {
        'sagemaker:createTrainingJob.sync': (parameters) => host.run(parameters as never),
      },
      // Stopping the execution stops its training job, as Step Functions does for a `.sync` step.
      onStop: (input) => host.stop(trainingJobPrefix(input.taskId)),
    });
    const part = createTrainingRuntime(
      core,
      // One local training job at a time is the CPU's worth; the default instance names what it stands for.
      {
        settings: trainingSettingsOf(TrainingConfigSchema.parse({ allowedInstanceTypes: ['ml.m5.xlarge'] })),
      },
      { workflow, trainerAvailability: () => host.available() },
    );
    return {
      part,
      workflows: { training: workflow },
      resumers: [
        {
          kind: 'training',
          resume: async (job) => {
            // Its next attempt resumes the checkpoint the stopped trainer wrote (PrepareTraining).
            await workflow.start({ tenant: job.tenant, taskId: job.id });
            logger.info('resumed an interrupted training run', { taskId: job.id });
          },
        },
      ],
      async stop() {
        // Trainers are stopped (each checkpoints on SIGTERM); their runs resume from it on the next start.
        const stopped = workflow.shutdown();
        await host.stopAll();
        await stopped;
      },
    };
  },
};
