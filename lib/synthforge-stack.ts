/**
 * The SynthForge stack, from one validated stage configuration: the shared constructs (data, events,
 * the REST and WebSocket APIs, observability) and each job family's construct (lib/families/). What
 * spans families is derived from the registered ones, never listed here: the API's handlers, the
 * machines the reconciler hears of, the executions a cancel may stop, the functions and the outputs.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { API_ROUTES, type ApiRoute, type RouteFamily } from './api-routes.ts';
import { logRetentionOf, removalPolicyOf, type StageConfig } from './config.ts';
import { Api } from './constructs/api.ts';
import { Data } from './constructs/data.ts';
import { Events } from './constructs/events.ts';
import { Observability } from './constructs/observability.ts';
import type { FunctionDefaults, SynthForgeFunction } from './constructs/synthforge-function.ts';
import { GenerationWebSocket } from './constructs/websocket-api.ts';
import { FamilyConstructs, functionsUnder, type SharedInfrastructure } from './families/family.ts';
import { GenerationFamily } from './families/generation.ts';
import { ImagesFamily } from './families/images.ts';
import {
  assertEveryFamilyRegistered,
  FAMILY_CONSTRUCTS,
  routeHandlersOf,
  stateMachinesOf,
} from './families/index.ts';
import { PlatformFamily } from './families/platform.ts';
import { limitFunctions, limitRouteHandlers } from './rate-limits.ts';

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
  /** Each family's construct (lib/families/), in the order of the registry. */
  readonly families: FamilyConstructs;
  /** The function behind each route family, from the families that serve them. */
  readonly routeHandlers: Readonly<Record<RouteFamily, SynthForgeFunction>>;
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

    assertEveryFamilyRegistered();
    const shared: SharedInfrastructure = {
      config,
      data: this.data,
      events: this.events,
      defaults,
      logRetention,
      removalPolicy,
      ...(props.modelsStack ? { modelsStack: props.modelsStack } : {}),
    };
    this.families = new FamilyConstructs();
    for (const { id: familyId, build } of FAMILY_CONSTRUCTS) {
      this.families.add(build(this, familyId, { ...shared, families: this.families }));
    }
    const families = this.families.all;
    const platform = this.families.require(PlatformFamily, 'the stack');
    const machines = stateMachinesOf(families);
    // An execution of any family's machine that ends without closing its jobs, and a cancel of any
    // family's job.
    this.events.reconcileFailedExecutions(
      machines.map(({ machine }) => machine.stateMachine),
      platform.reconciler,
    );
    platform.allowCancelling(families.flatMap((family) => family.cancellable));
    this.routeHandlers = routeHandlersOf(families);
    // Seed 001's per-minute limits, counted by the functions of the limited routes (all of them,
    // whichever the API exposes: a function serves its whole route family).
    limitRouteHandlers(this.routeHandlers, API_ROUTES, this.data, config.rateLimits);

    this.api = new Api(this, 'Api', {
      stage: config.stage,
      routes: props.routes ?? API_ROUTES,
      handlers: this.routeHandlers,
      authorizer: platform.authorizer,
      limits: config.api,
      logRetention,
      removalPolicy,
    });

    const images = this.families.require(ImagesFamily, 'the WebSocket API');
    this.webSocket = new GenerationWebSocket(this, 'WebSocket', {
      stage: config.stage,
      data: this.data,
      events: this.events,
      imageWorkflow: images.workflow,
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
    // A `generate` message is a generation request of seed 001's per-minute limit, as POST /generate is.
    limitFunctions([this.webSocket.messages], this.data, config.rateLimits);

    const generation = this.families.require(GenerationFamily, 'the batch alarms');
    this.observability = new Observability(this, 'Observability', {
      functions: this.functions,
      // The authorizer answers every bad key by throwing 'Unauthorized' (the only way to get a 401),
      // which Lambda counts as an Error: an alarm on its Errors would page on every scanner. Its real
      // failures reach API Gateway as authorizer errors, answered 5xx, which the API 5xx alarm watches.
      withoutErrorsAlarm: [platform.authorizer, this.webSocket.authorizer],
      batchStateMachine: generation.workflow.batchStateMachine,
      deadLetterQueue: this.events.deadLetterQueue,
      restApi: this.api.restApi,
      modelEndpointNames: images.endpoints.endpoints.map((endpoint) => endpoint.endpointName),
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
    for (const { machine } of machines) {
      new CfnOutput(this, machine.outputId, { value: machine.stateMachine.stateMachineArn });
    }
    new CfnOutput(this, 'EventBusName', { value: this.events.bus.eventBusName });
    new CfnOutput(this, 'UsagePlanId', {
      value: this.api.usagePlan.usagePlanId,
      description: 'The usage plan the keys tool adds tenant keys to',
    });
  }

  /** Every Lambda function of the stack. */
  get functions(): SynthForgeFunction[] {
    return [...this.families.all.flatMap(functionsUnder), ...this.webSocket.functions];
  }
}
