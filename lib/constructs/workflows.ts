/**
 * The batch workflow of the generation family (lib/families/generation.ts): the Step Functions state
 * machine in `statemachines/generation-batch.asl.json` and the four Lambda tasks it invokes.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { Data } from './data.ts';
import type { Events } from './events.ts';
import { type LambdaStateMachine, lambdaStateMachine } from './lambda-state-machine.ts';
import { type FunctionDefaults, SynthForgeFunction } from './synthforge-function.ts';

export interface WorkflowsProps {
  /** Tables, key and bucket the tasks use. */
  readonly data: Data;
  /** The bus the tasks publish job state changes to. */
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
  /** The machine as lambdaStateMachine built it: its role, its invoke policy, its executions. */
  readonly machine: LambdaStateMachine;
  readonly batchStateMachine: StateMachine;

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

    this.tasks = { startBatch, runJob, failJob, finishBatch };

    const built = lambdaStateMachine(this, {
      machine: 'generationBatch',
      taskOf: {
        StartBatchFunctionArn: startBatch,
        RunJobFunctionArn: runJob,
        FailJobFunctionArn: failJob,
        FinishBatchFunctionArn: finishBatch,
      },
      stage: defaults.stage,
      logSuffix: 'generation-batch',
      description: 'batch workflow: one batch of generation jobs',
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      ids: {
        role: 'BatchStateMachineRole',
        logGroup: 'BatchExecutionLogs',
        stateMachine: 'BatchStateMachine',
        output: 'BatchStateMachineArn',
      },
    });
    this.machine = built;
    this.batchStateMachine = built.stateMachine;
  }
}
