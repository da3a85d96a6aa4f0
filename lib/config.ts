/**
 * Stage configuration: one JSON file per stage under `config/stages/`, chosen with `-c stage=NAME`,
 * validated here before any construct exists. Every field has a default except the stage name, so a
 * stage file lists only what it changes.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { RemovalPolicy } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';
import { z } from 'zod';
import {
  BedrockModelSchema,
  DEFAULT_EMD_INSTANCE_TYPE,
  type EmdModel,
  EmdModelSchema,
  SEED_BEDROCK_MODELS,
  SEED_EMD_MODELS,
} from '../contracts/inference-models.ts';
import { ECR_IMAGE_URI, ImageGenerationConfigSchema, INSTANCE_TYPE } from '../contracts/models.ts';
import { TrainingConfigSchema } from '../contracts/training.ts';
import {
  DEFAULT_PROCESSING_INSTANCE_TYPE,
  DEFAULT_PROCESSING_MAX_RUNTIME_SECONDS,
  PROCESSING_INSTANCE_MEMORY_MB,
} from '../lambdas/domain/avatars/execution.ts';
import { DEFAULT_KEY_CACHE_TTL_SECONDS, MAX_KEY_CACHE_TTL_SECONDS } from '../lambdas/domain/keys.ts';
import { DEFAULT_RATE_LIMITS, MAX_REQUESTS_PER_MINUTE } from '../lambdas/domain/rate-limits.ts';
import { REPO_ROOT } from './paths.ts';

/** Where `loadStageConfig` looks for `<stage>.json`. */
export const STAGE_CONFIG_DIR = join(REPO_ROOT, 'config', 'stages');

const STAGE_NAME = /^[a-z][a-z0-9-]{0,19}$/;

/** The retention periods CloudWatch Logs accepts. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const logRetentionDays = z
  .number()
  .int()
  .refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), {
    message: `must be one of the retention periods CloudWatch Logs accepts: ${LOG_RETENTION_DAYS.join(', ')}`,
  });

const ApiLimitsSchema = z
  .object({
    /** Steady-state requests per second for the whole stage (all tenants together). */
    stageRateLimit: z.number().int().min(1).max(10_000).default(100),
    /** Burst for the whole stage. */
    stageBurstLimit: z.number().int().min(1).max(5_000).default(200),
    /** Steady-state requests per second per tenant key (usage plan). */
    tenantRateLimit: z.number().int().min(1).max(10_000).default(20),
    /** Burst per tenant key (usage plan). */
    tenantBurstLimit: z.number().int().min(1).max(5_000).default(40),
    /** Requests per tenant key per day (usage plan quota). */
    tenantQuotaPerDay: z.number().int().min(1).default(50_000),
    /** Requests per client IP per 5 minutes before the web ACL answers 429. */
    wafRateLimitPer5Minutes: z.number().int().min(10).max(2_000_000_000).default(3_000),
    /**
     * Seconds the key authorizer trusts a key it has verified before reading the keys table again:
     * a revoked key stops working within this time. 0 reads the table on every request.
     */
    keyCacheTtlSeconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_KEY_CACHE_TTL_SECONDS)
      .default(DEFAULT_KEY_CACHE_TTL_SECONDS),
  })
  .strict()
  .superRefine((limits, ctx) => {
    if (limits.tenantRateLimit > limits.stageRateLimit) {
      ctx.addIssue({
        code: 'custom',
        path: ['tenantRateLimit'],
        message: `must not exceed stageRateLimit (${limits.stageRateLimit}): one tenant cannot get more than the stage`,
      });
    }
    if (limits.stageBurstLimit < limits.stageRateLimit) {
      ctx.addIssue({ code: 'custom', path: ['stageBurstLimit'], message: 'must be at least stageRateLimit' });
    }
    if (limits.tenantBurstLimit < limits.tenantRateLimit) {
      ctx.addIssue({
        code: 'custom',
        path: ['tenantBurstLimit'],
        message: 'must be at least tenantRateLimit',
      });
    }
  });

const requestsPerMinute = (fallback: number) =>
  z.number().int().min(0).max(MAX_REQUESTS_PER_MINUTE).default(fallback);

/**
 * Seed 001's exact limits, per tenant and minute, counted in the state table by the functions that
 * serve the routes of each group (contracts/rate-limits.ts). API Gateway's usage plan (`api`)
 * throttles per second on top of them. 0 closes a group: its routes answer 429.
 */
const RateLimitsSchema = z
  .object({
    generationPerMinute: requestsPerMinute(DEFAULT_RATE_LIMITS.generation),
    validationPerMinute: requestsPerMinute(DEFAULT_RATE_LIMITS.validation),
    exportPerMinute: requestsPerMinute(DEFAULT_RATE_LIMITS.export),
  })
  .strict();
export type RateLimitsConfig = z.output<typeof RateLimitsSchema>;

/**
 * The GPU instance types an inference endpoint may run on: GPUs and host memory per instance (EC2's
 * published sizes; an inference component's copy must fit one instance). g5: NVIDIA A10G, 24 GB
 * each; g6e: NVIDIA L40S, 48 GB each.
 */
export const GPU_INSTANCE_TYPES: Readonly<Record<string, { gpus: number; memoryGiB: number }>> = {
  'ml.g5.xlarge': { gpus: 1, memoryGiB: 16 },
  'ml.g5.2xlarge': { gpus: 1, memoryGiB: 32 },
  'ml.g5.4xlarge': { gpus: 1, memoryGiB: 64 },
  'ml.g5.8xlarge': { gpus: 1, memoryGiB: 128 },
  'ml.g5.16xlarge': { gpus: 1, memoryGiB: 256 },
  'ml.g5.12xlarge': { gpus: 4, memoryGiB: 192 },
  'ml.g5.24xlarge': { gpus: 4, memoryGiB: 384 },
  'ml.g5.48xlarge': { gpus: 8, memoryGiB: 768 },
  'ml.g6e.xlarge': { gpus: 1, memoryGiB: 32 },
  'ml.g6e.2xlarge': { gpus: 1, memoryGiB: 64 },
  'ml.g6e.4xlarge': { gpus: 1, memoryGiB: 128 },
  'ml.g6e.8xlarge': { gpus: 1, memoryGiB: 256 },
  'ml.g6e.16xlarge': { gpus: 1, memoryGiB: 512 },
  'ml.g6e.12xlarge': { gpus: 4, memoryGiB: 384 },
  'ml.g6e.24xlarge': { gpus: 4, memoryGiB: 768 },
  'ml.g6e.48xlarge': { gpus: 8, memoryGiB: 1536 },
};

/**
 * The instances the models' first copies take, placed largest first on the first instance with room
 * (GPUs and memory): each component is created with one copy (lib/constructs/vlm-endpoint.ts), so
 * they must all fit at once within `maxInstances`.
 */
function instancesForFirstCopies(
  models: readonly Pick<EmdModel, 'gpus' | 'minMemoryMb'>[],
  instance: { gpus: number; memoryGiB: number },
): number {
  const free: { gpus: number; memoryMb: number }[] = [];
  for (const model of [...models].sort((a, b) => b.gpus - a.gpus || b.minMemoryMb - a.minMemoryMb)) {
    let host = free.find((room) => room.gpus >= model.gpus && room.memoryMb >= model.minMemoryMb);
    if (!host) {
      host = { gpus: instance.gpus, memoryMb: instance.memoryGiB * 1024 };
      free.push(host);
    }
    host.gpus -= model.gpus;
    host.memoryMb -= model.minMemoryMb;
  }
  return free.length;
}

/**
 * The EMD models a stage deploys unless it lists its own: seed 003's keys that need one GPU, which
 * fit one ml.g5.12xlarge together (3 of its 4 A10Gs). Qwen2.5-VL 32B needs all four GPUs of such an
 * instance, so with it every component's first copy would need a second instance: it stays in the
 * catalogue (answered "not deployed in this stage") until a stage lists it, with `maxInstances` 2.
 */
export const DEFAULT_EMD_MODELS: readonly EmdModel[] = SEED_EMD_MODELS.filter((model) => model.gpus === 1);

const EmdConfigSchema = z
  .object({
    /**
     * Deploy the SageMaker endpoint. Off by default: an idle account then pays nothing for it and
     * needs no GPU quota; the EMD routes answer 503 "not deployed in this stage".
     */
    enabled: z.boolean().default(false),
    /** The instance type every component runs on: one of GPU_INSTANCE_TYPES. */
    instanceType: z
      .string()
      .regex(INSTANCE_TYPE, 'a SageMaker instance type such as ml.g5.12xlarge')
      .refine((type) => GPU_INSTANCE_TYPES[type] !== undefined, {
        message: `one of the GPU instance types ${Object.keys(GPU_INSTANCE_TYPES).join(', ')}`,
      })
      .default(DEFAULT_EMD_INSTANCE_TYPE),
    /** At most this many instances at once (managed instance scaling; it scales to 0 when idle). */
    maxInstances: z.number().int().min(1).max(10).default(1),
    /**
     * The serving image (LMI: DJL Serving with vLLM), in ECR. Default: `djl-inference` with tag
     * VLM_IMAGE_TAG (lib/constructs/vlm-endpoint.ts) from AWS's Deep Learning Containers registry
     * of the stack's region.
     */
    image: z
      .string()
      .regex(ECR_IMAGE_URI, 'an ECR image URI: <account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>')
      .optional(),
    /** The models deployed, one inference component each. */
    models: z
      .array(EmdModelSchema)
      .min(1)
      .max(20)
      .prefault(() => DEFAULT_EMD_MODELS.map((model) => structuredClone(model))),
    /**
     * From the first request to a model scaled to zero until a copy answers (the wake alarm, an
     * instance if none is left, the weights downloaded and loaded): what the waking 503 estimates.
     */
    wakeSeconds: z.number().int().min(60).max(3600).default(360),
    /**
     * How long an instance without copies is kept before it is released (the endpoint's scale-in
     * policy), between 5 and 1440 minutes.
     */
    scaleInCooldownMinutes: z.number().int().min(5).max(1440).default(20),
  })
  .strict()
  .superRefine((emd, ctx) => {
    const instance = GPU_INSTANCE_TYPES[emd.instanceType];
    if (!instance) return;
    const keys = new Set<string>();
    emd.models.forEach((model, index) => {
      if (keys.has(model.key)) {
        ctx.addIssue({
          code: 'custom',
          path: ['models', index, 'key'],
          message: `${model.key} appears twice`,
        });
      }
      keys.add(model.key);
      // A stage that does not deploy the endpoint sizes nothing: only the models' keys matter.
      if (!emd.enabled) return;
      if (model.gpus > instance.gpus) {
        ctx.addIssue({
          code: 'custom',
          path: ['models', index, 'gpus'],
          message: `${model.key} needs ${model.gpus} GPUs per copy; ${emd.instanceType} has ${instance.gpus}: choose a larger instanceType`,
        });
      }
      if (model.minMemoryMb > instance.memoryGiB * 1024) {
        ctx.addIssue({
          code: 'custom',
          path: ['models', index, 'minMemoryMb'],
          message: `${model.key} needs ${model.minMemoryMb} MB per copy; ${emd.instanceType} has ${instance.memoryGiB * 1024} MB`,
        });
      }
    });
    if (!emd.enabled) return;
    const fitting = emd.models.filter(
      (model) => model.gpus <= instance.gpus && model.minMemoryMb <= instance.memoryGiB * 1024,
    );
    const needed = instancesForFirstCopies(fitting, instance);
    if (needed > emd.maxInstances) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxInstances'],
        message: `each model is created with one copy: together they need ${needed} ${emd.instanceType} instances; raise maxInstances to ${needed} or deploy fewer models`,
      });
    }
  });

/** Seed 003's inference gateway: the Bedrock models, the EMD models' endpoint, the call deadline. */
const InferenceConfigSchema = z
  .object({
    bedrock: z
      .object({
        /** Invoked through Converse; IAM allows exactly these profiles and the models they route to. */
        models: z
          .array(BedrockModelSchema)
          .max(20)
          .prefault(() => SEED_BEDROCK_MODELS.map((model) => structuredClone(model))),
      })
      .strict()
      .prefault({}),
    emd: EmdConfigSchema.prefault({}),
    /** How long one model call may take, inside API Gateway's 29 s and the function's 28 s. */
    deadlineMs: z.number().int().min(1000).max(27_000).default(25_000),
    /** An `"async": true` job's call, its retries and a model's wake included: inside Lambda's 15 min. */
    asyncDeadlineMs: z.number().int().min(60_000).max(870_000).default(840_000),
  })
  .strict()
  .superRefine((inference, ctx) => {
    // The EMD catalogue is seed 003's models and the stage's own (lib/families/inference.ts).
    const emdKeys = new Set([...SEED_EMD_MODELS, ...inference.emd.models].map((model) => model.key));
    const keys = new Set<string>();
    inference.bedrock.models.forEach((model, index) => {
      const twice = keys.has(model.key) || emdKeys.has(model.key);
      if (twice) {
        ctx.addIssue({
          code: 'custom',
          path: ['bedrock', 'models', index, 'key'],
          message: `${model.key} appears twice: every model key names one model`,
        });
      }
      keys.add(model.key);
    });
  });
export type InferenceConfig = z.output<typeof InferenceConfigSchema>;
export type EmdConfig = InferenceConfig['emd'];

/**
 * Seed 004's avatar jobs. Tables up to what the 10 GB function holds run in Lambda whatever this
 * says; larger ones run as SageMaker Processing jobs on the avatarizer image
 * (containers/avatarizer), which has no public image: a stage without `processingImage` refuses
 * them with the limit (lib/families/avatars.ts).
 */
const AvatarsConfigSchema = z
  .object({
    /** The avatarizer image you built and pushed (containers/avatarizer), in ECR. */
    processingImage: z
      .string()
      .regex(ECR_IMAGE_URI, 'an ECR image URI: <account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>')
      .optional(),
    /** The one instance a processing job runs on: its memory bounds the largest job. */
    processingInstanceType: z
      .string()
      .refine((type) => PROCESSING_INSTANCE_MEMORY_MB[type] !== undefined, {
        message: `one of the instance types for avatar processing jobs: ${Object.keys(PROCESSING_INSTANCE_MEMORY_MB).join(', ')}`,
      })
      .default(DEFAULT_PROCESSING_INSTANCE_TYPE),
    /** A processing job is stopped (and its avatar job fails) past this many hours. */
    processingMaxRuntimeHours: z
      .number()
      .int()
      .min(1)
      .max(24)
      .default(DEFAULT_PROCESSING_MAX_RUNTIME_SECONDS / 3600),
  })
  .strict();
export type AvatarsConfig = z.output<typeof AvatarsConfigSchema>;

/**
 * Seed 001's dataset routes. Privacy checks call Rekognition and Comprehend unless `detectors` is
 * `bundled` (face-api and Tesseract inside the functions: no per-image charge, slower). Exports to
 * S3 may write only to the buckets listed here: the export role is granted s3:PutObject on each
 * (and each bucket's policy must grant that role, README "Exporting to your bucket").
 */
const DatasetsConfigSchema = z
  .object({
    detectors: z.enum(['aws', 'bundled']).default('aws'),
    /** Buckets `POST /export/s3` may write to; none: exports to S3 are refused (403). */
    exportBuckets: z
      .array(z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name'))
      .max(20)
      .default([]),
    /**
     * The tenants that may export to a bucket of exportBuckets, by bucket; a bucket not named here
     * takes the exports of every tenant of the stage.
     */
    exportBucketTenants: z.record(z.string(), z.array(z.string().min(1)).min(1)).default({}),
    /** `public_read: true` writes objects anyone can read; refused unless this is true. */
    allowPublicRead: z.boolean().default(false),
    /** Every export needs the dataset to have passed a privacy validation first. */
    requirePrivacyValidation: z.boolean().default(false),
    /** Images an export writes within the request; a larger one runs as a job (202). */
    syncExportLimit: z.number().int().min(0).max(1000).default(200),
  })
  .strict()
  .refine(
    (datasets) =>
      Object.keys(datasets.exportBucketTenants).every((bucket) => datasets.exportBuckets.includes(bucket)),
    {
      path: ['exportBucketTenants'],
      message: 'names a bucket that is not in exportBuckets',
    },
  );
export type DatasetsConfig = z.output<typeof DatasetsConfigSchema>;

export const StageConfigSchema = z
  .object({
    /** The stage name: `SynthForge-<stage>` is the stack, `<stage>` the API stage. */
    stage: z
      .string()
      .regex(
        STAGE_NAME,
        'lower-case letters, digits and dashes, starting with a letter, at most 20 characters',
      ),
    /** Target account; defaults to the CLI's (CDK_DEFAULT_ACCOUNT), or an environment-agnostic stack. */
    account: z
      .string()
      .regex(/^\d{12}$/, 'a 12-digit AWS account id')
      .optional(),
    /** Target region; defaults to the CLI's (CDK_DEFAULT_REGION), or an environment-agnostic stack. */
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as eu-west-1')
      .optional(),
    /** Map iterations of a batch that run at once. The inline Map state runs at most 40. */
    batchMaxConcurrency: z.number().int().min(1).max(40).default(8),
    /** Lifetime of a presigned result URL. At most 15 minutes. */
    resultUrlTtlSeconds: z.number().int().min(60).max(900).default(900),
    /** How long an `Idempotency-Key` is remembered. */
    idempotencyTtlSeconds: z
      .number()
      .int()
      .min(60)
      .max(7 * 24 * 3600)
      .default(24 * 3600),
    /** Days a result archive stays in the outputs bucket. */
    resultRetentionDays: z.number().int().min(1).max(3650).default(30),
    /** Days a replaced or deleted result version is kept (the bucket is versioned). */
    noncurrentVersionRetentionDays: z.number().int().min(1).max(365).default(7),
    /** Days S3 server access logs are kept. */
    accessLogRetentionDays: z.number().int().min(1).max(3650).default(90),
    /** Days events stay in the bus archive (replayable). */
    eventArchiveRetentionDays: z.number().int().min(1).max(3650).default(30),
    /** Retention of every log group: functions, state machine, API access and execution logs. */
    logRetentionDays: logRetentionDays.default(30),
    /**
     * What deleting the stack does to stateful resources (tables, buckets, key, secret, logs).
     * `retain` keeps them (except after a failed first create, which removes what it made);
     * `destroy` is for throw-away stages: everything goes, buckets empty themselves first.
     */
    removalPolicy: z.enum(['retain', 'destroy']).default('retain'),
    api: ApiLimitsSchema.prefault({}),
    /** Seed 001's requests per minute per tenant: generation 10, validation 20, export 5. */
    rateLimits: RateLimitsSchema.prefault({}),
    /** GPU generators: the models deployed on asynchronous endpoints that scale to zero. */
    imageGeneration: ImageGenerationConfigSchema.prefault({}),
    /** Seed 002 training runs: the default instance, what a request may choose, limits and resumes. */
    training: TrainingConfigSchema.refine(
      (training) => training.image === undefined || ECR_IMAGE_URI.test(training.image),
      {
        path: ['image'],
        message: 'an ECR image URI: <account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>',
      },
    ).prefault({}),
    /** Seed 003's inference gateway: Bedrock models, the EMD models' endpoint (off by default). */
    inference: InferenceConfigSchema.prefault({}),
    /** Seed 004's avatar jobs: the avatarizer image that runs those too large for Lambda (none by default). */
    avatars: AvatarsConfigSchema.prefault({}),
    /** Seed 001's validation, profiles and exports: detectors, export buckets, the privacy gate. */
    datasets: DatasetsConfigSchema.prefault({}),
    /** Subscribed to the alarm topic when set. */
    alarmEmail: z.email().optional(),
  })
  .strict();

export type StageConfig = z.output<typeof StageConfigSchema>;
export type StageConfigInput = z.input<typeof StageConfigSchema>;
export type ApiLimits = StageConfig['api'];

/** Parses a stage configuration; throws one error that lists every problem, with its path. */
export function parseStageConfig(raw: unknown, source = 'stage configuration'): StageConfig {
  const result = StageConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
    return `  - ${path}: ${issue.message}`;
  });
  throw new Error(`Invalid stage configuration in ${source}:\n${lines.join('\n')}`);
}

/** The stages that have a file in `dir`. */
export function knownStages(dir = STAGE_CONFIG_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .map((name) => name.slice(0, -'.json'.length))
    .filter((name) => STAGE_NAME.test(name))
    .sort();
}

/**
 * Reads `-c stage=NAME` (cdk.json defaults it to `dev`) and `config/stages/NAME.json`, and validates
 * it. The file may omit `stage`; if it names one, it must be NAME.
 */
export function loadStageConfig(scope: IConstruct, dir = STAGE_CONFIG_DIR): StageConfig {
  return loadStageConfigNamed(scope.node.tryGetContext('stage'), dir);
}

/** `config/stages/<stage>.json`, validated (what `loadStageConfig` reads, for scripts without an app). */
export function loadStageConfigNamed(stage: unknown, dir = STAGE_CONFIG_DIR): StageConfig {
  const known = knownStages(dir);
  if (typeof stage !== 'string' || !STAGE_NAME.test(stage)) {
    throw new Error(
      `Choose a stage with -c stage=NAME (lower-case letters, digits and dashes). Known stages: ${known.join(', ') || 'none'}.`,
    );
  }
  const file = join(dir, `${stage}.json`);
  const shown = relative(REPO_ROOT, file) || file;
  if (!existsSync(file)) {
    throw new Error(
      `No configuration for stage "${stage}": ${shown} does not exist. Known stages: ${known.join(', ') || 'none'}.`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`Invalid stage configuration in ${shown}: not JSON (${(error as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new Error(`Invalid stage configuration in ${shown}: expected a JSON object`);
  }
  const named = (raw as { stage?: unknown }).stage;
  if (named !== undefined && named !== stage) {
    throw new Error(
      `Invalid stage configuration in ${shown}:\n  - stage: is "${String(named)}", expected "${stage}"`,
    );
  }
  return parseStageConfig({ ...raw, stage }, shown);
}

/**
 * The CDK removal policy of a stage's stateful resources. `retain` is CloudFormation's
 * `RetainExceptOnCreate` (CDK's RETAIN_ON_UPDATE_OR_DELETE): kept when the stack is deleted or a
 * resource replaced, but deleted when the stack's first create fails and rolls back. Plain `Retain`
 * would leave the named log groups of a failed first deploy behind, and the retry would fail with
 * "already exists". (The tables are the exception: lib/constructs/data.ts says why.)
 */
export function removalPolicyOf(config: Pick<StageConfig, 'removalPolicy'>): RemovalPolicy {
  return config.removalPolicy === 'retain' ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE : RemovalPolicy.DESTROY;
}

/** The CloudWatch Logs retention of a stage's log groups. */
export function logRetentionOf(config: Pick<StageConfig, 'logRetentionDays'>): RetentionDays {
  return config.logRetentionDays as RetentionDays;
}
