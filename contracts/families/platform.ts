import { defineFamily } from './manifest.ts';

/**
 * The platform's own routes: the public ones (root, health, the OpenAPI document and its pages) and
 * the jobs engine's, which serve every family's jobs (list, get, cancel, logs, usage).
 */
export const platformFamily = defineFamily({
  name: 'platform',
  seeds: ['000', '001'],
  routeFamilies: ['public', 'jobs'],
  jobKinds: [],
  errorFormat: 'envelope',
  stateMachines: {},
});
