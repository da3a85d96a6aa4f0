/**
 * What a job family is, in plain values free of zod (the workflow tasks and the authorizer load
 * them without the schema library): its route families, job kinds, error format and state machines.
 * Every list the layers need (the job kinds of the contract, the Lambda per route family, the files
 * in statemachines/ and the functions each invokes, the executions a cancel may stop) is derived
 * from the registered manifests (./index.ts), so that a family is added in one place per layer
 * (docs/architecture.md, "Adding a family").
 */
import type { ErrorFormat } from '../vocabulary.ts';

/** A state machine of statemachines/ whose Task states invoke Lambda functions. */
export interface StateMachineManifest {
  /** Its file in statemachines/ (`training.asl.json`): the stem names the machine (`synthforge-training`). */
  readonly file: string;
  /** The `${...FunctionArn}` placeholders of its Task states, each a Lambda function of the family. */
  readonly taskFunctions: readonly string[];
  /** Its other placeholders (a role, an image, a source URI), filled by the family's construct. */
  readonly serviceSubstitutions: readonly string[];
}

export interface FamilyManifest {
  /** The family's name: its folder in each layer (lambdas/domain/<name>, lib/families/<name>.ts...). */
  readonly name: string;
  /** The seeds (the contract's API documents, by number) whose routes it serves. */
  readonly seeds: readonly string[];
  /** Its route families (contracts/routes.ts `family`): one Lambda function serves each. */
  readonly routeFamilies: readonly string[];
  /** The job kinds its jobs have (the `kind` of a job record and of `GET /jobs`). */
  readonly jobKinds: readonly string[];
  /** How its routes write errors (contracts/vocabulary.ts `ErrorFormat`). */
  readonly errorFormat: ErrorFormat;
  /** Its state machines, by name. */
  readonly stateMachines: Readonly<Record<string, StateMachineManifest>>;
}

/** Keeps a manifest's literal types (route families, kinds, machine names) for the registry's unions. */
export const defineFamily = <const F extends FamilyManifest>(family: F): F => family;
