/**
 * Seed 003's inference routes (the perf-evaluation-platform's API): Claude 4 and Nova on Bedrock,
 * the EMD models (vision-language models on SageMaker inference components), multi-model fan-out and
 * streaming. Field names, defaults and the `{time, request, response | error}` wrapper are the seed's;
 * what SynthForge adds (which model really answered, latency, a warming model's ready time) is
 * additive.
 */
import { IsoDateTime } from './common.ts';
import { MODEL_KEY_PATTERN } from './inference-models.ts';
import { FRAME_CONTENT_TYPES, INFERENCE_DEFAULTS } from './inference-vocabulary.ts';
import { Job } from './jobs.ts';
import * as z from './zod.ts';

export const ModelKey = z
  .string({ error: 'the model key must be a string' })
  .regex(MODEL_KEY_PATTERN, 'a model key is lower-case letters, digits, dots and dashes (qwen2-vl-7b)')
  .openapi({ example: 'qwen2-vl-7b' });

/**
 * What a model is asked on every model route: the prompt, its frames and the sampling settings.
 * Each route's body adds its own fields to it (`async`, `models`).
 */
const modelInput = z.object({
  text: z
    .string({ error: 'text is required and must be a string' })
    .min(1, 'text must not be empty')
    .max(100_000, 'text must be at most 100000 characters')
    .refine((text) => text.trim().length > 0, 'text must not be blank')
    .openapi({ description: 'the prompt', example: 'What is in this image?' }),
  frames: z
    .array(
      z.string({ error: 'each frame must be a base64 string or an s3:// URI' }).min(1, 'a frame is empty'),
      { error: 'frames must be a list of base64 strings or s3:// URIs' },
    )
    .max(20, 'at most 20 frames per request')
    .default([])
    .openapi({
      description:
        'images (PNG, JPEG, GIF, WebP) as base64, or with `mediaType: "video"` one MP4; each may instead be ' +
        'an `s3://` URI under your own prefix. Checked before any model is called: at most 20 images, ' +
        '3.75 MB and 8000 px a side each; a video under 25 MB inline.',
    }),
  mediaType: z
    .enum(['image', 'video'], { error: 'mediaType must be "image" or "video"' })
    .default(INFERENCE_DEFAULTS.mediaType)
    .openapi({ description: 'what the frames are' }),
  max_tokens: z
    .number({ error: 'max_tokens must be a whole number' })
    .int('max_tokens must be a whole number')
    .min(1, 'max_tokens must be between 1 and 8192')
    .max(8192, 'max_tokens must be between 1 and 8192')
    .default(INFERENCE_DEFAULTS.max_tokens),
  temperature: z
    .number({ error: 'temperature must be a number' })
    .min(0, 'temperature must be between 0 and 1')
    .max(1, 'temperature must be between 0 and 1')
    .default(INFERENCE_DEFAULTS.temperature),
});
/** A model's input as the gateway reads it, defaults applied: what every route's body holds. */
export type ModelInput = z.output<typeof modelInput>;

/** The request of one model (seed 003 `POST /api/claude4`, `/api/nova`, `/api/emd/{model_key}`). */
export const InferenceRequest = modelInput
  .extend({
    async: z
      .boolean({ error: 'async must be true or false' })
      .default(false)
      .openapi({
        description:
          'true: answer 202 at once with a job, for work longer than API Gateway’s 29 s (a long video); ' +
          'poll `GET /api/v1/jobs/{id}` until it completes, then download its `result_url` (the answer ' +
          'this route would have given). Bad input is still a 400 at once, and starts nothing.',
      }),
  })
  .strict()
  .openapi('InferenceRequest');
export type InferenceRequest = z.output<typeof InferenceRequest>;

/** `POST /api/stream/{model_name}`'s body: a stream is answered as it is made, never as a job. */
export const StreamInferenceRequest = modelInput.strict().openapi('StreamInferenceRequest');

/** The request as the answer echoes it (seed 003 `request`): the frames by count. */
export const RequestEcho = z
  .object({
    text: z.string(),
    frames_count: z.number().int(),
    media_type: z.enum(['image', 'video']),
    max_tokens: z.number().int(),
    temperature: z.number(),
  })
  .openapi('InferenceRequestEcho');
export type RequestEcho = z.infer<typeof RequestEcho>;

/** The model's answer, Anthropic-message shaped as seed 003 documents it. */
export const ModelAnswer = z
  .object({
    id: z.string().openapi({ example: 'msg_01HZX3' }),
    content: z.array(z.object({ type: z.literal('text'), text: z.string() })),
    usage: z.object({ input_tokens: z.number().int(), output_tokens: z.number().int() }),
    stop_reason: z.string().optional().openapi({ description: 'end_turn, max_tokens, stop_sequence…' }),
  })
  .openapi('ModelAnswer');
export type ModelAnswer = z.infer<typeof ModelAnswer>;

/** Which model answered: the one asked for, or what stands in for it offline. */
export const ServedBy = z
  .object({
    key: z.string().openapi({ description: 'the model key asked for', example: 'qwen2-vl-7b' }),
    model_id: z.string().openapi({
      description: 'the Bedrock inference profile or the Hugging Face model the stage configures',
      example: 'Qwen/Qwen2-VL-7B-Instruct',
    }),
    provider: z.enum(['bedrock', 'sagemaker']),
    answered_by: z.string().openapi({
      description:
        'the model that really answered: `model_id`, or `synthforge/local-vision` where the local platform stands in for it',
    }),
    emulated: z.boolean().openapi({ description: 'true when a local model stood in for the named one' }),
  })
  .openapi('ServedBy');
export type ServedBy = z.infer<typeof ServedBy>;

export const InferenceResponse = z
  .object({
    time: z.string().openapi({ description: 'when the answer was made (ISO 8601)' }),
    request: RequestEcho,
    response: ModelAnswer,
    model: ServedBy,
    latency_ms: z.number().int().openapi({ description: "the model call's duration" }),
  })
  .openapi('InferenceResponse');
export type InferenceResponse = z.infer<typeof InferenceResponse>;

/**
 * `"async": true`: the answer at once, before any model is called (the request was checked). The
 * job is one of the jobs engine's (kind `inference`): poll it at `GET /api/v1/jobs/{id}` (`Location`);
 * once completed its `result_url` downloads the InferenceResponse this route would have answered.
 */
export const InferenceAccepted = z
  .object({
    time: z.string().openapi({ description: 'when the job was submitted (ISO 8601)' }),
    request: RequestEcho,
    status: z.literal('submitted'),
    job: Job,
  })
  .openapi('InferenceAccepted');
export type InferenceAccepted = z.infer<typeof InferenceAccepted>;

/**
 * Seed 003's error wrapper: `{time, request, error}`, `error` a message for a person. SynthForge adds
 * the code, the details and, for a model waking from zero, when it should be ready.
 */
export const InferenceError = z
  .object({
    time: z.string(),
    request: z.union([RequestEcho, z.object({})]).openapi({
      description: 'the request as understood; empty when the body could not be read',
    }),
    error: z.string().openapi({ example: 'model qwen2.5-vl-32b is not deployed in this stage' }),
    code: z.string().openapi({ description: 'invalid_parameters, not_found, unavailable, rate_limited…' }),
    details: z.record(z.string(), z.unknown()).optional(),
    estimated_ready_at: IsoDateTime.optional().openapi({
      description: 'a model scaled to zero and waking: when it should answer (also `Retry-After`)',
    }),
  })
  .openapi('InferenceError');
export type InferenceError = z.infer<typeof InferenceError>;

export const ModelKeyParams = z.object({ model_key: ModelKey });
export const StreamModelParams = z.object({
  model_name: ModelKey.openapi({ description: 'claude4, nova or an EMD model key' }),
});

export const MultiInferenceRequest = modelInput
  .extend({
    models: z
      .array(ModelKey, { error: 'models must be a list of model keys' })
      .min(1, 'models must name at least one model')
      .max(8, 'at most 8 models per request')
      .refine((keys) => new Set(keys).size === keys.length, 'models must not repeat a model')
      .openapi({ example: ['claude4', 'qwen2-vl-7b', 'nova'] }),
  })
  .strict()
  .openapi('MultiInferenceRequest');
export type MultiInferenceRequest = z.output<typeof MultiInferenceRequest>;

/** One model's part of a multi-inference answer: its answer, or its error; never both. */
export const ModelResult = z
  .object({
    model: z.string(),
    status: z.number().int().openapi({ description: 'the status this model alone would have answered' }),
    latency_ms: z.number().int(),
    response: ModelAnswer.optional(),
    served_by: ServedBy.optional(),
    error: z.string().optional(),
    code: z.string().optional(),
    retry_after: z
      .number()
      .int()
      .optional()
      .openapi({ description: 'seconds, for a waking or throttled model' }),
  })
  .openapi('ModelResult');
export type ModelResult = z.infer<typeof ModelResult>;

export const MultiInferenceResponse = z
  .object({
    time: z.string(),
    request: RequestEcho,
    results: z.array(ModelResult).openapi({ description: 'one per model asked for, in the order asked' }),
    latency_ms: z.number().int().openapi({ description: 'the whole fan-out: about the slowest model' }),
  })
  .openapi('MultiInferenceResponse');
export type MultiInferenceResponse = z.infer<typeof MultiInferenceResponse>;

/** An EMD model's deployment now: endpoint, component, copies, instances, warming. */
export const EmdModelStatus = z
  .object({
    model_key: z.string(),
    model_id: z.string(),
    deployed: z.boolean(),
    state: z.enum(['ready', 'warming', 'scaled_to_zero', 'not_deployed', 'failed', 'unknown']).openapi({
      description: 'ready: answers now; scaled_to_zero: the next call wakes it (503 until then)',
    }),
    endpoint_name: z.string().optional(),
    endpoint_status: z.string().optional(),
    component_name: z.string().optional(),
    component_status: z.string().optional(),
    copies: z.object({ desired: z.number().int(), current: z.number().int() }).optional(),
    instances: z
      .object({ current: z.number().int(), min: z.number().int(), max: z.number().int() })
      .optional(),
    instance_type: z.string().optional(),
    estimated_ready_at: IsoDateTime.optional(),
    answered_by: z.string().optional().openapi({
      description: 'offline: `synthforge/local-vision`, the local model standing in for this one',
    }),
    message: z.string().optional(),
  })
  .openapi('EmdModelStatus');
export type EmdModelStatus = z.infer<typeof EmdModelStatus>;

export const EmdStatus = z.object({ time: z.string(), models: z.array(EmdModelStatus) }).openapi('EmdStatus');
export type EmdStatus = z.infer<typeof EmdStatus>;

/** The catalogue: every model key the gateway knows, deployed or not. */
export const EmdModelList = z
  .object({
    models: z.array(
      z.object({
        model_key: z.string(),
        model_id: z.string(),
        name: z.string(),
        provider: z.enum(['bedrock', 'sagemaker']),
        deployed: z.boolean(),
        state: EmdModelStatus.shape.state,
        media: z.array(z.enum(['image', 'video'])),
      }),
    ),
  })
  .openapi('EmdModelList');
export type EmdModelList = z.infer<typeof EmdModelList>;

/**
 * The events of `POST /api/stream/{model_name}`, each an SSE `event:` of that name with this JSON as
 * its `data:`. `delta`s carry the tokens as the model produces them; `done` or `error` ends the stream.
 */
export const StreamEvent = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('start'), time: z.string(), request: RequestEcho, model: ServedBy }),
    z.object({ type: z.literal('delta'), text: z.string() }),
    z.object({
      type: z.literal('done'),
      id: z.string(),
      usage: ModelAnswer.shape.usage,
      stop_reason: z.string().optional(),
      latency_ms: z.number().int(),
    }),
    z.object({
      type: z.literal('error'),
      error: z.string(),
      code: z.string(),
      status: z.number().int(),
      retry_after: z.number().int().optional(),
    }),
  ])
  .openapi('StreamEvent');
export type StreamEvent = z.infer<typeof StreamEvent>;

/** The stream route's 200 body as the OpenAPI document shows it. */
export const EventStreamBody = z.string().openapi({
  description:
    'text/event-stream: `event: start`, then `event: delta` with `{"type":"delta","text":…}` per token as ' +
    'produced, then `event: done` with usage (or `event: error`); each `data:` is a StreamEvent',
});

/**
 * The largest request body the inference routes read inline: Lambda takes at most 6 MB per
 * invocation, the whole proxy event (headers and all) included. Larger frames go through S3
 * (`POST /api/uploads`), and are then named by their `s3://` URI.
 */
export const INFERENCE_MAX_BODY_BYTES = 5 * 1024 * 1024;

export const UploadRequest = z
  .object({
    filename: z
      .string({ error: 'filename must be a string' })
      .min(1, 'filename must not be empty')
      .max(200, 'filename must be at most 200 characters'),
    content_type: z.enum(FRAME_CONTENT_TYPES, {
      error: 'content_type must be image/png, image/jpeg, image/gif, image/webp or video/mp4',
    }),
  })
  .strict()
  .openapi('UploadRequest');
export type UploadRequest = z.output<typeof UploadRequest>;

export const UploadUrl = z
  .object({
    method: z.literal('PUT'),
    url: z
      .string()
      .url()
      .openapi({ description: 'a presigned PUT: send the file as the body, with `headers`' }),
    headers: z.record(z.string(), z.string()),
    s3_uri: z.string().openapi({ description: 'name the uploaded file by this in `frames`' }),
    expires_at: IsoDateTime,
  })
  .openapi('UploadUrl');
export type UploadUrl = z.infer<typeof UploadUrl>;
