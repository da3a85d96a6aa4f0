/**
 * Seed 001 (Inferloop image API): text-to-image generation, one image or a batch, on GPU models
 * served by asynchronous endpoints. Field names, defaults and bounds are the seed's and its code's
 * (its `image/api/routes2.py`: `num_inference_steps` 1–150, `guidance_scale` 1–20); messages name
 * the parameter and its bounds the way the seed's error example does.
 */
import { IsoDateTime } from './common.ts';
import { JobId, JobStatus } from './jobs.ts';
import * as z from './zod.ts';

/** Width and height: 64–1024 pixels, multiples of 8 (the latent space of diffusion models is /8). */
const side = (name: 'width' | 'height') =>
  z
    .number({ error: `${name} must be a whole number of pixels` })
    .int(`${name} must be a whole number of pixels`)
    .min(64, `${name} must be between 64 and 1024`)
    .max(1024, `${name} must be between 64 and 1024`)
    .multipleOf(8, `${name} must be a multiple of 8`)
    .default(512);

/** The generation parameters every image request shares (seed 001 `parameters`). */
export const ImageParameters = z.object({
  negative_prompt: z
    .string({ error: 'negative_prompt must be a string' })
    .max(2000, 'negative_prompt must be at most 2000 characters')
    .optional()
    .openapi({ description: 'what should not appear in the image' }),
  model_id: z.string({ error: 'model_id must be a string' }).min(1).max(200).optional().openapi({
    description:
      "a deployed model's id (GET /api/v1/generators lists them); default: the stage's default model",
    example: 'runwayml/stable-diffusion-v1-5',
  }),
  width: side('width'),
  height: side('height'),
  num_inference_steps: z
    .number({ error: 'num_inference_steps must be a whole number' })
    .int('num_inference_steps must be a whole number')
    .min(1, 'num_inference_steps must be between 1 and 150')
    .max(150, 'num_inference_steps must be between 1 and 150')
    .optional()
    .openapi({ description: "denoising steps; default: the model's (50 for Stable Diffusion)" }),
  guidance_scale: z
    .number({ error: 'guidance_scale must be a number' })
    .min(1, 'guidance_scale must be between 1 and 20')
    .max(20, 'guidance_scale must be between 1 and 20')
    .default(7.5),
  seed: z
    .number({ error: 'seed must be a whole number' })
    .int('seed must be a whole number')
    .min(0, 'seed must be between 0 and 4294967295')
    .max(4_294_967_295, 'seed must be between 0 and 4294967295')
    .optional()
    .openapi({ description: 'for reproducible images; a request without one gets a random seed, returned' }),
  profile: z
    .string({ error: 'profile must be a string' })
    // ProfileName's pattern (contracts/datasets.ts), or empty: the catalogue's default, for none.
    .regex(
      /^(?:[a-z0-9][a-z0-9_-]{0,63})?$/,
      'profile must be the name of a profile (1–64 lower-case letters, digits, _ or -, starting with a letter or digit), or empty for none',
    )
    .optional()
    .openapi({
      description:
        "an image profile's name (GET /api/v1/profiles): the model's image is steered toward the profile's colour means, brightness and RMS contrast (a colour transfer after Reinhard et al., 2001); unknown: 404",
      example: 'unsplash_nature',
    }),
});

/** The parameters of seed 001's own examples. */
const SEED_EXAMPLE_PARAMETERS = {
  model_id: 'runwayml/stable-diffusion-v1-5',
  width: 512,
  height: 512,
  num_inference_steps: 50,
  guidance_scale: 7.5,
};

const prompt = z
  .string({ error: 'prompt is required and must be a string' })
  .trim()
  .min(1, 'prompt must not be empty')
  .max(2000, 'prompt must be at most 2000 characters');

export const GenerateRequest = ImageParameters.extend({ prompt })
  .strict()
  .openapi('GenerateRequest', {
    example: {
      prompt: 'A beautiful sunset over mountains',
      negative_prompt: 'blurry, low quality',
      ...SEED_EXAMPLE_PARAMETERS,
      seed: 42,
    },
  });
export type GenerateRequest = z.output<typeof GenerateRequest>;

/**
 * A model's `param_values` in a job run of `POST /api/v1/batches` (seed 000's batch format, where
 * `name` is the generator): the generate request without `model_id`, which the name already picks.
 */
export const ModelRunParams = ImageParameters.omit({ model_id: true }).extend({ prompt }).strict();
export type ModelRunParams = z.output<typeof ModelRunParams>;

/**
 * The parameters as answered: every value the image was made with, defaults and seed included —
 * the request's parameters with the ones the server chooses (model, steps, seed) always present,
 * and the profile (if any) by its name.
 */
export const ResolvedImageParameters = ImageParameters.required({
  model_id: true,
  num_inference_steps: true,
  seed: true,
}).openapi('ImageParameters');
export type ResolvedImageParameters = z.output<typeof ResolvedImageParameters>;

export const ImageCost = z
  .object({
    gpu_seconds: z.number().describe('estimated instance seconds on the model’s endpoint'),
    usd: z.number().describe('estimated USD: instance time at the configured price, plus orchestration'),
    instance_type: z.string(),
  })
  .openapi('ImageCost');

export const GeneratedImage = z
  .object({
    image_path: z.string().describe('the image in S3: s3://bucket/key'),
    image_url: z.string().url().describe('short-lived presigned link to the PNG'),
    prompt: z.string(),
  })
  .openapi('GeneratedImage');

/** `POST /generate`, answered 200 when the image was ready within the wait. */
export const GenerateResponse = GeneratedImage.extend({
  parameters: ResolvedImageParameters,
  job_id: JobId,
  batch_id: JobId,
  cost: ImageCost,
}).openapi('GenerateResponse');

/** Where a job that is not finished stands: `warming` while its endpoint starts from zero. */
export const ImageJobState = z
  .object({
    job_id: JobId,
    batch_id: JobId,
    status: JobStatus,
    phase: z
      .enum(['queued', 'warming', 'generating', 'done'])
      .describe('warming: the endpoint has no instance yet and is starting one'),
    progress: z.number().min(0).max(100),
    message: z.string().optional(),
    estimated_ready_at: IsoDateTime.optional().describe('while warming: when the endpoint should be serving'),
    created_at: IsoDateTime,
  })
  .openapi('ImageJobState');

/** `POST /generate`, answered 202 when the image takes longer than the wait. */
export const GenerateAccepted = ImageJobState.extend({
  parameters: ResolvedImageParameters,
  cost: ImageCost,
}).openapi('GenerateAccepted');

export const GenerateBatchRequest = ImageParameters.extend({
  prompts: z
    .array(prompt, { error: 'prompts must be an array of strings' })
    .min(1, 'prompts must hold at least one prompt')
    .max(100, 'prompts must hold at most 100 prompts'),
  batch_size: z
    .number({ error: 'batch_size must be a whole number' })
    .int()
    .min(1, 'batch_size must be between 1 and 100')
    .max(100, 'batch_size must be between 1 and 100')
    .optional()
    .openapi({ description: 'seed 001 field; if given it must equal the number of prompts' }),
  name: z.string().min(1).max(200).optional(),
})
  .strict()
  .refine((request) => request.batch_size === undefined || request.batch_size === request.prompts.length, {
    message: 'batch_size must equal the number of prompts',
    path: ['batch_size'],
  })
  .openapi('GenerateBatchRequest', {
    example: {
      prompts: ['A beautiful sunset over mountains', 'A futuristic city with flying cars'],
      batch_size: 2,
      ...SEED_EXAMPLE_PARAMETERS,
    },
  });
export type GenerateBatchRequest = z.output<typeof GenerateBatchRequest>;

/** `POST /generate/batch`: 202 at once; poll the batch for its images. */
export const GenerateBatchAccepted = z
  .object({
    batch_id: JobId,
    status: JobStatus,
    jobs: z.array(z.object({ job_id: JobId, prompt: z.string() })),
    parameters: ResolvedImageParameters.omit({ seed: true }).extend({
      seeds: z.array(z.number().int()).describe('one per prompt'),
    }),
    cost: ImageCost,
  })
  .openapi('GenerateBatchAccepted');

/** A batch of images as seed 001 documents it, with where each job stands until it is done. */
export const GenerateBatchResult = z
  .object({
    batch_id: JobId,
    status: JobStatus,
    images: z.array(
      GeneratedImage.partial({ image_path: true, image_url: true }).extend({
        job_id: JobId,
        status: JobStatus,
        seed: z.number().int(),
        error: z.object({ code: z.string(), message: z.string() }).optional(),
      }),
    ),
    parameters: ResolvedImageParameters.omit({ seed: true }),
  })
  .openapi('GenerateBatchResult');

export const ImageJobParams = z.object({ job_id: JobId });
export const ImageBatchParams = z.object({ batch_id: JobId });
