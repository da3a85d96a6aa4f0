/** An EMD model's component and endpoint as SageMaker describes them, or nothing where either is missing. */
import {
  DescribeEndpointCommand,
  type DescribeEndpointCommandOutput,
  DescribeInferenceComponentCommand,
  type DescribeInferenceComponentCommandOutput,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { SageMakerComponentStatus } from '../../../../lambdas/adapters/sagemaker/component-status.ts';

const control = mockClient(SageMakerClient);
const status = () => new SageMakerComponentStatus(new SageMakerClient({ region: 'us-east-1' }));

const DEPLOYMENT = {
  endpointName: 'synthforge-dev-vlm',
  componentName: 'synthforge-dev-qwen2-vl-7b',
  instanceType: 'ml.g5.2xlarge',
  wakeSeconds: 600,
};
const WAKE_STARTED = new Date('2031-01-01T10:00:00.000Z');

function component(overrides: Partial<DescribeInferenceComponentCommandOutput> = {}) {
  return {
    InferenceComponentName: DEPLOYMENT.componentName,
    InferenceComponentArn: 'arn:ic',
    EndpointName: DEPLOYMENT.endpointName,
    EndpointArn: 'arn:ep',
    VariantName: 'AllTraffic',
    RuntimeConfig: { DesiredCopyCount: 1, CurrentCopyCount: 0 },
    InferenceComponentStatus: 'InService' as const,
    CreationTime: new Date('2031-01-01T00:00:00.000Z'),
    LastModifiedTime: WAKE_STARTED,
    $metadata: {},
    ...overrides,
  };
}

function endpoint(overrides: Partial<DescribeEndpointCommandOutput> = {}) {
  return {
    EndpointName: DEPLOYMENT.endpointName,
    EndpointArn: 'arn:ep',
    EndpointStatus: 'Updating' as const,
    CreationTime: new Date('2031-01-01T00:00:00.000Z'),
    LastModifiedTime: WAKE_STARTED,
    ProductionVariants: [
      {
        VariantName: 'AllTraffic',
        CurrentInstanceCount: 1,
        DesiredInstanceCount: 1,
        ManagedInstanceScaling: { Status: 'ENABLED' as const, MinInstanceCount: 0, MaxInstanceCount: 2 },
      },
    ],
    $metadata: {},
    ...overrides,
  };
}

const missing = (what: string) =>
  Object.assign(new Error(`Could not find ${what}.`), { name: 'ValidationException' });

beforeEach(() => control.reset());

describe('SageMakerComponentStatus.describe', () => {
  it('reads the copies, the instances and when the wake started, from both descriptions', async () => {
    // Prepare
    control.on(DescribeInferenceComponentCommand).resolves(component());
    control.on(DescribeEndpointCommand).resolves(endpoint());

    // Act
    const state = await status().describe(DEPLOYMENT);

    // Assess
    expect(state).toEqual({
      endpointStatus: 'Updating',
      componentStatus: 'InService',
      desiredCopies: 1,
      currentCopies: 0,
      instances: { current: 1, min: 0, max: 2 },
      lastModified: WAKE_STARTED,
    });
    expect(control).toHaveReceivedCommandWith(DescribeInferenceComponentCommand, {
      InferenceComponentName: DEPLOYMENT.componentName,
    });
    expect(control).toHaveReceivedCommandWith(DescribeEndpointCommand, {
      EndpointName: DEPLOYMENT.endpointName,
    });
  });

  it("gives the failure reason, and a fixed-size endpoint's bounds as its desired count", async () => {
    // Prepare
    control.on(DescribeInferenceComponentCommand).resolves(
      component({
        InferenceComponentStatus: 'Failed',
        FailureReason: 'CUDA out of memory',
        RuntimeConfig: { DesiredCopyCount: 0, CurrentCopyCount: 0 },
      }),
    );
    control.on(DescribeEndpointCommand).resolves(
      endpoint({
        EndpointStatus: 'InService',
        ProductionVariants: [{ VariantName: 'AllTraffic', CurrentInstanceCount: 1, DesiredInstanceCount: 1 }],
      }),
    );

    // Act
    const state = await status().describe(DEPLOYMENT);

    // Assess
    expect(state).toMatchObject({
      componentStatus: 'Failed',
      failureReason: 'CUDA out of memory',
      desiredCopies: 0,
      instances: { current: 1, min: 1, max: 1 },
    });
  });

  it.each([
    [
      'the component',
      () => control.on(DescribeInferenceComponentCommand).rejects(missing('inference component')),
    ],
    ['the endpoint', () => control.on(DescribeEndpointCommand).rejects(missing('endpoint'))],
  ])('answers undefined when %s does not exist', async (_what, makeMissing) => {
    // Prepare
    control.on(DescribeInferenceComponentCommand).resolves(component());
    control.on(DescribeEndpointCommand).resolves(endpoint());
    makeMissing();

    // Act
    const state = await status().describe(DEPLOYMENT);

    // Assess
    expect(state).toBeUndefined();
  });

  it('throws any other failure (the caller reports the state unknown)', async () => {
    // Prepare
    control.on(DescribeInferenceComponentCommand).resolves(component());
    control
      .on(DescribeEndpointCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    // Act
    const error = await status()
      .describe(DEPLOYMENT)
      .catch((reason: unknown) => reason);

    // Assess
    expect(error).toMatchObject({ name: 'ThrottlingException' });
  });
});
