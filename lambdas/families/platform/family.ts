import { platformFamily } from '../../../contracts/families/platform.ts';
import { jobRoutes } from '../../handlers/api/jobs.ts';
import { publicRoutes } from '../../handlers/api/public.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import type { LambdaFamily } from '../family.ts';

/** The platform's own routes: the public ones, and the jobs engine's over every family's jobs. */
export const platformLambdas = {
  manifest: platformFamily,
  routes: {
    public: (runtime) => publicRoutes(runtime.config.stage),
    jobs: jobRoutes,
  },
  tasks: {},
} satisfies LambdaFamily<CoreRuntime>;
