import { type CfnElement, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { flattenReference } from '../../../lib/nag.ts';
import { nagAcknowledgements } from '../../../lib/nag-acknowledgements.ts';
import {
  buildTestStack,
  type CfnJson,
  type CfnResources,
  policyStatements,
  referencedId,
  resourcesOfType,
  type TestStack,
} from '../stack-fixture.ts';

let built: TestStack;
let routes: CfnResources;

beforeAll(() => {
  built = buildTestStack({ logRetentionDays: 60, api: { stageRateLimit: 50, stageBurstLimit: 80 } });
  routes = resourcesOfType(built.template, 'AWS::ApiGatewayV2::Route');
});

const ws = () => built.stack.webSocket;
const apiId = () => built.idOf(ws().api);
/** The function an integration (by its `integrations/<id>` target) invokes. */
const functionOfTarget = (target: CfnJson): string | undefined => {
  const integrationId = referencedId(target['Fn::Join'][1][1]);
  const integration = resourcesOfType(built.template, 'AWS::ApiGatewayV2::Integration')[integrationId ?? ''];
  return referencedId(integration?.Properties.IntegrationUri['Fn::Join'][1][3]);
};

describe('WebSocket API', () => {
  it('selects the route by the message’s `type`, as seed 001’s `{"type": "generate", ...}` needs', () => {
    built.template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      Name: 'synthforge-test-ws',
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: '$request.body.type',
    });
  });

  it('authorizes $connect with the key authorizer, the key taken from the api_key query parameter', () => {
    const authorizers = Object.values(resourcesOfType(built.template, 'AWS::ApiGatewayV2::Authorizer'));
    expect(authorizers).toHaveLength(1);
    const authorizer = authorizers[0]?.Properties as CfnJson;
    expect(authorizer).toMatchObject({
      AuthorizerType: 'REQUEST',
      IdentitySource: ['route.request.querystring.api_key'],
      Name: 'synthforge-test-ws-api-key',
    });
    expect(referencedId(authorizer.AuthorizerUri['Fn::Join'][1][3])).toBe(built.idOf(ws().authorizer));
  });

  it('has exactly $connect, $disconnect, $default and generate, each on the function that serves it', () => {
    const byKey = Object.fromEntries(
      Object.values(routes).map((route) => [route.Properties.RouteKey as string, route.Properties]),
    );
    expect(Object.keys(byKey).sort()).toEqual(['$connect', '$default', '$disconnect', 'generate']);
    // Only $connect can take an authorizer; the others carry the tenant of its context.
    expect(byKey.$connect.AuthorizationType).toBe('CUSTOM');
    for (const key of ['$disconnect', '$default', 'generate'])
      expect(byKey[key].AuthorizationType).toBe('NONE');
    expect(functionOfTarget(byKey.$connect.Target)).toBe(built.idOf(ws().connections));
    expect(functionOfTarget(byKey.$disconnect.Target)).toBe(built.idOf(ws().connections));
    expect(functionOfTarget(byKey.$default.Target)).toBe(built.idOf(ws().messages));
    expect(functionOfTarget(byKey.generate.Target)).toBe(built.idOf(ws().messages));
  });

  it('lets only this API invoke the route functions and the authorizer', () => {
    const permissions = Object.values(resourcesOfType(built.template, 'AWS::Lambda::Permission')).filter(
      (permission) => permission.Properties.Principal === 'apigateway.amazonaws.com',
    );
    const wsFunctions = [ws().authorizer, ws().connections, ws().messages].map((fn) => built.idOf(fn));
    const onWsFunctions = permissions.filter((p) =>
      wsFunctions.includes(referencedId(p.Properties.FunctionName) as string),
    );
    expect(onWsFunctions.length).toBeGreaterThanOrEqual(4);
    for (const permission of onWsFunctions) {
      expect(flattenReference(permission.Properties.SourceArn)).toMatch(
        new RegExp(`^arn:<AWS::Partition>:execute-api:eu-west-1:123456789012:<${apiId()}>/`),
      );
    }
  });

  it('deploys a stage named after the stage, throttled like the REST stage, with JSON access logs', () => {
    const stages = resourcesOfType(built.template, 'AWS::ApiGatewayV2::Stage');
    const stage = stages[built.idOf(ws().stage)] as CfnJson;
    expect(stage.Properties).toMatchObject({
      StageName: 'test',
      AutoDeploy: true,
      DefaultRouteSettings: {
        ThrottlingRateLimit: 50,
        ThrottlingBurstLimit: 80,
        DetailedMetricsEnabled: true,
      },
    });
    const logGroupId = referencedId(stage.Properties.AccessLogSettings.DestinationArn);
    expect(logGroupId).toBe(built.idOf(ws().accessLogs));
    expect(
      resourcesOfType(built.template, 'AWS::Logs::LogGroup')[logGroupId ?? '']?.Properties.RetentionInDays,
    ).toBe(60);
    const format = stage.Properties.AccessLogSettings.Format.replace('$context.error.messageString', '"x"');
    expect(Object.keys(JSON.parse(format))).toEqual(
      expect.arrayContaining(['requestId', 'eventType', 'routeKey', 'connectionId', 'status', 'tenant']),
    );
    // Access logs need the account's API Gateway CloudWatch role, which the REST API sets.
    expect(stage.DependsOn).toContain(
      built.stack.getLogicalId(built.stack.api.restApi.node.findChild('Account') as CfnElement),
    );
  });

  it('exports the wss:// URL of the stage', () => {
    const output = built.template.toJSON().Outputs.WebSocketUrl;
    expect(flattenReference(output.Value)).toBe(
      `wss://<${apiId()}>.execute-api.eu-west-1.<AWS::URLSuffix>/test`,
    );
  });
});

describe('functions', () => {
  it('post to connections only from messages and push, only on this API’s stage', () => {
    const posting = policyStatements(built.template).filter(({ statement }) =>
      [statement.Action].flat().some((action) => action.startsWith('execute-api:')),
    );
    expect(posting.map(({ roles }) => roles).sort()).toEqual(
      [[built.idOf(ws().messages.executionRole)], [built.idOf(ws().push.executionRole)]].sort(),
    );
    for (const { statement } of posting) {
      expect(statement.Action).toBe('execute-api:ManageConnections');
      expect(flattenReference(statement.Resource)).toBe(
        `arn:<AWS::Partition>:execute-api:eu-west-1:123456789012:<${apiId()}>/test/POST/@connections/*`,
      );
    }
  });

  it('give the messages and push functions the stage’s callback URL', () => {
    const functions = resourcesOfType(built.template, 'AWS::Lambda::Function');
    for (const fn of [ws().messages, ws().push]) {
      const url = functions[built.idOf(fn)]?.Properties.Environment.Variables.WEBSOCKET_CALLBACK_URL;
      expect(flattenReference(url)).toBe(`https://<${apiId()}>.execute-api.eu-west-1.<AWS::URLSuffix>/test`);
    }
  });
});

describe('push rule', () => {
  it('sends every Job State Change of an image job on the SynthForge bus to the push function', () => {
    const rule = resourcesOfType(built.template, 'AWS::Events::Rule')[built.idOf(ws().pushRule)]
      ?.Properties as CfnJson;
    expect(referencedId(rule.EventBusName)).toBe(built.idOf(built.stack.events.bus));
    expect(rule.EventPattern).toEqual({
      source: ['synthforge.jobs'],
      'detail-type': ['Job State Change'],
      detail: { kind: ['image'] },
    });
    expect(rule.Targets).toHaveLength(1);
    const target = rule.Targets[0];
    expect(referencedId(target.Arn)).toBe(built.idOf(ws().push));
    // Retried like the reconciler's events, but no later than a connection can live (2 h).
    expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 });
    expect(referencedId(target.DeadLetterConfig.Arn)).toBe(built.idOf(built.stack.events.deadLetterQueue));
    const push = resourcesOfType(built.template, 'AWS::Lambda::Function')[built.idOf(ws().push)];
    expect(referencedId(push?.Properties.DeadLetterConfig.TargetArn)).toBe(
      built.idOf(built.stack.events.deadLetterQueue),
    );
  });
});

describe('cdk-nag', () => {
  it('leaves no unacknowledged finding on the WebSocket API and its functions', () => {
    for (const { scope, id, reason } of nagAcknowledgements(built.stack)) {
      Validations.of(scope).acknowledge({ id, reason });
    }
    const findings = new AwsSolutionsChecks()
      .validateScope(built.stack)
      .violations.flatMap((violation) =>
        violation.violatingResources.map((resource) => `${violation.ruleName} ${resource.constructPath}`),
      );
    expect(findings).toEqual([]);
    const onWebSocket = nagAcknowledgements(built.stack).filter(({ scope }) =>
      scope.node.path.startsWith(`${built.stack.node.path}/WebSocket/`),
    );
    // The three routes after $connect, two PostToConnection and two result-object statements, four X-Ray roles.
    expect(onWebSocket).toHaveLength(3 + 2 + 2 + 4);
  });
});
