/**
 * What `npm run deploy` checks in the account before CloudFormation starts (scripts/deploy.ts runs
 * it): that the environment is bootstrapped, and that the account's SageMaker quotas cover every
 * instance type the stage configures. A quota of 0 is the default of many accounts for GPU instances,
 * and it would roll back the stage's Models stack half an hour into a deploy; here it is a message
 * naming the quota, its code, the console page and the command that requests it.
 *
 * - Model endpoints (`imageGeneration.models`) are required: the deploy starts one instance per
 *   endpoint, so a quota below that fails the check (non-zero exit) unless the user opts out. A
 *   quota below the models' `maxInstances` is a warning: scaling stops there.
 * - Training instance types (`training.instanceType`, `allowedInstanceTypes`, spot when the stage
 *   trains on spot by default) are warnings: the deploy does not use them, but a run on a type with a
 *   quota of 0 waits and then fails.
 *
 * Service Quotas names SageMaker's instance quotas `<type> for endpoint usage`, `<type> for training
 * job usage` and `<type> for spot training job usage`; their codes (`L-…`) differ per type and are
 * not guessable, so quotas are found by name. ListServiceQuotas answers the applied values and may
 * leave out quotas that were never changed, so the AWS defaults (ListAWSDefaultServiceQuotas) fill
 * the gaps.
 *
 * Pure but for the two clients it is given: the tests run it against aws-sdk-client-mock. Nothing
 * here has been run against a real account (none is available where it was written).
 */
import { type CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import {
  paginateListAWSDefaultServiceQuotas,
  paginateListServiceQuotas,
  type ServiceQuota,
  type ServiceQuotasClient,
} from '@aws-sdk/client-service-quotas';
import type { StageConfig } from '../lib/config.ts';
import { stackNameFor } from '../lib/stack-name.ts';

/** The service code of SageMaker in Service Quotas. */
const SAGEMAKER_SERVICE_CODE = 'sagemaker';
/** The bootstrap stack `cdk bootstrap` creates, unless told `--toolkit-stack-name`. */
const DEFAULT_TOOLKIT_STACK = 'CDKToolkit';
/**
 * The least bootstrap version the synthesized templates accept: the CheckBootstrapVersion rule of
 * CDK v2's DefaultStackSynthesizer (`minBootstrapStackVersion`).
 */
const MIN_BOOTSTRAP_VERSION = 6;

type QuotaUsage = 'endpoint' | 'training job' | 'spot training job';

/** One quota the stage needs. */
interface QuotaRequirement {
  readonly instanceType: string;
  readonly usage: QuotaUsage;
  /** `ml.g5.xlarge for endpoint usage`. */
  readonly quotaName: string;
  /** Instances the deploy itself starts (one per endpoint); 0 for training. */
  readonly atDeploy: number;
  /** Instances the stage may run at once at its peak. */
  readonly atPeak: number;
  /** What uses it, in words. */
  readonly usedBy: string;
  /** Whether a quota below `atDeploy` fails the deploy (endpoints), or only the stage's runs later. */
  readonly required: boolean;
}

/** `ml.g5.xlarge for endpoint usage`, as Service Quotas names SageMaker's instance quotas. */
const quotaNameOf = (instanceType: string, usage: QuotaUsage) => `${instanceType} for ${usage} usage`;

/**
 * The quotas a stage needs. `withModels: false` is a deploy of the platform stack alone
 * (`--without-models`): its endpoints are then not checked.
 */
export function quotaRequirements(config: StageConfig, options: { withModels: boolean }): QuotaRequirement[] {
  const requirements: QuotaRequirement[] = [];
  if (options.withModels) {
    const byType = new Map<string, { names: string[]; atPeak: number }>();
    for (const model of config.imageGeneration.models) {
      const entry = byType.get(model.instanceType) ?? { names: [], atPeak: 0 };
      entry.names.push(model.name);
      entry.atPeak += model.maxInstances;
      byType.set(model.instanceType, entry);
    }
    for (const [instanceType, { names, atPeak }] of byType) {
      requirements.push({
        instanceType,
        usage: 'endpoint',
        quotaName: quotaNameOf(instanceType, 'endpoint'),
        // An asynchronous endpoint is created with one instance (lib/constructs/model-endpoints.ts).
        atDeploy: names.length,
        atPeak,
        usedBy: `model endpoint${names.length > 1 ? 's' : ''} ${names.join(', ')}`,
        required: true,
      });
    }
  }
  const training = config.training;
  const types = [...new Set([training.instanceType, ...training.allowedInstanceTypes])];
  const usages: QuotaUsage[] = training.spot ? ['training job', 'spot training job'] : ['training job'];
  for (const instanceType of types) {
    const usedBy =
      instanceType === training.instanceType
        ? 'training runs (the default instance)'
        : 'training runs that ask for it';
    for (const usage of usages) {
      requirements.push({
        instanceType,
        usage,
        quotaName: quotaNameOf(instanceType, usage),
        atDeploy: 0,
        atPeak: 1,
        usedBy: usage === 'spot training job' ? `${usedBy}, on spot (training.spot)` : usedBy,
        required: false,
      });
    }
  }
  return requirements;
}

/** A quota as found: its code and the value that applies to the account. */
export interface FoundQuota {
  readonly name: string;
  readonly code: string;
  readonly value: number;
  readonly adjustable: boolean;
}

/**
 * SageMaker's quotas with these names in the client's region: the applied value where the account
 * has one, else AWS's default. Quotas of other names are not kept.
 */
export async function readSageMakerQuotas(
  client: ServiceQuotasClient,
  names: ReadonlySet<string>,
): Promise<Map<string, FoundQuota>> {
  const found = new Map<string, FoundQuota>();
  const keep = (quota: ServiceQuota, override: boolean) => {
    if (!quota.QuotaName || !names.has(quota.QuotaName) || quota.Value === undefined) return;
    if (!override && found.has(quota.QuotaName)) return;
    found.set(quota.QuotaName, {
      name: quota.QuotaName,
      code: quota.QuotaCode ?? '',
      value: quota.Value,
      adjustable: quota.Adjustable ?? true,
    });
  };
  // A fresh input for each paginator: the SDK's paginators write their NextToken into it.
  const input = () => ({ ServiceCode: SAGEMAKER_SERVICE_CODE, MaxResults: 100 });
  for await (const page of paginateListAWSDefaultServiceQuotas({ client }, input())) {
    for (const quota of page.Quotas ?? []) keep(quota, false);
  }
  // The account's own values override the defaults.
  for await (const page of paginateListServiceQuotas({ client }, input())) {
    for (const quota of page.Quotas ?? []) keep(quota, true);
  }
  return found;
}

type FindingLevel = 'ok' | 'warning' | 'error';

interface QuotaFinding {
  readonly level: FindingLevel;
  readonly requirement: QuotaRequirement;
  readonly quota?: FoundQuota;
  /** One line: the quota, its value and what it means for the stage. */
  readonly summary: string;
  /** What to do: the quota to request, its code, the console page and the CLI command. */
  readonly action?: string;
}

/** Where a quota is raised in the console. */
function quotaConsoleUrl(region: string, code: string): string {
  return `https://${region}.console.aws.amazon.com/servicequotas/home/services/${SAGEMAKER_SERVICE_CODE}/quotas/${code}`;
}

/** Each requirement against the quota found for it. */
export function assessQuotas(
  requirements: readonly QuotaRequirement[],
  quotas: ReadonlyMap<string, FoundQuota>,
  region: string,
): QuotaFinding[] {
  return requirements.map((requirement) => {
    const quota = quotas.get(requirement.quotaName);
    const needed = Math.max(requirement.atDeploy, 1);
    if (!quota) {
      return {
        level: requirement.required ? 'error' : 'warning',
        requirement,
        summary: `no quota named "${requirement.quotaName}" in ${region}: SageMaker may not offer ${requirement.instanceType} here (used by ${requirement.usedBy})`,
        action: `choose an instance type SageMaker offers in ${region}, or deploy to a region that has ${requirement.instanceType}`,
      };
    }
    const request = (value: number) =>
      [
        `request "${quota.name}" (${quota.code}) of at least ${value}:`,
        `  ${quotaConsoleUrl(region, quota.code)}`,
        `  aws service-quotas request-service-quota-increase --service-code ${SAGEMAKER_SERVICE_CODE} --quota-code ${quota.code} --desired-value ${value} --region ${region}`,
      ].join('\n');
    const value = `${quota.value}`;
    if (quota.value < needed) {
      const consequence = requirement.required
        ? `the Models stack would fail to create its endpoint${requirement.atDeploy > 1 ? 's' : ''} and roll back`
        : `${requirement.usedBy} would wait and then fail (ResourceLimitExceeded)`;
      return {
        level: requirement.required ? 'error' : 'warning',
        requirement,
        quota,
        summary: `${quota.name} is ${value}, ${requirement.usedBy} need${requirement.atDeploy > 1 ? '' : 's'} ${needed}: ${consequence}`,
        action: request(Math.max(needed, requirement.atPeak)),
      };
    }
    if (quota.value < requirement.atPeak) {
      return {
        level: 'warning',
        requirement,
        quota,
        summary: `${quota.name} is ${value}: enough to deploy, but ${requirement.usedBy} may scale to ${requirement.atPeak}, and will stop at ${value}`,
        action: request(requirement.atPeak),
      };
    }
    return { level: 'ok', requirement, quota, summary: `${quota.name} is ${value} (${requirement.usedBy})` };
  });
}

interface BootstrapFinding {
  readonly level: FindingLevel;
  readonly summary: string;
  readonly action?: string;
}

/** Whether `cdk bootstrap` has run in the client's account and region, recently enough. */
export async function checkBootstrap(
  cloudFormation: CloudFormationClient,
  region: string,
  toolkitStackName = DEFAULT_TOOLKIT_STACK,
): Promise<BootstrapFinding> {
  const bootstrap = `npx cdk bootstrap aws://<account>/${region}`;
  let stack: Stack | undefined;
  try {
    const described = await cloudFormation.send(new DescribeStacksCommand({ StackName: toolkitStackName }));
    stack = described.Stacks?.[0];
  } catch (error) {
    const failure = error as { name?: string; message?: string };
    if (failure.name === 'ValidationError' && /does not exist/.test(failure.message ?? '')) stack = undefined;
    else if (failure.name === 'CredentialsProviderError') {
      // cdk deploy would stop on the same: say it before it synthesizes for a minute.
      return {
        level: 'error',
        summary: `no AWS credentials to deploy with: ${failure.message ?? ''}`,
        action: 'configure them (aws configure, aws sso login, AWS_PROFILE, or --profile NAME)',
      };
    } else {
      return {
        level: 'warning',
        summary: `could not read the bootstrap stack ${toolkitStackName}: ${failure.name ?? 'error'}: ${failure.message ?? ''}`,
      };
    }
  }
  if (!stack || stack.StackStatus === 'DELETE_COMPLETE') {
    return {
      level: 'error',
      summary: `${region} is not bootstrapped for CDK: there is no ${toolkitStackName} stack`,
      action: `run ${bootstrap} once (or pass --toolkit-stack-name if yours has another name)`,
    };
  }
  const version = Number(
    stack.Outputs?.find((output) => output.OutputKey === 'BootstrapVersion')?.OutputValue,
  );
  if (!Number.isFinite(version) || version < MIN_BOOTSTRAP_VERSION) {
    return {
      level: 'error',
      summary: `the bootstrap stack ${toolkitStackName} is version ${Number.isFinite(version) ? version : 'unknown'}; this app needs ${MIN_BOOTSTRAP_VERSION} or later`,
      action: `run ${bootstrap} again to upgrade it`,
    };
  }
  return { level: 'ok', summary: `bootstrapped (${toolkitStackName}, version ${version})` };
}

interface PreflightReport {
  readonly region: string;
  readonly bootstrap: BootstrapFinding;
  /** Undefined when the quotas could not be read; `quotaProblem` says why. */
  readonly quotas?: readonly QuotaFinding[];
  readonly quotaProblem?: string;
}

interface PreflightOptions {
  readonly config: StageConfig;
  readonly region: string;
  readonly withModels: boolean;
  readonly toolkitStackName?: string;
  readonly serviceQuotas: ServiceQuotasClient;
  readonly cloudFormation: CloudFormationClient;
}

/** Reads what the account has and sets it against what the stage needs. */
export async function preflight(options: PreflightOptions): Promise<PreflightReport> {
  const requirements = quotaRequirements(options.config, { withModels: options.withModels });
  const [bootstrap, quotas] = await Promise.all([
    checkBootstrap(options.cloudFormation, options.region, options.toolkitStackName),
    readSageMakerQuotas(options.serviceQuotas, new Set(requirements.map((r) => r.quotaName))).then(
      (found) => ({ found }),
      (error: { name?: string; message?: string }) => ({ error }),
    ),
  ]);
  if ('error' in quotas) {
    return {
      region: options.region,
      bootstrap,
      quotaProblem: `could not read the SageMaker quotas (servicequotas:ListServiceQuotas and ListAWSDefaultServiceQuotas): ${quotas.error.name ?? 'error'}: ${quotas.error.message ?? ''}`,
    };
  }
  return {
    region: options.region,
    bootstrap,
    quotas: assessQuotas(requirements, quotas.found, options.region),
  };
}

/** Whether a quota the deploy needs is missing or too low. */
const hasQuotaErrors = (report: PreflightReport) =>
  (report.quotas ?? []).some((finding) => finding.level === 'error');

/** Whether the deploy may go on: no error, or only quota errors the user chose to ignore. */
export function mayDeploy(report: PreflightReport, options: { ignoreQuotas: boolean }): boolean {
  if (report.bootstrap.level === 'error') return false;
  return !hasQuotaErrors(report) || options.ignoreQuotas;
}

/** The report as the terminal shows it, ending with what happens next. */
export function formatReport(
  report: PreflightReport,
  options: { stage: string; ignoreQuotas: boolean; withModels: boolean },
): string {
  const mark: Record<FindingLevel, string> = { ok: 'ok  ', warning: 'warn', error: 'FAIL' };
  const lines = [`SynthForge preflight for stage ${options.stage} in ${report.region}:`];
  const add = (level: FindingLevel, summary: string, action?: string) => {
    lines.push(`  ${mark[level]}  ${summary}`);
    if (action) lines.push(...action.split('\n').map((line) => `        ${line}`));
  };
  add(report.bootstrap.level, report.bootstrap.summary, report.bootstrap.action);
  if (report.quotaProblem)
    add('warning', report.quotaProblem, 'the quotas are not checked; the deploy goes on');
  for (const finding of report.quotas ?? []) add(finding.level, finding.summary, finding.action);
  if (!options.withModels) {
    lines.push('  (--without-models: the model endpoints are not deployed, and their quotas not checked)');
  }
  const quotaErrors = hasQuotaErrors(report);
  if (report.bootstrap.level === 'error') {
    lines.push('Not deploying: the account is not ready (above).');
  } else if (quotaErrors && !options.ignoreQuotas) {
    lines.push(
      'Not deploying: the account lacks the quota above, and CloudFormation would roll the Models stack back.',
      'Request it (increases of GPU quotas can take a day or more), then deploy again; meanwhile:',
      `  npm run deploy -- -c stage=${options.stage} --without-models   # the platform now; image routes answer 503 until the models are deployed`,
      `  npm run deploy -- -c stage=${options.stage} --ignore-quotas    # try anyway (a request may be approved already)`,
    );
  } else if (quotaErrors) {
    lines.push(
      'Deploying anyway (--ignore-quotas): the Models stack may fail and roll back; the platform stack does not depend on it.',
    );
  }
  return lines.join('\n');
}

interface DeployArguments {
  /** The stage (`-c stage=NAME`, else cdk.json's context). */
  readonly stage: string;
  readonly withModels: boolean;
  readonly ignoreQuotas: boolean;
  readonly skipPreflight: boolean;
  /** `--toolkit-stack-name`, when given (also passed on to cdk). */
  readonly toolkitStackName?: string;
  /** `--profile`, when given (also passed on to cdk): the preflight reads the account with it too. */
  readonly profile?: string;
  /** What `cdk` runs: `deploy`, the stacks, the user's other arguments. */
  readonly cdkArgs: readonly string[];
}

/** This script's own flags; cdk never sees them. */
const OWN_FLAGS = new Set(['--without-models', '--ignore-quotas', '--skip-preflight']);

/** Splits `npm run deploy -- …` into this script's flags and cdk's arguments. */
export function parseDeployArguments(argv: readonly string[], defaultStage: string): DeployArguments {
  let stage = defaultStage;
  let toolkitStackName: string | undefined;
  let profile: string | undefined;
  const passed: string[] = [];
  const nextValue = (index: number, flag: string): string => {
    const value = argv[index + 1];
    if (value === undefined || value.startsWith('-')) throw new Error(`${flag} needs a value`);
    return value;
  };
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] as string;
    if (OWN_FLAGS.has(arg)) continue;
    passed.push(arg);
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const take = () => {
      if (inline !== undefined) return inline;
      const value = nextValue(index, flag as string);
      passed.push(value);
      index++;
      return value;
    };
    if (flag === '-c' || flag === '--context') {
      const context = take();
      const match = /^stage=(.*)$/.exec(context);
      if (match) stage = match[1] as string;
    } else if (flag === '--toolkit-stack-name') toolkitStackName = take();
    else if (flag === '--profile') profile = take();
  }
  const withModels = !argv.includes('--without-models');
  const stacks = withModels ? ['--all'] : [stackNameFor(stage)];
  // `npm run deploy` never stops to ask (as before); a --require-approval of the user's wins.
  const approval = passed.some((arg) => arg.startsWith('--require-approval'))
    ? []
    : ['--require-approval', 'never'];
  return {
    stage,
    withModels,
    ignoreQuotas: argv.includes('--ignore-quotas'),
    skipPreflight: argv.includes('--skip-preflight'),
    ...(toolkitStackName ? { toolkitStackName } : {}),
    ...(profile ? { profile } : {}),
    cdkArgs: ['deploy', ...stacks, ...approval, ...passed],
  };
}
