import { afterEach, describe, expect, it, vi } from 'vitest';
import { fromEnvSigningName, nodeProvider } from '../../../lambdas/shared/lambda-token-providers.ts';

describe('the token providers of the Lambda bundles', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('read a bearer token from the signing name’s environment variable, as the SDK does', async () => {
    // Prepare
    vi.stubEnv('AWS_BEARER_TOKEN_BEDROCK', 'bedrock-api-key');

    // Act
    const token = await fromEnvSigningName({ signingName: 'bedrock' })();

    // Assess
    expect(token).toMatchObject({ token: 'bedrock-api-key' });
  });

  it('fail with the SDK’s token error where the environment has no token', async () => {
    // Prepare
    vi.stubEnv('AWS_BEARER_TOKEN_BEDROCK', undefined);

    // Act
    const resolving = fromEnvSigningName({ signingName: 'bedrock' })();

    // Assess
    await expect(resolving).rejects.toMatchObject({ name: 'TokenProviderError' });
  });

  it('find no token past the environment, never reading the SSO cache', async () => {
    // Act
    const resolving = nodeProvider()();

    // Assess
    await expect(resolving).rejects.toMatchObject({
      name: 'TokenProviderError',
      tryNextLink: false,
    });
  });
});
