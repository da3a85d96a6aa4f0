/**
 * Seed 001's other half (the Inferloop image API): quality and privacy validation of the tenant's
 * images, profiles of an image set, and exports to JSONL and to the user's own S3 bucket. Field names
 * and answers are the seed's; what SynthForge adds (brightness, colourfulness, the regions of privacy
 * findings, per-request thresholds, whole-batch validation, retries) is named in each description.
 *
 * An image path names an image of the caller's tenant: an `s3://` URI under its prefix of the data
 * bucket (what `/generate` answers as `image_path`), an image job's id (its image), or
 * `<job_id>/<frame>` (a frame of a generation job's result). A dataset is a batch id or a prefix of
 * the tenant's data. Anything else is a 404, whoever's it is.
 */
import { IsoDateTime } from './common.ts';
import { datasetsFamily } from './families/datasets.ts';
import { JobId, JobStatus } from './jobs.ts';
import * as z from './zod.ts';

const IMAGE_PATH_DESCRIPTION =
  "an image of yours: an s3:// URI under your prefix of the data bucket (as /generate answers), an image job's id, or <job_id>/<frame> of a generation job's result";

export const ImagePath = z
  .string({ error: 'image_path is required and must be a string' })
  .trim()
  .min(1, 'image_path must not be empty')
  .max(2048, 'image_path must be at most 2048 characters')
  .openapi({
    description: IMAGE_PATH_DESCRIPTION,
    example: 's3://synthforge-data/acme/jobs/01JD3X2K8Q7YV4N6B5M9T0RWZC/image.png',
  });

export const DatasetDir = z
  .string({ error: 'dataset_dir is required and must be a string' })
  .trim()
  .min(1, 'dataset_dir must not be empty')
  .max(1024, 'dataset_dir must be at most 1024 characters')
  .openapi({
    description:
      'a batch id (its images, or the frames of its generation jobs), or a prefix of your data: an s3:// URI under your prefix or a path relative to it',
    example: '01JD3X2K8Q7YV4N6B5M9T0RWZC',
  });

/* ----------------------------------------------------------------------------------------------- */
/* Quality                                                                                          */
/* ----------------------------------------------------------------------------------------------- */

/** The metrics an answer can hold. */
export const QUALITY_METRICS = [
  'sharpness',
  'contrast',
  'noise_level',
  'brightness',
  'colourfulness',
] as const;
export type QualityMetricName = (typeof QUALITY_METRICS)[number];

/** The names a request may use: the seed's `noise` is the answer's `noise_level`; both spellings of colourfulness. */
const METRIC_ALIASES: Record<string, QualityMetricName> = {
  sharpness: 'sharpness',
  contrast: 'contrast',
  noise: 'noise_level',
  noise_level: 'noise_level',
  brightness: 'brightness',
  colourfulness: 'colourfulness',
  colorfulness: 'colourfulness',
};

const MetricName = z
  .string({ error: 'each metric must be a string' })
  .refine((name) => name in METRIC_ALIASES, {
    message: `each metric must be one of ${Object.keys(METRIC_ALIASES).join(', ')}`,
  })
  .transform((name) => METRIC_ALIASES[name] as QualityMetricName);

/** What each metric must reach for `passed`; SynthForge's defaults are in the descriptions. */
export const QualityThresholds = z
  .object({
    sharpness_min: z.number().min(0).optional().openapi({ description: 'default 100 (grey levels²)' }),
    contrast_min: z.number().min(0).max(1).optional().openapi({ description: 'default 0.15' }),
    noise_level_max: z.number().min(0).max(1).optional().openapi({ description: 'default 0.05' }),
    brightness_min: z.number().min(0).max(1).optional().openapi({ description: 'default 0.1' }),
    brightness_max: z.number().min(0).max(1).optional().openapi({ description: 'default 0.9' }),
    colourfulness_min: z.number().min(0).optional().openapi({ description: 'default 0 (any)' }),
    quality_score_min: z.number().min(0).max(1).optional().openapi({ description: 'default 0.5' }),
  })
  .strict()
  .refine(
    (t) =>
      t.brightness_min === undefined ||
      t.brightness_max === undefined ||
      t.brightness_min <= t.brightness_max,
    {
      message: 'brightness_min must not exceed brightness_max',
      path: ['brightness_min'],
    },
  )
  .openapi('QualityThresholds');
export type QualityThresholds = z.output<typeof QualityThresholds>;

const metricsList = z
  .array(MetricName, { error: 'metrics must be an array of metric names' })
  .min(1, 'metrics must name at least one metric')
  .max(10)
  .optional()
  .openapi({
    description: 'default: every metric; `noise` (the seed) and `noise_level` are the same metric',
  });

export const QualityRequest = z
  .object({ image_path: ImagePath, metrics: metricsList, thresholds: QualityThresholds.optional() })
  .strict()
  .openapi('QualityRequest', {
    example: {
      image_path: 's3://synthforge-data/acme/jobs/01JD3X2K8Q7YV4N6B5M9T0RWZC/image.png',
      metrics: ['sharpness', 'contrast', 'noise'],
    },
  });
export type QualityRequest = z.output<typeof QualityRequest>;

export const QualityMetricValues = z
  .object({
    sharpness: z.number().optional().describe('variance of the Laplacian of the luminance, grey levels²'),
    contrast: z
      .number()
      .optional()
      .describe('RMS contrast: standard deviation of the luminance / 127.5, 0–1'),
    noise_level: z.number().optional().describe("Immerkær's noise σ / 255, 0–1"),
    brightness: z.number().optional().describe('mean luminance / 255, 0–1 (SynthForge)'),
    colourfulness: z.number().optional().describe('Hasler and Süsstrunk’s M, 0 for grey (SynthForge)'),
  })
  .openapi('QualityMetricValues');

export const QualityCheck = z
  .object({
    metric: z.string(),
    value: z.number(),
    threshold: z.number(),
    comparison: z.enum(['min', 'max']),
    passed: z.boolean(),
  })
  .openapi('QualityCheck');

export const QualityResponse = z
  .object({
    image_path: z.string(),
    quality_score: z.number().min(0).max(1).describe('mean of the requested metrics’ scores, each 0–1'),
    metrics: QualityMetricValues,
    passed: z.boolean(),
    checks: z.array(QualityCheck).describe('each threshold applied (SynthForge)'),
    width: z.number().int(),
    height: z.number().int(),
  })
  .openapi('QualityResponse');
export type QualityResponse = z.input<typeof QualityResponse>;

/* ----------------------------------------------------------------------------------------------- */
/* Privacy                                                                                          */
/* ----------------------------------------------------------------------------------------------- */

export const PrivacyRequest = z
  .object({
    image_path: ImagePath,
    check_faces: z.boolean({ error: 'check_faces must be a boolean' }).default(true),
    check_text: z.boolean({ error: 'check_text must be a boolean' }).default(true),
  })
  .strict()
  .openapi('PrivacyRequest', {
    example: {
      image_path: 's3://synthforge-data/acme/jobs/01JD3X2K8Q7YV4N6B5M9T0RWZC/image.png',
      check_faces: true,
      check_text: true,
    },
  });
export type PrivacyRequest = z.output<typeof PrivacyRequest>;

export const Region = z
  .object({ x: z.number(), y: z.number(), width: z.number(), height: z.number() })
  .describe('in the image’s pixels, from its top-left corner')
  .openapi('Region');

export const PrivacyIssue = z
  .object({
    type: z.enum(['face', 'text', 'pii']),
    severity: z.enum(['low', 'medium', 'high']),
    message: z.string().describe('never repeats the personal data: values are masked'),
    region: Region.optional(),
    confidence: z.number().min(0).max(1).optional(),
    pii_type: z
      .string()
      .optional()
      .describe('pii issues: email, phone, card, iban, national_id, or Comprehend’s type'),
  })
  .openapi('PrivacyIssue');

export const PrivacyResponse = z
  .object({
    image_path: z.string(),
    privacy_score: z.number().min(0).max(100),
    faces_detected: z.number().int().min(0),
    text_detected: z.boolean(),
    pii_detected: z.boolean(),
    issues: z.array(PrivacyIssue),
    passed: z.boolean(),
    detectors: z
      .enum(['aws', 'bundled'])
      .describe('Rekognition and Comprehend, or the bundled face-api and Tesseract (SynthForge)'),
  })
  .openapi('PrivacyResponse');
export type PrivacyResponse = z.input<typeof PrivacyResponse>;

/* ----------------------------------------------------------------------------------------------- */
/* A whole batch, as a job                                                                           */
/* ----------------------------------------------------------------------------------------------- */

export const BatchValidationRequest = z
  .object({
    dataset_dir: DatasetDir,
    quality: z.boolean().default(true),
    privacy: z.boolean().default(true),
    metrics: metricsList,
    thresholds: QualityThresholds.optional(),
    check_faces: z.boolean().default(true),
    check_text: z.boolean().default(true),
  })
  .strict()
  .refine((r) => r.quality || r.privacy, {
    message: 'at least one of quality and privacy must be true',
    path: ['quality'],
  })
  .openapi('BatchValidationRequest');
export type BatchValidationRequest = z.output<typeof BatchValidationRequest>;

/** Where a job started by a dataset route stands: poll `GET /api/v1/jobs/{job_id}`; its result_url links the answer. */
export const DatasetJobAccepted = z
  .object({
    job_id: JobId,
    kind: z.enum(datasetsFamily.jobKinds),
    status: JobStatus,
    image_count: z.number().int().optional(),
    created_at: IsoDateTime,
  })
  .openapi('DatasetJobAccepted');
export type DatasetJobAccepted = z.input<typeof DatasetJobAccepted>;

export const BatchValidationResult = z
  .object({
    dataset_dir: z.string(),
    image_count: z.number().int(),
    passed_count: z.number().int(),
    failed_count: z.number().int(),
    passed: z.boolean(),
    quality: z
      .object({ mean_quality_score: z.number(), means: QualityMetricValues, passed_count: z.number().int() })
      .optional(),
    diversity: z
      .object({
        mean_pairwise_ssim: z
          .number()
          .describe('mean SSIM over pairs of images (Wang et al. 2004); lower is more diverse'),
        diversity: z.number().describe('1 − mean_pairwise_ssim'),
        pairs: z.number().int(),
      })
      .optional(),
    privacy: z
      .object({
        passed_count: z.number().int(),
        faces_detected: z.number().int(),
        pii_images: z.number().int(),
        text_images: z.number().int(),
      })
      .optional(),
    images: z.array(
      z.object({
        image_path: z.string(),
        passed: z.boolean(),
        quality: QualityResponse.omit({ image_path: true }).optional(),
        privacy: PrivacyResponse.omit({ image_path: true }).optional(),
        error: z.string().optional(),
      }),
    ),
  })
  .openapi('BatchValidationResult');
export type BatchValidationResult = z.input<typeof BatchValidationResult>;

/* ----------------------------------------------------------------------------------------------- */
/* Profiles                                                                                         */
/* ----------------------------------------------------------------------------------------------- */

export const ProfileName = z
  .string({ error: 'name must be a string' })
  .regex(
    /^[a-z0-9][a-z0-9_-]{0,63}$/,
    'name must be 1–64 lower-case letters, digits, _ or -, starting with a letter or digit',
  )
  .openapi({ example: 'unsplash_nature' });

export const ProfileStatistics = z
  .object({
    color_distribution: z.object({ red_mean: z.number(), green_mean: z.number(), blue_mean: z.number() }),
    brightness_mean: z.number(),
    contrast_mean: z.number(),
    brightness_std: z.number().optional().describe('spread of brightness across the images (SynthForge)'),
    contrast_std: z.number().optional().describe('spread of contrast across the images (SynthForge)'),
    resolution: z.object({ width_mean: z.number(), height_mean: z.number() }),
  })
  .openapi('ProfileStatistics');
export type ProfileStatistics = z.output<typeof ProfileStatistics>;

export const ProfileSummary = z
  .object({ name: z.string(), created_at: IsoDateTime, sample_count: z.number().int(), path: z.string() })
  .openapi('ProfileSummary');

export const ProfileList = z.object({ profiles: z.array(ProfileSummary) }).openapi('ProfileList');
export type ProfileList = z.input<typeof ProfileList>;

export const Profile = ProfileSummary.extend({
  updated_at: IsoDateTime,
  statistics: ProfileStatistics,
  source: z
    .object({ batch_id: z.string().optional(), s3_prefix: z.string().optional() })
    .describe('what it was computed from (SynthForge)'),
}).openapi('Profile');
export type Profile = z.input<typeof Profile>;

export const ProfileNameParams = z.object({ profile_name: ProfileName });

export const CreateProfileRequest = z
  .object({
    name: ProfileName,
    source: z.union([z.object({ batch_id: JobId }).strict(), z.object({ s3_prefix: DatasetDir }).strict()], {
      error: 'source must be {batch_id} or {s3_prefix}',
    }),
  })
  .strict()
  .openapi('CreateProfileRequest', {
    example: { name: 'unsplash_nature', source: { batch_id: '01JD3X2K8Q7YV4N6B5M9T0RWZC' } },
  });
export type CreateProfileRequest = z.output<typeof CreateProfileRequest>;

/* ----------------------------------------------------------------------------------------------- */
/* Export                                                                                           */
/* ----------------------------------------------------------------------------------------------- */

export const ExportJsonlRequest = z
  .object({
    dataset_dir: DatasetDir,
    output_file: z.string({ error: 'output_file is required and must be a string' }).min(1).max(512).openapi({
      description: 'a name under your exports/ folder, ending in .jsonl',
      example: 'nature_set.jsonl',
    }),
    include_metadata: z.boolean().default(true),
    include_annotations: z.boolean().default(true),
    require_privacy_validation: z.boolean().default(false).openapi({
      description:
        'refuse (409) unless the dataset passed a privacy validation (POST /validate/batch) over all its images; the stage may require it always (SynthForge)',
    }),
  })
  .strict()
  .openapi('ExportJsonlRequest');
export type ExportJsonlRequest = z.output<typeof ExportJsonlRequest>;

export const ExportJsonlResponse = z
  .object({
    status: z.enum(['success']),
    exported_count: z.number().int(),
    output_file: z.string().describe('s3:// URI of the JSONL file in the data bucket'),
    file_size_bytes: z.number().int(),
    output_url: z
      .string()
      .url()
      .optional()
      .describe(
        'a short-lived link to download the file, when the export answered within the request (SynthForge)',
      ),
    skipped: z
      .array(z.object({ file_name: z.string(), error: z.string() }))
      .optional()
      .describe('objects left out because they are no readable image (SynthForge)'),
  })
  .openapi('ExportJsonlResponse');
export type ExportJsonlResponse = z.input<typeof ExportJsonlResponse>;

export const ExportS3Request = z
  .object({
    dataset_dir: DatasetDir,
    bucket_name: z.string({ error: 'bucket_name is required and must be a string' }).min(3).max(63),
    s3_prefix: z.string({ error: 's3_prefix must be a string' }).max(900).default(''),
    include_metadata: z.boolean().default(true),
    public_read: z.boolean().default(false),
    require_privacy_validation: z.boolean().default(false).openapi({
      description:
        'refuse (409) unless the dataset passed a privacy validation (POST /validate/batch) over all its images; the stage may require it always (SynthForge)',
    }),
  })
  .strict()
  .openapi('ExportS3Request');
export type ExportS3Request = z.output<typeof ExportS3Request>;

export const ExportS3Response = z
  .object({
    status: z.enum(['success', 'partial', 'failed']),
    uploaded_count: z.number().int(),
    failed_count: z.number().int(),
    total_size_bytes: z.number().int(),
    bucket_name: z.string(),
    s3_prefix: z.string(),
    manifest_url: z.string().describe('s3:// URI of manifest.json: every object with its size and SHA-256'),
    retries: z.number().int().describe('objects written again after a transient error (SynthForge)'),
    failures: z.array(z.object({ file_name: z.string(), error: z.string() })).optional(),
  })
  .openapi('ExportS3Response');
export type ExportS3Response = z.input<typeof ExportS3Response>;
