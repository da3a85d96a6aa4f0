import { BUNDLED_MODEL_MODULES, NATIVE_MODULES } from '../lib/families/datasets-packages.ts';
import type { LambdaEntry } from './bundle.ts';

/** What lib/families/datasets.ts installs beside the datasets bundles; the bench builds the bundled-detectors case. */
const DECODES = [...NATIVE_MODULES];
const DETECTS = [...NATIVE_MODULES, ...BUNDLED_MODEL_MODULES];

/** Every Lambda entry point of the stack (each module exports `handler`). */
export const LAMBDA_ENTRIES: readonly LambdaEntry[] = [
  { name: 'api-public', entry: 'lambdas/handlers/api/public.ts' },
  { name: 'api-generators', entry: 'lambdas/handlers/api/generators.ts' },
  { name: 'api-batches', entry: 'lambdas/handlers/api/batches.ts' },
  { name: 'api-jobs', entry: 'lambdas/handlers/api/jobs.ts' },
  { name: 'api-images', entry: 'lambdas/handlers/api/images.ts' },
  { name: 'api-inference', entry: 'lambdas/handlers/api/inference.ts' },
  { name: 'api-inference-stream', entry: 'lambdas/handlers/api/inference-stream.ts' },
  { name: 'api-avatars', entry: 'lambdas/handlers/api/avatars.ts' },
  { name: 'api-validation', entry: 'lambdas/handlers/api/validation.ts', nodeModules: DETECTS },
  { name: 'api-profiles', entry: 'lambdas/handlers/api/profiles.ts', nodeModules: DECODES },
  { name: 'api-exports', entry: 'lambdas/handlers/api/exports.ts', nodeModules: DECODES },
  { name: 'authorizer', entry: 'lambdas/handlers/authorizer.ts' },
  { name: 'wf-start-batch', entry: 'lambdas/handlers/workflow/start-batch.ts' },
  { name: 'wf-run-job', entry: 'lambdas/handlers/workflow/run-job.ts' },
  { name: 'wf-fail-job', entry: 'lambdas/handlers/workflow/fail-job.ts' },
  { name: 'wf-finish-batch', entry: 'lambdas/handlers/workflow/finish-batch.ts' },
  { name: 'wf-run-inference', entry: 'lambdas/handlers/workflow/run-inference.ts' },
  { name: 'wf-decide-avatar-job', entry: 'lambdas/handlers/workflow/decide-avatar-job.ts' },
  { name: 'wf-await-avatar-parents', entry: 'lambdas/handlers/workflow/await-avatar-parents.ts' },
  { name: 'wf-run-avatar-job', entry: 'lambdas/handlers/workflow/run-avatar-job.ts' },
  { name: 'wf-release-avatar-dependants', entry: 'lambdas/handlers/workflow/release-avatar-dependants.ts' },
  { name: 'wf-run-dataset-job', entry: 'lambdas/handlers/workflow/run-dataset-job.ts', nodeModules: DETECTS },
  { name: 'reconciler', entry: 'lambdas/handlers/reconciler.ts' },
];
