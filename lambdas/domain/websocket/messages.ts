/**
 * The server side of seed 001's WebSocket messages: what a job's state becomes on the wire, and
 * the encoding that keeps every message within one API Gateway frame. Free of zod (the push
 * function that sends most of them is a task Lambda): the shapes come from contracts/websocket.ts
 * as types only.
 */

import { WEBSOCKET_LIMITS } from '../../../contracts/vocabulary.ts';
import type { ErrorMessage, ProgressMessage, ServerMessage } from '../../../contracts/websocket.ts';
import { DomainError } from '../errors.ts';
import type { JobRecord } from '../jobs/model.ts';

/** The fields shortened when a message would not fit: free text, never ids or links. */
const SHORTENED_FIELDS = ['prompt', 'message'] as const;
const ELLIPSIS = '…';

/**
 * JSON of `message` in at most `maxBytes` bytes of UTF-8. A message over the limit loses its
 * `details` first, then its longest free text is cut (with an ellipsis) until it fits. Throws when
 * even that cannot make it fit, which no message built here comes near (a link is about 1.5 KB).
 */
export function encodeServerMessage(
  message: ServerMessage,
  maxBytes: number = WEBSOCKET_LIMITS.maxServerMessageBytes,
): string {
  let json = JSON.stringify(message);
  if (byteLength(json) <= maxBytes) return json;
  const shortened: Record<string, unknown> = { ...message };
  delete shortened.details;
  json = JSON.stringify(shortened);
  // Each round removes at least the excess: every UTF-16 unit costs 1 to 6 bytes of JSON.
  for (let round = 0; round < 16; round++) {
    const excess = byteLength(json) - maxBytes;
    if (excess <= 0) return json;
    const field = longestText(shortened);
    if (field === undefined) break;
    const text = shortened[field] as string;
    shortened[field] = shorten(text, text.length - excess - ELLIPSIS.length * 3);
    json = JSON.stringify(shortened);
  }
  if (byteLength(json) <= maxBytes) return json;
  throw new Error(`a ${message.type} message does not fit in ${maxBytes} bytes`);
}

function longestText(message: Record<string, unknown>): string | undefined {
  let longest: string | undefined;
  for (const field of SHORTENED_FIELDS) {
    const value = message[field];
    if (typeof value !== 'string' || value.length === 0) continue;
    if (longest === undefined || value.length > (message[longest] as string).length) longest = field;
  }
  return longest;
}

/** The first `keep` UTF-16 units of `text` (never half a surrogate pair), plus an ellipsis. */
export function shorten(text: string, keep: number): string {
  if (keep >= text.length) return text;
  if (keep <= 0) return '';
  let end = keep;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}${ELLIPSIS}`;
}

export function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * Where an image job stands, as seed 001's progress message. SageMaker asynchronous inference
 * reports nothing between accepting a request and writing the image, so there are no real
 * denoising steps to count: the step is the job's own progress (0 when submitted, 10 % once the
 * endpoint has the request, whether it is warming up or generating, 100 % when the image is stored)
 * scaled to the request's `num_inference_steps`. The job store never lowers a job's progress, so
 * neither do these messages.
 */
export function progressOf(job: JobRecord): ProgressMessage {
  const steps = job.kind === 'image' ? job.params.num_inference_steps : 1;
  const totalSteps = Number.isInteger(steps) && steps > 0 ? steps : 1;
  const fraction = job.status === 'completed' ? 1 : Math.min(1, Math.max(0, job.progress / 100));
  return {
    type: 'progress',
    job_id: job.id,
    step: job.status === 'completed' ? totalSteps : Math.floor(fraction * totalSteps),
    total_steps: totalSteps,
    progress: Math.round(fraction * 10_000) / 10_000,
    status: job.status,
    phase: phaseOf(job),
  };
}

/** `warming` when the endpoint had no instance as the job reached it (the record says so; no call). */
function phaseOf(job: JobRecord): ProgressMessage['phase'] {
  if (job.status === 'completed' || job.status === 'failed' || job.status === 'cancelled') return 'done';
  if (job.status === 'pending' || !job.inference) return 'queued';
  return job.inference.instancesAtInvoke === 0 ? 'warming' : 'generating';
}

/**
 * An error in the REST vocabulary: a DomainError keeps its code, message and details; anything
 * else is an internal error that says nothing about its cause.
 */
export function errorMessageOf(
  error: unknown,
  context: Pick<ErrorMessage, 'job_id' | 'status' | 'request_id'> = {},
): ErrorMessage {
  const known = error instanceof DomainError;
  return {
    type: 'error',
    code: known ? error.code : 'INTERNAL',
    message: known ? error.message : 'internal error',
    ...(known && error.details ? { details: error.details } : {}),
    ...(context.job_id ? { job_id: context.job_id } : {}),
    ...(context.status ? { status: context.status } : {}),
    ...(context.request_id ? { request_id: context.request_id } : {}),
  };
}
