/**
 * What the chat model adapters (Bedrock's Converse, SageMaker's inference components) share: turning
 * any failure of a call into a `ModelCallError`, and an answer's id when the service gave none.
 */
import { ModelCallError, type ModelCallReason } from '../domain/inference/ports.ts';
import { newUlid } from './ids.ts';

/** An answer's id when the service named it nothing: `msg_` and a ULID, like the seed's ids. */
export const newMessageId = (): string => `msg_${newUlid().toLowerCase()}`;

/** An SDK error's fields the mapping reads. */
export interface ServiceFailure {
  name?: string;
  message?: string | null;
  $metadata?: { httpStatusCode?: number };
}

/**
 * Maps a failed call to a `ModelCallError`. `byName` is the service's own mapping, tried first; it
 * may return undefined to leave an error to the generic rules:
 * - the caller's deadline passed (its signal aborted) or the SDK's own timer ran out: `timeout`,
 *   whatever error the SDK raised for it (AbortError, TimeoutError, a closed stream);
 * - an error the service does not model, by its HTTP status: 429 throttled, 408 timeout, 403 denied
 *   (bad or expired credentials), 404 not_found, other 4xx rejected, 5xx unavailable;
 * - no status at all (connection refused or reset): `unavailable`, which the domain retries.
 */
export function toModelCallError(
  error: unknown,
  signal: AbortSignal,
  byName: (failure: ServiceFailure) => ModelCallReason | undefined,
): ModelCallError {
  if (error instanceof ModelCallError) return error;
  const failure: ServiceFailure = typeof error === 'object' && error !== null ? error : {};
  const name = failure.name ?? 'Error';
  const message = failure.message || name;
  if (signal.aborted || name === 'AbortError') {
    return new ModelCallError('timeout', 'the call was abandoned at its deadline', name);
  }
  if (name === 'TimeoutError') return new ModelCallError('timeout', message, name);
  const reason = byName(failure) ?? byStatus(failure.$metadata?.httpStatusCode);
  return new ModelCallError(reason, message, name);
}

function byStatus(status: number | undefined): ModelCallReason {
  if (status === undefined || status >= 500) return 'unavailable';
  if (status === 429) return 'throttled';
  if (status === 408) return 'timeout';
  if (status === 401 || status === 403) return 'denied';
  if (status === 404) return 'not_found';
  return 'rejected';
}

/** A stream that ended before saying how the answer ended: cut off, not a complete answer. */
export function cutOff(signal: AbortSignal): ModelCallError {
  return signal.aborted
    ? new ModelCallError('timeout', 'the call was abandoned at its deadline', 'AbortError')
    : new ModelCallError('unavailable', 'the answer stream ended before the answer did');
}
