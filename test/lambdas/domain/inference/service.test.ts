/**
 * One model's answer (seed 003's `POST /api/claude4`, `/api/nova`, `/api/emd/{model_key}`) over fake
 * ports: the seed's answer shape, retries with full-jitter backoff inside the deadline (a fake sleep
 * that moves a fake clock: nothing waits), each failure's status, and usage recorded for every call.
 */
import { describe, expect, it } from 'vitest';
import { InferenceResponse } from '../../../../contracts/inference.ts';
import { LOCAL_VISION_MODEL } from '../../../../contracts/inference-models.ts';
import { ModelCallError } from '../../../../lambdas/domain/inference/ports.ts';
import {
  aBedrock,
  anImage,
  aReply,
  aRequest,
  aSageMaker,
  aService,
  base64,
  CLAUDE,
  FakeComponents,
  failure,
  NOVA,
  QWEN,
  TENANT,
} from './fakes.ts';

const throttled = () => new ModelCallError('throttled', 'Too many requests', 'ThrottlingException');
const unavailable = () =>
  new ModelCallError('unavailable', 'Service unavailable', 'ServiceUnavailableException');

describe('InferenceService.infer', () => {
  it("answers in seed 003's shape, with the frames checked and sent, and which model answered", async () => {
    // Prepare
    const { service, bedrock } = aService({ bedrock: aBedrock({ claude4: [aReply('a red square')] }) });
    const png = await anImage('png', 20, 10);

    // Act
    const answer = await service.infer(TENANT, 'claude4', aRequest({ frames: [base64(png)] }));

    // Assess
    expect(InferenceResponse.parse(answer)).toEqual(answer);
    expect(answer).toEqual({
      time: '2026-05-01T12:00:00.000Z',
      request: {
        text: 'What is in this image?',
        frames_count: 1,
        media_type: 'image',
        max_tokens: 1024,
        temperature: 0.1,
      },
      response: {
        id: 'msg_01',
        content: [{ type: 'text', text: 'a red square' }],
        usage: { input_tokens: 1000, output_tokens: 500 },
        stop_reason: 'end_turn',
      },
      model: {
        key: 'claude4',
        model_id: CLAUDE.modelId,
        provider: 'bedrock',
        answered_by: CLAUDE.modelId,
        emulated: false,
      },
      latency_ms: 0,
    });
    expect(bedrock.calls[0]?.turn).toEqual({
      text: 'What is in this image?',
      frames: [{ kind: 'image', format: 'png', bytes: png, width: 20, height: 10 }],
      maxTokens: 1024,
      temperature: 0.1,
    });
  });

  it('says when another model stood in for the named one', async () => {
    // Prepare
    const emulated = { ...QWEN, emulated: true };
    const { service } = aService({
      models: [emulated, NOVA],
      sagemaker: aSageMaker({ 'qwen2-vl-7b': [aReply('hi', { answeredBy: LOCAL_VISION_MODEL })] }),
      bedrock: aBedrock({ nova: [aReply('hi', { answeredBy: LOCAL_VISION_MODEL })] }),
    });

    // Act
    const qwen = await service.infer(TENANT, 'qwen2-vl-7b', aRequest());
    const nova = await service.infer(TENANT, 'nova', aRequest());

    // Assess
    expect(qwen.model).toMatchObject({
      answered_by: LOCAL_VISION_MODEL,
      emulated: true,
      provider: 'sagemaker',
    });
    expect(nova.model).toMatchObject({
      answered_by: LOCAL_VISION_MODEL,
      emulated: true,
      provider: 'bedrock',
    });
  });

  it('answers 400 for an unknown key, listing the keys there are, and calls nothing', async () => {
    // Prepare
    const { service, bedrock, sagemaker, usage } = aService();

    // Act
    const error = await failure(service.infer(TENANT, 'gpt-5', aRequest()));
    const emdOnly = await failure(service.infer(TENANT, 'claude4', aRequest(), 'sagemaker'));

    // Assess
    expect(error).toMatchObject({
      code: 'INVALID_PARAMETERS',
      message: 'unknown model key gpt-5; supported: claude4, nova, qwen2-vl-7b, ui-tars-1.5-7b, gemma-3-4b',
      details: { supported: ['claude4', 'nova', 'qwen2-vl-7b', 'ui-tars-1.5-7b', 'gemma-3-4b'] },
    });
    expect(emdOnly.message).toBe(
      'unknown EMD model key claude4; supported: qwen2-vl-7b, ui-tars-1.5-7b, gemma-3-4b',
    );
    expect([bedrock.calls, sagemaker.calls, usage.calls]).toEqual([[], [], []]);
  });

  it('answers 503 for an EMD model the stage does not deploy, saying what to do', async () => {
    // Prepare
    const { service, sagemaker } = aService();

    // Act
    const error = await failure(service.infer(TENANT, 'gemma-3-4b', aRequest()));

    // Assess
    expect(error).toMatchObject({
      code: 'UNAVAILABLE',
      status: 503,
      message:
        "EMD model gemma-3-4b is not deployed in this stage: add it to the stage's inference models and deploy " +
        '(see the README)',
      details: { model_key: 'gemma-3-4b', reason: 'not_deployed' },
    });
    expect(sagemaker.calls).toEqual([]);
  });

  it('answers 503 with the reason for a Bedrock model that cannot be called here', async () => {
    // Prepare
    const offline = { ...CLAUDE, unavailable: 'no AWS credentials (start with --emulate-bedrock)' };
    const { service } = aService({ models: [offline] });

    // Act
    const error = await failure(service.infer(TENANT, 'claude4', aRequest()));

    // Assess
    expect(error.message).toBe(
      'model claude4 cannot be called here: no AWS credentials (start with --emulate-bedrock)',
    );
    expect(error.status).toBe(503);
  });

  it('checks the frames before any model is called', async () => {
    // Prepare
    const { service, bedrock, usage } = aService();

    // Act
    const error = await failure(service.infer(TENANT, 'claude4', aRequest({ frames: ['not base64!'] })));

    // Assess
    expect(error.message).toBe('frames[0] is not valid base64');
    expect([bedrock.calls, usage.calls]).toEqual([[], []]);
  });
});

describe('InferenceService.infer: retries inside the deadline', () => {
  it('retries throttling with full-jitter exponential backoff, then answers 429 with Retry-After', async () => {
    // Prepare
    const { service, bedrock, time, usage } = aService({ bedrock: aBedrock({ claude4: [throttled()] }) });

    // Act
    const error = await failure(service.infer(TENANT, 'claude4', aRequest()));

    // Assess
    expect(error).toMatchObject({
      code: 'RATE_LIMITED',
      status: 429,
      retryAfter: 5,
      message: 'model claude4 is rate limited by Bedrock; retry after 5 s',
      details: { model_key: 'claude4', reason: 'throttled', service_error: 'ThrottlingException' },
    });
    // Half of min(2 s, 200 ms × 2^n): the jitter drew 0.5 each time; 8 attempts in all.
    expect(time.sleeps).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    expect(bedrock.calls).toHaveLength(8);
    expect(usage.calls).toHaveLength(1);
    expect(usage.calls[0]?.call).toMatchObject({ failed: true, inputTokens: 0, estimatedUsd: 0 });
  });

  it('never sleeps past the deadline: it stops retrying when the next wait would end too late', async () => {
    // Prepare
    const { service, bedrock, time } = aService({
      bedrock: aBedrock({ claude4: [throttled()] }),
      random: () => 0.999,
      deps: { deadlineMs: 3000 },
    });

    // Act
    const error = await failure(service.infer(TENANT, 'claude4', aRequest()));

    // Assess
    expect(error.status).toBe(429);
    expect(time.sleeps).toEqual([199, 399, 799]);
    expect(time.sleeps.reduce((sum, ms) => sum + ms, 0)).toBeLessThan(3000);
    expect(bedrock.calls).toHaveLength(4);
  });

  it('answers once a throttle clears', async () => {
    // Prepare
    const { service, bedrock } = aService({
      bedrock: aBedrock({ nova: [throttled(), unavailable(), aReply('done')] }),
    });

    // Act
    const answer = await service.infer(TENANT, 'nova', aRequest());

    // Assess
    expect(answer.response.content[0]?.text).toBe('done');
    expect(bedrock.calls).toHaveLength(3);
  });

  it('answers 503 with Retry-After when the service stays unavailable', async () => {
    // Prepare
    const { service } = aService({ sagemaker: aSageMaker({ 'qwen2-vl-7b': [unavailable()] }) });

    // Act
    const error = await failure(service.infer(TENANT, 'qwen2-vl-7b', aRequest()));

    // Assess
    expect(error).toMatchObject({ code: 'UNAVAILABLE', status: 503, retryAfter: 5 });
    expect(error.message).toMatch(
      /^model qwen2-vl-7b is briefly unavailable \(SageMaker endpoint synthforge-vlm/,
    );
  });

  it('answers 503 when the model does not answer within the deadline, and aborts the call', async () => {
    // Prepare
    const { service, sagemaker } = aService({
      sagemaker: aSageMaker({ 'qwen2-vl-7b': [{ hang: true, heeds: true }] }),
      deps: { deadlineMs: 200 },
    });

    // Act
    const error = await failure(service.infer(TENANT, 'qwen2-vl-7b', aRequest()));

    // Assess
    expect(error).toMatchObject({
      code: 'UNAVAILABLE',
      retryAfter: 10,
      message: 'model qwen2-vl-7b did not answer within 0.2 s',
      details: { reason: 'timeout' },
    });
    expect(sagemaker.calls[0]?.signal.aborted).toBe(true);
  });

  it('answers within the deadline even when a model ignores its abort signal', async () => {
    // Prepare
    const { service } = aService({
      bedrock: aBedrock({ claude4: [{ hang: true, heeds: false }] }),
      deps: { deadlineMs: 100 },
    });

    // Act
    const started = Date.now();
    const error = await failure(service.infer(TENANT, 'claude4', aRequest()));

    // Assess
    expect(error.details).toMatchObject({ reason: 'timeout' });
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('InferenceService.infer: a model scaled to zero', () => {
  it('answers 503 with when the waking component should be ready, without retrying', async () => {
    // Prepare
    const components = new FakeComponents({
      'synthforge-qwen2-vl-7b': {
        endpointStatus: 'InService',
        componentStatus: 'InService',
        desiredCopies: 1,
        currentCopies: 0,
        lastModified: new Date('2026-05-01T11:59:00.000Z'),
      },
    });
    const noCapacity = new ModelCallError('no_capacity', 'no capacity', 'ValidationError');
    const { service, sagemaker } = aService({
      components,
      sagemaker: aSageMaker({ 'qwen2-vl-7b': [noCapacity] }),
    });

    // Act
    const error = await failure(service.infer(TENANT, 'qwen2-vl-7b', aRequest()));

    // Assess
    expect(error).toMatchObject({
      code: 'UNAVAILABLE',
      status: 503,
      retryAfter: 240,
      message: 'model qwen2-vl-7b is scaled to zero and waking up; retry after 240 s',
      details: {
        reason: 'no_capacity',
        estimated_ready_at: '2026-05-01T12:04:00.000Z',
        component_name: 'synthforge-qwen2-vl-7b',
        copies: { desired: 1, current: 0 },
      },
    });
    expect(sagemaker.calls).toHaveLength(1);
  });

  it.each([
    [
      'a wake not started yet counts from now',
      { desiredCopies: 0, currentCopies: 0 },
      '2026-05-01T12:05:00.000Z',
    ],
    [
      'a wake overdue is expected 30 s from now',
      { desiredCopies: 1, currentCopies: 0, lastModified: new Date('2026-05-01T11:00:00.000Z') },
      '2026-05-01T12:00:30.000Z',
    ],
    [
      'a component that cannot be described counts from now',
      new Error('AccessDenied'),
      '2026-05-01T12:05:00.000Z',
    ],
  ])('%s', async (_case, state, readyAt) => {
    // Prepare
    const components = new FakeComponents({ 'synthforge-qwen2-vl-7b': state });
    const noCapacity = new ModelCallError('no_capacity', 'no capacity');
    const { service } = aService({ components, sagemaker: aSageMaker({ 'qwen2-vl-7b': [noCapacity] }) });

    // Act
    const error = await failure(service.infer(TENANT, 'qwen2-vl-7b', aRequest()));

    // Assess
    expect(error.details).toMatchObject({ estimated_ready_at: readyAt });
    expect(error.retryAfter).toBe((Date.parse(readyAt) - Date.parse('2026-05-01T12:00:00.000Z')) / 1000);
  });
});

describe("InferenceService.infer: the model's own failures", () => {
  it.each([
    ['model_error', 'MODEL_ERROR', 502, 'model claude4 failed on this request: the model crashed'],
    ['rejected', 'INVALID_PARAMETERS', 400, 'model claude4 refused the request: the model crashed'],
    ['denied', 'UNAVAILABLE', 503, /^this stage may not call model claude4 .*model access/],
    ['not_found', 'UNAVAILABLE', 503, /^model claude4 \(.*\) was not found in this account and region/],
  ] as const)('answers %s as %s %d', async (reason, code, status, message) => {
    // Prepare
    const { service, bedrock } = aService({
      bedrock: aBedrock({ claude4: [new ModelCallError(reason, 'the model crashed')] }),
    });

    // Act
    const error = await failure(service.infer(TENANT, 'claude4', aRequest()));

    // Assess
    expect(error).toMatchObject({ code, status });
    expect(error.message).toMatch(message);
    expect(bedrock.calls).toHaveLength(1);
  });

  it('answers a missing component as not deployed', async () => {
    // Prepare
    const { service } = aService({
      sagemaker: aSageMaker({
        'qwen2-vl-7b': [new ModelCallError('not_found', 'Inference component not found')],
      }),
    });

    // Act
    const error = await failure(service.infer(TENANT, 'qwen2-vl-7b', aRequest()));

    // Assess
    expect(error.message).toBe(
      'model qwen2-vl-7b is not deployed: SageMaker endpoint synthforge-vlm or its component ' +
        'synthforge-qwen2-vl-7b does not exist; deploy the stage (see the README)',
    );
  });
});

describe('InferenceService.infer: usage', () => {
  it('records a call with its tokens, latency and estimated cost', async () => {
    // Prepare
    const { service, usage, time } = aService({
      bedrock: aBedrock({ claude4: [throttled(), aReply('ok')] }),
    });

    // Act
    await service.infer(TENANT, 'claude4', aRequest());

    // Assess
    expect(usage.calls).toEqual([
      {
        tenant: TENANT,
        call: {
          modelKey: 'claude4',
          inputTokens: 1000,
          outputTokens: 500,
          latencyMs: time.sleeps[0],
          // 1000 × $3 + 500 × $15 per million tokens
          estimatedUsd: 0.0105,
          failed: false,
          at: new Date('2026-05-01T12:00:00.100Z'),
        },
      },
    ]);
  });

  it('answers even when usage cannot be recorded, and logs it', async () => {
    // Prepare
    const { service, usage, logs } = aService();
    usage.failing = true;

    // Act
    const answer = await service.infer(TENANT, 'nova', aRequest());

    // Assess
    expect(answer.response.content[0]?.text).toBe('a lighthouse');
    expect(logs).toContainEqual({
      message: 'could not record an inference call',
      details: { model_key: 'nova', error: 'Error: ProvisionedThroughputExceededException' },
    });
  });

  it("sums the tenant's usage by model", async () => {
    // Prepare
    const { service } = aService({
      bedrock: aBedrock({ claude4: [aReply(), new ModelCallError('model_error', 'x')] }),
    });
    await service.infer(TENANT, 'claude4', aRequest());
    await service.infer(TENANT, 'claude4', aRequest()).catch(() => undefined);
    await service.infer(TENANT, 'nova', aRequest());

    // Act
    const summary = await service.usageSummary(TENANT, new Date('2026-05-01'), new Date('2026-05-01'));

    // Assess
    expect(summary).toEqual({
      calls: 3,
      failed: 1,
      input_tokens: 2000,
      output_tokens: 1000,
      estimated_usd: 0.0105 + 0.0024,
      by_model: {
        claude4: {
          calls: 2,
          failed: 1,
          input_tokens: 1000,
          output_tokens: 500,
          estimated_usd: 0.0105,
          mean_latency_ms: 0,
        },
        nova: {
          calls: 1,
          failed: 0,
          input_tokens: 1000,
          output_tokens: 500,
          estimated_usd: 0.0024,
          mean_latency_ms: 0,
        },
      },
    });
  });
});
