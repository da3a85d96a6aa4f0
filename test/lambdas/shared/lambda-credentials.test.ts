import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultProvider } from '../../../lambdas/shared/lambda-credentials.ts';

describe('the credential provider of the Lambda bundles', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('signs with the role credentials Lambda puts in the environment', async () => {
    // Prepare: what Lambda sets for the execution role.
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'ASIAEXAMPLEROLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
    vi.stubEnv('AWS_SESSION_TOKEN', 'session-token');

    // Act
    const credentials = await defaultProvider()();

    // Assess
    expect(credentials).toMatchObject({
      accessKeyId: 'ASIAEXAMPLEROLE',
      secretAccessKey: 'secret',
      sessionToken: 'session-token',
    });
  });

  it('fails with the SDK’s credentials error where the environment has none, never reading files', async () => {
    // Prepare
    vi.stubEnv('AWS_ACCESS_KEY_ID', '');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', '');

    // Act
    const resolving = defaultProvider()();

    // Assess
    await expect(resolving).rejects.toMatchObject({ name: 'CredentialsProviderError' });
  });
});
