/**
 * The batch workflow: the Step Functions state machine in `statemachines/generation-batch.asl.json`,
 * the four Lambda tasks it invokes, and the reconciler that closes the jobs of an execution that
 * ended without saying so.
 */
import { relative } from 'node:path';
import { ArnFormat, Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  placeholdersOf,
  readDefinition,
  STATE_MACHINE_FILES,
  TASK_FUNCTIONS,
} from '../../statemachines/definitions.ts';
import { REPO_ROOT } from '../paths.ts';
import type { Data } from './data.ts';
import type { Events } from './events.ts';
import { type FunctionDefaults, SynthForgeFunction } from './synthforge-function.ts';

/** A placeholder of the batch workflow's ASL that names a task function. */
type BatchTaskPlaceholder = (typeof TASK_FUNCTIONS.generationBatch)[number];

export interface WorkflowsProps {
  /** Tables, key and bucket the tasks use. */
  readonly data: Data;
  /** The bus the tasks publish job state changes to, and the dead-letter queue of the reconciler. */
  readonly events: Events;
  readonly defaults: FunctionDefaults;
  /** Retention of the execution history log. */
  readonly logRetention: RetentionDays;
  /** What deleting the stack does to the execution log group. */
  readonly removalPolicy: RemovalPolicy;
}

/** The Lambda tasks of the batch workflow, by the placeholder that names each in the ASL. */
export interface BatchTasks {
  readonly startBatch: SynthForgeFunction;
  readonly runJob: SynthForgeFunction;
  readonly failJob: SynthForgeFunction;
  readonly finishBatch: SynthForgeFunction;
}

export class Workflows extends Construct {
  readonly tasks: BatchTasks;
  /** Closes the jobs of a batch execution that failed, timed out or was aborted. */
  readonly reconciler: SynthForgeFunction;
  readonly batchStateMachine: StateMachine;
  /** The execution role of the state machine. */
  readonly batchStateMachineRole: Role;
  /** The role's statement that invokes the four tasks (kept apart from CDK's logging/X-Ray policy). */
  readonly invokeTasksPolicy: Policy;
  /** What `definitionSubstitutions` supplies, by placeholder. */
  readonly substitutions: Record<string, string>;

  constructor(scope: Construct, id: string, props: WorkflowsProps) {
    super(scope, id);
    const { data, events, defaults } = props;
    const stateEnv = { STATE_TABLE: data.stateTable.tableName, EVENT_BUS_NAME: events.bus.eventBusName };
    // Table actions follow lambdas/adapters/dynamo: get = GetItem, transition/update = UpdateItem,
    // appendLog = BatchWriteItem, a batch's jobs = Query on gsi1.

    // Lambda timeouts stay within the ASL's TimeoutSeconds of the Task that invokes them.
    const startBatch = new SynthForgeFunction(this, 'StartBatch', {
      entry: 'lambdas/handlers/workflow/start-batch.ts',
      description: 'Batch workflow: marks the batch running and records its execution',
      memorySize: 512,
      timeout: Duration.seconds(25),
      environment: stateEnv,
      defaults,
    });
    data.allowStateTable(startBatch, ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:BatchWriteItem']);
    events.allowPublish(startBatch);

    const runJob = new SynthForgeFunction(this, 'RunJob', {
      entry: 'lambdas/handlers/workflow/run-job.ts',
      description: 'Batch workflow: runs one generation job and writes its result archive',
      memorySize: 2048,
      timeout: Duration.seconds(900),
      environment: { ...stateEnv, OUTPUTS_BUCKET: data.outputsBucket.bucketName },
      defaults,
    });
    data.allowStateTable(runJob, ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:BatchWriteItem']);
    data.allowOutputs(runJob, ['s3:PutObject']);
    events.allowPublish(runJob);

    const failJob = new SynthForgeFunction(this, 'FailJob', {
      entry: 'lambdas/handlers/workflow/fail-job.ts',
      description: 'Batch workflow: marks one job failed with the error that stopped it',
      memorySize: 512,
      timeout: Duration.seconds(25),
      environment: stateEnv,
      defaults,
    });
    data.allowStateTable(failJob, ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:BatchWriteItem']);
    events.allowPublish(failJob);

    const finishBatch = new SynthForgeFunction(this, 'FinishBatch', {
      entry: 'lambdas/handlers/workflow/finish-batch.ts',
      description: 'Batch workflow: closes open jobs, records the counts, completes or fails the batch',
      memorySize: 1024,
      timeout: Duration.seconds(55),
      environment: stateEnv,
      defaults,
    });
    data.allowStateTable(finishBatch, [
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'dynamodb:BatchWriteItem',
    ]);
    events.allowPublish(finishBatch);

    this.reconciler = new SynthForgeFunction(this, 'Reconciler', {
      entry: 'lambdas/handlers/reconciler.ts',
      description: 'Fails the open jobs of a batch execution that failed, timed out or was aborted',
      memorySize: 1024,
      timeout: Duration.minutes(5),
      environment: stateEnv,
      defaults,
      deadLetterQueue: events.deadLetterQueue,
    });
    data.allowStateTable(this.reconciler, [
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'dynamodb:BatchWriteItem',
    ]);
    events.allowPublish(this.reconciler);

    this.tasks = { startBatch, runJob, failJob, finishBatch };

    // The placeholders come from statemachines/definitions.ts, which the local platform uses too; the
    // record type makes the compiler demand a function for each of them.
    const taskOf: Record<BatchTaskPlaceholder, SynthForgeFunction> = {
      StartBatchFunctionArn: startBatch,
      RunJobFunctionArn: runJob,
      FailJobFunctionArn: failJob,
      FinishBatchFunctionArn: finishBatch,
    };
    const definition = readDefinition('generationBatch');
    this.substitutions = Object.fromEntries(
      TASK_FUNCTIONS.generationBatch.map((placeholder) => [placeholder, taskOf[placeholder].functionArn]),
    );
    assertSamePlaceholders(placeholdersOf(definition), Object.keys(this.substitutions));

    this.batchStateMachineRole = new Role(this, 'BatchStateMachineRole', {
      assumedBy: new ServicePrincipal('states.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: 'Runs the SynthForge batch workflow',
    });
    const taskFunctions = Object.values(this.tasks) as SynthForgeFunction[];
    this.invokeTasksPolicy = new Policy(this, 'InvokeTasks', {
      roles: [this.batchStateMachineRole],
      statements: [
        new PolicyStatement({
          sid: 'InvokeBatchTasks',
          actions: ['lambda:InvokeFunction'],
          // Each function and its versions and aliases (`:*`), as CDK's own LambdaInvoke task grants;
          // nothing else.
          resources: taskFunctions.flatMap((fn) => [fn.functionArn, `${fn.functionArn}:*`]),
        }),
      ],
    });

    const logGroup = new LogGroup(this, 'BatchExecutionLogs', {
      // The /aws/vendedlogs/ prefix keeps Step Functions from growing the account's log resource policy.
      logGroupName: `/aws/vendedlogs/states/synthforge-${defaults.stage}-generation-batch`,
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });

    this.batchStateMachine = new StateMachine(this, 'BatchStateMachine', {
      stateMachineType: StateMachineType.STANDARD,
      comment: 'Runs one batch of generation jobs',
      definitionBody: DefinitionBody.fromString(definition),
      definitionSubstitutions: this.substitutions,
      role: this.batchStateMachineRole,
      logs: { destination: logGroup, level: LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    // The first execution must find the invoke permission in place.
    this.batchStateMachine.node.addDependency(this.invokeTasksPolicy);
  }

  /** The ARN of every execution of the batch state machine (what StopExecution acts on). */
  get batchExecutionArns(): string {
    return Stack.of(this).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${this.batchStateMachine.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }
}

function assertSamePlaceholders(placeholders: Set<string>, supplied: string[]): void {
  const missing = [...placeholders].filter((name) => !supplied.includes(name));
  const unused = supplied.filter((name) => !placeholders.has(name));
  if (missing.length > 0 || unused.length > 0) {
    throw new Error(
      `${relative(REPO_ROOT, STATE_MACHINE_FILES.generationBatch)}: placeholders without a substitution: [${missing.join(', ')}]; substitutions without a placeholder: [${unused.join(', ')}]`,
    );
  }
}
