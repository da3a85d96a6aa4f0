import type { LambdaEntry } from './bundle.ts';

/** Every Lambda entry point of the stack (each module exports `handler`). */
export const LAMBDA_ENTRIES: readonly LambdaEntry[] = [
  { name: 'api-public', entry: 'lambdas/handlers/api/public.ts' },
  { name: 'api-generators', entry: 'lambdas/handlers/api/generators.ts' },
  { name: 'api-batches', entry: 'lambdas/handlers/api/batches.ts' },
  { name: 'api-jobs', entry: 'lambdas/handlers/api/jobs.ts' },
  { name: 'api-inference', entry: 'lambdas/handlers/api/inference.ts' },
  { name: 'api-inference-stream', entry: 'lambdas/handlers/api/inference-stream.ts' },
  { name: 'api-avatars', entry: 'lambdas/handlers/api/avatars.ts' },
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
  { name: 'reconciler', entry: 'lambdas/handlers/reconciler.ts' },
];
