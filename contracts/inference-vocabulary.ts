/**
 * Seed 003's plain values, free of zod: the HTTP layer of every function carries them, and so does
 * the local vision model's container.
 *
 * Seed 003 echoes the request in every answer, errors included (`{time, request, error}`). An error
 * may come before the body parsed, so the echo is read leniently from whatever JSON arrived: the
 * fields that have the right type, the frames by count.
 */

/** The model that answers offline in place of every EMD model (containers/local-vision). */
export const LOCAL_VISION_MODEL = 'synthforge/local-vision';

export interface RequestEchoShape {
  text: string;
  frames_count: number;
  media_type: 'image' | 'video';
  max_tokens: number;
  temperature: number;
}

/** The seed's defaults, as InferenceRequest (contracts/inference.ts) applies them. */
export const INFERENCE_DEFAULTS = { mediaType: 'image', max_tokens: 1024, temperature: 0.1 } as const;

/** The echo of a request body; `{}` when the body is not an object with a text. */
export function echoOf(body: unknown): RequestEchoShape | Record<string, never> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return {};
  const fields = body as Record<string, unknown>;
  if (typeof fields.text !== 'string') return {};
  return {
    text: fields.text,
    frames_count: Array.isArray(fields.frames) ? fields.frames.length : 0,
    media_type: fields.mediaType === 'video' ? 'video' : INFERENCE_DEFAULTS.mediaType,
    max_tokens: typeof fields.max_tokens === 'number' ? fields.max_tokens : INFERENCE_DEFAULTS.max_tokens,
    temperature: typeof fields.temperature === 'number' ? fields.temperature : INFERENCE_DEFAULTS.temperature,
  };
}
