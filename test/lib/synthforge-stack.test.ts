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

/** Actions AWS only allows on Resource "*" (X-Ray, and the log delivery Step Functions logging uses). */
const STAR_ONLY_ACTIONS = new Set([
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

  it('starts executions only of the batch state machine, and only from the batches API', () => {
    const machine = built.idOf(built.stack.workflows.batchStateMachine);
    const starts = statements.filter((s) => s.actions.includes('states:StartExecution'));
    expect(starts.map((s) => s.roles)).toEqual([[roleOf(built.stack.apiHandlers.families.batches)]]);
    expect(starts[0]?.resources).toEqual([`<${machine}>`]);
  });

  it('stops only executions of the batch state machine, and only from the jobs API (cancel)', () => {
    const machine = built.idOf(built.stack.workflows.batchStateMachine);
    const stops = statements.filter((s) => s.actions.includes('states:StopExecution'));
    expect(stops.map((s) => s.roles)).toEqual([[roleOf(built.stack.apiHandlers.families.jobs)]]);
    expect(stops[0]?.resources).toEqual([
      `arn:<AWS::Partition>:states:eu-west-1:123456789012:execution:<${machine}.Name>:*`,
    ]);
    expect(
      withAction('states:')
        .flatMap((s) => s.actions)
        .sort(),
    ).toEqual(['states:StartExecution', 'states:StopExecution']);
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
    for (const { resources, statement } of withAction('kms:')) {
      expect(resources).toEqual([`<${built.idOf(tableKey)}.Arn>`]);
      expect(statement.Condition).toEqual({
        StringEquals: { 'kms:ViaService': 'dynamodb.eu-west-1.amazonaws.com' },
      });
    }
  });

  it('lets only the authorizer read the keys table, and only with GetItem', () => {
    const keysTable = `<${built.idOf(built.stack.data.keysTable)}.Arn>`;
    const readers = withAction('dynamodb:').filter((s) => s.resources.includes(keysTable));
    expect(readers.map((s) => s.roles)).toEqual([[roleOf(built.stack.apiHandlers.authorizer)]]);
    expect(readers[0]?.actions).toEqual(['dynamodb:GetItem']);
  });

  it('reaches result objects of the outputs bucket only: run-job writes, the batches API reads (to presign)', () => {
    const objects = `<${built.idOf(built.stack.data.outputsBucket)}.Arn>/*`;
    const s3 = withAction('s3:');
    for (const { resources } of s3) expect(resources).toEqual([objects]);
    const byRole = Object.fromEntries(s3.map((s) => [s.roles[0], s.actions]));
    const { workflows, apiHandlers } = built.stack;
    expect(byRole).toEqual({
      [roleOf(workflows.tasks.runJob)]: ['s3:PutObject'],
      [roleOf(apiHandlers.families.batches)]: ['s3:GetObject'],
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
        'KeysTableName',
        'OutputsBucketName',
        'StateTableName',
        'UsagePlanId',
      ].sort(),
    );
  });

  it('synthesizes the same template twice', () => {
    expect(buildTestStack().template.toJSON()).toEqual(built.template.toJSON());
  });
});
