/**
 * Seed 002 (LaxAI training API): metric-learning training runs for re-identification, as jobs of the
 * one engine. Field names are the seed's; each parameter of its two tables gets its documented type,
 * LaxAI's default and a range that keeps a run meaningful. Unknown fields are refused, so a typo
 * (`learning_rte`) is an error rather than a silently ignored value. `dataset` and `compute` are
 * SynthForge's: where the crops come from, and what the run may spend.
 */
import { Cursor, IsoDateTime, Limit } from './common.ts';
import { JobId, JobStatus } from './jobs.ts';
import * as z from './zod.ts';

/** The ResNet stages CBAM attention can follow. */
export const ATTENTION_LAYERS = ['layer1', 'layer2', 'layer3', 'layer4'] as const;

const int = (name: string, min: number, max: number) =>
  z
    .number({ error: `${name} must be a whole number` })
    .int(`${name} must be a whole number`)
    .min(min, `${name} must be between ${min} and ${max}`)
    .max(max, `${name} must be between ${min} and ${max}`);

/** A number in (min, max] when `open` is 'min', [min, max) when 'max', else [min, max]. */
const float = (name: string, min: number, max: number, open?: 'min' | 'max') => {
  const range = `${name} must be ${open === 'min' ? 'above' : 'at least'} ${min} and ${open === 'max' ? 'below' : 'at most'} ${max}`;
  const base = z.number({ error: `${name} must be a number` });
  const low = open === 'min' ? base.gt(min, range) : base.min(min, range);
  return open === 'max' ? low.lt(max, range) : low.max(max, range);
};

const bool = (name: string) => z.boolean({ error: `${name} must be true or false` });

/** Seed 002's `training_kwargs`: how the run trains. */
export const TrainingKwargs = z
  .object({
    num_epochs: int('num_epochs', 1, 1000).default(50),
    batch_size: int('batch_size', 4, 1024)
      .default(64)
      .describe('crops per step: P identities × K crops each'),
    learning_rate: float('learning_rate', 0, 1, 'min').default(0.001),
    early_stopping_patience: int('early_stopping_patience', 1, 1000)
      .default(10)
      .describe('epochs without a better loss before the run stops'),
    min_images_per_player: int('min_images_per_player', 2, 10_000)
      .default(2)
      .describe('identities with fewer crops are left out (a triplet needs two of one identity)'),
    margin: float('margin', 0, 10, 'min').default(0.4).describe('triplet loss margin'),
    weight_decay: float('weight_decay', 0, 1).default(0.0001),
    margin_decay_rate: float('margin_decay_rate', 0, 1, 'min')
      .default(0.99)
      .describe('the margin is multiplied by this after an epoch whose loss changed less than the threshold'),
    margin_change_threshold: float('margin_change_threshold', 0, 1)
      .default(0.01)
      .describe('relative loss change below which the margin decays'),
    lr_scheduler_patience: int('lr_scheduler_patience', 0, 100).default(3),
    lr_scheduler_factor: float('lr_scheduler_factor', 0, 1, 'min').default(0.5),
    lr_scheduler_min_lr: float('lr_scheduler_min_lr', 0, 1).default(0.0000001),
    num_workers: int('num_workers', 0, 64).default(8).describe('DataLoader worker processes'),
    prefetch_factor: int('prefetch_factor', 1, 64).default(2).describe('batches each worker loads ahead'),
    force_pretraining: bool('force_pretraining')
      .default(false)
      .describe('fail rather than start from random weights when ImageNet weights are not available'),
  })
  .strict()
  .openapi('TrainingKwargs');

/** Seed 002's `model_kwargs`: the embedding network. */
export const ModelKwargs = z
  .object({
    embedding_dim: int('embedding_dim', 8, 4096).default(512),
    dropout_rate: float('dropout_rate', 0, 1, 'max').default(0.2),
    use_cbam: bool('use_cbam').default(true),
    attention_layers: z
      .array(
        z.enum(ATTENTION_LAYERS, {
          error: `attention_layers must name ResNet stages: ${ATTENTION_LAYERS.join(', ')}`,
        }),
        { error: 'attention_layers must be a list of ResNet stages' },
      )
      .min(1, 'attention_layers must name at least one stage')
      .refine((layers) => new Set(layers).size === layers.length, 'attention_layers must not repeat a stage')
      .default(['layer1', 'layer2']),
  })
  .strict()
  .openapi('ModelKwargs');

/** Where the crops come from: a finished identity-crops batch of this tenant, or a prefix of its own. */
export const TrainingDataset = z
  .union([
    z
      .object({
        batch_id: JobId.describe('a completed batch of `shapes` jobs with `output: identity_crops`'),
      })
      .strict(),
    z
      .object({
        s3_prefix: z
          .string()
          .min(1)
          .max(512)
          .regex(
            /^datasets\/(?!.*(?:^|\/)\.\.?(?:\/|$))[\w.\-/]*\/$/,
            's3_prefix must be a folder under datasets/, such as datasets/players/ (no . or .. parts)',
          )
          .describe(
            "a folder under your tenant's datasets/ in the outputs bucket: one sub-folder of crops per identity",
          ),
      })
      .strict(),
  ])
  .openapi('TrainingDataset');

/** What the run may use; each within the stage's limits. */
export const TrainingCompute = z
  .object({
    instance_type: z
      .string()
      .regex(
        /^ml\.[a-z0-9-]+\.[a-z0-9]+$/,
        'instance_type must be a SageMaker instance type such as ml.g5.xlarge',
      )
      .optional()
      .describe("one of the stage's allowed training instance types; default: the stage's"),
    use_spot_instances: bool('use_spot_instances')
      .optional()
      .describe('managed spot training (checkpoints in S3 carry it over interruptions)'),
    max_runtime_seconds: int('max_runtime_seconds', 600, 432_000)
      .optional()
      .describe(
        "longest the run may train; it checkpoints before that and can be resumed; default: the stage's",
      ),
  })
  .strict()
  .openapi('TrainingCompute');

export const TrainRequest = z
  .object({
    tenant_id: z
      .string({ error: 'tenant_id must be a string' })
      .min(1)
      .max(64)
      .optional()
      .describe('your own tenant, or left out: it always comes from your API key'),
    frames: int('frames', 1, 10_000)
      .default(20)
      .describe('crops used per identity (LaxAI: frames per video)'),
    verbose: bool('verbose').default(true),
    save_intermediate: bool('save_intermediate')
      .default(true)
      .describe(
        "also keep each epoch's weights, with the run's checkpoints (model.tar.gz holds the final and best weights only)",
      ),
    custom_name: z
      .string({ error: 'custom_name must be a string' })
      .regex(/^[A-Za-z0-9][\w-]{0,62}$/, 'custom_name must be 1–63 letters, digits, _ or -')
      .optional()
      .describe('the run name; a run resumes the checkpoint of the last run of this name'),
    resume_from_checkpoint: bool('resume_from_checkpoint')
      .default(true)
      .describe('continue from the checkpoint of the last run named custom_name, if it has one'),
    wandb_tags: z
      .array(z.string().min(1).max(64), { error: 'wandb_tags must be a list of strings' })
      .max(20)
      .default([])
      .describe('tags kept on the run (no Weights & Biases here: SynthForge stores them with the job)'),
    training_kwargs: TrainingKwargs.default(TrainingKwargs.parse({})),
    model_kwargs: ModelKwargs.default(ModelKwargs.parse({})),
    dataset: TrainingDataset.optional().describe(
      "default: this tenant's most recent completed identity-crops batch",
    ),
    compute: TrainingCompute.default({}),
  })
  .strict()
  .openapi('TrainRequest', {
    example: {
      tenant_id: 'tenant1',
      custom_name: 'api_test_run',
      verbose: true,
      training_kwargs: { num_epochs: 10, batch_size: 32, learning_rate: 0.001, margin: 0.4 },
      model_kwargs: { embedding_dim: 256, use_cbam: true },
    },
  });
export type TrainRequest = z.output<typeof TrainRequest>;

/** Seed 002's progress object, plus the evaluation the trainer reports each epoch. */
export const TrainingProgress = z
  .object({
    status: z
      .string()
      .describe('pending, running, suspended (out of runtime, resumable), completed, failed, cancelled'),
    current_epoch: z.number().int().nullable(),
    total_epochs: z.number().int().nullable(),
    current_loss: z.number().nullable(),
    best_loss: z.number().nullable(),
    message: z.string(),
    datasets_found: z.number().int().nullable().describe('identity folders found'),
    datasets_processed: z.number().int().nullable().describe('identities trained on'),
    logs: z.array(z.string()),
    metrics: z
      .object({ recall_at_1: z.number(), mean_average_precision: z.number() })
      .nullable()
      .optional()
      .describe('evaluation on held-out identities after the last epoch'),
    updated_at: IsoDateTime.optional(),
  })
  .openapi('TrainingProgress');
export type TrainingProgress = z.output<typeof TrainingProgress>;

/** `POST /api/v1/train`: accepted, with the task to poll. */
export const TrainAccepted = z
  .object({
    status: z.literal('accepted'),
    task_id: JobId,
    message: z.string(),
    progress: TrainingProgress,
  })
  .openapi('TrainAccepted');
export type TrainAccepted = z.output<typeof TrainAccepted>;

/** One training task: where it stands, its request, and its model once trained. */
export const TrainingTask = z
  .object({
    task_id: JobId,
    status: JobStatus,
    custom_name: z.string(),
    message: z.string().optional(),
    progress: TrainingProgress,
    training_kwargs: TrainingKwargs,
    model_kwargs: ModelKwargs,
    wandb_tags: z.array(z.string()),
    dataset: z.object({ uri: z.string(), identities: z.number().int().optional() }).optional(),
    model_url: z.string().url().optional().describe('short-lived link to model.tar.gz once completed'),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
    created_at: IsoDateTime,
    updated_at: IsoDateTime,
  })
  .openapi('TrainingTask');
export type TrainingTask = z.output<typeof TrainingTask>;

/**
 * Any string, as LaxAI takes it: one that is not a task of the caller's (a UUID from LaxAI, another
 * tenant's id) is a 404 `not_found`, not a 422 about its format.
 */
export const TrainingTaskParams = z.object({
  task_id: z.string().openapi({
    description: 'the task_id POST /api/v1/train answered',
    example: '01JD3X2K8Q7YV4N6B5M9T0RWZC',
  }),
});

export const TrainingListQuery = z.object({
  status: JobStatus.optional(),
  limit: Limit,
  cursor: Cursor.optional(),
});

export const TrainingList = z
  .object({ jobs: z.array(TrainingTask), total: z.number().int(), next_cursor: z.string().optional() })
  .openapi('TrainingList');

export const TrainCancelled = z
  .object({ task_id: JobId, status: JobStatus, message: z.string() })
  .openapi('TrainCancelled');

/**
 * A stage's training settings (`training` in config/stages/<stage>.json): the instance and limits a
 * run gets unless its request asks for others within them. The task Lambdas read them from
 * `TRAINING_SETTINGS` without zod (lambdas/domain/training/settings.ts).
 */
export const TrainingConfigSchema = z
  .object({
    /** The default instance of a run. */
    instanceType: z
      .string()
      .regex(/^ml\.[a-z0-9-]+\.[a-z0-9]+$/)
      .default('ml.g5.xlarge'),
    /** Other instance types a request may choose with `compute.instance_type`. */
    allowedInstanceTypes: z
      .array(z.string().regex(/^ml\.[a-z0-9-]+\.[a-z0-9]+$/))
      .max(20)
      .default([]),
    /** The training volume (the crops, the checkpoints, the model), in GB. */
    volumeSizeGb: z.number().int().min(1).max(16_384).default(30),
    /** The default limit of one attempt; a request may ask for up to `maxRuntimeLimitSeconds`. */
    maxRuntimeSeconds: z.number().int().min(600).max(432_000).default(14_400),
    maxRuntimeLimitSeconds: z.number().int().min(600).max(432_000).default(86_400),
    /** Managed spot training by default (a request may turn it on or off). */
    spot: z.boolean().default(false),
    /** With spot: the longest an attempt may wait for capacity plus run (at least its runtime). */
    maxWaitSeconds: z.number().int().min(600).max(432_000).default(172_800),
    /** Times a run that suspended itself at its runtime limit is started again from its checkpoint. */
    maxAutoResumes: z.number().int().min(0).max(20).default(2),
    /**
     * A trainer image of your own in ECR (e.g. containers/trainer/Dockerfile); default: AWS's PyTorch
     * training image running containers/trainer in script mode (lib/constructs/training-workflow.ts),
     * which nothing builds and no deploy needs Docker for.
     */
    image: z.string().min(1).optional(),
    /** USD per instance hour of SageMaker training, for estimates; added to the defaults. */
    instancePricesUsdPerHour: z.record(z.string(), z.number().positive()).default({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.maxRuntimeSeconds > config.maxRuntimeLimitSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxRuntimeSeconds'],
        message: 'must not exceed maxRuntimeLimitSeconds',
      });
    }
    if (config.spot && config.maxWaitSeconds < config.maxRuntimeLimitSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxWaitSeconds'],
        message: 'must be at least maxRuntimeLimitSeconds: a spot attempt waits for capacity and then runs',
      });
    }
  });
export type TrainingConfig = z.output<typeof TrainingConfigSchema>;

/** What the task Lambdas and the API get of a stage's training settings (`TRAINING_SETTINGS`). */
export type TrainingSettings = Omit<TrainingConfig, 'image' | 'instancePricesUsdPerHour'>;

/** What the functions get of a stage's training config: the settings without the image and prices. */
export function trainingSettingsOf(config: TrainingConfig): TrainingSettings {
  const { image: _image, instancePricesUsdPerHour: _prices, ...settings } = config;
  return settings;
}
