/**
 * `POST /api/stream/{model_name}` (seed 003): a model's answer as Server-Sent Events, written as the
 * model produces it. A function of its own, because it streams its response (Lambda response
 * streaming; API Gateway's STREAM transfer mode).
 */
import type { StreamEvent } from '../../../contracts/inference.ts';
import { routes } from '../../../contracts/routes.ts';
import type { InferenceStream } from '../../domain/inference/service.ts';
import { type InferenceRuntime, withInference } from '../../families/inference/runtime.ts';
import { bindStream, type ServerSentEvent, type StreamRouteBinding } from '../../http/stream-handler.ts';
import type { CoreRuntime } from '../../runtime/core.ts';
import { streamEntry } from '../../shared/stream-entry.ts';

/** Each event under its own name (`event: delta`), its JSON the StreamEvent itself. */
async function* serverSentEvents(stream: InferenceStream): AsyncIterable<ServerSentEvent> {
  for await (const event of stream.events) yield { event: event.type, data: event };
}

/** An unplanned failure after the head: the request id says which, nothing else is told. */
const internalFailure = (requestId: string): ServerSentEvent => {
  const data: StreamEvent = {
    type: 'error',
    error: `internal error; the request id ${requestId} says which`,
    code: 'internal',
    status: 500,
  };
  return { event: data.type, data };
};

export function inferenceStreamRoutes(runtime: CoreRuntime & InferenceRuntime): StreamRouteBinding[] {
  return [
    bindStream(routes.streamInference, async ({ tenant, params, body }, signal) => {
      const stream = await runtime.inference.stream(tenant, params.model_name, body);
      // The client left: the model's call stops rather than run on for nobody. The events then end,
      // and record the call as they do, inside the loop that writes them, which the invocation awaits.
      if (signal.aborted) stream.abort();
      else signal.addEventListener('abort', () => stream.abort(), { once: true });
      return { events: serverSentEvents(stream), failureEvent: internalFailure };
    }),
  ];
}

export const handler = streamEntry(inferenceStreamRoutes, withInference);
