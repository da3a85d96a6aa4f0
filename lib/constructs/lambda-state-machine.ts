/**
 * A state machine of statemachines/ whose Task states invoke Lambda functions: its ASL loaded with
 * `DefinitionBody.fromString` and its `${Placeholder}` substitutions, a role that may invoke exactly
 * those functions, execution logs (ALL, with data) and X-Ray. The batch and image workflows are both
 * built here, so they cannot drift apart in how they are secured and observed.
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
  STATE_MACHINE_FILES,
  type StateMachineName,
  TASK_FUNCTIONS,
} from '../../statemachines/definitions.ts';
import { REPO_ROOT } from '../paths.ts';
import type { SynthForgeFunction } from './synthforge-function.ts';

export interface LambdaStateMachineProps<M extends StateMachineName> {
  machine: M;
  /** The function behind each placeholder of the machine's ASL: the compiler demands every one. */
  taskOf: Record<(typeof TASK_FUNCTIONS)[M][number], SynthForgeFunction>;
  /** `synthforge-<stage>-<suffix>` names the log group. */
  stage: string;
  logSuffix: string;
  description: string;
  logRetention: RetentionDays;
  removalPolicy: RemovalPolicy;
  /** Construct ids: kept per workflow so that existing stacks keep their logical ids. */
  ids: { role: string; invokePolicy: string; logGroup: string; stateMachine: string };
}

export interface LambdaStateMachine {
  stateMachine: StateMachine;
  role: Role;
  invokePolicy: Policy;
  substitutions: Record<string, string>;
  /** The ARN of every execution of the machine (what StopExecution acts on). */
  executionArns: string;
}

export function lambdaStateMachine<M extends StateMachineName>(
  scope: Construct,
  props: LambdaStateMachineProps<M>,
): LambdaStateMachine {
  const definition = readDefinition(props.machine);
  const placeholders = TASK_FUNCTIONS[props.machine] as readonly (typeof TASK_FUNCTIONS)[M][number][];
  const substitutions = Object.fromEntries(
    placeholders.map((placeholder) => [placeholder, props.taskOf[placeholder].functionArn]),
  );
  assertSamePlaceholders(props.machine, placeholdersOf(definition), Object.keys(substitutions));

  const role = new Role(scope, props.ids.role, {
    assumedBy: new ServicePrincipal('states.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(scope).account } },
    }),
    description: `Runs the SynthForge ${props.description}`,
  });
  const functions = [...new Set(placeholders.map((placeholder) => props.taskOf[placeholder]))];
  const invokePolicy = new Policy(scope, props.ids.invokePolicy, {
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
  const logGroup = new LogGroup(scope, props.ids.logGroup, {
    // The /aws/vendedlogs/ prefix keeps Step Functions from growing the account's log resource policy.
    logGroupName: `/aws/vendedlogs/states/synthforge-${props.stage}-${props.logSuffix}`,
    retention: props.logRetention,
    removalPolicy: props.removalPolicy,
  });
  const stateMachine = new StateMachine(scope, props.ids.stateMachine, {
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
  const executionArns = Stack.of(scope).formatArn({
    service: 'states',
    resource: 'execution',
    resourceName: `${stateMachine.stateMachineName}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  return { stateMachine, role, invokePolicy, substitutions, executionArns };
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
