import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ERROR_STATUS } from '../../../contracts/errors.ts';
import { routes as contractRoutes, streamsResponse } from '../../../contracts/routes.ts';
import { API_ROUTES, type ApiRoute, pathParameters, type RouteFamily } from '../../../lib/api-routes.ts';
import { Api, gatewayResponses, STREAM_TIMEOUT } from '../../../lib/constructs/api.ts';
import { API_FUNCTION_MAX_TIMEOUT } from '../../../lib/constructs/synthforge-function.ts';
import { flattenReference } from '../../../lib/nag.ts';
import {
  buildTestStack,
  type CfnJson,
  referencedId,
  resourcesOfType,
  TEST_ENV,
  type TestStack,
  testApp,
} from '../stack-fixture.ts';

let built: TestStack;
/** Every method, keyed `METHOD /path`, with its properties. */
let methods: Map<string, Record<string, unknown>>;

/**
 * What API Gateway puts in place of the context variables a gateway response uses: messageString
 * comes quoted, validationErrorString unquoted with its own quotes escaped.
 */
const MESSAGE = '"Invalid request body"';
const VALIDATION = String.raw`[object has missing required properties ([\"job_runs\"])]`;
const render = (template: string) =>
  template
    .replaceAll('$context.error.messageString', MESSAGE)
    .replaceAll('$context.error.validationErrorString', VALIDATION);

/** The gateway response of a type, as synthesized. */
const gatewayResponse = (type: string) => {
  const found = Object.values(resourcesOfType(built.template, 'AWS::ApiGateway::GatewayResponse')).find(
    (r) => r.Properties.ResponseType === type,
  )?.Properties as Record<string, unknown> | undefined;
  if (!found) throw new Error(`no ${type} gateway response`);
  return found;
};
/** Its body, rendered and parsed. */
const bodyOf = (type: string) =>
  JSON.parse(
    render((gatewayResponse(type).ResponseTemplates as Record<string, string>)['application/json'] ?? ''),
  );

beforeAll(() => {
  built = buildTestStack({
    api: {
      stageRateLimit: 70,
      stageBurstLimit: 140,
      tenantRateLimit: 7,
      tenantBurstLimit: 14,
      tenantQuotaPerDay: 4321,
    },
  });
  const restApiId = built.idOf(built.stack.api.restApi);
  const resources = resourcesOfType(built.template, 'AWS::ApiGateway::Resource');
  const pathOf = (parent: unknown): string => {
    if (typeof parent === 'object' && parent !== null && 'Fn::GetAtt' in parent) {
      expect(referencedId(parent)).toBe(restApiId);
      return '';
    }
    const resource = resources[referencedId(parent) as string];
    return `${pathOf(resource?.Properties.ParentId)}/${resource?.Properties.PathPart}`;
  };
  methods = new Map(
    Object.values(resourcesOfType(built.template, 'AWS::ApiGateway::Method')).map((method) => {
      const props = method.Properties as Record<string, unknown>;
      return [`${props.HttpMethod} ${pathOf(props.ResourceId) || '/'}`, props];
    }),
  );
});

describe('routes', () => {
  it("validates every JSON body at the edge with a model generated from the route's zod schema", () => {
    const models = Object.values(resourcesOfType(built.template, 'AWS::ApiGateway::Model')).map(
      (model) => model.Properties as { Name: string; Schema: Record<string, unknown> },
    );
    // Seed 001's routes answer their documented messages from the handler, which parses with the
    // same schema: no edge model there.
    const withBody = Object.values(contractRoutes).filter(
      (route) =>
        'body' in route && route.body && !('edgeValidation' in route && route.edgeValidation === false),
    );
    expect(withBody.length).toBeGreaterThan(0);
    const generate = methods.get('POST /api/v1/generate') as { RequestModels?: Record<string, unknown> };
    expect(generate.RequestModels).toBeUndefined();

    expect(models.map((model) => model.Name).sort()).toEqual(
      withBody.map((r) => `${r.operationId}Body`).sort(),
    );
    const batch = models.find((model) => model.Name === 'submitBatchBody');
    expect(batch?.Schema).toMatchObject({
      $schema: 'http://json-schema.org/draft-04/schema#',
      required: ['job_runs'],
      additionalProperties: false,
      properties: { job_runs: { type: 'array', minItems: 1, maxItems: 1000 } },
    });
    const submit = methods.get('POST /api/v1/batches') as { RequestModels?: Record<string, unknown> };
    expect(Object.keys(submit.RequestModels ?? {})).toEqual(['application/json']);
  });

  it('has exactly one method per route', () => {
    expect([...methods.keys()].sort()).toEqual(
      API_ROUTES.map((route) => `${route.method} ${route.path}`).sort(),
    );
  });

  it('puts the authorizer and the usage-plan key on every non-public method, and nothing on public ones', () => {
    const authorizerId = built.idOf(built.stack.api.authorizer);
    for (const route of API_ROUTES) {
      const method = methods.get(`${route.method} ${route.path}`);
      if (route.auth) {
        expect(method, route.path).toMatchObject({ AuthorizationType: 'CUSTOM', ApiKeyRequired: true });
        expect(referencedId(method?.AuthorizerId), route.path).toBe(authorizerId);
      } else {
        expect(method, route.path).toMatchObject({ AuthorizationType: 'NONE', ApiKeyRequired: false });
        expect(method?.AuthorizerId, route.path).toBeUndefined();
      }
    }
  });

  it('attaches the body-and-parameters validator to every method and requires its path parameters', () => {
    const validatorId = built.idOf(built.stack.api.requestValidator);
    built.template.hasResourceProperties('AWS::ApiGateway::RequestValidator', {
      ValidateRequestBody: true,
      ValidateRequestParameters: true,
    });
    for (const route of API_ROUTES) {
      const method = methods.get(`${route.method} ${route.path}`);
      expect(referencedId(method?.RequestValidatorId), route.path).toBe(validatorId);
      const required = Object.fromEntries(
        pathParameters(route.path).map((name) => [`method.request.path.${name}`, true]),
      );
      expect(method?.RequestParameters ?? {}, route.path).toEqual(required);
    }
  });

  it("proxies each route to its family's function", () => {
    for (const route of API_ROUTES) {
      const integration = methods.get(`${route.method} ${route.path}`)?.Integration as Record<
        string,
        unknown
      >;
      expect(integration.Type, route.path).toBe('AWS_PROXY');
      const functionId = built.idOf(built.stack.routeHandlers[route.family]);
      expect(JSON.stringify(integration.Uri), route.path).toContain(`"${functionId}","Arn"`);
    }
  });

  it('lets only this API invoke each route function: one permission per function, not one per method', () => {
    // Prepare
    const restApiId = built.idOf(built.stack.api.restApi);
    const routeFunctions = new Set(Object.values(built.stack.routeHandlers).map((fn) => built.idOf(fn)));
    const permissions = Object.values(resourcesOfType(built.template, 'AWS::Lambda::Permission')).filter(
      (permission) => routeFunctions.has(referencedId(permission.Properties.FunctionName) as string),
    );

    // Assess: each route function once, invocable by API Gateway from this REST API only (any of
    // its stages, methods and paths: its route table answers 404 to a path it does not serve).
    expect(permissions.map((permission) => referencedId(permission.Properties.FunctionName)).sort()).toEqual(
      [...routeFunctions].sort(),
    );
    for (const permission of permissions) {
      expect(permission.Properties.Action).toBe('lambda:InvokeFunction');
      expect(permission.Properties.Principal).toBe('apigateway.amazonaws.com');
      expect(flattenReference(permission.Properties.SourceArn)).toBe(
        `arn:<AWS::Partition>:execute-api:eu-west-1:123456789012:<${restApiId}>/*/*/*`,
      );
    }
  });

  it('every API-fronted function (and the authorizer) times out within API Gateway’s 29 s, unless it streams', () => {
    const functions = resourcesOfType(built.template, 'AWS::Lambda::Function');
    const streaming = new Set(API_ROUTES.filter(streamsResponse).map((route) => route.family));
    const buffered = Object.entries(built.stack.routeHandlers)
      .filter(([family]) => !streaming.has(family as RouteFamily))
      .map(([, fn]) => fn);
    for (const fn of [...buffered, built.families.platform.authorizer]) {
      const timeout = functions[built.idOf(fn)]?.Properties.Timeout as number;
      expect(timeout).toBeLessThanOrEqual(API_FUNCTION_MAX_TIMEOUT.toSeconds());
      expect(timeout).toBeLessThanOrEqual(28);
    }
  });

  it('streams the Server-Sent Events routes (STREAM, up to 15 minutes) and buffers every other route as before', () => {
    const streamed = API_ROUTES.filter(streamsResponse);
    expect(streamed.map((route) => `${route.method} ${route.path}`)).toEqual([
      'POST /api/stream/{model_name}',
    ]);
    for (const route of API_ROUTES) {
      const integration = methods.get(`${route.method} ${route.path}`)?.Integration as Record<
        string,
        unknown
      >;
      const uri = JSON.stringify(integration.Uri);
      if (streamsResponse(route)) {
        // Prepare: the function's own limit, which the stream may last.
        const fn = resourcesOfType(built.template, 'AWS::Lambda::Function')[
          built.idOf(built.stack.routeHandlers[route.family])
        ];

        // Assess: API Gateway calls InvokeWithResponseStream and waits as long as the function may run.
        expect(integration, route.path).toMatchObject({
          ResponseTransferMode: 'STREAM',
          TimeoutInMillis: 900_000,
        });
        expect(uri, route.path).toMatch(/2021-11-15\/functions\/.*\/response-streaming-invocations/);
        expect(fn?.Properties.Timeout).toBe(STREAM_TIMEOUT.toSeconds());
      } else {
        expect(integration.ResponseTransferMode, route.path).toBeUndefined();
        expect(integration.TimeoutInMillis, route.path).toBeUndefined();
        expect(uri, route.path).toMatch(/2015-03-31\/functions\/.*\/invocations/);
        expect(uri, route.path).not.toContain('response-streaming');
      }
    }
  });
  it('refuses a family that mixes streaming and whole answers: its one function has one integration', () => {
    // Prepare: the stream route, and a JSON route of the same family.
    const stack = new Stack(testApp(), 'Mixed', { env: TEST_ENV });
    const fn = new LambdaFunction(stack, 'Fn', {
      runtime: Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: Code.fromInline('exports.handler = async () => ({})'),
    });
    const stream = contractRoutes.streamInference as ApiRoute;
    const whole: ApiRoute = {
      ...stream,
      operationId: 'wholeAnswer',
      path: '/api/whole',
      response: { status: 200, schema: stream.response.schema },
    };
    const build = (routes: ApiRoute[]) =>
      new Api(stack, `Api${routes.length}`, {
        stage: 'test',
        routes,
        handlers: { [stream.family]: fn } as unknown as Record<RouteFamily, LambdaFunction>,
        authorizer: fn,
        limits: built.config.api,
        logRetention: RetentionDays.ONE_DAY,
        removalPolicy: RemovalPolicy.DESTROY,
      });

    // Act / Assess
    expect(() => build([stream, whole])).toThrow(
      /POST \/api\/whole: family inferenceStream has streaming routes/,
    );
  });
});

describe('authorizer', () => {
  it('is a REQUEST authorizer with no identity sources and no caching', () => {
    const authorizers = Object.values(resourcesOfType(built.template, 'AWS::ApiGateway::Authorizer'));
    expect(authorizers).toHaveLength(1);
    expect(authorizers[0]?.Properties).toMatchObject({ Type: 'REQUEST', AuthorizerResultTtlInSeconds: 0 });
    // CDK writes an empty list as "": API Gateway then calls the authorizer for every request.
    expect(authorizers[0]?.Properties.IdentitySource ?? '').toBe('');
    expect(JSON.stringify(authorizers[0]?.Properties.AuthorizerUri)).toContain(
      built.idOf(built.families.platform.authorizer),
    );
  });
});

describe('stage', () => {
  it('is regional, takes API keys from the authorizer, and has CORS off', () => {
    built.template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      ApiKeySourceType: 'AUTHORIZER',
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
    expect([...methods.keys()].some((key) => key.startsWith('OPTIONS '))).toBe(false);
  });

  it('throttles, traces, and logs access (JSON) and execution (INFO, no data trace)', () => {
    const stages = Object.values(resourcesOfType(built.template, 'AWS::ApiGateway::Stage'));
    expect(stages).toHaveLength(1);
    const stage = stages[0]?.Properties as Record<string, unknown>;
    expect(stage).toMatchObject({
      StageName: 'test',
      TracingEnabled: true,
      MethodSettings: [
        {
          HttpMethod: '*',
          ResourcePath: '/*',
          LoggingLevel: 'INFO',
          DataTraceEnabled: false,
          MetricsEnabled: true,
          ThrottlingRateLimit: 70,
          ThrottlingBurstLimit: 140,
        },
      ],
    });
    const access = stage.AccessLogSetting as { DestinationArn: unknown; Format: string };
    expect(referencedId(access.DestinationArn)).toBe(built.idOf(built.stack.api.accessLogs));
    const sample = JSON.parse(access.Format.replace('$context.error.messageString', '"x"'));
    expect(sample).toMatchObject({ requestId: '$context.requestId', status: '$context.status' });
    // The tenant from the authorizer's context; the principal id is the key id, logged as such.
    expect(sample).toMatchObject({
      tenant: '$context.authorizer.tenant',
      keyId: '$context.authorizer.principalId',
    });
  });

  it('keeps access and execution logs for the stage retention', () => {
    const groups = Object.values(resourcesOfType(built.template, 'AWS::Logs::LogGroup'));
    const execution = groups.find((group) =>
      JSON.stringify(group.Properties.LogGroupName ?? '').includes('API-Gateway-Execution-Logs_'),
    );
    expect(execution?.Properties.RetentionInDays).toBe(30);
    expect(
      resourcesOfType(built.template, 'AWS::Logs::LogGroup')[built.idOf(built.stack.api.accessLogs)]
        ?.Properties,
    ).toMatchObject({ RetentionInDays: 30 });
  });

  it('has a tenant usage plan with throttle and daily quota on the stage', () => {
    built.template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: { RateLimit: 7, BurstLimit: 14 },
      Quota: { Limit: 4321, Period: 'DAY' },
      ApiStages: [
        {
          ApiId: { Ref: built.idOf(built.stack.api.restApi) },
          Stage: {
            Ref: built.stack.getLogicalId(built.stack.api.restApi.deploymentStage.node.defaultChild as never),
          },
        },
      ],
    });
  });
});

describe('gateway responses', () => {
  it('answer in the error envelope with the codes and statuses of contracts/errors.ts', () => {
    const responses = Object.values(resourcesOfType(built.template, 'AWS::ApiGateway::GatewayResponse'));
    const specs = gatewayResponses(built.config.api);
    expect(responses).toHaveLength(specs.length);
    for (const spec of specs) {
      const type = spec.type.responseType;
      const found = gatewayResponse(type);
      const body = bodyOf(type);
      expect(Object.keys(body), type).toEqual(['error']);
      expect(Object.keys(body.error).sort(), type).toEqual(
        spec.details ? ['code', 'details', 'message'] : ['code', 'message'],
      );
      const code = body.error.code as keyof typeof ERROR_STATUS;
      expect(ERROR_STATUS[code], type).toBeDefined();
      if (found.StatusCode !== undefined) expect(Number(found.StatusCode), type).toBe(ERROR_STATUS[code]);
    }
  });

  it('maps the documented cases', () => {
    const statusAndCode = (type: string) => [gatewayResponse(type).StatusCode, bodyOf(type).error.code];
    expect(statusAndCode('UNAUTHORIZED')).toEqual(['401', 'UNAUTHORIZED']);
    expect(statusAndCode('ACCESS_DENIED')).toEqual(['403', 'FORBIDDEN']);
    expect(statusAndCode('THROTTLED')).toEqual(['429', 'RATE_LIMITED']);
    expect(statusAndCode('QUOTA_EXCEEDED')).toEqual(['429', 'RATE_LIMITED']);
    expect(statusAndCode('REQUEST_TOO_LARGE')).toEqual(['413', 'PAYLOAD_TOO_LARGE']);
    expect(statusAndCode('BAD_REQUEST_BODY')).toEqual(['400', 'INVALID_PARAMETERS']);
    expect(statusAndCode('BAD_REQUEST_PARAMETERS')).toEqual(['400', 'INVALID_PARAMETERS']);
    expect(gatewayResponse('DEFAULT_5XX')).toMatchObject({
      StatusCode: '500',
      ResponseTemplates: { 'application/json': '{"error":{"code":"INTERNAL","message":"internal error"}}' },
    });
  });

  it.each(['BAD_REQUEST_BODY', 'BAD_REQUEST_PARAMETERS'])(
    '%s names the problem: details.validation carries the validator’s error string',
    (type) => {
      const template = (gatewayResponse(type).ResponseTemplates as Record<string, string>)[
        'application/json'
      ];
      // Inside a JSON string, where its escaped quotes keep the body valid JSON.
      expect(template).toContain('"details":{"validation":"$context.error.validationErrorString"}');
      expect(bodyOf(type).error).toEqual({
        code: 'INVALID_PARAMETERS',
        message: 'Invalid request body',
        details: { validation: '[object has missing required properties (["job_runs"])]' },
      });
    },
  );

  it('429s carry Retry-After and X-RateLimit-* from the tenant usage plan: burst when throttled, daily quota when used up', () => {
    expect(gatewayResponse('THROTTLED').ResponseParameters).toEqual({
      'gatewayresponse.header.Retry-After': "'1'",
      'gatewayresponse.header.X-RateLimit-Limit': "'14'",
      'gatewayresponse.header.X-RateLimit-Remaining': "'0'",
    });
    expect(gatewayResponse('QUOTA_EXCEEDED').ResponseParameters).toEqual({
      'gatewayresponse.header.Retry-After': "'3600'",
      'gatewayresponse.header.X-RateLimit-Limit': "'4321'",
      'gatewayresponse.header.X-RateLimit-Remaining': "'0'",
    });
  });

  it('gatewayResponses builds the rate-limit headers from the limits it is given', () => {
    const headersOf = (limits: { tenantBurstLimit: number; tenantQuotaPerDay: number }, type: string) =>
      gatewayResponses(limits).find((spec) => spec.type.responseType === type)?.headers;
    expect(headersOf({ tenantBurstLimit: 3, tenantQuotaPerDay: 99 }, 'THROTTLED')).toMatchObject({
      'X-RateLimit-Limit': '3',
    });
    expect(headersOf({ tenantBurstLimit: 3, tenantQuotaPerDay: 99 }, 'QUOTA_EXCEEDED')).toMatchObject({
      'X-RateLimit-Limit': '99',
    });
    expect(headersOf({ tenantBurstLimit: 500, tenantQuotaPerDay: 1_000_000 }, 'THROTTLED')).toMatchObject({
      'X-RateLimit-Limit': '500',
    });
    expect(
      headersOf({ tenantBurstLimit: 500, tenantQuotaPerDay: 1_000_000 }, 'QUOTA_EXCEEDED'),
    ).toMatchObject({
      'X-RateLimit-Limit': '1000000',
    });
  });
});

describe('web ACL', () => {
  it('rate-limits per IP and runs the AWS common rule set, in front of the stage', () => {
    const acls = Object.values(resourcesOfType(built.template, 'AWS::WAFv2::WebACL'));
    expect(acls).toHaveLength(1);
    const acl = acls[0]?.Properties as { Scope: string; Rules: CfnJson[] };
    expect(acl.Scope).toBe('REGIONAL');
    const rate = acl.Rules.find((rule) => rule.Statement.RateBasedStatement);
    expect(rate).toMatchObject({
      Statement: { RateBasedStatement: { Limit: 3000, AggregateKeyType: 'IP' } },
      Action: { Block: { CustomResponse: { ResponseCode: 429 } } },
    });
    const common = acl.Rules.find(
      (rule) => rule.Statement.ManagedRuleGroupStatement?.Name === 'AWSManagedRulesCommonRuleSet',
    );
    expect(common?.OverrideAction).toEqual({ None: {} });

    const association = Object.values(resourcesOfType(built.template, 'AWS::WAFv2::WebACLAssociation'));
    expect(association).toHaveLength(1);
    const stageId = built.stack.getLogicalId(
      built.stack.api.restApi.deploymentStage.node.defaultChild as never,
    );
    expect(JSON.stringify(association[0]?.Properties.ResourceArn)).toContain(`{"Ref":"${stageId}"}`);
  });
});
