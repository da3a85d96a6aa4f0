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
import { ECR_IMAGE_URI, ImageGenerationConfigSchema } from '../contracts/models.ts';
import { TrainingConfigSchema } from '../contracts/training.ts';
import { DEFAULT_KEY_CACHE_TTL_SECONDS, MAX_KEY_CACHE_TTL_SECONDS } from '../lambdas/domain/keys.ts';
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
