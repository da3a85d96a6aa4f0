/**
 * The SynthForge stack: wires the constructs together from one validated stage configuration.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { API_ROUTES, type ApiRoute } from './api-routes.ts';
import { logRetentionOf, removalPolicyOf, type StageConfig } from './config.ts';
import { Api } from './constructs/api.ts';
import { ApiHandlers } from './constructs/api-handlers.ts';
import { Data } from './constructs/data.ts';
import { Events } from './constructs/events.ts';
import { ImageWorkflow } from './constructs/image-workflow.ts';
import { ModelEndpoints } from './constructs/model-endpoints.ts';
import { Observability } from './constructs/observability.ts';
import type { FunctionDefaults, SynthForgeFunction } from './constructs/synthforge-function.ts';
import { TrainingWorkflow } from './constructs/training-workflow.ts';
import { GenerationWebSocket } from './constructs/websocket-api.ts';
import { Workflows } from './constructs/workflows.ts';

/**
 * Feature flags this stack's constructs depend on, set on the stack itself so that every app that
 * creates it (bin/app.ts, the tests) gets the same template without copying cdk.json context.
 */
export const STACK_FEATURE_FLAGS: Readonly<Record<string, boolean>> = {
  // Server access logs are delivered under a bucket policy (logging.s3.amazonaws.com, scoped to the
  // source bucket and account) instead of the legacy LogDeliveryWrite ACL, which needs ACLs enabled.
  '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
  // A changed authorizer gets a new API deployment, so the stage never runs a stale one.
  '@aws-cdk/aws-apigateway:authorizerChangeDeploymentLogicalId': true,
};

export interface SynthForgeStackProps extends StackProps {
  readonly config: StageConfig;
  /**
   * The routes the API exposes.
   * @default API_ROUTES
   */
  readonly routes?: readonly ApiRoute[];
  /**
   * The stack that holds the model endpoints (`SynthForge-<stage>-Models`, lib/stage-stacks.ts): it
   * depends on this one, and nothing here depends on it, so this stack deploys whatever GPU quota
   * the account has. Without it, the endpoints are created in this stack.
   */
  readonly modelsStack?: Stack;
}

export class SynthForgeStack extends Stack {
  readonly config: StageConfig;
  readonly data: Data;
  readonly events: Events;
  /** GPU models on asynchronous endpoints that scale to zero, and their notification topics. */
  readonly modelEndpoints: ModelEndpoints;
  readonly workflows: Workflows;
  /** Text-to-image batches: InvokeModel waits on a task token, the endpoints' notifications resume it. */
  readonly imageWorkflow: ImageWorkflow;
  /** Seed 002: training runs as SageMaker training jobs, one execution per run. */
  readonly trainingWorkflow: TrainingWorkflow;
  readonly apiHandlers: ApiHandlers;
  readonly api: Api;
  /** Seed 001's WebSocket API: `generate` messages, and each job's progress and result pushed back. */
  readonly webSocket: GenerationWebSocket;
  readonly observability: Observability;

  constructor(scope: Construct, id: string, props: SynthForgeStackProps) {
    super(scope, id, props);
    for (const [flag, value] of Object.entries(STACK_FEATURE_FLAGS)) this.node.setContext(flag, value);
    const { config } = props;
    this.config = config;
    const removalPolicy = removalPolicyOf(config);
    const logRetention = logRetentionOf(config);
    const defaults: FunctionDefaults = { stage: config.stage, logRetention, removalPolicy };

    this.data = new Data(this, 'Data', {
      removalPolicy,
      resultRetentionDays: config.resultRetentionDays,
      noncurrentVersionRetentionDays: config.noncurrentVersionRetentionDays,
      accessLogRetentionDays: config.accessLogRetentionDays,
    });

    this.events = new Events(this, 'Events', {
      stage: config.stage,
      archiveRetentionDays: config.eventArchiveRetentionDays,
      removalPolicy,
    });

    this.modelEndpoints = new ModelEndpoints(this, 'ModelEndpoints', {
      stage: config.stage,
      config: config.imageGeneration,
      outputsBucket: this.data.outputsBucket,
      logRetention,
      removalPolicy,
      ...(props.modelsStack ? { endpointScope: props.modelsStack } : {}),
    });

    this.workflows = new Workflows(this, 'Workflows', {
      data: this.data,
      events: this.events,
      defaults,
      logRetention,
      removalPolicy,
    });
    this.imageWorkflow = new ImageWorkflow(this, 'ImageWorkflow', {
      data: this.data,
      events: this.events,
      endpoints: this.modelEndpoints,
      batchTasks: this.workflows.tasks,
      defaults,
      logRetention,
      removalPolicy,
    });
    this.trainingWorkflow = new TrainingWorkflow(this, 'TrainingWorkflow', {
      data: this.data,
      events: this.events,
      config: config.training,
      defaults,
      logRetention,
      removalPolicy,
    });
    this.events.reconcileFailedExecutions(
      [this.workflows.batchStateMachine, this.imageWorkflow.stateMachine, this.trainingWorkflow.stateMachine],
      this.workflows.reconciler,
    );

    this.apiHandlers = new ApiHandlers(this, 'ApiHandlers', {
      data: this.data,
      events: this.events,
      workflows: this.workflows,
      settings: {
        batchMaxConcurrency: config.batchMaxConcurrency,
        resultUrlTtlSeconds: config.resultUrlTtlSeconds,
        idempotencyTtlSeconds: config.idempotencyTtlSeconds,
        workerMemoryMb: this.workflows.tasks.runJob.memoryMb,
        resultRetentionDays: config.resultRetentionDays,
      },
      keyCacheTtlSeconds: config.api.keyCacheTtlSeconds,
      images: {
        workflow: this.imageWorkflow,
        endpoints: this.modelEndpoints,
        syncWaitSeconds: config.imageGeneration.syncWaitSeconds,
        defaultModelId: config.imageGeneration.defaultModelId,
      },
      training: this.trainingWorkflow,
      defaults,
      removalPolicy,
    });

    this.api = new Api(this, 'Api', {
      stage: config.stage,
      routes: props.routes ?? API_ROUTES,
      handlers: this.apiHandlers.families,
      authorizer: this.apiHandlers.authorizer,
      limits: config.api,
      logRetention,
      removalPolicy,
    });

    this.webSocket = new GenerationWebSocket(this, 'WebSocket', {
      stage: config.stage,
      data: this.data,
      events: this.events,
      imageWorkflow: this.imageWorkflow,
      defaultModelId: config.imageGeneration.defaultModelId,
      settings: {
        batchMaxConcurrency: config.batchMaxConcurrency,
        resultUrlTtlSeconds: config.resultUrlTtlSeconds,
      },
      limits: config.api,
      defaults,
      logRetention,
      removalPolicy,
      // The REST API sets the account's CloudWatch role, which the stage's access logs need.
      dependsOn: [this.api.restApi.node.findChild('Account')],
    });

    this.observability = new Observability(this, 'Observability', {
      functions: this.functions,
      // The authorizer answers every bad key by throwing 'Unauthorized' (the only way to get a 401),
      // which Lambda counts as an Error: an alarm on its Errors would page on every scanner. Its real
      // failures reach API Gateway as authorizer errors, answered 5xx, which the API 5xx alarm watches.
      withoutErrorsAlarm: [this.apiHandlers.authorizer, this.webSocket.authorizer],
      batchStateMachine: this.workflows.batchStateMachine,
      deadLetterQueue: this.events.deadLetterQueue,
      restApi: this.api.restApi,
      modelEndpointNames: this.modelEndpoints.endpoints.map((endpoint) => endpoint.endpointName),
      ...(config.alarmEmail ? { alarmEmail: config.alarmEmail } : {}),
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL of the SynthForge API' });
    new CfnOutput(this, 'WebSocketUrl', {
      value: this.webSocket.url,
      description: 'Seed 001 WebSocket API: connect with ?api_key=<key>, send {"type":"generate",...}',
    });
    new CfnOutput(this, 'StateTableName', { value: this.data.stateTable.tableName });
    new CfnOutput(this, 'KeysTableName', { value: this.data.keysTable.tableName });
    new CfnOutput(this, 'OutputsBucketName', { value: this.data.outputsBucket.bucketName });
    new CfnOutput(this, 'BatchStateMachineArn', { value: this.workflows.batchStateMachine.stateMachineArn });
    new CfnOutput(this, 'ImageStateMachineArn', { value: this.imageWorkflow.stateMachine.stateMachineArn });
    new CfnOutput(this, 'TrainingStateMachineArn', {
      value: this.trainingWorkflow.stateMachine.stateMachineArn,
    });
    new CfnOutput(this, 'EventBusName', { value: this.events.bus.eventBusName });
    new CfnOutput(this, 'UsagePlanId', {
      value: this.api.usagePlan.usagePlanId,
      description: 'The usage plan the keys tool adds tenant keys to',
    });
    new CfnOutput(this, 'ModelSuccessTopicArn', {
      value: this.modelEndpoints.successTopic.topicArn,
      description: 'Model endpoints publish each successful asynchronous inference here',
    });
    new CfnOutput(this, 'ModelErrorTopicArn', {
      value: this.modelEndpoints.errorTopic.topicArn,
      description: 'Model endpoints publish each failed asynchronous inference here',
    });
    // Each endpoint's output belongs to the stack that creates the endpoint.
    for (const { model, endpointName, endpoint } of this.modelEndpoints.endpoints) {
      new CfnOutput(Stack.of(endpoint), `ModelEndpoint${pascalCase(model.name)}`, {
        value: endpointName,
        description: `SageMaker asynchronous endpoint of ${model.modelId} (scales to zero)`,
      });
    }
  }

  /** Every Lambda function of the stack. */
  get functions(): SynthForgeFunction[] {
    return [
      ...Object.values(this.apiHandlers.families),
      this.apiHandlers.authorizer,
      ...Object.values(this.workflows.tasks),
      this.imageWorkflow.invokeModel,
      this.imageWorkflow.notifications,
      this.trainingWorkflow.prepareTraining,
      this.trainingWorkflow.recordTraining,
      this.workflows.reconciler,
      ...this.webSocket.functions,
    ];
  }
}

/** `stable-diffusion-v1-5` → `StableDiffusionV15` (an output id takes letters and digits only). */
function pascalCase(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}
