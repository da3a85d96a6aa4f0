/**
 * The event stream parser on its own: whatever the chunking of the bytes (an event cut anywhere, a
 * character cut between its bytes, several events in one chunk), the same events come out, in order;
 * an `error` event is thrown after the events before it; a stream cut short is a network error.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StreamEvent } from '../../contracts/inference.ts';
import { NetworkError, SynthForgeError } from '../src/errors.ts';
import { inferenceEvents, serverSentEvents } from '../src/sse.ts';
import { DONE, delta, START } from './support/inference-fixtures.ts';

const SOURCE = { label: 'streamInference qwen2-vl-7b', status: 200, requestId: 'req-1' };

/** The bytes cut at the given offsets. */
function chunked(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

async function* fromChunks(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}

const encode = (text: string) => new TextEncoder().encode(text);

/** An event as the gateway writes it, with a chosen line ending (the standard allows LF, CRLF, CR). */
const wire = (event: { type: string }, eol = '\n') =>
  `event: ${event.type}${eol}data: ${JSON.stringify(event)}${eol}${eol}`;

async function collect(chunks: readonly Uint8Array[]): Promise<{ events: StreamEvent[]; error?: unknown }> {
  const events: StreamEvent[] = [];
  try {
    for await (const event of inferenceEvents(serverSentEvents(fromChunks(chunks)), SOURCE))
      events.push(event);
    return { events };
  } catch (error) {
    return { events, error };
  }
}

describe('inferenceEvents(serverSentEvents(chunks))', () => {
  it('yields the same events however the bytes are cut', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: 'grapheme', maxLength: 12 }), { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        fc.constantFrom('\n', '\r\n', '\r'),
        fc.boolean(),
        async (texts, cuts, eol, keepAlive) => {
          // Prepare
          const expected = [START, ...texts.map(delta), DONE];
          const comment = keepAlive ? `: keep-alive${eol}${eol}` : '';
          const bytes = encode(expected.map((event) => comment + wire(event, eol)).join(''));

          // Act
          const { events, error } = await collect(chunked(bytes, cuts));

          // Assess
          expect(error).toBeUndefined();
          expect(events).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('throws an error event as a SynthForgeError, after the events before it', async () => {
    // Prepare
    const failure = { type: 'error', error: 'the model failed', code: 'model_error', status: 500 };
    const throttled = {
      type: 'error',
      error: 'slow down',
      code: 'rate_limited',
      status: 429,
      retry_after: 3,
    };

    // Act
    const failed = await collect([encode(wire(START) + wire(delta('Hel')) + wire(failure) + wire(DONE))]);
    const limited = await collect([encode(wire(START) + wire(throttled))]);

    // Assess
    expect(failed.events).toEqual([START, delta('Hel')]);
    expect(failed.error).toBeInstanceOf(SynthForgeError);
    expect(failed.error).toMatchObject({
      status: 500,
      code: 'MODEL_ERROR',
      message: 'the model failed',
      requestId: 'req-1',
    });
    expect(limited.error).toMatchObject({
      status: 429,
      code: 'RATE_LIMITED',
      retryAfterMs: 3000,
      retryAfter: 3,
    });
  });

  it('stops at done, skips events it does not know, and refuses data off the contract', async () => {
    // Act
    const done = await collect([
      encode(`${wire(START)}event: ping\ndata: {}\n\n${wire(DONE)}${wire(delta('late'))}`),
    ]);
    const invalid = await collect([encode(`${wire(START)}event: delta\ndata: {"type":"delta"}\n\n`)]);
    const notJson = await collect([encode('event: delta\ndata: Hello\n\n')]);

    // Assess
    expect(done).toEqual({ events: [START, DONE] });
    expect(invalid.events).toEqual([START]);
    expect(invalid.error).toMatchObject({ code: 'INVALID_RESPONSE', status: 200 });
    expect((invalid.error as Error).message).toContain('text');
    expect(notJson.error).toMatchObject({ code: 'INVALID_RESPONSE' });
  });

  it('is a NetworkError when the body ends before done, an unfinished event included', async () => {
    // Act
    const cut = await collect([encode(`${wire(START)}${wire(delta('Hi'))}event: done\ndata: {"type":"do`)]);

    // Assess
    expect(cut.events).toEqual([START, delta('Hi')]);
    expect(cut.error).toBeInstanceOf(NetworkError);
    expect((cut.error as Error).message).toContain('ended before its done event');
  });
});
