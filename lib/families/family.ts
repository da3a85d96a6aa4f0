/**
 * What a job family's construct is to the stack: a construct that owns the family's functions,
 * grants and state machines, and shows the stack the few things it composes (the API's handlers, the
 * machines the reconciler watches and their outputs, the executions a cancel may stop, the cdk-nag
 * acknowledgements); its functions, which get alarms, are those its construct holds (functionsUnder).
 * The families are registered in ./index.ts.
 */
import { CfnResource, type RemovalPolicy, type Stack } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct, IConstruct } from 'constructs';
import type { FamilyManifest } from '../../contracts/families/index.ts';
import type { StageConfig } from '../config.ts';
import type { Data } from '../constructs/data.ts';
import type { Events } from '../constructs/events.ts';
import type { LambdaStateMachine } from '../constructs/lambda-state-machine.ts';
import {
  API_FUNCTION_MAX_TIMEOUT,
  type FunctionDefaults,
  SynthForgeFunction,
} from '../constructs/synthforge-function.ts';
import type { NagAcknowledgement } from '../nag.ts';

/** Executions a cancel (`DELETE /jobs/{id}`) may stop, and why the wildcard on them is safe. */
export interface CancellableExecutions {
  /** `arn:...:execution:<machine>:*` (LambdaStateMachine `executionArns`). */
  readonly executionArns: string;
  /** The cdk-nag reason for letting the jobs function stop any of them. */
  readonly reason: string;
}

/**
 * A family's construct. `M` is its manifest (contracts/families/): the compiler demands a function
 * for each of its route families and a machine for each of its state machines, and no other.
 */
export interface FamilyConstruct<M extends FamilyManifest = FamilyManifest> extends IConstruct {
  readonly manifest: M;
  /** The function that serves each of its route families (one per route family). */
  readonly routeHandlers: Readonly<Record<M['routeFamilies'][number], SynthForgeFunction>>;
  /** Its state machines, by the name its manifest gives each. */
  readonly stateMachines: Readonly<Record<keyof M['stateMachines'] & string, LambdaStateMachine>>;
  /** The executions of its machines that the jobs function may stop. */
  readonly cancellable: readonly CancellableExecutions[];
  /** Its own cdk-nag acknowledgements (lib/nag-acknowledgements.ts gathers them). */
  nagAcknowledgements(): NagAcknowledgement[];
}

/** What the stack shares with every family. */
export interface SharedInfrastructure {
  readonly config: StageConfig;
  readonly data: Data;
  readonly events: Events;
  readonly defaults: FunctionDefaults;
  /** Retention of the execution and endpoint log groups. */
  readonly logRetention: RetentionDays;
  /** What deleting the stack does to the family's stateful resources. */
  readonly removalPolicy: RemovalPolicy;
  /** The stage's Models stack (lib/stage-stacks.ts): where quota-bound resources go, when set. */
  readonly modelsStack?: Stack;
}

/** What a family's registration builds it from: the shared infrastructure and the families before it. */
export interface FamilyContext extends SharedInfrastructure {
  readonly families: FamilyConstructs;
}

/** One entry of the registry (./index.ts). */
export interface FamilyRegistration {
  readonly manifest: FamilyManifest;
  /**
   * The construct id at the stack's root: the family's name for a new family. The families that
   * existed before lib/families/ keep the id of the construct they grew out of, so that their named
   * and retained resources keep their logical ids (a template must deploy as an update over the last).
   */
  readonly id: string;
  /** Builds the construct; a need of another family is looked up in `context.families` here. */
  build(scope: Construct, id: string, context: FamilyContext): FamilyConstruct;
}

/**
 * The families built so far, in registry order. Each is built once: the stack asserts that the
 * registry holds each family once before building any (./index.ts assertEveryFamilyRegistered).
 */
export class FamilyConstructs {
  readonly #built: FamilyConstruct[] = [];

  get all(): readonly FamilyConstruct[] {
    return this.#built;
  }

  add(family: FamilyConstruct): void {
    this.#built.push(family);
  }

  /** The built family of class `type`; `by` (who needs it) is named when it is not built (yet). */
  require<T extends FamilyConstruct>(type: abstract new (...args: never[]) => T, by: string): T {
    const family = this.#built.find((built): built is T => built instanceof type);
    if (!family)
      throw new Error(`${by} needs the ${type.name}: register it earlier in lib/families/index.ts`);
    return family;
  }
}

/**
 * Every function a family's construct holds, at any depth: the functions the stack gives an Errors
 * alarm and the X-Ray acknowledgement. A family builds its functions inside its construct: one built
 * elsewhere would be left out (test/lib/constructs/synthforge-function.test.ts counts them all).
 */
export function functionsUnder(scope: IConstruct): SynthForgeFunction[] {
  return scope.node
    .findAll()
    .filter((construct): construct is SynthForgeFunction => construct instanceof SynthForgeFunction);
}

/** The memory and timeout of every function behind the REST API. */
export const API_FUNCTION = { memorySize: 1024, timeout: API_FUNCTION_MAX_TIMEOUT } as const;

/**
 * Gives a resource the logical id it had before it moved into its family's construct. Only for
 * stateful resources (a function's retained log group): with a new id CloudFormation would create an
 * empty one and leave the old one behind. New resources keep the ids CDK gives them.
 */
export function keepLogicalId(construct: IConstruct, logicalId: string): void {
  const resource = construct instanceof CfnResource ? construct : construct.node.defaultChild;
  if (!(resource instanceof CfnResource))
    throw new Error(`${construct.node.path} is no CloudFormation resource`);
  resource.overrideLogicalId(logicalId);
}
