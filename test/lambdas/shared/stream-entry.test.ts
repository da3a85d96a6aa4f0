/**
 * Lambda's side of a streamed answer: the head goes through the runtime's prelude writer (status and
 * headers, before the body), each write passes the body on as it comes, and the client leaving aborts
 * the sink's signal so that the model call stops. `awslambda` exists only in Lambda: the prelude
 * writer is injected here.
 */
import { PassThrough, type Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { lambdaSink, type PreludeWriter } from '../../../lambdas/shared/stream-entry.ts';

function capturingPrelude() {
  const metadata: unknown[] = [];
  const prelude: PreludeWriter = (stream: Writable, meta) => {
    metadata.push(meta);
    return stream;
  };
  return { prelude, metadata };
}

describe('lambdaSink', () => {
  it('writes the prelude first, then the body chunk by chunk', async () => {
    // Prepare
    const stream = new PassThrough();
    const chunks: string[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
    const { prelude, metadata } = capturingPrelude();
    const sink = lambdaSink(stream, prelude);

    // Act
    sink.head(200, { 'content-type': 'text/event-stream' });
    await sink.write('event: delta\ndata: {}\n\n');
    const afterFirst = [...chunks];
    await sink.write('event: done\ndata: {}\n\n');
    sink.end();
    await new Promise((resolve) => stream.once('end', resolve));

    // Assess
    expect(metadata).toEqual([{ statusCode: 200, headers: { 'content-type': 'text/event-stream' } }]);
    expect(afterFirst).toEqual(['event: delta\ndata: {}\n\n']);
    expect(chunks.join('')).toBe('event: delta\ndata: {}\n\nevent: done\ndata: {}\n\n');
  });

  it('aborts its signal when the response stream closes before the end', () => {
    // Prepare
    const stream = new PassThrough();
    const sink = lambdaSink(stream, capturingPrelude().prelude);

    // Act
    stream.destroy();

    // Assess
    return new Promise<void>((resolve) => {
      stream.once('close', () => {
        expect(sink.signal.aborted).toBe(true);
        resolve();
      });
    });
  });

  it('keeps its signal when the response stream closes after the whole answer', async () => {
    // Prepare
    const stream = new PassThrough();
    const sink = lambdaSink(stream, capturingPrelude().prelude);
    sink.head(200, {});
    await sink.write('event: done\ndata: {}\n\n');

    // Act
    sink.end();
    stream.resume();
    await new Promise((resolve) => stream.once('close', resolve));

    // Assess
    expect(sink.signal.aborted).toBe(false);
  });

  it('settles a write to a stream the client has left instead of waiting for a drain', async () => {
    // Prepare: full, then closed by the client leaving.
    const stream = new PassThrough({ highWaterMark: 1 });
    const sink = lambdaSink(stream, capturingPrelude().prelude);
    sink.head(200, {});
    const pending = sink.write('event: delta\ndata: {}\n\n');
    stream.destroy();
    await new Promise((resolve) => stream.once('close', resolve));

    // Act
    const afterClose = sink.write('event: error\ndata: {}\n\n');

    // Assess
    await expect(pending).resolves.toBeUndefined();
    await expect(afterClose).resolves.toBeUndefined();
    expect(sink.signal.aborted).toBe(true);
  });

  it('refuses a body before its head', () => {
    // Prepare
    const sink = lambdaSink(new PassThrough(), capturingPrelude().prelude);

    // Act / Assess
    expect(() => sink.write('x')).toThrow(/head must be written first/);
  });
});
