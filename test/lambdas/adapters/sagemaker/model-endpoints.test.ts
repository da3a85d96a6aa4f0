import { DescribeEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointAsyncCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SageMakerModelEndpoints } from '../../../../lambdas/adapters/sagemaker/model-endpoints.ts';

const ENDPOINT = 'synthforge-dev-stable-diffusion-v1-5';
const control = mockClient(SageMakerClient);
const runtime = mockClient(SageMakerRuntimeClient);

function endpoints(describeCacheMs?: number) {
  return new SageMakerModelEndpoints(new SageMakerRuntimeClient({}), new SageMakerClient({}), {
    bucket: 'outputs',
    ...(describeCacheMs === undefined ? {} : { describeCacheMs }),
  });
}

function serving(instances: number) {
  return {
    EndpointName: ENDPOINT,
    EndpointStatus: 'InService' as const,
    ProductionVariants: [{ VariantName: 'AllTraffic', CurrentInstanceCount: instances }],
    EndpointArn: 'arn',
    CreationTime: new Date(),
    LastModifiedTime: new Date(),
  };
}

beforeEach(() => {
  control.reset();
  runtime.reset();
  vi.useFakeTimers({ toFake: ['Date'] });
});
afterEach(() => vi.useRealTimers());

describe('SageMakerModelEndpoints.describe', () => {
  it('reads an endpoint once for every caller within the cache window, and again after it', async () => {
    // Prepare
    control.on(DescribeEndpointCommand).resolvesOnce(serving(0)).resolves(serving(1));
    const models = endpoints(5000);

    // Act
    const together = await Promise.all([models.describe(ENDPOINT), models.describe(ENDPOINT)]);
    vi.advanceTimersByTime(4000);
    const soonAfter = await models.describe(ENDPOINT);
    vi.advanceTimersByTime(1500);
    const later = await models.describe(ENDPOINT);

    // Assess
    expect(together).toEqual([
      { status: 'InService', instances: 0 },
      { status: 'InService', instances: 0 },
    ]);
    expect(soonAfter?.instances).toBe(0);
    expect(later?.instances).toBe(1);
    expect(control).toHaveReceivedCommandTimes(DescribeEndpointCommand, 2);
  });

  it('does not keep a failed read: the next caller asks again', async () => {
    // Prepare
    control
      .on(DescribeEndpointCommand)
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))
      .resolves(serving(2));
    const models = endpoints();

    // Act
    const first = await models.describe(ENDPOINT).catch((error: Error) => error);
    const second = await models.describe(ENDPOINT);

    // Assess
    expect(first).toBeInstanceOf(Error);
    expect(second).toEqual({ status: 'InService', instances: 2 });
  });

  it('answers undefined for an endpoint that does not exist', async () => {
    // Prepare
    control
      .on(DescribeEndpointCommand)
      .rejects(
        Object.assign(new Error(`Could not find endpoint "${ENDPOINT}".`), { name: 'ValidationException' }),
      );

    // Act
    const description = await endpoints().describe(ENDPOINT);

    // Assess
    expect(description).toBeUndefined();
  });
});

describe('SageMakerModelEndpoints.invokeAsync', () => {
  const request = {
    endpointName: ENDPOINT,
    inputKey: 'tenant-a/jobs/01J/request.json',
    inferenceId: '01J',
    invocationTimeoutSeconds: 600,
    requestTtlSeconds: 3600,
  };

  it("names SageMaker's bare 400 {message: null} a throttle, which the workflow retries", async () => {
    // Prepare
    runtime
      .on(InvokeEndpointAsyncCommand)
      .rejects(
        Object.assign(new Error(), { name: 'Error', message: null, $metadata: { httpStatusCode: 400 } }),
      );

    // Act
    const error = (await endpoints()
      .invokeAsync(request)
      .catch((e: unknown) => e)) as Error;

    // Assess
    expect(error.name).toBe('EndpointThrottled');
  });

  it('names any other refusal EndpointUnavailable, which fails the item, and sends the S3 input', async () => {
    // Prepare
    runtime
      .on(InvokeEndpointAsyncCommand)
      .rejects(Object.assign(new Error('Endpoint not found'), { name: 'ValidationError' }));

    // Act
    const error = (await endpoints()
      .invokeAsync(request)
      .catch((e: unknown) => e)) as Error;

    // Assess
    expect(error.name).toBe('EndpointUnavailable');
    expect(error.message).toContain('Endpoint not found');
    expect(runtime).toHaveReceivedCommandWith(InvokeEndpointAsyncCommand, {
      EndpointName: ENDPOINT,
      InputLocation: 's3://outputs/tenant-a/jobs/01J/request.json',
      InferenceId: '01J',
      RequestTTLSeconds: 3600,
    });
  });
});
