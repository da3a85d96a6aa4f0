import { beforeAll, describe, expect, it } from 'vitest';
import { STATE_TABLE } from '../../lambdas/adapters/dynamo/tables.ts';
import { flattenReference } from '../../lib/nag-acknowledgements.ts';
import { buildTestStack, referencedId, resourcesOfType, type TestStack } from './stack-fixture.ts';

interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/**
 * Actions AWS only allows on Resource "*" (X-Ray, the log delivery Step Functions logging uses, and the
 * ECR registry token a SageMaker model's image pull starts with).
 */
const STAR_ONLY_ACTIONS = new Set([
  'ecr:GetAuthorizationToken',
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
]);

let built: TestStack;
/** Every Allow statement of every identity policy, with the logical ids of the roles it applies to. */
let statements: { roles: string[]; statement: Statement; actions: string[]; resources: string[] }[];

beforeAll(() => {
  built = buildTestStack();
  statements = [];
  const add = (roles: string[], document: { Statement: Statement[] }) => {
    for (const statement of document.Statement) {
      if (statement.Effect !== 'Allow') continue;
      statements.push({
        roles,
        statement,
        actions: [statement.Action].flat(),
        resources: [statement.Resource].flat().map(flattenReference),
      });
    }
  };
  for (const policy of Object.values(resourcesOfType(built.template, 'AWS::IAM::Policy'))) {
    const roles = (policy.Properties.Roles as unknown[]).map((role) => referencedId(role) as string);
    add(roles, policy.Properties.PolicyDocument as { Statement: Statement[] });
  }
  for (const [id, role] of Object.entries(resourcesOfType(built.template, 'AWS::IAM::Role'))) {
    for (const inline of (role.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[]) ??
      []) {
      add([id], inline.PolicyDocument);
    }
  }
  expect(resourcesOfType(built.template, 'AWS::IAM::ManagedPolicy')).toEqual({});
});

const roleOf = (fn: { executionRole: { node: { defaultChild?: unknown } } }) => built.idOf(fn.executionRole);
/** The SageMaker execution roles of the model endpoints (test/lib/constructs/model-endpoints.test.ts checks them). */
const endpointRoles = () =>
  new Set(built.stack.modelEndpoints.endpoints.map((endpoint) => built.idOf(endpoint.executionRole)));
const ofFunctions = <T extends { roles: string[] }>(list: T[]) =>
  list.filter((s) => !s.roles.some((role) => endpointRoles().has(role)));
const withAction = (prefix: string) => statements.filter((s) => s.actions.some((a) => a.startsWith(prefix)));

describe('IAM', () => {
  it('has no wildcard action', () => {
    for (const { actions } of statements) for (const action of actions) expect(action).not.toContain('*');
  });

  it('uses Resource "*" only for the actions AWS allows on nothing else', () => {
    for (const { actions, resources } of statements.filter((s) => s.resources.includes('*'))) {
      expect(resources).toEqual(['*']);
      for (const action of actions) expect(STAR_ONLY_ACTIONS, action).toContain(action);
    }
  });

  it('attaches no AWS managed policy except to API Gateway’s CloudWatch role', () => {
    const withManaged = Object.entries(resourcesOfType(built.template, 'AWS::IAM::Role')).filter(
      ([, role]) => role.Properties.ManagedPolicyArns !== undefined,
    );
    expect(withManaged.map(([id]) => id)).toEqual([
      built.idOf(built.stack.api.restApi.node.findChild('CloudWatchRole') as never),
    ]);
  });

  it('never passes a role', () => {
    expect(withAction('iam:')).toEqual([]);
  });

  it('publishes events only to the SynthForge bus', () => {
    const bus = `<${built.idOf(built.stack.events.bus)}.Arn>`;
    const publishers = withAction('events:');
    expect(publishers.length).toBeGreaterThan(0);
    for (const { actions, resources } of publishers) {
      expect(actions).toEqual(['events:PutEvents']);
      expect(resources).toEqual([bus]);
    }
  });

  it('starts executions of each workflow only from its own API: batches from batches, images from images and the WebSocket generate', () => {
    const { workflows, imageWorkflow, apiHandlers, webSocket } = built.stack;
    const starts = statements.filter((s) => s.actions.includes('states:StartExecution'));
    const byRole = Object.fromEntries(starts.map((s) => [s.roles[0], s.resources]));
    expect(byRole).toEqual({
      [roleOf(apiHandlers.families.batches)]: [`<${built.idOf(workflows.batchStateMachine)}>`],
      [roleOf(apiHandlers.families.images)]: [`<${built.idOf(imageWorkflow.stateMachine)}>`],
      [roleOf(webSocket.messages)]: [`<${built.idOf(imageWorkflow.stateMachine)}>`],
    });
  });

  it('stops only executions of the two workflows, and only from the jobs API (cancel)', () => {
    const executions = (machine: string) =>
      `arn:<AWS::Partition>:states:eu-west-1:123456789012:execution:<${machine}.Name>:*`;
    const stops = statements.filter((s) => s.actions.includes('states:StopExecution'));
    expect(stops.map((s) => s.roles)).toEqual([[roleOf(built.stack.apiHandlers.families.jobs)]]);
    expect(stops[0]?.resources).toEqual([
      executions(built.idOf(built.stack.workflows.batchStateMachine)),
      executions(built.idOf(built.stack.imageWorkflow.stateMachine)),
    ]);
  });

  it('lets only the endpoint notifications resume waiting steps, and only of the image workflow', () => {
    const resumes = withAction('states:SendTask');
    expect(resumes.map((s) => s.roles)).toEqual([[roleOf(built.stack.imageWorkflow.notifications)]]);
    expect(resumes[0]?.resources).toEqual([`<${built.idOf(built.stack.imageWorkflow.stateMachine)}>`]);
    expect(
      withAction('states:')
        .flatMap((s) => s.actions)
        .sort(),
    ).toEqual([
      'states:SendTaskFailure',
      'states:SendTaskHeartbeat',
      'states:SendTaskSuccess',
      'states:StartExecution',
      'states:StartExecution',
      'states:StartExecution',
      'states:StartExecution',
      'states:StopExecution',
    ]);
  });

  it('lets each submitter start only the workflows its routes run', () => {
    const { apiHandlers, workflows, imageWorkflow, webSocket } = built.stack;
    const batchMachine = `<${built.idOf(workflows.batchStateMachine)}>`;
    const imageMachine = `<${built.idOf(imageWorkflow.stateMachine)}>`;
    const starts = withAction('states:StartExecution').map((s) => [s.roles, s.resources]);
    expect(starts).toEqual(
      expect.arrayContaining([
        // Procedural generators on the batch workflow, models on the image workflow.
        [[roleOf(apiHandlers.families.batches)], [batchMachine]],
        [[roleOf(apiHandlers.families.batches)], [imageMachine]],
        [[roleOf(apiHandlers.families.images)], [imageMachine]],
        [[roleOf(webSocket.messages)], [imageMachine]],
      ]),
    );
    expect(starts).toHaveLength(4);
  });

  it('touches only the two tables (and the state table indexes), with their key via DynamoDB only', () => {
    const { stateTable, keysTable, tableKey } = built.stack.data;
    const allowed = [
      `<${built.idOf(stateTable)}.Arn>`,
      ...STATE_TABLE.globalSecondaryIndexes.map(
        ({ indexName }) => `<${built.idOf(stateTable)}.Arn>/index/${indexName}`,
      ),
      `<${built.idOf(keysTable)}.Arn>`,
    ];
    for (const { resources } of withAction('dynamodb:'))
      for (const r of resources) expect(allowed).toContain(r);
    // The model endpoints' own key: their SageMaker roles use it (model-endpoints.test.ts checks how);
    // a function may only decrypt staged endpoint outputs with it, through S3.
    const endpointKey = `<${built.idOf(built.stack.modelEndpoints.key)}.Arn>`;
    for (const { roles, actions, statement } of withAction('kms:').filter((s) =>
      s.resources.includes(endpointKey),
    )) {
      if (roles.every((role) => endpointRoles().has(role))) continue;
      expect(actions).toEqual(['kms:Decrypt']);
      expect(statement.Condition).toEqual({
        StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' },
      });
    }
    for (const { resources, statement } of withAction('kms:').filter(
      (s) => !s.resources.includes(endpointKey),
    )) {
      expect(resources).toEqual([`<${built.idOf(tableKey)}.Arn>`]);
      expect(statement.Condition).toEqual({
        StringEquals: { 'kms:ViaService': 'dynamodb.eu-west-1.amazonaws.com' },
      });
    }
  });

  it('lets only the two key authorizers (REST, WebSocket) read the keys table, and only with GetItem', () => {
    const keysTable = `<${built.idOf(built.stack.data.keysTable)}.Arn>`;
    const readers = withAction('dynamodb:').filter((s) => s.resources.includes(keysTable));
    expect(readers.map((s) => s.roles)).toEqual([
      [roleOf(built.stack.apiHandlers.authorizer)],
      [roleOf(built.stack.webSocket.authorizer)],
    ]);
    for (const reader of readers) expect(reader.actions).toEqual(['dynamodb:GetItem']);
  });

  it('reaches result objects of the outputs bucket only, each function with the actions it needs', () => {
    const objects = `<${built.idOf(built.stack.data.outputsBucket)}.Arn>/*`;
    const staging = `<${built.idOf(built.stack.data.outputsBucket)}.Arn>/_endpoints/*`;
    const s3 = ofFunctions(withAction('s3:'));
    const byRole: Record<string, Record<string, string[]>> = {};
    for (const { roles, resources, actions } of s3) {
      for (const resource of resources) {
        expect([objects, staging]).toContain(resource);
        const role = roles[0] ?? '';
        const entry = byRole[role] ?? {};
        entry[resource] = [...(entry[resource] ?? []), ...actions].sort();
        byRole[role] = entry;
      }
    }
    const { workflows, apiHandlers, imageWorkflow, webSocket } = built.stack;
    expect(byRole).toEqual({
      [roleOf(workflows.tasks.runJob)]: { [objects]: ['s3:PutObject'] },
      // Writes each request before its job exists; reads results and images to presign them.
      [roleOf(apiHandlers.families.batches)]: { [objects]: ['s3:GetObject', 's3:PutObject'] },
      // Writes each request before its job exists; reads images to presign them.
      [roleOf(apiHandlers.families.images)]: { [objects]: ['s3:GetObject', 's3:PutObject'] },
      // Copies the staged response to the job's key, then deletes it.
      [roleOf(imageWorkflow.notifications)]: {
        [objects]: ['s3:PutObject'],
        [staging]: ['s3:DeleteObject', 's3:GetObject'],
      },
      // As the images API (generate); and a link to the image of a job that finished first.
      [roleOf(webSocket.messages)]: { [objects]: ['s3:GetObject', 's3:PutObject'] },
      // Presigns each result it pushes.
      [roleOf(webSocket.push)]: { [objects]: ['s3:GetObject'] },
    });
  });

  it('gives the cursor secret only to the list routes’ functions', () => {
    const secret = `<${built.idOf(built.stack.apiHandlers.cursorSecret)}>`;
    const readers = withAction('secretsmanager:');
    for (const { actions, resources } of readers) {
      expect(actions).toEqual(['secretsmanager:GetSecretValue']);
      expect(resources).toEqual([secret]);
    }
    expect(readers.map((s) => s.roles[0]).sort()).toEqual(
      [
        roleOf(built.stack.apiHandlers.families.batches),
        roleOf(built.stack.apiHandlers.families.jobs),
      ].sort(),
    );
  });

  it('leaves the public and generators functions with nothing beyond logs and X-Ray', () => {
    for (const fn of [built.stack.apiHandlers.families.public, built.stack.apiHandlers.families.generators]) {
      const actions = statements.filter((s) => s.roles.includes(roleOf(fn))).flatMap((s) => s.actions);
      expect(actions.sort()).toEqual(
        [
          'logs:CreateLogStream',
          'logs:PutLogEvents',
          'xray:PutTelemetryRecords',
          'xray:PutTraceSegments',
        ].sort(),
      );
    }
  });
});

describe('stack', () => {
  it('exports what the keys tool, the SDK and operators need', () => {
    expect(Object.keys(built.template.toJSON().Outputs).sort()).toEqual(
      [
        'ApiUrl',
        'BatchStateMachineArn',
        'EventBusName',
        'ImageStateMachineArn',
        'KeysTableName',
        'ModelEndpointStableDiffusionV15',
        'ModelErrorTopicArn',
        'ModelSuccessTopicArn',
        'OutputsBucketName',
        'StateTableName',
        'UsagePlanId',
        'WebSocketUrl',
      ].sort(),
    );
  });

  it('synthesizes the same template twice', () => {
    expect(buildTestStack().template.toJSON()).toEqual(built.template.toJSON());
  });
});
