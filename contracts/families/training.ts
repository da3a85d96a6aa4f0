import { defineFamily } from './manifest.ts';

/**
 * Seed 002: training runs, each a SageMaker training job (script mode in the PyTorch image) that one
 * execution of the training machine runs, resumes and records.
 */
export const trainingFamily = defineFamily({
  name: 'training',
  seeds: ['002'],
  routeFamilies: ['training'],
  jobKinds: ['training'],
  errorFormat: 'seed002',
  stateMachines: {
    training: {
      file: 'training.asl.json',
      taskFunctions: ['PrepareTrainingFunctionArn', 'RecordTrainingFunctionArn'],
      // The training job's role and image, and the trainer's source in script mode (its entry point,
      // the code channel's S3 URI, its path in the container).
      serviceSubstitutions: [
        'TrainingRoleArn',
        'TrainerImageUri',
        'TrainerEntryPoint',
        'TrainerSourceUri',
        'TrainerSourcePath',
      ],
    },
  },
});
