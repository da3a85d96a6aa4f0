/**
 * Every cdk-nag (AwsSolutions) finding SynthForge accepts, gathered in one reviewable list, each on
 * the narrowest construct it applies to and each with its reason: the stack-wide ones here (every
 * function's X-Ray, every state machine's logging and task invokes, every grant on the result
 * objects, the REST and WebSocket APIs), and each family's own from its construct (lib/families/). How an acknowledgement is written (finding
 * ids of CloudFormation references, the constructs they sit on) is lib/nag.ts.
 *
 * The tests check that acknowledging these leaves zero findings, that each one still matches a
 * finding (no stale entries), and that every reason says why.
 */
import { Validations } from 'aws-cdk-lib';
import { ManagedPolicy } from 'aws-cdk-lib/aws-iam';
import {
  accessPolicyOf,
  childOf,
  defaultPolicyOf,
  flattenReference,
  iam5Resource,
  type NagAcknowledgement,
} from './nag.ts';
import type { SynthForgeStack } from './synthforge-stack.ts';

export type { NagAcknowledgement } from './nag.ts';

/** Why each kind of finding is accepted. */
export const NAG_REASONS = {
  resultObjects:
    'Results (archives, images) and image requests are written and presigned under tenant-prefixed keys chosen at run time (<tenant>/...); the statement is limited to objects of this one outputs bucket and to the actions the function needs.',
  lambdaXRay:
    'X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions, so AWS requires Resource "*" (added by CDK for Tracing.ACTIVE; the role holds nothing else with a wildcard).',
  stateMachineLogsAndXRay:
    'Step Functions logging and tracing: the CloudWatch Logs delivery actions (logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery, ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups) and the X-Ray actions support no resource-level permissions, so AWS requires Resource "*".',
  invokeTaskVersions:
    'Step Functions invokes the task functions of its workflow; the ":*" suffix covers only the versions and aliases of that one named function (the same grant CDK writes for LambdaInvoke tasks), never other functions.',
  apiGatewayCloudWatchRole:
    'API Gateway writes execution logs through an account-level role that must carry the AWS managed policy AmazonAPIGatewayPushToCloudWatchLogs (its documented setup); the role is assumable only by apigateway.amazonaws.com and holds nothing else.',
  noCognito:
    'SynthForge authenticates API keys (X-API-Key, Authorization: Token or Bearer) with a Lambda REQUEST authorizer on every non-public method, as its clients (SDKs of seeds 000-004) require; there are no Cognito users to authorize.',
  publicRoute:
    'Public by contract: the service root, health check, OpenAPI document and documentation pages carry no tenant data and must work without a key; they are still behind the web ACL and stage throttling.',
  webSocketConnections:
    'API Gateway names each WebSocket connection at run time; the statement allows only execute-api:ManageConnections, only POST (PostToConnection) on @connections, of the one WebSocket API and stage of this stack.',
  webSocketRoutes:
    "On a WebSocket API only the $connect route can take an authorizer: the key authorizer checks the tenant's key there, and every later message of the connection ($default, generate, $disconnect) carries that authorizer's context, which is where the handlers read the tenant from.",
} as const;

/** Every acknowledgement of `stack`, with the construct it belongs on. */
export function nagAcknowledgements(stack: SynthForgeStack): NagAcknowledgement[] {
  const { api, data, webSocket } = stack;
  const list: NagAcknowledgement[] = [];

  for (const fn of stack.functions) {
    list.push({
      scope: defaultPolicyOf(fn),
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: NAG_REASONS.lambdaXRay,
    });
  }
  for (const family of stack.families.all) {
    for (const machine of Object.values(family.stateMachines)) {
      list.push({
        scope: childOf(machine.role, 'DefaultPolicy'),
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: NAG_REASONS.stateMachineLogsAndXRay,
      });
      for (const fn of machine.taskFunctions) {
        list.push({
          scope: machine.invokePolicy,
          id: iam5Resource(stack, `${fn.functionArn}:*`),
          reason: NAG_REASONS.invokeTaskVersions,
        });
      }
    }
    list.push(...family.nagAcknowledgements());
  }

  const pushToCloudWatch = ManagedPolicy.fromAwsManagedPolicyName(
    'service-role/AmazonAPIGatewayPushToCloudWatchLogs',
  );
  list.push({
    scope: childOf(api.restApi, 'CloudWatchRole'),
    id: `AwsSolutions-IAM4[Policy::${flattenReference(stack.resolve(pushToCloudWatch.managedPolicyArn))}]`,
    reason: NAG_REASONS.apiGatewayCloudWatchRole,
  });
  list.push({ scope: api.restApi, id: 'AwsSolutions-COG4', reason: NAG_REASONS.noCognito });
  for (const { route, method } of api.methods) {
    if (!route.auth) list.push({ scope: method, id: 'AwsSolutions-APIG4', reason: NAG_REASONS.publicRoute });
  }

  // Whoever was granted the result objects, of whichever family (lib/constructs/data.ts allowOutputs).
  const resultObjects = iam5Resource(stack, data.outputObjectsArn);
  for (const fn of data.outputsGrantees) {
    list.push({ scope: accessPolicyOf(fn), id: resultObjects, reason: NAG_REASONS.resultObjects });
  }
  for (const fn of [webSocket.messages, webSocket.push]) {
    list.push({
      scope: accessPolicyOf(fn),
      id: iam5Resource(stack, webSocket.connectionsArn),
      reason: NAG_REASONS.webSocketConnections,
    });
  }
  for (const routeKey of ['$disconnect', '$default', 'generate']) {
    list.push({
      scope: childOf(webSocket.api, `${routeKey}-Route`),
      id: 'AwsSolutions-APIG4',
      reason: NAG_REASONS.webSocketRoutes,
    });
  }
  return list;
}

/** Records every acknowledgement of `stack` on its construct. Returns them. */
export function acknowledgeNagFindings(stack: SynthForgeStack): NagAcknowledgement[] {
  const list = nagAcknowledgements(stack);
  for (const { scope, id, reason } of list) Validations.of(scope).acknowledge({ id, reason });
  return list;
}
