/**
 * Seed 001's WebSocket API, `/api/v1/ws/generation?api_key=<key>`: the client sends `generate`
 * messages (the fields of `POST /generate`) and receives `progress` and `result` messages in the
 * seed's shapes. SynthForge adds `accepted` (the job a `generate` started), `error` (the REST error
 * vocabulary), `image_url` on results, `ping`/`pong` to keep an idle connection open (API
 * Gateway closes it after 10 minutes without a client message), and `subscribe`, with which a
 * client that connects again (after a drop, or the local platform's stop, which closes every
 * connection with 1001) follows the jobs it started on an earlier connection.
 *
 * Every server message is one frame of at most 32 KB (`WEBSOCKET_LIMITS`): long free text (a
 * prompt, an error message) is shortened to fit, never the ids or links.
 */
import { ErrorCodeSchema } from './errors.ts';
import { GenerateRequest } from './images.ts';
import { JobId, JobStatus } from './jobs.ts';
import { WEBSOCKET_LIMITS, WEBSOCKET_PATH } from './vocabulary.ts';
import * as z from './zod.ts';

export { WEBSOCKET_LIMITS, WEBSOCKET_PATH };

/** Chosen by the client and echoed on the `accepted`, `pong` or `error` its message causes. */
const RequestId = z
  .string({ error: 'request_id must be a string' })
  .min(1, 'request_id must not be empty')
  .max(64, 'request_id must be at most 64 characters')
  .optional();

// ---- client -> server -------------------------------------------------------------------------

/** Starts one image job, exactly as `POST /api/v1/generate` does (same fields, defaults, bounds). */
export const GenerateMessage = GenerateRequest.extend({
  type: z.literal('generate'),
  request_id: RequestId,
}).strict();
export type GenerateMessage = z.output<typeof GenerateMessage>;

/** Keeps the connection from idling out; answered with `pong`. */
export const PingMessage = z.object({ type: z.literal('ping'), request_id: RequestId }).strict();

/**
 * Job ids one `subscribe` may name: as many as one connection may wait for at once, so that one
 * message is answered within one route invocation.
 */
export const MAX_SUBSCRIBE_JOB_IDS = 100;

/**
 * Follows image jobs of the caller's tenant by id, typically those a client started on an earlier
 * connection. For each job the connection is sent its state as it stands (`progress`, then the
 * `result` or `error` of a job that has ended) and, while it runs, every later change, as if this
 * connection had started it. An id that names no image job of the tenant (unknown, or another
 * tenant's) is answered with an `error` NOT_FOUND that carries it as `job_id`, and nothing else; a
 * state this connection was already sent is not sent again. Repeated ids count once.
 */
export const SubscribeMessage = z
  .object({
    type: z.literal('subscribe'),
    job_ids: z
      .array(JobId, { error: 'job_ids must be an array of job ids' })
      .min(1, 'job_ids must name at least one job')
      .max(MAX_SUBSCRIBE_JOB_IDS, `job_ids must name at most ${MAX_SUBSCRIBE_JOB_IDS} jobs`)
      .transform((ids) => [...new Set(ids)]),
    request_id: RequestId,
  })
  .strict();
export type SubscribeMessage = z.output<typeof SubscribeMessage>;

export const ClientMessage = z.discriminatedUnion('type', [GenerateMessage, PingMessage, SubscribeMessage], {
  error: 'type must be "generate", "ping" or "subscribe"',
});
export type ClientMessage = z.output<typeof ClientMessage>;

// ---- server -> client -------------------------------------------------------------------------

/** The job a `generate` started; its `progress` and `result` (or `error`) follow on this connection. */
export const AcceptedMessage = z.object({
  type: z.literal('accepted'),
  job_id: JobId,
  batch_id: JobId,
  request_id: RequestId,
});

/**
 * Seed 001's progress message. SageMaker asynchronous inference reports no denoising steps, so
 * `step` is where the job stands scaled to its `num_inference_steps`: 0 when submitted, a tenth once
 * the endpoint has the request (warming up or generating), all of them when the image is ready.
 * `progress` never decreases on a connection.
 */
export const ProgressMessage = z.object({
  type: z.literal('progress'),
  job_id: JobId,
  step: z.number().int().min(0),
  total_steps: z.number().int().min(1),
  progress: z.number().min(0).max(1),
  status: JobStatus,
  phase: z
    .enum(['queued', 'warming', 'generating', 'done'])
    .describe('warming: the endpoint had no instance when the job reached it and is starting one'),
});

/** Seed 001's result message, plus a presigned link to the PNG (as `POST /generate` answers). */
export const ResultMessage = z.object({
  type: z.literal('result'),
  job_id: JobId,
  image_path: z.string().describe('the image in S3: s3://bucket/key'),
  image_url: z.string().url().describe('short-lived presigned link to the PNG'),
  prompt: z.string(),
});

/**
 * A refused message (`request_id`, no `job_id`: nothing was stored), a job that ended without an
 * image (`job_id`, and `status` failed or cancelled), or one id of a `subscribe` that cannot be
 * followed (`job_id` and `request_id`, no `status`: NOT_FOUND, or RATE_LIMITED when the connection
 * already waits for its maximum of jobs). Codes and details are the REST API's.
 */
export const ErrorMessage = z.object({
  type: z.literal('error'),
  code: ErrorCodeSchema,
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
  job_id: JobId.optional(),
  status: JobStatus.optional(),
  request_id: RequestId,
});

export const PongMessage = z.object({ type: z.literal('pong'), request_id: RequestId });

export const ServerMessage = z.discriminatedUnion('type', [
  AcceptedMessage,
  ProgressMessage,
  ResultMessage,
  ErrorMessage,
  PongMessage,
]);
export type ServerMessage = z.output<typeof ServerMessage>;
export type ProgressMessage = z.output<typeof ProgressMessage>;
export type ErrorMessage = z.output<typeof ErrorMessage>;
