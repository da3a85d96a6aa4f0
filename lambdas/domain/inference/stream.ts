/**
 * A model's answer as a stream. It is opened, with retries, up to the model's first event, so that
 * every failure before it is still a status of its own (a 503 for a waking model, a 429 once
 * throttling outlasts the retries); after it the route has answered 200 and a failure can only be
 * the stream's last event. However the events end (done, failed, past the deadline, or the reader
 * gone), they record the call once as they end; a call that did not finish counts the output tokens
 * of the deltas the model sent, which the provider bills all the same.
 */
import type { StreamEvent } from '../../../contracts/inference.ts';
import { DomainError } from '../errors.ts';
import { CallDeadline, type RetryPolicy, raceAbort, seconds, withRetries } from './calls.ts';
import { type CallableModel, type ChatStreamEvent, ModelCallError } from './ports.ts';
import { errorEvent } from './present.ts';

/** A stream opened by `InferenceService.stream`: write the head, then the `events`. */
export interface InferenceStream {
  /**
   * `start`, the model's deltas, then one `done` or one `error`. A reader that stops early ends the
   * model's call; the call is recorded when the events end (a `for await` waits for that).
   */
  events: AsyncIterable<StreamEvent>;
  /**
   * Ends the model's call (the client left): the events end at their next step, without an `error`
   * event, and record the call as they end. It records nothing itself, so that the reader's loop,
   * which a Lambda awaits, is what waits for the record.
   */
  abort(): void;
}

interface CallRecord {
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
  failed: boolean;
}

export interface OpenStreamOptions {
  model: CallableModel;
  start: Extract<StreamEvent, { type: 'start' }>;
  /** Starts the model's stream (one attempt). */
  port: (signal: AbortSignal) => AsyncIterable<ChatStreamEvent>;
  /** To the first event, retries included. */
  deadlineMs: number;
  /** To the last event. */
  streamDeadlineMs: number;
  retry: RetryPolicy;
  /** The DomainError of a failure; `deadlineMs`: the deadline the failed call had. */
  explain: (error: unknown, deadlineMs: number) => Promise<DomainError>;
  record: (call: CallRecord) => Promise<void>;
  log: (message: string, details: Record<string, unknown>) => void;
}

interface Opened {
  deadline: CallDeadline;
  iterator: AsyncIterator<ChatStreamEvent>;
  first: IteratorResult<ChatStreamEvent>;
}

export async function openStream(options: OpenStreamOptions): Promise<InferenceStream> {
  const { model, retry } = options;
  const clock = retry.clock;
  const started = clock.now().getTime();
  const elapsed = () => clock.now().getTime() - started;
  let opened: Opened;
  try {
    opened = await withRetries(
      (remainingMs) => openOnce(options.port, remainingMs, `model ${model.key}`),
      started + options.deadlineMs,
      retry,
    );
  } catch (error) {
    await options.record({ inputTokens: 0, outputTokens: 0, latencyMs: elapsed(), failed: true });
    throw await options.explain(error, options.deadlineMs);
  }
  const { deadline, iterator } = opened;
  deadline.arm(
    options.streamDeadlineMs - elapsed(),
    `model ${model.key} did not finish its stream within ${seconds(options.streamDeadlineMs)} s`,
  );
  let recorded = false;
  const finish = async (call: Omit<CallRecord, 'latencyMs'>) => {
    deadline.clear();
    if (recorded) return;
    recorded = true;
    await options.record({ ...call, latencyMs: elapsed() });
  };
  const close = () => {
    deadline.abort();
    closeQuietly(iterator);
  };
  let left = false;
  let outputTokens = 0;
  /** Counts what the model has sent, read by the reader or not. */
  const seen = (result: IteratorResult<ChatStreamEvent>) => {
    if (!result.done && result.value.type === 'delta') outputTokens += estimatedTokens(result.value.text);
    return result;
  };

  async function* events(): AsyncGenerator<StreamEvent> {
    let next = seen(opened.first);
    try {
      yield options.start;
      while (!next.done) {
        if (left) return;
        const event = next.value;
        if (event.type === 'end') {
          await finish({ inputTokens: event.inputTokens, outputTokens: event.outputTokens, failed: false });
          yield {
            type: 'done',
            id: event.id,
            usage: { input_tokens: event.inputTokens, output_tokens: event.outputTokens },
            ...(event.stopReason === undefined ? {} : { stop_reason: event.stopReason }),
            latency_ms: elapsed(),
          };
          return;
        }
        yield { type: 'delta', text: event.text };
        next = seen(await raceAbort(iterator.next(), deadline.signal));
      }
      throw new ModelCallError('model_error', 'its stream ended without its final event');
    } catch (error) {
      // Nobody reads an error event once the client has left.
      if (left) return;
      const explained = await options.explain(error, options.streamDeadlineMs).catch((bug: unknown) => {
        options.log('a model stream failed unexpectedly', { model_key: model.key, error: String(bug) });
        return new DomainError('INTERNAL', 'the gateway failed on this stream; see its logs');
      });
      yield errorEvent(explained);
    } finally {
      // Also reached when the reader stops early (the client went away): the call ends with it.
      await finish({ inputTokens: 0, outputTokens, failed: true });
      close();
    }
  }

  return {
    events: events(),
    abort: () => {
      left = true;
      close();
    },
  };
}

/**
 * A delta's tokens when the model's own count never came: at least one (vLLM sends a chunk per
 * token), and about 4 characters a token for a chunk that holds several (Bedrock's), as the SageMaker
 * adapter estimates a prompt.
 */
const estimatedTokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

/** One attempt: starts the stream and waits for its first event within `remainingMs`. */
async function openOnce(port: OpenStreamOptions['port'], remainingMs: number, what: string): Promise<Opened> {
  const deadline = new CallDeadline(
    remainingMs,
    `${what} did not start answering within ${seconds(remainingMs)} s`,
  );
  let iterator: AsyncIterator<ChatStreamEvent> | undefined;
  try {
    iterator = port(deadline.signal)[Symbol.asyncIterator]();
    const first = await raceAbort(iterator.next(), deadline.signal);
    deadline.clear();
    return { deadline, iterator, first };
  } catch (error) {
    deadline.abort();
    closeQuietly(iterator);
    throw error;
  }
}

function closeQuietly(iterator: AsyncIterator<ChatStreamEvent> | undefined): void {
  try {
    Promise.resolve(iterator?.return?.()).catch(() => undefined);
  } catch {
    // A port's iterator that fails to close has nothing left to say.
  }
}
