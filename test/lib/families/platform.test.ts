import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestStack, resourcesOfType, type TestStack } from '../stack-fixture.ts';

let built: TestStack;

beforeAll(() => {
  built = buildTestStack({ api: { keyCacheTtlSeconds: 15 } });
});

describe('the key authorizer function', () => {
  it("gets the stage's key cache TTL, so a revoked key stops working within it", () => {
    const functions = resourcesOfType(built.template, 'AWS::Lambda::Function');
    const authorizer = functions[built.idOf(built.families.platform.authorizer)];

    expect(authorizer?.Properties.Environment.Variables).toMatchObject({ KEY_CACHE_TTL_SECONDS: '15' });
  });
});
