/**
 * Seed 003's `POST /api/stream/{model_name}`: whatever fails before the model's first event is a
 * DomainError (the route still answers its own status); once the first event is out, a failure is
 * one `error` event that ends the stream, and `done` carries the usage.
 */
import { describe, expect, it } from 'vitest';
import { type StreamEvent, StreamEvent as StreamEventSchema } from '../../../../contracts/inference.ts';
import { ModelCallError } from '../../../../lambdas/domain/inference/ports.ts';
import type { InferenceStream } from '../../../../lambdas/domain/inference/service.ts';
import { aBedrock, aRequest, aSageMaker, aService, FakeComponents, failure, TENANT } from './fakes.ts';

const end = { type: 'end', id: 'msg_9', inputTokens: 12, outputTokens: 3, stopReason: 'end_turn' } as const;
const delta = (text: string) => ({ type: 'delta', text }) as const;

/** Every event, `start` first. */
async function readEvents(stream: InferenceStream): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const event of stream.events) events.push(StreamEventSchema.parse(event));
  return events;
}

/** The events after `start`. */
async function readAll(stream: InferenceStream): Promise<StreamEvent[]> {
  const [start, ...events] = await readEvents(stream);
  expect(start?.type).toBe('start');
  return events;
}

describe('InferenceService.stream', () => {
  it('opens on the first event, then gives the deltas and a done with the usage', async () => {
    // Prepare
    const { service, usage } = aService({
      bedrock: aBedrock({}, { claude4: [[delta('a '), delta('red '), delta('square'), end]] }),
    });

    // Act
    const stream = await service.stream(TENANT, 'claude4', aRequest());
    const [start, ...events] = await readEvents(stream);

    // Assess
    expect(start).toMatchObject({
      type: 'start',
      request: { frames_count: 0, media_type: 'image' },
      model: { key: 'claude4', provider: 'bedrock', emulated: false },
    });
    expect(events).toEqual([
      { type: 'delta', text: 'a ' },
      { type: 'delta', text: 'red ' },
      { type: 'delta', text: 'square' },
      {
        type: 'done',
        id: 'msg_9',
        usage: { input_tokens: 12, output_tokens: 3 },
        stop_reason: 'end_turn',
        latency_ms: 0,
      },
    ]);
    expect(usage.calls.map(({ call }) => call)).toEqual([
      expect.objectContaining({ modelKey: 'claude4', inputTokens: 12, outputTokens: 3, failed: false }),
    ]);
  });

  it('throws for a model waking from zero, so the route answers 503 with when it should be ready', async () => {
    // Prepare
    const components = new FakeComponents({
      'synthforge-qwen2-vl-7b': {
        desiredCopies: 1,
        currentCopies: 0,
        lastModified: new Date('2026-05-01T11:58:00Z'),
      },
    });
    const { service, usage } = aService({
      components,
      sagemaker: aSageMaker({}, { 'qwen2-vl-7b': [new ModelCallError('no_capacity', 'no capacity')] }),
    });

    // Act
    const error = await failure(service.stream(TENANT, 'qwen2-vl-7b', aRequest()));

    // Assess
    expect(error).toMatchObject({
      status: 503,
      retryAfter: 180,
      details: { estimated_ready_at: '2026-05-01T12:03:00.000Z' },
    });
    expect(usage.calls.map(({ call }) => call.failed)).toEqual([true]);
  });

  it('retries a throttled start, and throws 429 once the retries are spent', async () => {
    // Prepare
    const throttled = new ModelCallError('throttled', 'slow down');
    const { service, bedrock, time } = aService({
      bedrock: aBedrock({}, { nova: [throttled, throttled, [delta('ok'), end]], claude4: [throttled] }),
    });

    // Act
    const nova = await readAll(await service.stream(TENANT, 'nova', aRequest()));
    const claude = await failure(service.stream(TENANT, 'claude4', aRequest()));

    // Assess
    expect(nova.map((event) => event.type)).toEqual(['delta', 'done']);
    expect(claude).toMatchObject({ status: 429, retryAfter: 5 });
    expect(bedrock.streams.filter((stream) => stream.key === 'nova')).toHaveLength(3);
    expect(time.sleeps.length).toBeGreaterThan(2);
  });

  it('throws before calling anything for bad input or a model not deployed', async () => {
    // Prepare
    const { service, bedrock, sagemaker } = aService();

    // Act
    const badFrame = await failure(service.stream(TENANT, 'claude4', aRequest({ frames: ['QQ='] })));
    const notDeployed = await failure(service.stream(TENANT, 'gemma-3-4b', aRequest()));
    const unknown = await failure(service.stream(TENANT, 'gpt-5', aRequest()));

    // Assess
    expect([badFrame.status, notDeployed.status, unknown.status]).toEqual([400, 503, 400]);
    expect([bedrock.streams, sagemaker.streams]).toEqual([[], []]);
  });

  it('throws 503 when the first event does not come within the deadline', async () => {
    // Prepare
    const { service, sagemaker } = aService({
      deps: { deadlineMs: 100 },
      sagemaker: aSageMaker({}, { 'qwen2-vl-7b': [[{ hang: true }]] }),
    });

    // Act
    const error = await failure(service.stream(TENANT, 'qwen2-vl-7b', aRequest()));

    // Assess
    expect(error).toMatchObject({ status: 503, message: 'model qwen2-vl-7b did not answer within 0.1 s' });
    expect(sagemaker.streams[0]?.signal.aborted).toBe(true);
  });

  it('ends with one error event when the model fails after its first event', async () => {
    // Prepare
    const { service, usage } = aService({
      bedrock: aBedrock(
        {},
        {
          claude4: [
            [
              delta('half'),
              new ModelCallError('model_error', 'stream interrupted', 'ModelStreamErrorException'),
            ],
          ],
          nova: [[delta('x'), new ModelCallError('throttled', 'too many tokens')]],
        },
      ),
    });

    // Act
    const claude = await readAll(await service.stream(TENANT, 'claude4', aRequest()));
    const nova = await readAll(await service.stream(TENANT, 'nova', aRequest()));

    // Assess
    expect(claude).toEqual([
      { type: 'delta', text: 'half' },
      {
        type: 'error',
        error: 'model claude4 failed on this request: stream interrupted',
        code: 'model_error',
        status: 500,
      },
    ]);
    expect(nova.at(-1)).toEqual({
      type: 'error',
      error: 'model nova is rate limited by Bedrock; retry after 5 s',
      code: 'rate_limited',
      status: 429,
      retry_after: 5,
    });
    expect(usage.calls.map(({ call }) => [call.modelKey, call.failed, call.outputTokens])).toEqual([
      ['claude4', true, 1],
      ['nova', true, 1],
    ]);
  });

  it('ends with an error event when the stream stops without its final event', async () => {
    // Prepare
    const { service } = aService({ bedrock: aBedrock({}, { nova: [[delta('cut')]] }) });

    // Act
    const events = await readAll(await service.stream(TENANT, 'nova', aRequest()));

    // Assess
    expect(events.at(-1)).toMatchObject({
      type: 'error',
      code: 'model_error',
      error: 'model nova failed on this request: its stream ended without its final event',
    });
  });

  it('ends with a timeout event when the whole answer outlasts its deadline', async () => {
    // Prepare
    const { service, usage } = aService({
      deps: { streamDeadlineMs: 100 },
      bedrock: aBedrock({}, { nova: [[delta('slow'), { hang: true }]] }),
    });

    // Act
    const events = await readAll(await service.stream(TENANT, 'nova', aRequest()));

    // Assess
    expect(events.at(-1)).toEqual({
      type: 'error',
      error: 'model nova did not answer within 0.1 s',
      code: 'unavailable',
      status: 503,
      retry_after: 10,
    });
    expect(usage.calls.map(({ call }) => [call.failed, call.outputTokens])).toEqual([[true, 1]]);
  });

  it("ends the model's call when the reader leaves early, recording its tokens so far as failed", async () => {
    // Prepare
    const { service, bedrock, usage } = aService({
      bedrock: aBedrock({}, { nova: [[delta('one'), delta('two three four'), delta('five'), end]] }),
    });

    // Act
    const stream = await service.stream(TENANT, 'nova', aRequest());
    for await (const event of stream.events) {
      if (event.type === 'delta' && event.text !== 'one') break;
    }

    // Assess: recorded by the time the loop is over, with the deltas the model sent (1 + 4 tokens)
    expect(bedrock.streams[0]?.signal.aborted).toBe(true);
    expect(usage.calls.map(({ call }) => call)).toEqual([
      expect.objectContaining({ modelKey: 'nova', inputTokens: 0, outputTokens: 5, failed: true }),
    ]);
  });

  it('ends the events when the client left before they are read, and records the call as they end', async () => {
    // Prepare
    const { service, bedrock, usage } = aService({
      bedrock: aBedrock({}, { nova: [[delta('first'), delta('second'), end]] }),
    });
    const stream = await service.stream(TENANT, 'nova', aRequest());

    // Act
    stream.abort();
    const recordedOnAbort = usage.calls.length;
    const read = await readEvents(stream);

    // Assess: the first delta came before the client left (5 characters: 2 tokens); nobody reads an error
    expect(recordedOnAbort).toBe(0);
    expect(read.map((event) => event.type)).toEqual(['start']);
    expect(bedrock.streams[0]?.signal.aborted).toBe(true);
    expect(usage.calls.map(({ call }) => [call.failed, call.outputTokens])).toEqual([[true, 2]]);
  });

  it('ends the events where the model is when the client leaves while it is producing', async () => {
    // Prepare
    const { service, bedrock, usage } = aService({
      bedrock: aBedrock({}, { nova: [[delta('first'), { hang: true }]] }),
    });
    const stream = await service.stream(TENANT, 'nova', aRequest());
    const read: StreamEvent[] = [];

    // Act
    for await (const event of stream.events) {
      read.push(event);
      // The model now hangs: the client leaves while the events wait for it.
      if (event.type === 'delta') setImmediate(() => stream.abort());
    }

    // Assess
    expect(read.map((event) => event.type)).toEqual(['start', 'delta']);
    expect(bedrock.streams[0]?.signal.aborted).toBe(true);
    expect(usage.calls.map(({ call }) => [call.failed, call.outputTokens])).toEqual([[true, 2]]);
  });
});
