/**
 * Seed 003's `POST /api/multi-inference`: the request is checked once against every model, then
 * the models are called in parallel, each with its own deadline; one slow or failing model never
 * fails the others, and the answer keeps the order asked.
 */
import { describe, expect, it } from 'vitest';
import { MultiInferenceResponse } from '../../../../contracts/inference.ts';
import { ModelCallError } from '../../../../lambdas/domain/inference/ports.ts';
import {
  aBedrock,
  anImage,
  aReply,
  aRequest,
  aSageMaker,
  aService,
  base64,
  failure,
  TENANT,
} from './fakes.ts';

const multi = (models: string[], frames: string[] = []) => ({ ...aRequest({ frames }), models });

describe('InferenceService.multi', () => {
  it('answers every model in parallel: one failing and one too slow do not fail the third', async () => {
    // Prepare
    const { service, usage } = aService({
      realClock: true,
      deps: { deadlineMs: 300 },
      bedrock: aBedrock({
        claude4: [
          { afterMs: 250, outcome: new ModelCallError('model_error', 'the model ran out of memory') },
        ],
        nova: [{ afterMs: 250, outcome: aReply('a cat') }],
      }),
      sagemaker: aSageMaker({ 'qwen2-vl-7b': [{ hang: true, heeds: true }] }),
    });
    const png = base64(await anImage('png'));

    // Act
    const answer = await service.multi(TENANT, multi(['claude4', 'qwen2-vl-7b', 'nova'], [png]));

    // Assess
    expect(MultiInferenceResponse.parse(answer)).toEqual(answer);
    expect(answer.results.map((result) => [result.model, result.status, result.code])).toEqual([
      ['claude4', 500, 'model_error'],
      ['qwen2-vl-7b', 503, 'unavailable'],
      ['nova', 200, undefined],
    ]);
    expect(answer.results[0]).toMatchObject({
      error: 'model claude4 failed on this request: the model ran out of memory',
    });
    expect(answer.results[1]).toMatchObject({
      error: 'model qwen2-vl-7b did not answer within 0.3 s',
      retry_after: 10,
    });
    expect(answer.results[2]).toMatchObject({
      response: { content: [{ type: 'text', text: 'a cat' }] },
      served_by: { key: 'nova', provider: 'bedrock' },
    });
    expect(answer.results[2]?.error).toBeUndefined();
    // In parallel: about the slowest model's deadline, not the 800 ms the three would take in turn.
    expect(answer.latency_ms).toBeGreaterThanOrEqual(290);
    expect(answer.latency_ms).toBeLessThan(750);
    expect(answer.request.frames_count).toBe(1);
    expect(usage.calls.map(({ call }) => [call.modelKey, call.failed])).toEqual(
      expect.arrayContaining([
        ['claude4', true],
        ['qwen2-vl-7b', true],
        ['nova', false],
      ]),
    );
  });

  it('gives each model its own retries: a throttled model is its own 429, the others answer', async () => {
    // Prepare
    const { service } = aService({
      bedrock: aBedrock({ claude4: [new ModelCallError('throttled', 'slow down')], nova: [aReply('fine')] }),
    });

    // Act
    const answer = await service.multi(TENANT, multi(['nova', 'claude4']));

    // Assess
    expect(answer.results.map((result) => [result.model, result.status, result.retry_after])).toEqual([
      ['nova', 200, undefined],
      ['claude4', 429, 5],
    ]);
  });

  it('answers a model not deployed in the stage as its own 503', async () => {
    // Prepare
    const { service } = aService();

    // Act
    const answer = await service.multi(TENANT, multi(['gemma-3-4b', 'nova']));

    // Assess
    expect(answer.results[0]).toMatchObject({
      model: 'gemma-3-4b',
      status: 503,
      code: 'unavailable',
      error: expect.stringContaining('is not deployed in this stage'),
    });
    expect(answer.results[1]?.status).toBe(200);
  });

  it('answers 400 for unknown keys, naming them all, before any model is called', async () => {
    // Prepare
    const { service, bedrock } = aService();

    // Act
    const error = await failure(service.multi(TENANT, multi(['nova', 'gpt-5', 'llama-4'])));

    // Assess
    expect(error).toMatchObject({
      code: 'INVALID_PARAMETERS',
      message:
        'unknown model keys gpt-5, llama-4; supported: claude4, nova, qwen2-vl-7b, ui-tars-1.5-7b, gemma-3-4b',
      details: { parameter: 'models', value: ['gpt-5', 'llama-4'] },
    });
    expect(bedrock.calls).toEqual([]);
  });

  it("checks the frames once against every model's limits: one bad frame fails the request, nothing called", async () => {
    // Prepare
    const { service, bedrock, sagemaker, usage } = aService();
    const png = base64(await anImage('png'));

    // Act
    const tooMany = await failure(service.multi(TENANT, multi(['nova', 'ui-tars-1.5-7b'], [png, png])));
    const bad = await failure(service.multi(TENANT, multi(['nova', 'claude4'], [png, 'QQ'])));

    // Assess
    expect(tooMany.message).toBe('frames has 2 images; model ui-tars-1.5-7b takes at most 1 per prompt');
    expect(bad.message).toBe('frames[1] is not valid base64');
    expect([bedrock.calls, sagemaker.calls, usage.calls]).toEqual([[], [], []]);
  });

  it('answers a bug in one model as its own 500, logged, the others unharmed', async () => {
    // Prepare
    const { service, bedrock, logs } = aService();
    bedrock.complete = async (model) => {
      if (model.key === 'claude4') throw new TypeError('cannot read properties of undefined');
      return aReply('ok');
    };

    // Act
    const answer = await service.multi(TENANT, multi(['claude4', 'nova']));

    // Assess
    expect(answer.results.map((result) => [result.model, result.status, result.code])).toEqual([
      ['claude4', 500, 'internal'],
      ['nova', 200, undefined],
    ]);
    expect(logs.map((entry) => entry.message)).toContain('a model call failed unexpectedly');
  });
});
