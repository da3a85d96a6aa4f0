/**
 * Every cdk-nag (AwsSolutions) finding SynthForge accepts, in one reviewable place, each on the
 * narrowest construct it applies to and each with its reason. cdk-nag 3 acknowledges one finding at
 * a time (`AwsSolutions-IAM5[Resource::<...>]`); the ids of findings on CloudFormation references
 * are computed here from the very values the constructs put in their policies.
 *
 * The tests check that acknowledging these leaves zero findings, that each one still matches a
 * finding (no stale entries), and that every reason says why.
 */
import { type Stack, Validations } from 'aws-cdk-lib';
import { ManagedPolicy } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import type { SynthForgeFunction } from './constructs/synthforge-function.ts';
import type { SynthForgeStack } from './synthforge-stack.ts';

export interface NagAcknowledgement {
  /** The construct the acknowledgement is recorded on (it covers the construct and its children). */
  readonly scope: IConstruct;
  /** A rule id, or a rule id with one finding: `AwsSolutions-IAM5[Resource::*]`. */
  readonly id: string;
  readonly reason: string;
}

/** Why each kind of finding is accepted. */
export const NAG_REASONS = {
  lambdaXRay:
    'X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions, so AWS requires Resource "*" (added by CDK for Tracing.ACTIVE; the role holds nothing else with a wildcard).',
  stateMachineLogsAndXRay:
    'Step Functions logging and tracing: the CloudWatch Logs delivery actions (logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery, ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups) and the X-Ray actions support no resource-level permissions, so AWS requires Resource "*".',
  resultObjects:
    'Results (archives, images) and image requests are written and presigned under tenant-prefixed keys chosen at run time (<tenant>/...); the statement is limited to objects of this one outputs bucket and to the actions the function needs.',
  invokeTaskVersions:
    'Step Functions invokes the task functions of its workflow; the ":*" suffix covers only the versions and aliases of that one named function (the same grant CDK writes for LambdaInvoke tasks), never other functions.',
  stopBatchExecutions:
    'Cancelling a batch stops its execution, whose name is only known at run time; the resource is limited to executions of the one state machine that runs it (generation or image batches).',
  stopTrainingExecutions:
    'Cancelling a training run stops its execution (which stops its SageMaker training job), whose name is the task id, known only at run time; the resource is limited to executions of the one training state machine.',
  trainingJobs:
    'Step Functions creates, waits on (describe, tags) and stops the training job of each run, named sf-<task id>-<attempt> at run time; the statement allows only those training actions, only on training jobs named sf-* in this account and region.',
  trainingInputs:
    "SageMaker reads a run's inputs under tenant-prefixed keys chosen at run time: the manifest <tenant>/training/<task>/manifest.json and the result archives <tenant>/jobs/<job>/result.zip it lists, or a dataset folder <tenant>/datasets/..., and the checkpoints <tenant>/training/runs/<name>/checkpoints/ it resumes; the statements allow only GetObject on keys of those shapes in the one outputs bucket.",
  trainingOutputs:
    "SageMaker writes a run's model under <tenant>/training/<task>/output/ (in a folder it names after the training job) and syncs its checkpoints to <tenant>/training/runs/<name>/checkpoints/, both chosen at run time; the statements allow only PutObject/AbortMultipartUpload there and DeleteObject on checkpoints only, in the one outputs bucket.",
  trainingRegistryAndMetrics:
    'ecr:GetAuthorizationToken and cloudwatch:PutMetricData support no resource-level permissions, so AWS requires Resource "*"; the image is pulled from its one repository only, and metrics are limited by condition to the /aws/sagemaker/TrainingJobs namespace.',
  trainingLogs:
    "SageMaker writes each training job's logs to a stream it names after the job in the account's one /aws/sagemaker/TrainingJobs log group; the statement is limited to that log group and its streams.",
  trainingResults:
    "The training routes and the RecordTraining step read a run's live progress (<tenant>/training/runs/<name>/checkpoints/progress.json) and its model (<tenant>/training/<task>/output/...) under keys chosen at run time, and the API writes a run's manifest (<tenant>/training/<task>/manifest.json); each statement allows one action on keys of those shapes only, in the one outputs bucket.",
  apiGatewayCloudWatchRole:
    'API Gateway writes execution logs through an account-level role that must carry the AWS managed policy AmazonAPIGatewayPushToCloudWatchLogs (its documented setup); the role is assumable only by apigateway.amazonaws.com and holds nothing else.',
  noCognito:
    'SynthForge authenticates API keys (X-API-Key, Authorization: Token or Bearer) with a Lambda REQUEST authorizer on every non-public method, as its clients (SDKs of seeds 000-004) require; there are no Cognito users to authorize.',
  publicRoute:
    'Public by contract: the service root, health check, OpenAPI document and documentation pages carry no tenant data and must work without a key; they are still behind the web ACL and stage throttling.',
  endpointRequests:
    'A model endpoint reads the request of whichever job invokes it, at <tenant>/jobs/<jobId>/request.json with both chosen at run time; the statement allows only GetObject, only on keys of that shape, in the one outputs bucket.',
  endpointResponses:
    "SageMaker names each asynchronous response and failure object itself (a generated inference id) under the endpoint's own staging prefixes _endpoints/<endpoint>/output/ and _endpoints/<endpoint>/failures/; the statement allows only PutObject there.",
  endpointRegistryAuth:
    'ecr:GetAuthorizationToken (and, for endpoints in a VPC, the EC2 Describe actions SageMaker uses to place network interfaces) support no resource-level permissions, so AWS requires Resource "*"; the image itself is pulled from its one repository only.',
  endpointNetworkInterfaces:
    "SageMaker creates and deletes the endpoint instances' network interfaces in the stage's subnets; their ids exist only at run time, so the resource is every network interface of this account and region.",
  endpointStagingObjects:
    'The endpoint callback reads (and deletes, once moved) the responses and failures SageMaker writes under generated names in the staging prefix _endpoints/; the statement is limited to that prefix of the one outputs bucket.',
  webSocketConnections:
    'API Gateway names each WebSocket connection at run time; the statement allows only execute-api:ManageConnections, only POST (PostToConnection) on @connections, of the one WebSocket API and stage of this stack.',
  webSocketRoutes:
    "On a WebSocket API only the $connect route can take an authorizer: the key authorizer checks the tenant's key there, and every later message of the connection ($default, generate, $disconnect) carries that authorizer's context, which is where the handlers read the tenant from.",
  cursorSecretRotation:
    'The secret only signs short-lived pagination cursors (tamper evidence); the tenant binding of a cursor does not depend on it. Rotating it would invalidate every cursor in flight, and it is read once per cold start, so it is not rotated.',
} as const;

/** Every acknowledgement of `stack`, with the construct it belongs on. */
export function nagAcknowledgements(stack: SynthForgeStack): NagAcknowledgement[] {
  const { workflows, imageWorkflow, trainingWorkflow, apiHandlers, api, data, modelEndpoints, webSocket } =
    stack;
  const list: NagAcknowledgement[] = [];

  for (const fn of stack.functions) {
    list.push({
      scope: defaultPolicyOf(fn),
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: NAG_REASONS.lambdaXRay,
    });
  }
  for (const role of [
    workflows.batchStateMachineRole,
    imageWorkflow.stateMachineRole,
    trainingWorkflow.stateMachineRole,
  ]) {
    list.push({
      scope: childOf(role, 'DefaultPolicy'),
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: NAG_REASONS.stateMachineLogsAndXRay,
    });
  }

  const resultObjects = iam5Resource(stack, data.outputsBucket.arnForObjects('*'));
  for (const fn of [
    workflows.tasks.runJob,
    apiHandlers.families.batches,
    apiHandlers.families.images,
    imageWorkflow.notifications,
    webSocket.messages,
    webSocket.push,
  ]) {
    list.push({ scope: accessPolicyOf(fn), id: resultObjects, reason: NAG_REASONS.resultObjects });
  }

  const invoked: [SynthForgeFunction[], IConstruct][] = [
    [Object.values(workflows.tasks) as SynthForgeFunction[], workflows.invokeTasksPolicy],
    [
      [
        workflows.tasks.startBatch,
        imageWorkflow.invokeModel,
        workflows.tasks.failJob,
        workflows.tasks.finishBatch,
      ],
      imageWorkflow.invokeTasksPolicy,
    ],
    [[trainingWorkflow.prepareTraining, trainingWorkflow.recordTraining], trainingWorkflow.invokeTasksPolicy],
  ];
  for (const [functions, scope] of invoked) {
    for (const fn of functions) {
      list.push({
        scope,
        id: iam5Resource(stack, `${fn.functionArn}:*`),
        reason: NAG_REASONS.invokeTaskVersions,
      });
    }
  }

  for (const executions of [workflows.batchExecutionArns, imageWorkflow.executionArns]) {
    list.push({
      scope: accessPolicyOf(apiHandlers.families.jobs),
      id: iam5Resource(stack, executions),
      reason: NAG_REASONS.stopBatchExecutions,
    });
  }
  for (const fn of [apiHandlers.families.jobs, apiHandlers.families.training]) {
    list.push({
      scope: accessPolicyOf(fn),
      id: iam5Resource(stack, trainingWorkflow.executionArns),
      reason: NAG_REASONS.stopTrainingExecutions,
    });
  }

  // Training: the machine's training jobs, the SageMaker role's inputs and outputs, and the
  // functions that read (and, for the API, write the manifest of) a run's objects.
  list.push({
    scope: trainingWorkflow.trainingJobsPolicy,
    id: iam5Resource(stack, trainingWorkflow.trainingJobsArn),
    reason: NAG_REASONS.trainingJobs,
  });
  const trainingRole = trainingWorkflow.trainingRolePolicy;
  for (const [objects, reason] of [
    [trainingWorkflow.archiveObjectsArn, NAG_REASONS.trainingInputs],
    [trainingWorkflow.manifestObjectsArn, NAG_REASONS.trainingInputs],
    [trainingWorkflow.datasetObjectsArn, NAG_REASONS.trainingInputs],
    [trainingWorkflow.checkpointObjectsArn, `${NAG_REASONS.trainingInputs} ${NAG_REASONS.trainingOutputs}`],
    [trainingWorkflow.modelObjectsArn, NAG_REASONS.trainingOutputs],
  ] as const) {
    list.push({ scope: trainingRole, id: iam5Resource(stack, objects), reason });
  }
  list.push(
    {
      scope: trainingRole,
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: NAG_REASONS.trainingRegistryAndMetrics,
    },
    {
      scope: trainingRole,
      id: iam5Resource(stack, trainingWorkflow.trainingLogStreamsArn),
      reason: NAG_REASONS.trainingLogs,
    },
  );
  const trainingReaders: [SynthForgeFunction, string[]][] = [
    [
      trainingWorkflow.recordTraining,
      [trainingWorkflow.progressObjectsArn, trainingWorkflow.modelObjectsArn],
    ],
    [
      apiHandlers.families.training,
      [
        trainingWorkflow.manifestObjectsArn,
        trainingWorkflow.progressObjectsArn,
        trainingWorkflow.modelObjectsArn,
      ],
    ],
  ];
  for (const [fn, objects] of trainingReaders) {
    for (const resource of objects) {
      list.push({
        scope: accessPolicyOf(fn),
        id: iam5Resource(stack, resource),
        reason: NAG_REASONS.trainingResults,
      });
    }
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

  for (const endpoint of modelEndpoints.endpoints) {
    const scope = endpoint.accessPolicy;
    list.push(
      {
        scope,
        id: iam5Resource(stack, modelEndpoints.requestObjectsArn),
        reason: NAG_REASONS.endpointRequests,
      },
      { scope, id: iam5Resource(stack, endpoint.outputObjectsArn), reason: NAG_REASONS.endpointResponses },
      { scope, id: iam5Resource(stack, endpoint.failureObjectsArn), reason: NAG_REASONS.endpointResponses },
      { scope, id: 'AwsSolutions-IAM5[Resource::*]', reason: NAG_REASONS.endpointRegistryAuth },
    );
    if (endpoint.networkInterfacesArn !== undefined) {
      list.push({
        scope,
        id: iam5Resource(stack, endpoint.networkInterfacesArn),
        reason: NAG_REASONS.endpointNetworkInterfaces,
      });
    }
  }
  // Whoever was granted the staged objects (the callback), once per policy that holds the grant.
  const stagingPolicies = new Set(modelEndpoints.stagingGrants.map((grant) => grant.policy));
  for (const scope of stagingPolicies) {
    list.push({
      scope,
      id: iam5Resource(stack, modelEndpoints.stagingObjectsArn),
      reason: NAG_REASONS.endpointStagingObjects,
    });
  }

  list.push({
    scope: apiHandlers.cursorSecret,
    id: 'AwsSolutions-SMG4',
    reason: NAG_REASONS.cursorSecretRotation,
  });
  return list;
}

/** Records every acknowledgement of `stack` on its construct. Returns them. */
export function acknowledgeNagFindings(stack: SynthForgeStack): NagAcknowledgement[] {
  const list = nagAcknowledgements(stack);
  for (const { scope, id, reason } of list) Validations.of(scope).acknowledge({ id, reason });
  return list;
}

/** The IAM5 finding id for a wildcard resource, as cdk-nag spells it. */
function iam5Resource(stack: Stack, resource: string): string {
  return `AwsSolutions-IAM5[Resource::${flattenReference(stack.resolve(resource))}]`;
}

/**
 * Flattens a resolved CloudFormation value the way cdk-nag names findings: `Fn::GetAtt` →
 * `<Id.Attr>`, `Ref` → `<Id>`, `Fn::Join` joined, `${X}` → `<X>`.
 */
export function flattenReference(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (typeof value === 'object' && value !== null) {
    const node = value as Record<string, unknown>;
    if (Array.isArray(node['Fn::Join'])) {
      const [delimiter, items] = node['Fn::Join'] as [string, unknown[]];
      return items.map(flattenReference).join(delimiter);
    }
    if (node['Fn::Sub'] !== undefined) return flattenReference(node['Fn::Sub']);
    if (Array.isArray(node['Fn::GetAtt'])) {
      const [resource, attribute] = node['Fn::GetAtt'] as [unknown, unknown];
      return `<${flattenReference(resource)}.${flattenReference(attribute)}>`;
    }
    if (node['Fn::ImportValue'] !== undefined) return flattenReference(node['Fn::ImportValue']);
    if (node.Ref !== undefined) return `<${flattenReference(node.Ref)}>`;
  }
  return JSON.stringify(value);
}

function childOf(scope: IConstruct, id: string): IConstruct {
  const child = scope.node.tryFindChild(id);
  if (!child) throw new Error(`${scope.node.path} has no child "${id}" to acknowledge a finding on`);
  return child;
}

function defaultPolicyOf(fn: SynthForgeFunction): IConstruct {
  return childOf(fn.executionRole, 'DefaultPolicy');
}

function accessPolicyOf(fn: SynthForgeFunction): IConstruct {
  if (!fn.accessPolicy) throw new Error(`${fn.node.path} has no access policy to acknowledge a finding on`);
  return fn.accessPolicy;
}
