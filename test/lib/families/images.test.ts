/**
 * The images family's grants: whoever submits image jobs (the images routes, the batches routes for
 * a batch of model runs, the WebSocket's `generate`) is refused with a 503 naming a model whose
 * endpoint does not exist (ImageService.ensureEndpointsExist). That check is a DescribeEndpoint:
 * without the permission its AccessDenied would be read as "unknown" and the submission let through.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildTestStack,
  type CfnJson,
  referencedId,
  resourcesOfType,
  type TestStack,
} from '../stack-fixture.ts';

let built: TestStack;

beforeAll(() => {
  built = buildTestStack();
});

/** Each role's statements, over every policy attached to it. */
function statementsByRole(): Map<string, CfnJson[]> {
  const byRole = new Map<string, CfnJson[]>();
  for (const policy of Object.values(resourcesOfType(built.template, 'AWS::IAM::Policy'))) {
    for (const role of policy.Properties.Roles as unknown[]) {
      const id = referencedId(role);
      if (!id) continue;
      byRole.set(id, [
        ...(byRole.get(id) ?? []),
        ...(policy.Properties.PolicyDocument.Statement as CfnJson[]),
      ]);
    }
  }
  return byRole;
}

describe('the images family', () => {
  it('lets every function that starts image executions ask whether a model has an endpoint', () => {
    // Prepare
    const starters = [...statementsByRole()].filter(([, statements]) =>
      statements.some((statement) => statement.Sid === 'StartImageExecutions'),
    );

    // Act
    const withoutDescribe = starters
      .filter(
        ([, statements]) =>
          !statements.some(
            (statement) =>
              statement.Sid === 'DescribeModelEndpoints' &&
              [statement.Action].flat().includes('sagemaker:DescribeEndpoint'),
          ),
      )
      .map(([role]) => role);

    // Assess: the images API, the batches API and the WebSocket's messages function at least.
    expect(starters.length).toBeGreaterThanOrEqual(3);
    expect(withoutDescribe).toEqual([]);
  });
});
