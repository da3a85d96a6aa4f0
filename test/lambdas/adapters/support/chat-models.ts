/**
 * What the tests of the chat model adapters (Bedrock's and the EMD models') share: frame bytes, the
 * ModelCallError a call fails with, and a stream read to its end or to its deadline.
 */
import { expect } from 'vitest';
import { type ChatStreamEvent, ModelCallError } from '../../../../lambdas/domain/inference/ports.ts';

/** A frame's opening bytes: the adapters pass a frame's bytes on without reading them. */
export const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
export const MP4 = new Uint8Array([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70]);

/** A signal whose deadline never passes. */
export const live = () => new AbortController().signal;

/** The ModelCallError a call fails with (the test fails if it succeeds, or fails with anything else). */
export async function failure(call: Promise<unknown>): Promise<ModelCallError> {
  const error = await call.then(
    () => expect.fail('the call succeeded'),
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ModelCallError);
  return error as ModelCallError;
}

/** Every event of a stream, each kept in `seen` as it comes: what came before a failure stays there. */
export async function collect(
  stream: AsyncIterable<ChatStreamEvent>,
  seen: ChatStreamEvent[] = [],
): Promise<ChatStreamEvent[]> {
  for await (const event of stream) seen.push(event);
  return seen;
}

/** Reads the stream `open` starts, its deadline passing as soon as the first event is in. */
export async function collectPastDeadline(
  open: (signal: AbortSignal) => AsyncIterable<ChatStreamEvent>,
  seen: ChatStreamEvent[],
): Promise<ChatStreamEvent[]> {
  const deadline = new AbortController();
  for await (const event of open(deadline.signal)) {
    seen.push(event);
    deadline.abort();
  }
  return seen;
}
