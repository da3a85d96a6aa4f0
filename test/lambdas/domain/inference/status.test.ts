/**
 * Seed 003's `GET /api/emd/status` and `GET /api/emd/models`: each EMD model's component as
 * SageMaker describes it, reduced to the state a caller acts on, and the whole catalogue with it.
 */
import { describe, expect, it } from 'vitest';
import { EmdModelList, EmdStatus } from '../../../../contracts/inference.ts';
import { LOCAL_VISION_MODEL } from '../../../../contracts/inference-models.ts';
import type { ComponentState } from '../../../../lambdas/domain/inference/ports.ts';
import { aService, CLAUDE, FakeComponents, GEMMA, NOVA, QWEN, UI_TARS } from './fakes.ts';

const IN_SERVICE = { endpointStatus: 'InService', componentStatus: 'InService' };

async function statusAndLogs(state: ComponentState | Error | undefined) {
  const components = new FakeComponents({ 'synthforge-qwen2-vl-7b': state });
  const { service, logs } = aService({ components, models: [QWEN] });
  const status = await service.status();
  expect(EmdStatus.parse(status)).toEqual(status);
  return { status: status.models[0], logs };
}

async function statusOf(state: ComponentState | Error | undefined) {
  return (await statusAndLogs(state)).status;
}

/** SageMaker's refusal names the Lambda's role, and so the account. */
const ACCESS_DENIED =
  'AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/synthforge-prod-Api/fn is not ' +
  'authorized to perform: sagemaker:DescribeInferenceComponent on resource: ' +
  'arn:aws:sagemaker:us-east-1:123456789012:inference-component/synthforge-qwen2-vl-7b';

describe('InferenceService.status', () => {
  it('is ready with a copy in service, with its endpoint, copies and instances', async () => {
    // Act
    const status = await statusOf({
      ...IN_SERVICE,
      desiredCopies: 1,
      currentCopies: 1,
      instances: { current: 1, min: 0, max: 2 },
    });

    // Assess
    expect(status).toEqual({
      model_key: 'qwen2-vl-7b',
      model_id: 'Qwen/Qwen2-VL-7B-Instruct',
      deployed: true,
      state: 'ready',
      endpoint_name: 'synthforge-vlm',
      endpoint_status: 'InService',
      component_name: 'synthforge-qwen2-vl-7b',
      component_status: 'InService',
      copies: { desired: 1, current: 1 },
      instances: { current: 1, min: 0, max: 2 },
      instance_type: 'ml.g5.2xlarge',
    });
  });

  it('is warming while copies are wanted and not there, with when it should be ready', async () => {
    // Act
    const status = await statusOf({
      ...IN_SERVICE,
      desiredCopies: 1,
      currentCopies: 0,
      lastModified: new Date('2026-05-01T11:59:00.000Z'),
    });

    // Assess
    expect(status).toMatchObject({ state: 'warming', estimated_ready_at: '2026-05-01T12:04:00.000Z' });
  });

  it('is scaled to zero with no copy wanted nor running', async () => {
    // Act
    const status = await statusOf({ ...IN_SERVICE, desiredCopies: 0, currentCopies: 0 });

    // Assess
    expect(status).toMatchObject({ state: 'scaled_to_zero', copies: { desired: 0, current: 0 } });
  });

  it('is failed with SageMaker’s reason', async () => {
    // Act
    const status = await statusOf({
      endpointStatus: 'InService',
      componentStatus: 'Failed',
      desiredCopies: 1,
      currentCopies: 0,
      failureReason: 'CUDA out of memory',
    });

    // Assess
    expect(status).toMatchObject({ state: 'failed', message: 'CUDA out of memory' });
  });

  it('is not deployed when its component does not exist, and unknown when it cannot be described', async () => {
    // Act
    const absent = await statusOf(undefined);
    const unreadable = await statusOf(new Error('AccessDeniedException'));

    // Assess
    expect(absent).toMatchObject({ deployed: true, state: 'not_deployed' });
    expect(unreadable).toMatchObject({
      state: 'unknown',
      message: expect.stringContaining('AccessDeniedException'),
    });
  });

  it('answers an unreadable state without the role ARN nor the account, which only the log keeps', async () => {
    // Act
    const { status, logs } = await statusAndLogs(new Error(ACCESS_DENIED));

    // Assess
    expect(status).toMatchObject({
      state: 'unknown',
      message:
        'its state could not be read: Error: AccessDeniedException: User: <arn> is not authorized to ' +
        'perform: sagemaker:DescribeInferenceComponent on resource: <arn>',
    });
    expect(JSON.stringify(status)).not.toMatch(/123456789012|arn:aws/);
    expect(JSON.stringify(logs)).toContain('arn:aws:sts::123456789012:assumed-role/synthforge-prod-Api/fn');
  });

  it('answers a failure reason without its ARNs nor the account, which only the log keeps', async () => {
    // Act
    const { status, logs } = await statusAndLogs({
      endpointStatus: 'InService',
      componentStatus: 'Failed',
      desiredCopies: 1,
      currentCopies: 0,
      failureReason: `Could not pull the image: ${ACCESS_DENIED}`,
    });

    // Assess
    expect(status).toMatchObject({ state: 'failed', message: expect.stringMatching(/^Could not pull/) });
    expect(JSON.stringify(status)).not.toMatch(/123456789012|arn:aws/);
    expect(JSON.stringify(logs)).toContain('123456789012');
  });

  it('lists every EMD model, the ones the stage does not deploy too, described in parallel', async () => {
    // Prepare
    const components = new FakeComponents(
      {
        'synthforge-qwen2-vl-7b': { ...IN_SERVICE, desiredCopies: 1, currentCopies: 1 },
        'synthforge-ui-tars-1-5-7b': { ...IN_SERVICE, desiredCopies: 0, currentCopies: 0 },
      },
      20,
    );
    const { service } = aService({
      components,
      models: [CLAUDE, { ...QWEN, emulated: true }, UI_TARS, GEMMA],
    });

    // Act
    const status = await service.status();

    // Assess
    expect(status.time).toBe('2026-05-01T12:00:00.000Z');
    expect(status.models.map((model) => [model.model_key, model.deployed, model.state])).toEqual([
      ['qwen2-vl-7b', true, 'ready'],
      ['ui-tars-1.5-7b', true, 'scaled_to_zero'],
      ['gemma-3-4b', false, 'not_deployed'],
    ]);
    expect(status.models[0]?.answered_by).toBe(LOCAL_VISION_MODEL);
    expect(status.models[2]?.message).toMatch(/^not deployed in this stage/);
    expect(components.described).toEqual(['synthforge-qwen2-vl-7b', 'synthforge-ui-tars-1-5-7b']);
    expect(components.maxInFlight).toBe(2);
  });
});

describe('InferenceService.models', () => {
  it('lists the whole catalogue, Bedrock and EMD, each with whether it is deployed and its state', async () => {
    // Prepare
    const components = new FakeComponents({
      'synthforge-qwen2-vl-7b': { ...IN_SERVICE, desiredCopies: 0, currentCopies: 0 },
    });
    const offline = { ...NOVA, unavailable: 'no AWS credentials' };
    const { service } = aService({ components, models: [CLAUDE, offline, QWEN, GEMMA] });

    // Act
    const list = await service.models();

    // Assess
    expect(EmdModelList.parse(list)).toEqual(list);
    expect(list.models).toEqual([
      {
        model_key: 'claude4',
        model_id: CLAUDE.modelId,
        name: 'Claude Sonnet 4',
        provider: 'bedrock',
        deployed: true,
        state: 'ready',
        media: ['image'],
      },
      expect.objectContaining({ model_key: 'nova', deployed: false, state: 'not_deployed' }),
      expect.objectContaining({ model_key: 'qwen2-vl-7b', deployed: true, state: 'scaled_to_zero' }),
      expect.objectContaining({ model_key: 'gemma-3-4b', deployed: false, state: 'not_deployed' }),
    ]);
  });
});
