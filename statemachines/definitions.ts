/**
 * The state machine files and their `${Placeholder}` substitutions, in one place: the CDK workflow
 * construct passes the placeholders to CloudFormation as DefinitionSubstitutions, and the local
 * platform substitutes them with its own function names before aws-local-stepfunctions runs the file.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type MachineManifest, STATE_MACHINES, type StateMachineName } from '../contracts/families/index.ts';

export type { StateMachineName };

/** Every state machine of the registered families (contracts/families/), by name. */
const MANIFESTS = Object.fromEntries(STATE_MACHINES.map(({ name, manifest }) => [name, manifest])) as {
  readonly [M in StateMachineName]: MachineManifest<M>;
};

/** One value per state machine, made from its manifest. */
function perMachine<T>(make: (manifest: (typeof MANIFESTS)[StateMachineName]) => T) {
  return Object.fromEntries(Object.entries(MANIFESTS).map(([name, manifest]) => [name, make(manifest)]));
}

/** The file of each state machine. */
export const STATE_MACHINE_FILES = perMachine((manifest) =>
  fileURLToPath(new URL(`./${manifest.file}`, import.meta.url)),
) as Readonly<Record<StateMachineName, string>>;

/** The Lambda functions each state machine invokes, by placeholder name. */
export const TASK_FUNCTIONS = perMachine((manifest) => manifest.taskFunctions) as {
  readonly [M in StateMachineName]: MachineManifest<M>['taskFunctions'];
};

/**
 * Substitutions that are not Lambda functions (the training job's role and image, the trainer's
 * source in script mode). The family's construct fills them; the local platform, whose services
 * ignore them, with placeholders of the right shape.
 */
export const SERVICE_SUBSTITUTIONS = perMachine((manifest) => manifest.serviceSubstitutions) as {
  readonly [M in StateMachineName]: MachineManifest<M>['serviceSubstitutions'];
};

/** The machine's name, from its file's stem: `training.asl.json` is `synthforge-training`. */
export function machineNameOf(name: StateMachineName): string {
  return `synthforge-${MANIFESTS[name].file.replace(/\.asl\.json$/, '')}`;
}

export function readDefinition(name: StateMachineName): string {
  return readFileSync(STATE_MACHINE_FILES[name], 'utf8');
}

/** Every `${Name}` the definition text uses. */
export function placeholdersOf(definition: string): Set<string> {
  return new Set([...definition.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((match) => match[1] as string));
}

/** Replaces every placeholder; a placeholder without a value is an error, never left in. */
export function substitute(definition: string, values: Record<string, string>): string {
  return definition.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no substitution for \${${name}}`);
    return value;
  });
}

/** The fields of an ASL state that nest other states. */
interface NestingState {
  Type: string;
  ItemProcessor?: { States: Record<string, NestingState> };
  Iterator?: { States: Record<string, NestingState> };
  Branches?: { States: Record<string, NestingState> }[];
}

/**
 * Every state of a definition, the states inside Map and Parallel included, as `[path, state]`
 * (nested paths read `RunJobs/RunJob`). State names are unique per machine, so the last segment
 * is the name a runner's overrides use.
 */
export function allStates<S extends NestingState>(states: Record<string, S>, prefix = ''): [string, S][] {
  return Object.entries(states).flatMap(([name, state]) => {
    const path = `${prefix}${name}`;
    const nested = [
      ...(state.ItemProcessor ? [state.ItemProcessor.States] : []),
      ...(state.Iterator ? [state.Iterator.States] : []),
      ...(state.Branches ?? []).map((branch) => branch.States),
    ] as Record<string, S>[];
    return [[path, state] as [string, S], ...nested.flatMap((inner) => allStates(inner, `${path}/`))];
  });
}
