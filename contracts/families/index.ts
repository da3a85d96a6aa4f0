/**
 * The registry of job families: adding a family is adding its manifest here (and its parts in the
 * other layers' registries, docs/architecture.md). Everything below is derived from this list.
 */
import { avatarsFamily } from './avatars.ts';
import { datasetsFamily } from './datasets.ts';
import { generationFamily } from './generation.ts';
import { imagesFamily } from './images.ts';
import { inferenceFamily } from './inference.ts';
import type { FamilyManifest, StateMachineManifest } from './manifest.ts';
import { platformFamily } from './platform.ts';
import { trainingFamily } from './training.ts';

export type { FamilyManifest } from './manifest.ts';

export const FAMILIES = [
  platformFamily,
  generationFamily,
  imagesFamily,
  trainingFamily,
  inferenceFamily,
  avatarsFamily,
  datasetsFamily,
] as const;

type Family = (typeof FAMILIES)[number];
type FamilyName = Family['name'];

/** Which Lambda serves a route: one function per route family. */
export type RouteFamily = Family['routeFamilies'][number];
/** Families of jobs, in the order families are registered. */
export type JobKind = Family['jobKinds'][number];

type MachinesOf<F> = F extends { stateMachines: infer M } ? keyof M & string : never;
/** A state machine of statemachines/, by the name its family gives it. */
export type StateMachineName = MachinesOf<Family>;
/** The manifest of machine `M`, with its literal placeholder lists. */
export type MachineManifest<M extends StateMachineName> = Family extends infer F
  ? F extends { stateMachines: Record<M, infer S> }
    ? S
    : never
  : never;

/** A non-empty list (z.enum and the CLI's choices need one); checked, not assumed. */
function nonEmpty<T>(list: readonly T[], what: string): readonly [T, ...T[]] {
  const [first, ...rest] = list;
  if (first === undefined) throw new Error(`no family registers any ${what}`);
  return [first, ...rest];
}

export const ROUTE_FAMILIES = nonEmpty<RouteFamily>(
  FAMILIES.flatMap((family) => family.routeFamilies),
  'route family',
);
export const JOB_KINDS = nonEmpty<JobKind>(
  FAMILIES.flatMap((family) => family.jobKinds),
  'job kind',
);

/** Every state machine with the family that owns it. */
export const STATE_MACHINES: readonly {
  name: StateMachineName;
  family: FamilyName;
  manifest: StateMachineManifest;
}[] = FAMILIES.flatMap((family: FamilyManifest) =>
  Object.entries(family.stateMachines).map(([name, manifest]) => ({
    name: name as StateMachineName,
    family: family.name as FamilyName,
    manifest,
  })),
);

/** The family a route family belongs to. */
export function familyOfRoutes(routeFamily: RouteFamily): Family {
  const family = FAMILIES.find((candidate) =>
    (candidate.routeFamilies as readonly string[]).includes(routeFamily),
  );
  if (!family) throw new Error(`no family registers the route family ${routeFamily}`);
  return family;
}
