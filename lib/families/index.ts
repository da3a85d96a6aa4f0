/**
 * The registry of the families' constructs: the stack builds them in this order and derives from
 * them the API's handlers, the machines the reconciler hears of, the executions a cancel may stop,
 * its functions and its outputs (lib/synthforge-stack.ts). Adding a family is its file here and its
 * line below. A family that needs another's parts comes after it (images reuses generation's batch
 * steps); the platform comes first (its cursor secret signs other families' lists).
 */
import {
  FAMILIES,
  familyOfRoutes,
  ROUTE_FAMILIES,
  type RouteFamily,
  STATE_MACHINES,
  type StateMachineName,
} from '../../contracts/families/index.ts';
import type { LambdaStateMachine } from '../constructs/lambda-state-machine.ts';
import type { SynthForgeFunction } from '../constructs/synthforge-function.ts';
import { avatars } from './avatars.ts';
import { datasets } from './datasets.ts';
import type { FamilyConstruct, FamilyRegistration } from './family.ts';
import { generation } from './generation.ts';
import { images } from './images.ts';
import { inference } from './inference.ts';
import { platform } from './platform.ts';
import { training } from './training.ts';

export const FAMILY_CONSTRUCTS: readonly FamilyRegistration[] = [
  platform,
  generation,
  images,
  training,
  inference,
  avatars,
  datasets,
];

/**
 * The function behind each route family. Every route family of contracts/families/ must be served,
 * and each by the family that registers it: synthesis fails otherwise.
 */
export function routeHandlersOf(
  families: readonly Pick<FamilyConstruct, 'manifest' | 'routeHandlers'>[],
): Readonly<Record<RouteFamily, SynthForgeFunction>> {
  const handlers: Partial<Record<RouteFamily, SynthForgeFunction>> = {};
  for (const family of families) {
    for (const [routeFamily, fn] of Object.entries(family.routeHandlers) as [
      RouteFamily,
      SynthForgeFunction,
    ][]) {
      const owner = familyOfRoutes(routeFamily).name;
      if (owner !== family.manifest.name) {
        throw new Error(
          `the ${family.manifest.name} family serves ${routeFamily}, a route family of ${owner}`,
        );
      }
      handlers[routeFamily] = fn;
    }
  }
  const unserved = ROUTE_FAMILIES.filter((routeFamily) => handlers[routeFamily] === undefined);
  if (unserved.length > 0) {
    throw new Error(
      `no function serves the route families ${unserved.join(', ')}: register their family's construct in lib/families/index.ts`,
    );
  }
  return handlers as Record<RouteFamily, SynthForgeFunction>;
}

/** Every state machine of contracts/families/, as its family built it: synthesis fails on a missing one. */
export function stateMachinesOf(
  families: readonly Pick<FamilyConstruct, 'stateMachines'>[],
): readonly { name: StateMachineName; machine: LambdaStateMachine }[] {
  const built = new Map<string, LambdaStateMachine>(
    families.flatMap((family) => Object.entries(family.stateMachines) as [string, LambdaStateMachine][]),
  );
  return STATE_MACHINES.map(({ name, family }) => {
    const machine = built.get(name);
    if (!machine) throw new Error(`the ${family} family's construct builds no state machine ${name}`);
    return { name, machine };
  });
}

/** Every family of contracts/families/ has its construct registered here, once. */
export function assertEveryFamilyRegistered(
  registry: readonly FamilyRegistration[] = FAMILY_CONSTRUCTS,
): void {
  const registered = registry.map((registration) => registration.manifest.name).sort();
  const manifests = FAMILIES.map((family) => family.name as string).sort();
  if (registered.join() !== manifests.join()) {
    throw new Error(
      `lib/families/index.ts registers [${registered.join(', ')}]; contracts/families/ has [${manifests.join(', ')}]`,
    );
  }
}
