/**
 * `npm run deploy`'s preflight (scripts/deploy-preflight.ts) against Service Quotas and
 * CloudFormation mocked with aws-sdk-client-mock: there is no AWS account where these tests run.
 * The answers are shaped as the APIs document them (quota names as Service Quotas spells SageMaker's
 * instance quotas, codes L-…, the bootstrap stack's BootstrapVersion output).
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  ListAWSDefaultServiceQuotasCommand,
  ListServiceQuotasCommand,
  type ServiceQuota,
  ServiceQuotasClient,
} from '@aws-sdk/client-service-quotas';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseStageConfig, type StageConfigInput } from '../../lib/config.ts';
import {
  assessQuotas,
  checkBootstrap,
  type FoundQuota,
  formatReport,
  mayDeploy,
  parseDeployArguments,
  preflight,
  quotaRequirements,
  readSageMakerQuotas,
} from '../../scripts/deploy-preflight.ts';

const REGION = 'eu-west-1';
const quotas = mockClient(ServiceQuotasClient);
const cloudFormation = mockClient(CloudFormationClient);

const stage = (overrides: Partial<StageConfigInput> = {}) => parseStageConfig({ stage: 'dev', ...overrides });

const quota = (name: string, code: string, value: number): ServiceQuota => ({
  ServiceCode: 'sagemaker',
  QuotaName: name,
  QuotaCode: code,
  Value: value,
  Adjustable: true,
});

/** Service Quotas as an account with `applied` values over AWS's `defaults`, over several pages. */
function serve(defaults: ServiceQuota[], applied: ServiceQuota[] = []) {
  const paged = (all: ServiceQuota[]) => (input: { NextToken?: string }) => {
    const start = Number(input.NextToken ?? 0);
    const next = start + 2;
    return { Quotas: all.slice(start, next), ...(next < all.length ? { NextToken: String(next) } : {}) };
  };
  // Quotas of other instance types and services around the ones that matter, as in a real listing.
  const noise = [
    quota('ml.m5.large for processing job usage', 'L-NOISE1', 4),
    quota('Number of domains', 'L-NOISE2', 1),
  ];
  quotas.on(ListAWSDefaultServiceQuotasCommand).callsFake(paged([...noise, ...defaults]));
  quotas.on(ListServiceQuotasCommand).callsFake(paged([...applied, ...noise]));
}

function bootstrapped(version = '30') {
  cloudFormation.on(DescribeStacksCommand, { StackName: 'CDKToolkit' }).resolves({
    Stacks: [
      {
        StackName: 'CDKToolkit',
        CreationTime: new Date(),
        StackStatus: 'UPDATE_COMPLETE',
        Outputs: [{ OutputKey: 'BootstrapVersion', OutputValue: version }],
      },
    ],
  });
}

const run = (config = stage(), withModels = true) =>
  preflight({
    config,
    region: REGION,
    withModels,
    serviceQuotas: new ServiceQuotasClient({ region: REGION }),
    cloudFormation: new CloudFormationClient({ region: REGION }),
  });

beforeEach(() => {
  quotas.reset();
  cloudFormation.reset();
});

describe('quotaRequirements', () => {
  it('needs one instance per endpoint at deploy and maxInstances at peak, by instance type', () => {
    // Prepare
    const config = stage({
      imageGeneration: {
        models: [
          { name: 'sd', modelId: 'org/sd', maxInstances: 2 },
          { name: 'sdxl', modelId: 'org/sdxl', maxInstances: 3 },
          {
            name: 'shapes',
            modelId: 'synthforge/shapes',
            container: 'shapes',
            image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shapes:1',
            instanceType: 'ml.m5.large',
          },
        ],
      },
    });

    // Act
    const endpoints = quotaRequirements(config, { withModels: true }).filter((r) => r.usage === 'endpoint');

    // Assess
    expect(endpoints).toEqual([
      expect.objectContaining({
        quotaName: 'ml.g5.xlarge for endpoint usage',
        atDeploy: 2,
        atPeak: 5,
        required: true,
        usedBy: 'model endpoints sd, sdxl',
      }),
      expect.objectContaining({ quotaName: 'ml.m5.large for endpoint usage', atDeploy: 1, atPeak: 1 }),
    ]);
  });

  it('checks training types as warnings, spot ones only when the stage trains on spot, and no endpoint without models', () => {
    // Act
    const plain = quotaRequirements(stage({ training: { allowedInstanceTypes: ['ml.m5.xlarge'] } }), {
      withModels: false,
    });
    const spot = quotaRequirements(stage({ training: { spot: true } }), { withModels: true });

    // Assess
    expect(plain.map((r) => [r.quotaName, r.required])).toEqual([
      ['ml.g5.xlarge for training job usage', false],
      ['ml.m5.xlarge for training job usage', false],
    ]);
    expect(spot.map((r) => r.quotaName)).toContain('ml.g5.xlarge for spot training job usage');
  });
});

describe('readSageMakerQuotas', () => {
  it('takes the applied value over the default, across pages, and keeps only the names asked', async () => {
    // Prepare
    serve(
      [
        quota('ml.g5.xlarge for endpoint usage', 'L-1A2B3C4D', 0),
        quota('ml.g5.xlarge for training job usage', 'L-5E6F7A8B', 0),
      ],
      [quota('ml.g5.xlarge for endpoint usage', 'L-1A2B3C4D', 4)],
    );

    // Act
    const found = await readSageMakerQuotas(
      new ServiceQuotasClient({ region: REGION }),
      new Set(['ml.g5.xlarge for endpoint usage', 'ml.g5.xlarge for training job usage']),
    );

    // Assess
    expect([...found.values()]).toEqual([
      { name: 'ml.g5.xlarge for endpoint usage', code: 'L-1A2B3C4D', value: 4, adjustable: true },
      { name: 'ml.g5.xlarge for training job usage', code: 'L-5E6F7A8B', value: 0, adjustable: true },
    ]);
    expect(quotas.commandCalls(ListServiceQuotasCommand)[0]?.args[0].input).toMatchObject({
      ServiceCode: 'sagemaker',
    });
  });
});

describe('preflight', () => {
  it('refuses the default stage in an account with an ml.g5.xlarge endpoint quota of 0, saying what to request', async () => {
    // Prepare
    bootstrapped();
    serve([
      quota('ml.g5.xlarge for endpoint usage', 'L-1A2B3C4D', 0),
      quota('ml.g5.xlarge for training job usage', 'L-5E6F7A8B', 0),
    ]);

    // Act
    const report = await run();
    const text = formatReport(report, { stage: 'dev', ignoreQuotas: false, withModels: true });

    // Assess
    expect(mayDeploy(report, { ignoreQuotas: false })).toBe(false);
    expect(mayDeploy(report, { ignoreQuotas: true })).toBe(true);
    expect(report.quotas?.map((finding) => finding.level)).toEqual(['error', 'warning']);
    expect(text).toContain('ml.g5.xlarge for endpoint usage is 0');
    expect(text).toContain('(L-1A2B3C4D)');
    expect(text).toContain(
      'https://eu-west-1.console.aws.amazon.com/servicequotas/home/services/sagemaker/quotas/L-1A2B3C4D',
    );
    expect(text).toContain(
      'aws service-quotas request-service-quota-increase --service-code sagemaker --quota-code L-1A2B3C4D --desired-value 1 --region eu-west-1',
    );
    expect(text).toContain('--without-models');
    expect(text).toMatch(/Not deploying/);
  });

  it('lets the platform alone deploy with --without-models, the training quota still reported', async () => {
    // Prepare
    bootstrapped();
    serve([
      quota('ml.g5.xlarge for endpoint usage', 'L-1A2B3C4D', 0),
      quota('ml.g5.xlarge for training job usage', 'L-5E6F7A8B', 0),
    ]);

    // Act
    const report = await run(stage(), false);

    // Assess
    expect(mayDeploy(report, { ignoreQuotas: false })).toBe(true);
    expect(report.quotas?.map((finding) => finding.requirement.quotaName)).toEqual([
      'ml.g5.xlarge for training job usage',
    ]);
    expect(report.quotas?.[0]?.summary).toMatch(/would wait and then fail/);
  });

  it('deploys when the quotas cover the deploy, warning when they cap the scaling', async () => {
    // Prepare
    bootstrapped();
    serve([
      quota('ml.g5.xlarge for endpoint usage', 'L-1A2B3C4D', 1),
      quota('ml.g5.xlarge for training job usage', 'L-5E6F7A8B', 2),
    ]);
    const config = stage({
      imageGeneration: { models: [{ name: 'sd', modelId: 'org/sd', maxInstances: 3 }] },
    });

    // Act
    const report = await run(config);

    // Assess
    expect(mayDeploy(report, { ignoreQuotas: false })).toBe(true);
    expect(report.quotas?.map((finding) => finding.level)).toEqual(['warning', 'ok']);
    expect(report.quotas?.[0]?.action).toContain('--desired-value 3');
  });

  it('refuses an environment that was never bootstrapped, naming the command', async () => {
    // Prepare
    cloudFormation
      .on(DescribeStacksCommand)
      .rejects(
        Object.assign(new Error('Stack with id CDKToolkit does not exist'), { name: 'ValidationError' }),
      );
    serve([quota('ml.g5.xlarge for endpoint usage', 'L-1A2B3C4D', 1)]);

    // Act
    const report = await run(stage({ imageGeneration: { models: [] } }));

    // Assess
    expect(report.bootstrap.level).toBe('error');
    expect(report.bootstrap.action).toContain('npx cdk bootstrap aws://<account>/eu-west-1');
    expect(mayDeploy(report, { ignoreQuotas: true })).toBe(false);
  });

  it('refuses to start without credentials, before cdk spends a minute synthesizing', async () => {
    // Prepare
    cloudFormation.on(DescribeStacksCommand).rejects(
      Object.assign(new Error('Could not load credentials from any providers'), {
        name: 'CredentialsProviderError',
      }),
    );

    // Act
    const finding = await checkBootstrap(new CloudFormationClient({ region: REGION }), REGION);

    // Assess
    expect(finding).toMatchObject({ level: 'error' });
    expect(finding.action).toContain('--profile');
  });

  it('refuses a bootstrap older than the templates accept', async () => {
    // Prepare
    bootstrapped('5');

    // Act
    const finding = await checkBootstrap(new CloudFormationClient({ region: REGION }), REGION);

    // Assess
    expect(finding).toMatchObject({ level: 'error' });
    expect(finding.summary).toContain('version 5');
  });

  it('goes on, saying so, when it may not read the quotas', async () => {
    // Prepare
    bootstrapped();
    quotas
      .on(ListAWSDefaultServiceQuotasCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));

    // Act
    const report = await run();

    // Assess
    expect(report.quotas).toBeUndefined();
    expect(report.quotaProblem).toContain('AccessDeniedException');
    expect(mayDeploy(report, { ignoreQuotas: false })).toBe(true);
  });

  it('calls an instance type with no quota in the region an error for endpoints', () => {
    // Act
    const [finding] = assessQuotas(
      quotaRequirements(stage(), { withModels: true }).slice(0, 1),
      new Map<string, FoundQuota>(),
      'af-south-1',
    );

    // Assess
    expect(finding?.level).toBe('error');
    expect(finding?.summary).toContain('no quota named "ml.g5.xlarge for endpoint usage" in af-south-1');
  });
});

describe('assessQuotas', () => {
  it('fails exactly the required quotas below what the deploy starts, for any quota value', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 6 }),
        (value, endpoints, maxInstances) => {
          // Prepare
          const models = Array.from({ length: endpoints }, (_, index) => ({
            name: `m${index}`,
            modelId: `org/m${index}`,
            maxInstances,
          }));
          const [requirement] = quotaRequirements(stage({ imageGeneration: { models } }), {
            withModels: true,
          });
          const found = new Map([
            [
              'ml.g5.xlarge for endpoint usage',
              { name: 'ml.g5.xlarge for endpoint usage', code: 'L-1', value, adjustable: true },
            ],
          ]);

          // Act
          const [finding] = assessQuotas(requirement ? [requirement] : [], found, REGION);

          // Assess
          const expected = value < endpoints ? 'error' : value < endpoints * maxInstances ? 'warning' : 'ok';
          expect(finding?.level).toBe(expected);
        },
      ),
    );
  });
});

describe('parseDeployArguments', () => {
  it('deploys both stacks by default, without approval prompts, passing every cdk argument through', () => {
    // Act
    const args = parseDeployArguments(
      ['-c', 'stage=prod', '--profile', 'ops', '--require-approval', 'broadening'],
      'dev',
    );

    // Assess
    expect(args).toMatchObject({ stage: 'prod', withModels: true, ignoreQuotas: false, profile: 'ops' });
    expect(args.cdkArgs).toEqual([
      'deploy',
      '--all',
      '-c',
      'stage=prod',
      '--profile',
      'ops',
      '--require-approval',
      'broadening',
    ]);
  });

  it('deploys the platform stack alone with --without-models, and keeps its own flags from cdk', () => {
    // Act
    const args = parseDeployArguments(['--without-models', '--context=stage=qa', '--ignore-quotas'], 'dev');

    // Assess
    expect(args).toMatchObject({ stage: 'qa', withModels: false, ignoreQuotas: true, skipPreflight: false });
    expect(args.cdkArgs).toEqual([
      'deploy',
      'SynthForge-qa',
      '--require-approval',
      'never',
      '--context=stage=qa',
    ]);
  });

  it('never hands cdk one of its own flags, and keeps every other argument in order', () => {
    const own = fc.constantFrom('--without-models', '--ignore-quotas', '--skip-preflight');
    const other = fc.constantFrom('--verbose', '--no-rollback', '--exclusively', '--hotswap', '-v');
    fc.assert(
      fc.property(fc.array(fc.oneof(own, other), { maxLength: 8 }), (argv) => {
        // Act
        const args = parseDeployArguments(argv, 'dev');

        // Assess
        const passed = args.cdkArgs.slice(args.cdkArgs.indexOf('never') + 1);
        expect(passed).toEqual(
          argv.filter(
            (arg) => !arg.startsWith('--without') && !arg.startsWith('--ignore') && !arg.startsWith('--skip'),
          ),
        );
        expect(args.stage).toBe('dev');
      }),
    );
  });

  it('refuses a -c without a value', () => {
    expect(() => parseDeployArguments(['-c'], 'dev')).toThrow(/-c needs a value/);
  });
});
