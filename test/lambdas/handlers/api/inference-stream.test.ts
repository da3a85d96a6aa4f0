/**
 * `POST /api/stream/{model_name}` when the client leaves: the model's call stops, and the call is
 * recorded, with the tokens the model sent, before the invocation ends (a Lambda on Node 24 does not
 * wait for work left running after its handler resolves).
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { inferenceStreamRoutes } from '../../../../lambdas/handlers/api/inference-stream.ts';
import { createStreamingApiHandler, type ResponseSink } from '../../../../lambdas/http/stream-handler.ts';
import { loadEvent } from '../../../support/fixtures.ts';
import { aBedrock, aService, TENANT } from '../../domain/inference/fakes.ts';

const streamEvent = (): APIGatewayProxyEvent => {
  const base = loadEvent<APIGatewayProxyEvent>('apigateway/rest-proxy-post.json');
  return {
    ...base,
    resource: '/api/stream/{model_name}',
    path: '/api/stream/nova',
    httpMethod: 'POST',
    pathParameters: { model_name: 'nova' },
    body: JSON.stringify({ text: 'Describe this image' }),
    isBase64Encoded: false,
    requestContext: { ...base.requestContext, authorizer: { tenant: TENANT } },
  } as APIGatewayProxyEvent;
};

/** A sink whose client leaves once `leaveAfter` events are written. */
function leavingSink(leaveAfter: number) {
  const client = new AbortController();
  const writes: string[] = [];
  const sink: ResponseSink = {
    head: () => undefined,
    async write(chunk) {
      writes.push(chunk);
      if (writes.length === leaveAfter) client.abort();
    },
    end: () => undefined,
    signal: client.signal,
  };
  return { sink, writes };
}

describe('inferenceStreamRoutes', () => {
  it('stops the model when the client leaves mid-answer, and records the call before it returns', async () => {
    // Prepare: the model sends a delta, then works on for a long time
    const { service, bedrock, usage } = aService({
      bedrock: aBedrock({}, { nova: [[{ type: 'delta', text: 'a red square' }, { hang: true }]] }),
    });
    const handler = createStreamingApiHandler(inferenceStreamRoutes({ inference: service } as never));
    const { sink, writes } = leavingSink(2);

    // Act
    await handler(streamEvent(), sink);

    // Assess: `start` and the delta went out; the call was recorded once, with the delta's 3 tokens
    expect(writes.map((chunk) => /^event: (\w+)/.exec(chunk)?.[1])).toEqual(['start', 'delta']);
    expect(bedrock.streams[0]?.signal.aborted).toBe(true);
    expect(usage.calls.map(({ call }) => call)).toEqual([
      expect.objectContaining({ modelKey: 'nova', outputTokens: 3, failed: true }),
    ]);
  });

  it('records the call before it returns when the client leaves right after `start`', async () => {
    // Prepare
    const { service, bedrock, usage } = aService({
      bedrock: aBedrock({}, { nova: [[{ type: 'delta', text: 'a red square' }, { hang: true }]] }),
    });
    const handler = createStreamingApiHandler(inferenceStreamRoutes({ inference: service } as never));
    const { sink, writes } = leavingSink(1);

    // Act
    await handler(streamEvent(), sink);

    // Assess
    expect(writes).toHaveLength(1);
    expect(bedrock.streams[0]?.signal.aborted).toBe(true);
    expect(usage.calls.map(({ call }) => [call.failed, call.outputTokens])).toEqual([[true, 3]]);
  });
});
