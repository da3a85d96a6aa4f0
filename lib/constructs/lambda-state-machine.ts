/**
 * A state machine of statemachines/ whose Task states invoke Lambda functions: its ASL loaded with
 * `DefinitionBody.fromString` and its `${Placeholder}` substitutions, a role that may invoke exactly
 * those functions, execution logs (ALL, with data) and X-Ray. The batch, image and training workflows
 * are all built here, so they cannot drift apart in how they are secured and observed.
 *
 * A machine whose ASL also names non-Lambda values (the training job's role, image and volume key:
 * `SERVICE_SUBSTITUTIONS`) gets them as `services`, and what its service integrations need as
 * `serviceStatements`, in a policy of their own: definitions loaded from a file get no IAM generated
 * for them, so every statement is written out by the caller.
 */
import { relative } from 'node:path';
import { ArnFormat, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import {
  placeholdersOf,
  readDefinition,
  SERVICE_SUBSTITUTIONS,
  STATE_MACHINE_FILES,
  type StateMachineName,
  TASK_FUNCTIONS,
} from '../../statemachines/definitions.ts';
import { REPO_ROOT } from '../paths.ts';
import type { SynthForgeFunction } from './synthforge-function.ts';

/** The non-Lambda placeholders of a machine's ASL (`never` for a machine that has none). */
export type ServicePlaceholder<M extends StateMachineName> = (typeof SERVICE_SUBSTITUTIONS)[M][number];

interface BaseProps<M extends StateMachineName> {
  machine: M;
  /** The function behind each placeholder of the machine's ASL: the compiler demands every one. */
  taskOf: Record<(typeof TASK_FUNCTIONS)[M][number], SynthForgeFunction>;
  /** `synthforge-<stage>-<suffix>` names the log group. */
  stage: string;
  logSuffix: string;
  description: string;
  logRetention: RetentionDays;
  removalPolicy: RemovalPolicy;
  /**
   * Construct ids: kept per workflow so that existing stacks keep their logical ids; any left out
   * is `DEFAULT_IDS`'. `servicePolicy` names the policy that holds `serviceStatements` (only a
   * machine with some has it); `output`, the stack output that gives the machine's ARN.
   */
  ids: Partial<typeof DEFAULT_IDS> & { output: string };
}

/** The construct ids of a machine's resources, where its props name no others. */
const DEFAULT_IDS = {
  role: 'StateMachineRole',
  invokePolicy: 'InvokeTasks',
  logGroup: 'ExecutionLogs',
  stateMachine: 'StateMachine',
  servicePolicy: 'ServiceIntegrations',
};

/**
 * A machine with service placeholders must be given a value for each (the compiler demands every
 * one) and the statements its service integrations need; a machine without any takes neither.
 */
type ServiceProps<M extends StateMachineName> = [ServicePlaceholder<M>] extends [never]
  ? { services?: undefined; serviceStatements?: undefined }
  : {
      /** The value behind each service placeholder (a role ARN, an image URI, a key ARN). */
      services: Record<ServicePlaceholder<M>, string>;
      /** What the Task states that call AWS services directly need, beyond invoking the tasks. */
      serviceStatements: readonly PolicyStatement[];
    };

export type LambdaStateMachineProps<M extends StateMachineName> = BaseProps<M> & ServiceProps<M>;

export interface LambdaStateMachine {
  stateMachine: StateMachine;
  role: Role;
  invokePolicy: Policy;
  /** The role's statements for the machine's service integrations, when it has any. */
  servicePolicy?: Policy;
  /** The functions its Task states invoke, each once, in the order of its placeholders. */
  taskFunctions: readonly SynthForgeFunction[];
  /** The ARN of every execution of the machine (what StopExecution acts on). */
  executionArns: string;
  /** The id of the stack output that gives the machine's ARN. */
  outputId: string;
}

export function lambdaStateMachine<M extends StateMachineName>(
  scope: Construct,
  props: LambdaStateMachineProps<M>,
): LambdaStateMachine {
  const definition = readDefinition(props.machine);
  const placeholders = TASK_FUNCTIONS[props.machine] as readonly (typeof TASK_FUNCTIONS)[M][number][];
  const services: Record<string, string> = props.services ?? {};
  const substitutions = {
    ...Object.fromEntries(
      placeholders.map((placeholder) => [placeholder, props.taskOf[placeholder].functionArn]),
    ),
    // A missing value is left out, so the check below names its placeholder.
    ...Object.fromEntries(
      (SERVICE_SUBSTITUTIONS[props.machine] as readonly string[]).flatMap((placeholder) => {
        const value = services[placeholder];
        return value === undefined ? [] : [[placeholder, value]];
      }),
    ),
  } as Record<string, string>;
  assertSamePlaceholders(props.machine, placeholdersOf(definition), Object.keys(substitutions));
  const ids = { ...DEFAULT_IDS, ...props.ids };

  const role = new Role(scope, ids.role, {
    assumedBy: new ServicePrincipal('states.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(scope).account } },
    }),
    description: `Runs the SynthForge ${props.description}`,
  });
  const functions = [...new Set(placeholders.map((placeholder) => props.taskOf[placeholder]))];
  const invokePolicy = new Policy(scope, ids.invokePolicy, {
    roles: [role],
    statements: [
      new PolicyStatement({
        sid: 'InvokeWorkflowTasks',
        actions: ['lambda:InvokeFunction'],
        // Each function and its versions and aliases (`:*`), as CDK's own LambdaInvoke task grants;
        // nothing else.
        resources: functions.flatMap((fn) => [fn.functionArn, `${fn.functionArn}:*`]),
      }),
    ],
  });
  const logGroup = new LogGroup(scope, ids.logGroup, {
    // The /aws/vendedlogs/ prefix keeps Step Functions from growing the account's log resource policy.
    logGroupName: `/aws/vendedlogs/states/synthforge-${props.stage}-${props.logSuffix}`,
    retention: props.logRetention,
    removalPolicy: props.removalPolicy,
  });
  const stateMachine = new StateMachine(scope, ids.stateMachine, {
    stateMachineType: StateMachineType.STANDARD,
    comment: props.description,
    definitionBody: DefinitionBody.fromString(definition),
    definitionSubstitutions: substitutions,
    role,
    logs: { destination: logGroup, level: LogLevel.ALL, includeExecutionData: true },
    tracingEnabled: true,
  });
  // The first execution must find the invoke permission in place.
  stateMachine.node.addDependency(invokePolicy);
  const serviceStatements = props.serviceStatements ?? [];
  const servicePolicy =
    serviceStatements.length > 0
      ? new Policy(scope, ids.servicePolicy, {
          roles: [role],
          statements: [...serviceStatements],
        })
      : undefined;
  // And the permissions of its service integrations.
  if (servicePolicy) stateMachine.node.addDependency(servicePolicy);
  const executionArns = Stack.of(scope).formatArn({
    service: 'states',
    resource: 'execution',
    resourceName: `${stateMachine.stateMachineName}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  return {
    stateMachine,
    role,
    invokePolicy,
    ...(servicePolicy ? { servicePolicy } : {}),
    taskFunctions: functions,
    executionArns,
    outputId: ids.output,
  };
}

function assertSamePlaceholders(
  machine: StateMachineName,
  placeholders: Set<string>,
  supplied: string[],
): void {
  const missing = [...placeholders].filter((name) => !supplied.includes(name));
  const unused = supplied.filter((name) => !placeholders.has(name));
  if (missing.length > 0 || unused.length > 0) {
    throw new Error(
      `${relative(REPO_ROOT, STATE_MACHINE_FILES[machine])}: placeholders without a substitution: [${missing.join(', ')}]; substitutions without a placeholder: [${unused.join(', ')}]`,
    );
  }
}
