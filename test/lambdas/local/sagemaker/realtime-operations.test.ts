import { describe, expect, it } from 'vitest';
import type {
  RealtimeEndpoint,
  RealtimeHost,
} from '../../../../lambdas/local/sagemaker/realtime-endpoints.ts';
import { realtimeOperations } from '../../../../lambdas/local/sagemaker/realtime-operations.ts';
import type { RealtimeInvocation } from '../../../../lambdas/local/sagemaker/realtime-protocol.ts';

/** An endpoint that must not be reached: the host answers before it would. */
const unreachable = {
  invoke: () => Promise.reject(new Error('the endpoint was invoked')),
  invokeStream: () => Promise.reject(new Error('the endpoint was invoked')),
  component: () => undefined,
} as unknown as RealtimeEndpoint;

function operations(stopping: boolean) {
  return realtimeOperations({
    endpoints: new Map([['rt-live', unreachable]]),
    isAsyncEndpoint: (name) => name === 'async-ep',
    host: { stopping, accountId: '000000000000', region: 'us-east-1' } as RealtimeHost,
  });
}

const invocation = (endpointName: string): RealtimeInvocation => ({
  endpointName,
  componentName: 'ic',
  body: Buffer.from('{}'),
  signal: new AbortController().signal,
  answered: Promise.resolve(),
});

/** The error an operation answers with, thrown at once or rejected. */
const failureOf = (call: () => Promise<unknown>) =>
  Promise.resolve()
    .then(call)
    .then(
      () => undefined,
      (error: unknown) => error,
    );

describe('realtimeOperations', () => {
  it('answers every invocation with ServiceUnavailable 503 while the host stops, not "not found"', async () => {
    // Prepare
    const stopping = operations(true);

    // Act
    const invoked = await failureOf(() => stopping.invokeEndpoint(invocation('rt-live')));
    const streamed = await failureOf(() => stopping.invokeEndpointWithResponseStream(invocation('rt-live')));
    const asynchronous = await failureOf(() => stopping.invokeEndpoint(invocation('async-ep')));

    // Assess
    for (const error of [invoked, streamed, asynchronous])
      expect(error).toMatchObject({ status: 503, type: 'ServiceUnavailable' });
  });

  it('still answers an unknown endpoint and an asynchronous one with ValidationError 400 while it runs', async () => {
    // Prepare
    const running = operations(false);

    // Act
    const unknown = await failureOf(() => running.invokeEndpoint(invocation('rt-none')));
    const asynchronous = await failureOf(() => running.invokeEndpoint(invocation('async-ep')));

    // Assess
    expect(unknown).toMatchObject({
      status: 400,
      type: 'ValidationError',
      bodyMessage: 'Endpoint rt-none of account 000000000000 not found.',
    });
    expect(asynchronous).toMatchObject({
      status: 400,
      bodyMessage: expect.stringContaining('InvokeEndpointAsync'),
    });
  });
});
