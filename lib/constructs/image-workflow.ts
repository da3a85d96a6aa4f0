/**
 * The image workflow: the state machine in `statemachines/image-generation.asl.json`, its InvokeModel
 * task (queues an asynchronous inference and waits on a task token), and the function subscribed to
 * the endpoints' SNS topics that ends each job and sends its token back. The batch steps it shares
 * with the generation workflow (start, fail a job, finish) are the same functions.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { LambdaSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { type Data, JOB_SUBMISSION_ACTIONS } from './data.ts';
import type { Events } from './events.ts';
import { type LambdaStateMachine, lambdaStateMachine } from './lambda-state-machine.ts';
import type { ModelEndpoints } from './model-endpoints.ts';
import { type FunctionDefaults, SynthForgeFunction } from './synthforge-function.ts';
import type { BatchTasks } from './workflows.ts';

export interface ImageWorkflowProps {
  readonly data: Data;
  readonly events: Events;
  /** The endpoints the images come from, their topics and staging prefixes. */
  readonly endpoints: ModelEndpoints;
  /** The batch steps this workflow shares with the generation workflow. */
  readonly batchTasks: Pick<BatchTasks, 'startBatch' | 'failJob' | 'finishBatch'>;
  readonly defaults: FunctionDefaults;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** How long a queued request may wait for an instance (`RequestTTLSeconds`); the ASL's heartbeat outlasts it. */
  readonly requestTtlSeconds?: number;
}

export class ImageWorkflow extends Construct {
  readonly invokeModel: SynthForgeFunction;
  /** Subscribed to the endpoints' success and error topics. */
  readonly notifications: SynthForgeFunction;
  /** The machine as lambdaStateMachine built it: its role, its invoke policy, its executions. */
  readonly machine: LambdaStateMachine;
  readonly stateMachine: StateMachine;
  /** The environment every function that reads the model catalogue needs. */
  readonly modelsEnvironment: Record<string, string>;

  readonly #data: Data;
  readonly #events: Events;
  readonly #endpoints: ModelEndpoints;

  constructor(scope: Construct, id: string, props: ImageWorkflowProps) {
    super(scope, id);
    const { data, events, endpoints, defaults } = props;
    this.#data = data;
    this.#endpoints = endpoints;
    this.#events = events;
    this.modelsEnvironment = { IMAGE_MODELS: JSON.stringify(endpoints.deployedModels) };
    const environment = {
      STATE_TABLE: data.stateTable.tableName,
      EVENT_BUS_NAME: events.bus.eventBusName,
      OUTPUTS_BUCKET: data.outputsBucket.bucketName,
      IMAGE_REQUEST_TTL_SECONDS: String(props.requestTtlSeconds ?? 3600),
      ...this.modelsEnvironment,
    };

    this.invokeModel = new SynthForgeFunction(this, 'InvokeModel', {
      entry: 'lambdas/handlers/workflow/invoke-model.ts',
      description: 'Image workflow: records the task token and queues the inference on the model endpoint',
      memorySize: 512,
      timeout: Duration.seconds(30),
      environment,
      defaults,
    });
    data.allowStateTable(this.invokeModel, [
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
      'dynamodb:BatchWriteItem',
    ]);
    events.allowPublish(this.invokeModel);
    endpoints.grantInvoke(this.invokeModel);
    endpoints.grantDescribe(this.invokeModel);

    this.notifications = new SynthForgeFunction(this, 'EndpointNotifications', {
      entry: 'lambdas/handlers/endpoint-notifications.ts',
      description: 'Image workflow: ends the job an endpoint notification is about and resumes its step',
      memorySize: 512,
      timeout: Duration.seconds(60),
      environment,
      defaults,
    });
    data.allowStateTable(this.notifications, [
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
      'dynamodb:BatchWriteItem',
    ]);
    // The image is copied from the staging prefix to the job's own key (CopyObject reads the source
    // and puts the target), then the staged object is deleted.
    data.allowOutputs(this.notifications, ['s3:PutObject']);
    endpoints.grantReadOutputs(this.notifications);
    endpoints.grantDeleteOutputs(this.notifications);
    events.allowPublish(this.notifications);
    // Failed deliveries (after SNS's own retries) are kept, not lost.
    for (const topic of [endpoints.successTopic, endpoints.errorTopic]) {
      topic.addSubscription(
        new LambdaSubscription(this.notifications, { deadLetterQueue: events.deadLetterQueue }),
      );
    }

    const built = lambdaStateMachine(this, {
      machine: 'imageGeneration',
      taskOf: {
        StartBatchFunctionArn: props.batchTasks.startBatch,
        InvokeModelFunctionArn: this.invokeModel,
        FailJobFunctionArn: props.batchTasks.failJob,
        FinishBatchFunctionArn: props.batchTasks.finishBatch,
      },
      stage: defaults.stage,
      logSuffix: 'image-generation',
      description: 'image workflow: one batch of text-to-image jobs on a model endpoint',
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      ids: { output: 'ImageStateMachineArn' },
    });
    this.machine = built;
    this.stateMachine = built.stateMachine;
    // Only the steps of this machine wait on tokens: the notifications may answer exactly those.
    this.notifications.allow({
      sid: 'ResumeWaitingSteps',
      actions: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'],
      resources: [this.stateMachine.stateMachineArn],
    });
  }

  /**
   * The environment of a function that submits image jobs (`POST /generate`, the WebSocket's
   * `generate`): where jobs, requests and executions go, and the model catalogue.
   */
  submitterEnvironment(settings: {
    batchMaxConcurrency: number;
    resultUrlTtlSeconds: number;
    defaultModelId?: string | undefined;
  }): Record<string, string> {
    return {
      STATE_TABLE: this.#data.stateTable.tableName,
      OUTPUTS_BUCKET: this.#data.outputsBucket.bucketName,
      EVENT_BUS_NAME: this.#events.bus.eventBusName,
      BATCH_MAX_CONCURRENCY: String(settings.batchMaxConcurrency),
      RESULT_URL_TTL_SECONDS: String(settings.resultUrlTtlSeconds),
      ...this.starterEnvironment(settings.defaultModelId),
    };
  }

  /**
   * What a function that already submits jobs of its own needs to start image batches too: this
   * workflow's machine, the default model and the model catalogue.
   */
  starterEnvironment(defaultModelId?: string): Record<string, string> {
    return {
      IMAGE_STATE_MACHINE_ARN: this.stateMachine.stateMachineArn,
      ...(defaultModelId ? { IMAGE_DEFAULT_MODEL_ID: defaultModelId } : {}),
      ...this.modelsEnvironment,
    };
  }

  /**
   * What submitting image jobs takes: jobs, their log and idempotency records in the state table,
   * each request written to S3 (and results read for their links), the events, and starting this
   * workflow.
   */
  allowSubmit(fn: SynthForgeFunction): void {
    this.#data.allowStateTable(fn, JOB_SUBMISSION_ACTIONS);
    this.#data.allowOutputs(fn, ['s3:GetObject', 's3:PutObject']);
    this.#events.allowPublish(fn);
    this.allowStart(fn);
  }

  /**
   * Lets `fn` start executions of this workflow (it has what submitting takes otherwise), and ask
   * whether each model's endpoint exists: a submission to a model without one is a 503 naming it
   * (ImageService.ensureEndpointsExist), which without DescribeEndpoint would be let through.
   */
  allowStart(fn: SynthForgeFunction): void {
    this.#endpoints.grantDescribe(fn);
    fn.allow({
      sid: 'StartImageExecutions',
      actions: ['states:StartExecution'],
      resources: [this.stateMachine.stateMachineArn],
    });
  }
}
