import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, RemovalPolicy } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { SEED_EMD_MODELS } from '../../contracts/inference-models.ts';
import { DEFAULT_PROCESSING_INSTANCE_TYPE } from '../../lambdas/domain/avatars/execution.ts';
import {
  knownStages,
  loadStageConfig,
  loadStageConfigNamed,
  parseStageConfig,
  removalPolicyOf,
  STAGE_CONFIG_DIR,
} from '../../lib/config.ts';

describe('parseStageConfig', () => {
  it('fills every default from the stage name alone', () => {
    const config = parseStageConfig({ stage: 'qa' });
    expect(config).toMatchObject({
      stage: 'qa',
      batchMaxConcurrency: 8,
      resultUrlTtlSeconds: 900,
      idempotencyTtlSeconds: 86_400,
      logRetentionDays: 30,
      removalPolicy: 'retain',
      api: { stageRateLimit: 100, stageBurstLimit: 200, tenantRateLimit: 20, tenantQuotaPerDay: 50_000 },
    });
    expect(config.account).toBeUndefined();
    expect(config.alarmEmail).toBeUndefined();
  });

  it('fills the training defaults: one GPU instance, no spot, two resumes, no image of its own (AWS’s PyTorch image)', () => {
    const { training } = parseStageConfig({ stage: 'qa' });
    expect(training).toEqual({
      instanceType: 'ml.g5.xlarge',
      allowedInstanceTypes: [],
      volumeSizeGb: 30,
      maxRuntimeSeconds: 14_400,
      maxRuntimeLimitSeconds: 86_400,
      spot: false,
      maxWaitSeconds: 172_800,
      maxAutoResumes: 2,
      instancePricesUsdPerHour: {},
    });
    expect(training.image).toBeUndefined();
  });

  it('checks the training section with the rest: limits that contradict each other, an image outside ECR', () => {
    const parse = () =>
      parseStageConfig({
        stage: 'qa',
        training: { maxRuntimeSeconds: 90_000, maxRuntimeLimitSeconds: 3_600, image: 'trainer:latest' },
      });
    expect(parse).toThrow(/- training\.maxRuntimeSeconds: must not exceed maxRuntimeLimitSeconds/);
  });

  it('runs no avatar processing jobs by default: no avatarizer image, the default instance, six hours', () => {
    expect(parseStageConfig({ stage: 'qa' }).avatars).toEqual({
      processingInstanceType: DEFAULT_PROCESSING_INSTANCE_TYPE,
      processingMaxRuntimeHours: 6,
    });
  });

  it('checks the avatars section: an image outside ECR, an instance without a known memory, a limit over a day', () => {
    const parse = () =>
      parseStageConfig({
        stage: 'qa',
        avatars: {
          processingImage: 'docker.io/library/avatarizer:1',
          processingInstanceType: 'ml.g5.xlarge',
          processingMaxRuntimeHours: 25,
        },
      });
    expect(parse).toThrow(/- avatars\.processingImage: an ECR image URI/);
    expect(parse).toThrow(
      /- avatars\.processingInstanceType: one of the instance types for avatar processing jobs: ml\.m5\.2xlarge/,
    );
    expect(parse).toThrow(/- avatars\.processingMaxRuntimeHours: /);
    const image = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/avatarizer:1';
    expect(
      parseStageConfig({ stage: 'qa', avatars: { processingImage: image } }).avatars.processingImage,
    ).toBe(image);
  });

  it('exports to no bucket by default, and gives tenants only buckets the stage lists', () => {
    // Act
    const { datasets } = parseStageConfig({ stage: 'qa' });

    // Assess
    expect(datasets).toMatchObject({
      detectors: 'aws',
      exportBuckets: [],
      exportBucketTenants: {},
      allowPublicRead: false,
    });
    expect(() =>
      parseStageConfig({
        stage: 'qa',
        datasets: { exportBuckets: ['acme-exports'], exportBucketTenants: { 'elsewhere-sets': ['acme'] } },
      }),
    ).toThrow(/datasets\.exportBucketTenants.*not in exportBuckets/);
  });

  it('lists every problem with its path in one error', () => {
    const parse = () =>
      parseStageConfig(
        { stage: 'qa', batchMaxConcurrency: 41, resultUrlTtlSeconds: 901, api: { tenantQuotaPerDay: 0 } },
        'config/stages/qa.json',
      );
    expect(parse).toThrow(/Invalid stage configuration in config\/stages\/qa\.json/);
    expect(parse).toThrow(/- batchMaxConcurrency: /);
    expect(parse).toThrow(/- resultUrlTtlSeconds: /);
    expect(parse).toThrow(/- api\.tenantQuotaPerDay: /);
  });

  it('lets the key authorizer trust a verified key for 60 s by default, 0 to 300 s if the stage says so', () => {
    expect(parseStageConfig({ stage: 'qa' }).api.keyCacheTtlSeconds).toBe(60);
    expect(parseStageConfig({ stage: 'qa', api: { keyCacheTtlSeconds: 0 } }).api.keyCacheTtlSeconds).toBe(0);
    for (const keyCacheTtlSeconds of [-1, 301, 1.5]) {
      expect(() => parseStageConfig({ stage: 'qa', api: { keyCacheTtlSeconds } })).toThrow(
        /api\.keyCacheTtlSeconds/,
      );
    }
  });

  it('rejects unknown keys, so a typo is not silently ignored', () => {
    expect(() => parseStageConfig({ stage: 'qa', batchMaxConcurency: 4 })).toThrow(/batchMaxConcurency/);
  });

  it('rejects a tenant limit above the stage limit, and a retention CloudWatch does not offer', () => {
    expect(() => parseStageConfig({ stage: 'qa', api: { stageRateLimit: 10, tenantRateLimit: 20 } })).toThrow(
      /api\.tenantRateLimit: must not exceed stageRateLimit/,
    );
    expect(() => parseStageConfig({ stage: 'qa', logRetentionDays: 10 })).toThrow(/logRetentionDays/);
  });

  it('sizes the EMD models against their instances only when the stage deploys the endpoint', () => {
    // Prepare: every seed model, the 32B one too, on one small instance.
    const emd = { instanceType: 'ml.g5.2xlarge', models: SEED_EMD_MODELS.map((model) => ({ ...model })) };

    // Act / Assess
    expect(parseStageConfig({ stage: 'qa', inference: { emd } }).inference.emd.enabled).toBe(false);
    expect(() => parseStageConfig({ stage: 'qa', inference: { emd: { ...emd, enabled: true } } })).toThrow(
      /inference\.emd\.models\.1\.gpus: qwen2\.5-vl-32b needs 4 GPUs per copy/,
    );
    // A key twice is refused either way: the catalogue's keys name one model each.
    const twice = { models: [SEED_EMD_MODELS[0], SEED_EMD_MODELS[0]] };
    expect(() => parseStageConfig({ stage: 'qa', inference: { emd: twice } })).toThrow(/appears twice/);
  });

  it('rejects stage names that cannot name a stack and an API stage', () => {
    expect(() => parseStageConfig({ stage: 'Prod' })).toThrow(/stage: lower-case/);
    expect(() => parseStageConfig({ stage: '../etc' })).toThrow(/stage: lower-case/);
  });

  it.each(readdirSync(STAGE_CONFIG_DIR).filter((name) => name.endsWith('.json')))(
    'accepts config/stages/%s',
    (name) => {
      const raw = JSON.parse(readFileSync(join(STAGE_CONFIG_DIR, name), 'utf8'));
      expect(() => parseStageConfig(raw, name)).not.toThrow();
    },
  );
});

describe('loadStageConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'synthforge-stages-'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'qa.json'), JSON.stringify({ batchMaxConcurrency: 3 }));
  writeFileSync(join(dir, 'named.json'), JSON.stringify({ stage: 'other' }));
  writeFileSync(join(dir, 'broken.json'), '{ not json');
  writeFileSync(join(dir, 'example.prod.json'), JSON.stringify({ stage: 'prod' }));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const appWith = (stage?: string) => new App({ context: stage === undefined ? {} : { stage } });

  it('reads -c stage=NAME from config/stages/NAME.json', () => {
    expect(loadStageConfig(appWith('qa'), dir)).toMatchObject({ stage: 'qa', batchMaxConcurrency: 3 });
  });

  it('names the known stages when the stage is missing or unknown (examples are not stages)', () => {
    expect(knownStages(dir)).toEqual(['broken', 'named', 'qa']);
    expect(() => loadStageConfig(appWith(), dir)).toThrow(/-c stage=NAME.*Known stages: broken, named, qa/);
    expect(() => loadStageConfig(appWith('nope'), dir)).toThrow(/nope\.json does not exist\. Known stages/);
  });

  it('rejects a file that names another stage, and a file that is not JSON', () => {
    expect(() => loadStageConfig(appWith('named'), dir)).toThrow(/stage: is "other", expected "named"/);
    expect(() => loadStageConfig(appWith('broken'), dir)).toThrow(/not JSON/);
  });

  it('reads the same file by name alone, for scripts that have no CDK app (npm run deploy)', () => {
    expect(loadStageConfigNamed('qa', dir)).toEqual(loadStageConfig(appWith('qa'), dir));
    expect(() => loadStageConfigNamed('named', dir)).toThrow(/stage: is "other", expected "named"/);
  });

  it('maps retain to RetainExceptOnCreate and destroy to Delete', () => {
    expect(removalPolicyOf({ removalPolicy: 'retain' })).toBe(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE);
    expect(removalPolicyOf({ removalPolicy: 'destroy' })).toBe(RemovalPolicy.DESTROY);
  });

  it('loads the committed dev stage that cdk.json selects by default', () => {
    const cdkJson = JSON.parse(readFileSync(join(STAGE_CONFIG_DIR, '..', '..', 'cdk.json'), 'utf8'));
    expect(loadStageConfig(appWith(cdkJson.context.stage)).stage).toBe('dev');
  });
});
