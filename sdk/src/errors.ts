/**
 * The errors the SDK throws. Each says what went wrong in a field a program can test, not only in
 * its message: a server answer (`SynthForgeError`), no answer (`NetworkError`), no answer in time
 * (`TimeoutError`), and the local failures of a download (`BatchFolderMismatchError`, `ArchiveError`).
 */
import type { ErrorCode } from '../../contracts/errors.ts';
import * as z from '../../contracts/zod.ts';

/**
 * Codes a `SynthForgeError` can carry: the server's own (contracts/vocabulary.ts), plus two the
 * client gives when the answer is not what the contract promises. Any other string is a code a newer
 * server added; it is passed through rather than rejected.
 */
export type SynthForgeErrorCode =
  | ErrorCode
  /** A success answer that does not match the route's response schema. */
  | 'INVALID_RESPONSE'
  /** An error answer without the envelope (a proxy's or load balancer's own page). */
  | 'HTTP_ERROR'
  | (string & {});

/** Statuses that say "try again later": the request was refused or never reached a handler. */
const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/**
 * The envelope read leniently: a code this SDK does not know yet must still reach the caller, so the
 * code is any string here, unlike contracts/errors.ts where it is the server's closed list.
 */
const LenientEnvelope = z.object({
  error: z.object({
    code: z.string().min(1),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

/**
 * Seed 002's error body, which the training routes answer: `{"error": "<type>", "message", "details"}`,
 * the type being the envelope's code in lower case.
 */
const LenientSeed002Error = z.object({
  error: z.string().min(1),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});

/**
 * Seed 003's error body, which the inference routes answer: `{time, request, error, code, details?,
 * estimated_ready_at?}`, `error` being the message and `code` the envelope's code in lower case.
 */
const LenientSeed003Error = z.object({
  error: z.string().min(1),
  code: z.string().min(1),
  details: z.record(z.string(), z.unknown()).optional(),
  estimated_ready_at: z.string().optional(),
});

/**
 * Seed 004's error body, which the avatars routes answer (FastAPI's): `{"detail": {message, code,
 * details?}}`, the code being the envelope's in lower case.
 */
const LenientSeed004Error = z.object({
  detail: z.object({
    message: z.string(),
    code: z.string().min(1),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

/** What a `SynthForgeError` is made of. */
export interface SynthForgeErrorInit {
  status: number;
  code: SynthForgeErrorCode;
  message: string;
  details?: Record<string, unknown> | undefined;
  requestId?: string | undefined;
  /** Milliseconds the server asked the client to wait (`Retry-After`). */
  retryAfterMs?: number | undefined;
  /** When a model waking from zero should answer (seed 003's `estimated_ready_at`). */
  estimatedReadyAt?: string | undefined;
  /** How many requests were sent before giving up (1 when the error was not retried). */
  attempts?: number;
}

/** An answer from the API that is not a success: the server's error envelope, typed. */
export class SynthForgeError extends Error {
  override readonly name = 'SynthForgeError';
  /** The HTTP status (a success status for `INVALID_RESPONSE`). */
  readonly status: number;
  readonly code: SynthForgeErrorCode;
  /** The envelope's `details`: for invalid input, which parameter, value and constraint. */
  readonly details: Record<string, unknown> | undefined;
  /** The server's request id (`X-Request-Id`, or API Gateway's): quote it when reporting a problem. */
  readonly requestId: string | undefined;
  /** True when the same request may succeed later (429, 502, 503, 504, a request still in flight). */
  readonly retryable: boolean;
  /** Milliseconds the server asked to wait before trying again (`Retry-After`), when it said. */
  readonly retryAfterMs: number | undefined;
  /** The same wait in seconds, as `Retry-After` writes it. */
  readonly retryAfter: number | undefined;
  /** When a model waking from zero should answer (seed 003's `estimated_ready_at`), when the server said. */
  readonly estimatedReadyAt: string | undefined;
  /** How many requests were sent before this answer was given up on (1 when not retried). */
  readonly attempts: number;

  constructor(init: SynthForgeErrorInit) {
    super(init.message);
    this.status = init.status;
    this.code = init.code;
    this.details = init.details;
    this.requestId = init.requestId;
    this.retryAfterMs = init.retryAfterMs;
    this.retryAfter = init.retryAfterMs === undefined ? undefined : init.retryAfterMs / 1000;
    this.estimatedReadyAt = init.estimatedReadyAt;
    this.attempts = init.attempts ?? 1;
    this.retryable = TRANSIENT_STATUSES.has(init.status) || init.code === 'REQUEST_IN_FLIGHT';
  }

  /**
   * Builds the error from an error answer: its envelope (or seed 002's, 003's or 004's body) when it
   * has one, else its status and text.
   */
  static fromResponse(status: number, bodyText: string, headers: Headers, attempts = 1): SynthForgeError {
    const requestId = requestIdOf(headers);
    const retryAfterMs = parseRetryAfter(headers.get('retry-after'));
    const body = parseJsonOrUndefined(bodyText);
    const envelope = LenientEnvelope.safeParse(body);
    if (envelope.success) {
      const { code, message, details } = envelope.data.error;
      return new SynthForgeError({ status, code, message, details, requestId, retryAfterMs, attempts });
    }
    // Before seed 002's: both carry `error` as a string, but only seed 003's has a `code` beside it.
    const wrapped = LenientSeed003Error.safeParse(body);
    if (wrapped.success) {
      const { error, code, details, estimated_ready_at: estimatedReadyAt } = wrapped.data;
      return new SynthForgeError({
        status,
        code: code.toUpperCase(),
        message: error,
        details,
        requestId,
        retryAfterMs,
        estimatedReadyAt,
        attempts,
      });
    }
    const detail = LenientSeed004Error.safeParse(body);
    if (detail.success) {
      const { message, code, details } = detail.data.detail;
      return new SynthForgeError({
        status,
        code: code.toUpperCase(),
        message,
        details,
        requestId,
        retryAfterMs,
        attempts,
      });
    }
    const flat = LenientSeed002Error.safeParse(body);
    if (flat.success) {
      const { error, message, details } = flat.data;
      const code = error.toUpperCase();
      return new SynthForgeError({ status, code, message, details, requestId, retryAfterMs, attempts });
    }
    const excerpt = bodyText.trim().slice(0, 200);
    return new SynthForgeError({
      status,
      code: 'HTTP_ERROR',
      message: `HTTP ${status}${excerpt ? `: ${excerpt}` : ''}`,
      requestId,
      retryAfterMs,
      attempts,
    });
  }
}

/** The request got no answer: the connection was refused, reset or closed before the response ended. */
export class NetworkError extends Error {
  override readonly name = 'NetworkError';
  constructor(
    message: string,
    /** How many requests were sent before giving up. */
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Something did not finish in time: one HTTP request (per attempt), or a wait for a batch. */
export class TimeoutError extends Error {
  override readonly name: string = 'TimeoutError';
  constructor(
    message: string,
    /** The limit that was reached. */
    readonly timeoutMs: number,
    /** How many requests were sent before giving up (1 for a wait that is not a request). */
    readonly attempts = 1,
  ) {
    super(message);
  }
}

/** A download folder already holds another batch: mixing two batches in one folder is refused. */
export class BatchFolderMismatchError extends Error {
  override readonly name = 'BatchFolderMismatchError';
  constructor(
    readonly dir: string,
    /** The batch being downloaded. */
    readonly batchId: string,
    /** The batch the folder's `batch_id.txt` names. */
    readonly existingBatchId: string,
  ) {
    super(
      `${dir} holds batch ${existingBatchId} (batch_id.txt); download batch ${batchId} into another folder`,
    );
  }
}

/**
 * A result archive that cannot be extracted safely: malformed, corrupt, or naming a path outside its
 * folder. The archive reader's own error (the SDK and the platform read archives with one reader).
 */
export { ArchiveError } from '../../lambdas/domain/archive/unzip.ts';

/** `Retry-After` in milliseconds: delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** The request id an answer carries, for error reports. */
export function requestIdOf(headers: Headers): string | undefined {
  // Our handlers send x-request-id; API Gateway's own answers (throttling, WAF) carry only its id.
  return headers.get('x-request-id') ?? headers.get('x-amzn-requestid') ?? undefined;
}

function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
