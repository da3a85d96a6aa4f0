import { defineFamily } from './manifest.ts';

/**
 * Seed 001's other half: quality and privacy validation of the tenant's images, profiles of image
 * sets, and exports to JSONL and to the user's S3 bucket. One image is validated at once; a whole
 * dataset, a profile and a large export are jobs, each one execution of the datasets machine (one
 * step that runs the job, and FailJob for what it could not record itself). Three route families,
 * three functions: validation calls Rekognition and Comprehend, exports write to buckets outside the
 * stack, profiles do neither, so each gets only its own grants.
 */
export const datasetsFamily = defineFamily({
  name: 'datasets',
  seeds: ['001'],
  routeFamilies: ['validation', 'profiles', 'exports'],
  jobKinds: ['image-validation', 'image-profile', 'image-export'],
  errorFormat: 'envelope',
  stateMachines: {
    datasets: {
      file: 'datasets.asl.json',
      // A failure RunDatasetJob could not record itself is recorded by generation's FailJob.
      taskFunctions: ['RunDatasetJobFunctionArn', 'FailJobFunctionArn'],
      serviceSubstitutions: [],
    },
  },
});
