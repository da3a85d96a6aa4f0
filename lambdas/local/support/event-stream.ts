/**
 * AWS's binary event-stream framing (`application/vnd.amazon.eventstream`), as the emulated
 * services send it: Bedrock Runtime's ConverseStream and SageMaker Runtime's
 * InvokeEndpointWithResponseStream. The encoding is the SDK's own codec (`@smithy/core`), so what the
 * emulators write is what the real clients decode.
 */
import { EventStreamCodec } from '@smithy/core/event-streams';
import { fromUtf8, toUtf8 } from '@smithy/core/serde';

export const EVENT_STREAM_CONTENT_TYPE = 'application/vnd.amazon.eventstream';

const codec = new EventStreamCodec(toUtf8, fromUtf8);

const header = (value: string) => ({ type: 'string' as const, value });

/** An event of the stream's union: `:event-type` names the member, the payload is its body. */
export function encodeEvent(eventType: string, payload: Uint8Array, contentType: string): Uint8Array {
  return codec.encode({
    headers: {
      ':message-type': header('event'),
      ':event-type': header(eventType),
      ':content-type': header(contentType),
    },
    body: payload,
  });
}

/** A JSON event (Bedrock's `contentBlockDelta`, `metadata`...). */
export const encodeJsonEvent = (eventType: string, body: unknown): Uint8Array =>
  encodeEvent(eventType, fromUtf8(JSON.stringify(body)), 'application/json');

/**
 * A modeled exception in the stream (`throttlingException`, `ModelStreamError`...): the SDK throws
 * it from the client's async iterator as the error class of that name.
 */
export function encodeException(exceptionType: string, body: Record<string, unknown>): Uint8Array {
  return codec.encode({
    headers: {
      ':message-type': header('exception'),
      ':exception-type': header(exceptionType),
      ':content-type': header('application/json'),
    },
    body: fromUtf8(JSON.stringify(body)),
  });
}
