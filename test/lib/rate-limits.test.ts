/** Seed 001's per-minute limits in the stack: the functions of limited routes get the limits and the write. */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { beforeAll, describe, expect, it } from 'vitest';
import { rateLimitGroupOf } from '../../contracts/rate-limits.ts';
import { ROUTE_LIST, routes } from '../../contracts/routes.ts';
import type { StageConfigInput } from '../../lib/config.ts';
import { Data } from '../../lib/constructs/data.ts';
import { SynthForgeFunction } from '../../lib/constructs/synthforge-function.ts';
import { limitRouteHandlers, RATE_LIMITS_VARIABLE } from '../../lib/rate-limits.ts';
import { STACK_FEATURE_FLAGS } from '../../lib/synthforge-stack.ts';
import {
  buildTestStack,
  type CfnJson,
  resourcesOfType,
  type Statement,
  statementsOfRole,
  type TestStack,
  testApp,
} from './stack-fixture.ts';

let built: TestStack;

const environmentOf = (fn: SynthForgeFunction): Record<string, CfnJson> =>
  resourcesOfType(built.template, 'AWS::Lambda::Function')[built.idOf(fn)]?.Properties.Environment
    ?.Variables ?? {};

/** Whether `statements` let the function UpdateItem on the state table. */
function updatesStateTable(statements: Statement[], stateTableId: string): boolean {
  return statements.some(
    (statement) =>
      [statement.Action].flat().includes('dynamodb:UpdateItem') &&
      JSON.stringify(statement.Resource).includes(stateTableId),
  );
}

describe('limitRouteHandlers in the stack', () => {
  beforeAll(() => {
    built = buildTestStack({
      rateLimits: { generationPerMinute: 12, exportPerMinute: 0 },
    } as Partial<StageConfigInput>);
  });

  it('gives the stage’s limits to exactly the functions that serve a limited route', () => {
    const limitedFamilies = new Set(
      ROUTE_LIST.filter((route) => rateLimitGroupOf(route.operationId)).map((route) => route.family),
    );
    expect(limitedFamilies.has('images')).toBe(true);
    for (const [family, fn] of Object.entries(built.stack.routeHandlers)) {
      const variable = environmentOf(fn)[RATE_LIMITS_VARIABLE];
      if (limitedFamilies.has(family as never)) {
        expect(JSON.parse(variable), family).toEqual({ generation: 12, validation: 20, export: 0 });
      } else {
        expect(variable, family).toBeUndefined();
      }
    }
  });

  it('lets each of them update the state table, where the counters are', () => {
    const stateTableId = built.idOf(built.stack.data.stateTable);
    const limited = Object.values(built.stack.routeHandlers).filter(
      (fn) => environmentOf(fn)[RATE_LIMITS_VARIABLE] !== undefined,
    );
    expect(limited).toContain(built.stack.routeHandlers.images);
    for (const fn of limited) {
      const statements = statementsOfRole(built.template, built.idOf(fn.executionRole));
      expect(updatesStateTable(statements, stateTableId), fn.node.path).toBe(true);
    }
  });
});

describe('limitRouteHandlers grants', () => {
  it('adds UpdateItem alone where needed: none for a writer, a statement for a reader or a stranger', () => {
    // Prepare: three functions, serving `POST /generate` under three route families.
    const stack = new Stack(testApp(), 'Grants', { env: { account: '123456789012', region: 'eu-west-1' } });
    for (const [flag, value] of Object.entries(STACK_FEATURE_FLAGS)) stack.node.setContext(flag, value);
    const data = new Data(stack, 'Data', { removalPolicy: RemovalPolicy.DESTROY, resultRetentionDays: 1 });
    const fn = (id: string) =>
      new SynthForgeFunction(stack, id, {
        entry: 'lambdas/handlers/api/images.ts',
        description: id,
        memorySize: 256,
        timeout: Duration.seconds(5),
        defaults: { stage: 'test', logRetention: RetentionDays.ONE_DAY },
      });
    const [writer, reader, stranger] = [fn('Writer'), fn('Reader'), fn('Stranger')];
    data.allowStateTable(writer, ['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    data.allowStateTable(reader, ['dynamodb:GetItem']);

    // Act
    const served = limitRouteHandlers(
      { images: writer, jobs: reader, training: stranger },
      [
        routes.generateImage,
        { ...routes.generateImage, family: 'jobs' },
        { ...routes.generateImage, family: 'training' },
      ],
      data,
      { generationPerMinute: 10, validationPerMinute: 20, exportPerMinute: 5 },
    );

    // Assess
    expect(served).toEqual([writer, reader, stranger]);
    const template = Template.fromStack(stack);
    const sidsOf = (of: SynthForgeFunction) =>
      statementsOfRole(
        template,
        stack.resolve((of.executionRole.node.defaultChild as never as { logicalId: string }).logicalId),
      )
        .map((statement) => statement.Sid)
        .filter((sid) => sid !== 'WriteOwnLogGroup' && sid !== undefined)
        .sort();
    expect(sidsOf(writer)).toEqual(['StateTable', 'StateTableKey']);
    expect(sidsOf(reader)).toEqual([
      'RateLimitCounters',
      'RateLimitCountersKey',
      'StateTable',
      'StateTableKey',
    ]);
    expect(sidsOf(stranger)).toEqual(['StateTable', 'StateTableKey']);
    const stateTableId = stack.resolve(
      (data.stateTable.node.defaultChild as never as { logicalId: string }).logicalId,
    );
    for (const granted of [writer, reader, stranger]) {
      const statements = statementsOfRole(
        template,
        stack.resolve((granted.executionRole.node.defaultChild as never as { logicalId: string }).logicalId),
      );
      expect(updatesStateTable(statements, stateTableId), granted.node.id).toBe(true);
    }
  });
});
