/**
 * The REST API: one regional API Gateway stage built from the route list, a Lambda proxy
 * integration per route family, the key authorizer on every non-public method, a usage plan per
 * tenant key, access and execution logs, X-Ray, stage throttling, a web ACL, and gateway responses
 * that answer in SynthForge's error envelope.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  ApiKeySourceType,
  AuthorizationType,
  type CfnAuthorizer,
  EndpointType,
  type JsonSchema,
  JsonSchemaVersion,
  LambdaIntegration,
  LogGroupLogDestination,
  type Method,
  MethodLoggingLevel,
  Period,
  RequestAuthorizer,
  type RequestValidator,
  ResponseTransferMode,
  ResponseType,
  RestApi,
  type UsagePlan,
} from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { streamsResponse } from '../../contracts/routes.ts';
import { type ApiRoute, pathParameters, type RouteFamily, requestBodySchema } from '../api-routes.ts';
import type { ApiLimits } from '../config.ts';
import { ApiFirewall } from './api-firewall.ts';

export interface ApiProps {
  /** The stage name (also the API stage, so URLs are `https://…/<stage>/…`). */
  readonly stage: string;
  /** Every route, with the family whose function serves it and whether it needs a key. */
  readonly routes: readonly ApiRoute[];
  /** The function that serves each route family (one proxy integration each). */
  readonly handlers: Readonly<Record<RouteFamily, IFunction>>;
  /** The REQUEST authorizer function. */
  readonly authorizer: IFunction;
  /** Stage throttling, tenant usage plan and web ACL rate limit. */
  readonly limits: ApiLimits;
  /** Retention of the access and execution logs. */
  readonly logRetention: RetentionDays;
  /** What deleting the stack does to those log groups. */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The longest a streamed answer may last: how long API Gateway waits on a STREAM integration (at
 * most 15 minutes; a buffered one keeps the default 29 s), and the timeout of the function that
 * streams it (Lambda's own limit, also 15 minutes).
 */
export const STREAM_TIMEOUT = Duration.minutes(15);

/**
 * The families whose routes stream (`streamsResponse`). One function serves a family with one
 * integration, so a family's routes must all stream or all answer whole: a mix fails the synthesis.
 */
function streamingFamilies(routes: readonly ApiRoute[]): Set<RouteFamily> {
  const streaming = new Set(routes.filter(streamsResponse).map((route) => route.family));
  for (const route of routes) {
    if (streaming.has(route.family) && !streamsResponse(route)) {
      throw new Error(
        `${route.method} ${route.path}: family ${route.family} has streaming routes, and its one function cannot also answer this route whole: give the streaming routes a family of their own`,
      );
    }
  }
  return streaming;
}

/** The access log line: one JSON object per request. */
const ACCESS_LOG_FIELDS: Record<string, string> = {
  requestId: '"$context.requestId"',
  extendedRequestId: '"$context.extendedRequestId"',
  requestTime: '"$context.requestTime"',
  ip: '"$context.identity.sourceIp"',
  userAgent: '"$context.identity.userAgent"',
  httpMethod: '"$context.httpMethod"',
  resourcePath: '"$context.resourcePath"',
  path: '"$context.path"',
  protocol: '"$context.protocol"',
  status: '"$context.status"',
  responseLength: '"$context.responseLength"',
  responseLatency: '"$context.responseLatency"',
  integrationStatus: '"$context.integration.status"',
  integrationLatency: '"$context.integration.latency"',
  // The authorizer's context: `tenant` is the tenant, the principal id is the key that authenticated.
  tenant: '"$context.authorizer.tenant"',
  keyId: '"$context.authorizer.principalId"',
  errorType: '"$context.error.responseType"',
  // Already a quoted, escaped JSON string.
  errorMessage: '$context.error.messageString',
  wafStatus: '"$context.wafResponseCode"',
  xrayTraceId: '"$context.xrayTraceId"',
};

/**
 * The detailed reason the request validator rejected a request (which property, which constraint).
 * API Gateway substitutes it unquoted but with its own double quotes already escaped
 * (`[object has missing required properties ([\"job_runs\"])]`), so it belongs inside a JSON string.
 */
const VALIDATION_ERRORS = '$context.error.validationErrorString';

/**
 * A gateway response body in the envelope. `message` is a JSON string literal or
 * `$context.error.messageString` (already quoted and escaped); `details` is serialized as JSON, so a
 * context variable in one of its strings lands between quotes.
 */
const envelope = (code: string, message: string, details?: Record<string, string>) => ({
  'application/json': `{"error":{"code":"${code}","message":${message}${
    details ? `,"details":${JSON.stringify(details)}` : ''
  }}}`,
});
const text = (message: string) => JSON.stringify(message);
const FROM_GATEWAY = '$context.error.messageString';

export interface GatewayResponseSpec {
  type: ResponseType;
  statusCode: string;
  code: string;
  message: string;
  details?: Record<string, string>;
  headers?: Record<string, string>;
}

/**
 * API Gateway's own errors, in the envelope. The codes are those of `contracts/errors.ts`. A 5xx
 * carries no detail. The 429s announce the tenant usage plan's limits in `X-RateLimit-*`.
 */
export function gatewayResponses(
  limits: Pick<ApiLimits, 'tenantBurstLimit' | 'tenantQuotaPerDay'>,
): GatewayResponseSpec[] {
  // A gateway response can only carry static headers or request values: API Gateway exposes neither
  // the bucket's refill time nor the quota's reset time to it. Seed 001's `X-RateLimit-Reset` is an
  // epoch timestamp (the local platform sends one); a static value would be wrong, so the deployed
  // 429 leaves it out and `Retry-After` says when to come back.
  const rateLimited = (limit: number, retryAfterSeconds: number) => ({
    'Retry-After': String(retryAfterSeconds),
    'X-RateLimit-Limit': String(limit),
    'X-RateLimit-Remaining': '0',
  });
  return [
    {
      type: ResponseType.UNAUTHORIZED,
      statusCode: '401',
      code: 'UNAUTHORIZED',
      message: text(
        'a valid API key is required: X-API-Key: <key>, or Authorization: Token <key> or Bearer <key>',
      ),
    },
    { type: ResponseType.ACCESS_DENIED, statusCode: '403', code: 'FORBIDDEN', message: text('not allowed') },
    {
      type: ResponseType.INVALID_API_KEY,
      statusCode: '403',
      code: 'FORBIDDEN',
      message: text('this API key is not enabled for this stage'),
    },
    {
      type: ResponseType.WAF_FILTERED,
      statusCode: '403',
      code: 'FORBIDDEN',
      message: text('blocked by the firewall'),
    },
    // API Gateway answers an unknown path or method with "Missing Authentication Token".
    {
      type: ResponseType.MISSING_AUTHENTICATION_TOKEN,
      statusCode: '404',
      code: 'NOT_FOUND',
      message: text('no such route'),
    },
    {
      type: ResponseType.RESOURCE_NOT_FOUND,
      statusCode: '404',
      code: 'NOT_FOUND',
      message: text('no such route'),
    },
    // The request validator's rejections name the problem in `details`.
    {
      type: ResponseType.BAD_REQUEST_BODY,
      statusCode: '400',
      code: 'INVALID_PARAMETERS',
      message: FROM_GATEWAY,
      details: { validation: VALIDATION_ERRORS },
    },
    {
      type: ResponseType.BAD_REQUEST_PARAMETERS,
      statusCode: '400',
      code: 'INVALID_PARAMETERS',
      message: FROM_GATEWAY,
      details: { validation: VALIDATION_ERRORS },
    },
    {
      type: ResponseType.REQUEST_TOO_LARGE,
      statusCode: '413',
      code: 'PAYLOAD_TOO_LARGE',
      message: text('the request body is too large'),
    },
    // No 415 among the error statuses (contracts/vocabulary.ts `ERROR_STATUS`): a body that is not
    // JSON is invalid input, as the handlers answer it.
    {
      type: ResponseType.UNSUPPORTED_MEDIA_TYPE,
      statusCode: '400',
      code: 'INVALID_REQUEST',
      message: text('the body must be JSON (Content-Type: application/json)'),
    },
    // THROTTLED also answers stage or account throttling; the headers announce the tenant's usage-plan
    // bucket (its burst), the limit a client controls.
    {
      type: ResponseType.THROTTLED,
      statusCode: '429',
      code: 'RATE_LIMITED',
      message: text('too many requests; retry after the Retry-After delay'),
      headers: rateLimited(limits.tenantBurstLimit, 1),
    },
    {
      type: ResponseType.QUOTA_EXCEEDED,
      statusCode: '429',
      code: 'RATE_LIMITED',
      message: text("this key's daily request quota is used up"),
      headers: rateLimited(limits.tenantQuotaPerDay, 3600),
    },
    // Any other 4xx keeps its own status: giving DEFAULT_4XX a status would impose it on every 4xx.
    { type: ResponseType.DEFAULT_4XX, statusCode: '', code: 'INVALID_REQUEST', message: FROM_GATEWAY },
    // Every other 5xx (authorizer failure, integration failure or timeout) becomes a bare 500: a status
    // on DEFAULT_5XX applies to all of them, on purpose; the access log keeps the real error type.
    { type: ResponseType.DEFAULT_5XX, statusCode: '500', code: 'INTERNAL', message: text('internal error') },
  ];
}

export class Api extends Construct {
  readonly restApi: RestApi;
  readonly authorizer: RequestAuthorizer;
  readonly requestValidator: RequestValidator;
  /** The plan every tenant key joins (the keys tool adds the keys). */
  readonly usagePlan: UsagePlan;
  readonly firewall: ApiFirewall;
  readonly accessLogs: LogGroup;
  /** Every method, with the route it serves. */
  readonly methods: { route: ApiRoute; method: Method }[] = [];

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const { stage, limits } = props;

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });

    // Invalid UTF-8 in a body is NOT refused strictly here, unlike locally. With no binaryMediaTypes a
    // REST API hands a Lambda proxy the body as an already decoded "UTF8-encoded string" (developer
    // guide, "Content type conversions in API Gateway"); what it does with bytes that are not UTF-8
    // is not documented, and a decoder that substitutes U+FFFD leaves nothing the handler could
    // tell from text the client sent. Listing '*/*' in binaryMediaTypes would hand the function the
    // bytes in base64 (isBase64Encoded), which the handler already decodes strictly
    // (lambdas/http/utf8.ts), but it is not set: whether the body-and-parameters validator below
    // still checks a body it treats as binary has not been seen on a deployment, and that check
    // guards every JSON route. Decide it with the first deployment.
    this.restApi = new RestApi(this, 'RestApi', {
      restApiName: `synthforge-${stage}`,
      description: 'SynthForge API',
      endpointTypes: [EndpointType.REGIONAL],
      // The account-level role API Gateway needs to write execution logs.
      cloudWatchRole: true,
      // The authorizer returns the tenant's usage-plan key: clients never send an API Gateway key.
      apiKeySourceType: ApiKeySourceType.AUTHORIZER,
      deployOptions: {
        stageName: stage,
        accessLogDestination: new LogGroupLogDestination(this.accessLogs),
        accessLogFormat: AccessLogFormat.custom(
          `{${Object.entries(ACCESS_LOG_FIELDS)
            .map(([name, value]) => `"${name}":${value}`)
            .join(',')}}`,
        ),
        loggingLevel: MethodLoggingLevel.INFO,
        dataTraceEnabled: false,
        metricsEnabled: true,
        tracingEnabled: true,
        throttlingRateLimit: limits.stageRateLimit,
        throttlingBurstLimit: limits.stageBurstLimit,
      },
    });

    // The stack exports the URL once, as ApiUrl; drop RestApi's own auto-named output.
    this.restApi.node.tryRemoveChild('Endpoint');

    // API Gateway would create this group itself on first use, with no retention.
    new LogGroup(this, 'ExecutionLogs', {
      logGroupName: `API-Gateway-Execution-Logs_${this.restApi.restApiId}/${stage}`,
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });

    // No identity sources and no caching: the key may come in X-API-Key or in Authorization, and
    // API Gateway rejects a request that lacks any declared identity source without asking the
    // authorizer. With a TTL of 0 the policy the authorizer returns only ever covers the one request.
    this.authorizer = new RequestAuthorizer(this, 'KeyAuthorizer', {
      authorizerName: `synthforge-${stage}-api-key`,
      handler: props.authorizer,
      identitySources: [],
      resultsCacheTtl: Duration.seconds(0),
    });
    // CDK renders no identity sources as `IdentitySource: ""`, which is not a valid identity
    // expression; the property is optional for a REQUEST authorizer without caching, so leave it out.
    (this.authorizer.node.defaultChild as CfnAuthorizer).addPropertyDeletionOverride('IdentitySource');

    // The edge checks required path parameters and each JSON body against a model generated from the
    // route's zod schema; the handler parses the same schema again, in depth.
    this.requestValidator = this.restApi.addRequestValidator('Validator', {
      requestValidatorName: 'body-and-parameters',
      validateRequestBody: true,
      validateRequestParameters: true,
    });

    // A streaming family's function answers through Lambda response streaming: API Gateway invokes
    // it with InvokeWithResponseStream (the integration's `response-streaming-invocations` URI) and
    // passes the answer on as it comes.
    const streaming = streamingFamilies(props.routes);
    // One invoke permission per function for this API (its route table answers 404 to any other
    // request), rather than one per method: a permission per method cost 70 of the stack's 500
    // resources.
    const integrations = Object.fromEntries(
      Object.entries(props.handlers).map(([family, fn]) => [
        family,
        streaming.has(family as RouteFamily)
          ? new LambdaIntegration(fn, {
              proxy: true,
              scopePermissionToMethod: false,
              responseTransferMode: ResponseTransferMode.STREAM,
              timeout: STREAM_TIMEOUT,
            })
          : new LambdaIntegration(fn, { proxy: true, scopePermissionToMethod: false }),
      ]),
    ) as Record<RouteFamily, LambdaIntegration>;

    for (const route of props.routes) {
      const resource = route.path === '/' ? this.restApi.root : this.restApi.root.resourceForPath(route.path);
      const bodySchema = requestBodySchema(route);
      const model = bodySchema
        ? this.restApi.addModel(`${route.operationId}Body`, {
            modelName: `${route.operationId}Body`,
            contentType: 'application/json',
            schema: { schema: JsonSchemaVersion.DRAFT4, ...(bodySchema as JsonSchema) },
          })
        : undefined;
      const integration = integrations[route.family];
      // Without one, API Gateway would answer with a mock integration: fail the synthesis instead.
      if (!integration)
        throw new Error(`${route.method} ${route.path}: no function serves its family ${route.family}`);
      const method = resource.addMethod(route.method, integration, {
        requestValidator: this.requestValidator,
        ...(model ? { requestModels: { 'application/json': model } } : {}),
        requestParameters: Object.fromEntries(
          pathParameters(route.path).map((name) => [`method.request.path.${name}`, true]),
        ),
        ...(route.auth
          ? { authorizationType: AuthorizationType.CUSTOM, authorizer: this.authorizer, apiKeyRequired: true }
          : { authorizationType: AuthorizationType.NONE, apiKeyRequired: false }),
      });
      this.methods.push({ route, method });
    }

    for (const response of gatewayResponses(limits)) {
      this.restApi.addGatewayResponse(`Response${response.type.responseType}`, {
        type: response.type,
        ...(response.statusCode ? { statusCode: response.statusCode } : {}),
        templates: envelope(response.code, response.message, response.details),
        responseHeaders: Object.fromEntries(
          Object.entries(response.headers ?? {}).map(([name, value]) => [name, `'${value}'`]),
        ),
      });
    }

    this.usagePlan = this.restApi.addUsagePlan('TenantPlan', {
      name: `synthforge-${stage}-tenants`,
      description: 'Per-tenant throttle and daily quota; the keys tool adds each tenant key',
      throttle: { rateLimit: limits.tenantRateLimit, burstLimit: limits.tenantBurstLimit },
      quota: { limit: limits.tenantQuotaPerDay, period: Period.DAY },
      apiStages: [{ api: this.restApi, stage: this.restApi.deploymentStage }],
    });

    this.firewall = new ApiFirewall(this, 'Firewall', {
      metricPrefix: `synthforge-${stage}`,
      rateLimitPer5Minutes: limits.wafRateLimitPer5Minutes,
    });
    this.firewall.protect('StageAssociation', this.restApi.deploymentStage.stageArn);
  }

  /** The stage URL, ending in `/`. */
  get url(): string {
    return this.restApi.url;
  }
}
