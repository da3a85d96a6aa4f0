/**
 * Seed 001's WebSocket API (`wss://…/<stage>?api_key=<key>`): an API Gateway v2 WebSocket API whose
 * route is picked by the message's `type`, the key authorizer on `$connect`, the functions behind
 * the routes, and the rule that pushes every state change of an image job to the connections
 * waiting for it. The generate route starts jobs exactly as `POST /generate` does.
 */
import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { LogGroupLogDestination, WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { Rule } from 'aws-cdk-lib/aws-events';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct, type IDependable } from 'constructs';
import { WEBSOCKET_LIMITS } from '../../contracts/vocabulary.ts';
import type { ApiLimits } from '../config.ts';
import type { Data } from './data.ts';
import type { Events } from './events.ts';
import type { ImageWorkflow } from './image-workflow.ts';
import {
  API_FUNCTION_MAX_TIMEOUT,
  type FunctionDefaults,
  SynthForgeFunction,
} from './synthforge-function.ts';

export interface GenerationWebSocketProps {
  /** The stage name: the API is `synthforge-<stage>-ws`, its stage `<stage>`. */
  readonly stage: string;
  readonly data: Data;
  readonly events: Events;
  /** The image workflow `generate` starts (and the model catalogue it validates against). */
  readonly imageWorkflow: ImageWorkflow;
  readonly defaultModelId?: string | undefined;
  /** Map iterations of a batch that run at once, and the lifetime of a presigned result URL. */
  readonly settings: { readonly batchMaxConcurrency: number; readonly resultUrlTtlSeconds: number };
  /** The REST stage's throttling applies to this stage too (WebSocket APIs have no usage plans). */
  readonly limits: Pick<ApiLimits, 'stageRateLimit' | 'stageBurstLimit'>;
  readonly defaults: FunctionDefaults;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /**
   * What the stage must wait for: the account's API Gateway CloudWatch role (the REST API sets it),
   * without which a stage with access logs fails to deploy.
   * @default - none
   */
  readonly dependsOn?: readonly IDependable[];
}

/** Route selection reads the message's `type`: `generate`; anything else goes to `$default`. */
export const ROUTE_SELECTION_EXPRESSION = '$request.body.type';
/** The key comes in the query string; a request without it is refused (401) before the authorizer runs. */
export const API_KEY_IDENTITY_SOURCE = 'route.request.querystring.api_key';

/** The access log line: one JSON object per connection event or message. */
const ACCESS_LOG_FIELDS: Record<string, string> = {
  requestId: '"$context.requestId"',
  extendedRequestId: '"$context.extendedRequestId"',
  requestTime: '"$context.requestTime"',
  ip: '"$context.identity.sourceIp"',
  eventType: '"$context.eventType"',
  routeKey: '"$context.routeKey"',
  connectionId: '"$context.connectionId"',
  status: '"$context.status"',
  integrationStatus: '"$context.integration.status"',
  integrationLatency: '"$context.integration.latency"',
  tenant: '"$context.authorizer.tenant"',
  keyId: '"$context.authorizer.principalId"',
  // Already a quoted, escaped JSON string.
  errorMessage: '$context.error.messageString',
};

export class GenerationWebSocket extends Construct {
  readonly api: WebSocketApi;
  readonly stage: WebSocketStage;
  readonly accessLogs: LogGroup;
  /** `$connect`: the API key in `api_key` → tenant, as the REST authorizer does. */
  readonly authorizer: SynthForgeFunction;
  /** `$connect` and `$disconnect`: the connection records. */
  readonly connections: SynthForgeFunction;
  /** `generate` and `$default`: starts image jobs, answers the rest. */
  readonly messages: SynthForgeFunction;
  /** The target of `pushRule`: sends each job state change to its connections. */
  readonly push: SynthForgeFunction;
  readonly pushRule: Rule;
  /** `PostToConnection` on this API's stage, and nothing else (ARN of `execute-api:ManageConnections`). */
  readonly connectionsArn: string;

  constructor(scope: Construct, id: string, props: GenerationWebSocketProps) {
    super(scope, id);
    const { stage, data, events, imageWorkflow, settings, defaults } = props;

    this.authorizer = new SynthForgeFunction(this, 'Authorizer', {
      entry: 'lambdas/handlers/websocket/authorizer.ts',
      description: 'WebSocket API: REQUEST authorizer on $connect, api_key to tenant',
      memorySize: 1024,
      // One GetItem: a slow authorizer only delays the 401.
      timeout: Duration.seconds(10),
      environment: { KEYS_TABLE: data.keysTable.tableName },
      defaults,
    });
    data.allowKeysTable(this.authorizer, ['dynamodb:GetItem']);

    this.api = new WebSocketApi(this, 'Api', {
      apiName: `synthforge-${stage}-ws`,
      description: 'SynthForge WebSocket API: image generation progress (seed 001)',
      routeSelectionExpression: ROUTE_SELECTION_EXPRESSION,
    });
    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: stage,
      autoDeploy: true,
      throttle: { rateLimit: props.limits.stageRateLimit, burstLimit: props.limits.stageBurstLimit },
      detailedMetricsEnabled: true,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(
          `{${Object.entries(ACCESS_LOG_FIELDS)
            .map(([name, value]) => `"${name}":${value}`)
            .join(',')}}`,
        ),
      },
    });
    for (const dependency of props.dependsOn ?? []) this.stage.node.addDependency(dependency);
    this.connectionsArn = Stack.of(this).formatArn({
      service: 'execute-api',
      resource: this.api.apiId,
      resourceName: `${stage}/POST/@connections/*`,
    });
    const callback = { WEBSOCKET_CALLBACK_URL: this.stage.callbackUrl };

    this.connections = new SynthForgeFunction(this, 'Connections', {
      entry: 'lambdas/handlers/websocket/connections.ts',
      description: 'WebSocket API: $connect records the connection, $disconnect removes it',
      memorySize: 512,
      timeout: Duration.seconds(10),
      environment: { STATE_TABLE: data.stateTable.tableName },
      defaults,
    });
    // A connection item (PutItem); removing it reads its subscriptions and deletes them with it.
    data.allowStateTable(this.connections, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem']);

    this.messages = new SynthForgeFunction(this, 'Messages', {
      entry: 'lambdas/handlers/websocket/messages.ts',
      description:
        'WebSocket API: generate starts an image job (as POST /generate does); $default answers the rest',
      memorySize: 1024,
      timeout: API_FUNCTION_MAX_TIMEOUT,
      environment: {
        ...imageWorkflow.submitterEnvironment({ ...settings, defaultModelId: props.defaultModelId }),
        ...callback,
      },
      defaults,
    });
    // What `POST /generate` does, plus the subscription and the connection record (UpdateItem,
    // Query in the state table, within what allowSubmit grants).
    imageWorkflow.allowSubmit(this.messages);

    this.push = new SynthForgeFunction(this, 'Push', {
      entry: 'lambdas/handlers/websocket/push.ts',
      description: 'WebSocket API: sends the progress, result or error of an image job to its connections',
      memorySize: 512,
      timeout: Duration.seconds(30),
      environment: {
        STATE_TABLE: data.stateTable.tableName,
        OUTPUTS_BUCKET: data.outputsBucket.bucketName,
        RESULT_URL_TTL_SECONDS: String(settings.resultUrlTtlSeconds),
        ...callback,
      },
      defaults,
      // Invoked asynchronously by EventBridge: what Lambda's own retries cannot deliver is kept.
      deadLetterQueue: events.deadLetterQueue,
    });
    // Reads the job and its subscriptions, claims each version (UpdateItem), drops subscriptions
    // and gone connections (DeleteItem), and presigns the image (GetObject).
    data.allowStateTable(this.push, [
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
    ]);
    data.allowOutputs(this.push, ['s3:GetObject']);

    for (const fn of [this.messages, this.push]) {
      fn.allow({
        sid: 'PostToConnections',
        actions: ['execute-api:ManageConnections'],
        resources: [this.connectionsArn],
      });
    }

    const authorizer = new WebSocketLambdaAuthorizer('KeyAuthorizer', this.authorizer, {
      authorizerName: `synthforge-${stage}-ws-api-key`,
      identitySource: [API_KEY_IDENTITY_SOURCE],
    });
    const connections = new WebSocketLambdaIntegration('Connections', this.connections);
    const messages = new WebSocketLambdaIntegration('Messages', this.messages);
    this.api.addRoute('$connect', { integration: connections, authorizer });
    this.api.addRoute('$disconnect', { integration: connections });
    this.api.addRoute('$default', { integration: messages });
    this.api.addRoute('generate', { integration: messages });

    this.pushRule = events.forwardJobStateChanges(
      'ImageJobStateChanges',
      {
        description:
          'Every state change of an image job: the WebSocket push sends it to the waiting connections',
        kinds: ['image'],
        // Past a connection's lifetime no connection can be waiting for it.
        maxEventAge: Duration.seconds(WEBSOCKET_LIMITS.connectionSeconds),
      },
      this.push,
    );
  }

  /** `wss://<api-id>.execute-api.<region>.amazonaws.com/<stage>`: add `?api_key=<key>`. */
  get url(): string {
    return this.stage.url;
  }

  get functions(): SynthForgeFunction[] {
    return [this.authorizer, this.connections, this.messages, this.push];
  }
}
