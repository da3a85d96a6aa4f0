/** The platform's own routes locally (public, jobs): no machine, no service, nothing to resume. */
import { platformLambdas } from '../../families/platform/family.ts';
import type { LocalFamily } from './family.ts';
import type { PlatformRuntime } from './index.ts';

export const localPlatformRoutes: LocalFamily<object, PlatformRuntime> = {
  lambdas: platformLambdas,
  async start() {
    return { part: {}, workflows: {}, resumers: [], stop: async () => undefined };
  },
};
