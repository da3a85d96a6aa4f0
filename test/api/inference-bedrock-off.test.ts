/**
 * The local platform without Bedrock (no AWS credentials, no `--emulate-bedrock`): Claude 4 and Nova
 * answer 503 saying how to get either, before anything is called or recorded; the EMD models are
 * unaffected.
 */
import { describe, expect, it } from 'vitest';
import { InferenceError } from '../../contracts/inference.ts';
import { usePlatform } from '../support/platform.ts';

const fixture = usePlatform({ inference: { bedrock: 'off', initialCopies: 0 } });

describe('Bedrock off on the local platform', () => {
  it.each(['/api/claude4', '/api/nova', '/api/stream/claude4'])(
    '%s answers 503 with the way to reach Bedrock',
    async (path) => {
      // Act
      const response = await fixture.api.post(path, { text: 'hello' });

      // Assess
      expect(response.status, response.text).toBe(503);
      const error = InferenceError.parse(response.body);
      expect(error.error).toMatch(/AWS_ACCESS_KEY_ID/);
      expect(error.error).toMatch(/--emulate-bedrock/);
      expect(error.request).toMatchObject({ text: 'hello' });
    },
  );

  it('lists the Bedrock models as not deployed, and the EMD models as deployed', async () => {
    // Act
    const response = await fixture.api.get<{ models: { model_key: string; deployed: boolean }[] }>(
      '/api/emd/models',
    );

    // Assess
    const deployed = Object.fromEntries(
      response.body.models.map((model) => [model.model_key, model.deployed]),
    );
    expect(deployed).toMatchObject({ claude4: false, nova: false, 'qwen2-vl-7b': true });
  });

  it('records no usage for the refused calls', async () => {
    // Prepare
    await fixture.api.post('/api/claude4', { text: 'hello' });

    // Act
    const usage = await fixture.api.get<{ inference: { calls: number } }>('/api/v1/usage');

    // Assess
    expect(usage.body.inference.calls).toBe(0);
  });
});
