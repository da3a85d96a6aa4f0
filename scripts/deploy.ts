/**
 * `npm run deploy`: checks the account (scripts/deploy-preflight.ts), says what it lacks, and only
 * then runs `cdk deploy`, so a missing bootstrap or a GPU quota of 0 is a message before
 * CloudFormation starts rather than a rollback half an hour into it.
 *
 *   npm run deploy -- -c stage=prod                     # both stacks: cdk deploy --all
 *   npm run deploy -- -c stage=prod --without-models    # the platform stack only
 *   npm run deploy -- -c stage=prod --ignore-quotas     # report quota problems, deploy anyway
 *   npm run deploy -- -c stage=prod --skip-preflight    # no checks (no AWS calls before cdk)
 *
 * Every other argument goes to `cdk deploy` unchanged (`--profile`, `--require-approval`, ...).
 * Exit status: cdk's, or 1 when the preflight refuses.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { loadStageConfigNamed } from '../lib/config.ts';
import { REPO_ROOT } from '../lib/paths.ts';
import { modelsStackNameFor, stackNameFor } from '../lib/stack-name.ts';
import { formatReport, mayDeploy, parseDeployArguments, preflight } from './deploy-preflight.ts';

/** The stage cdk.json names when `-c stage=` is not given. */
function defaultStage(): string {
  const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
    context?: { stage?: string };
  };
  return cdkJson.context?.stage ?? 'dev';
}

/** The region the deploy goes to: the stage's, else what the CLI and the SDK would use. */
async function regionOf(stageRegion: string | undefined): Promise<string> {
  if (stageRegion) return stageRegion;
  const fromEnv = process.env.CDK_DEFAULT_REGION ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (fromEnv) return fromEnv;
  // The SDK's own resolution: the profile's region in ~/.aws/config.
  return new ServiceQuotasClient({}).config.region();
}

async function main(): Promise<number> {
  const args = parseDeployArguments(process.argv.slice(2), defaultStage());
  const config = loadStageConfigNamed(args.stage);
  if (!args.skipPreflight) {
    if (args.profile) process.env.AWS_PROFILE = args.profile;
    let region: string;
    try {
      region = await regionOf(config.region);
    } catch {
      console.error(
        `No region: set "region" in config/stages/${args.stage}.json, or AWS_REGION, or a region in your AWS profile.`,
      );
      return 1;
    }
    const report = await preflight({
      config,
      region,
      withModels: args.withModels,
      ...(args.toolkitStackName ? { toolkitStackName: args.toolkitStackName } : {}),
      serviceQuotas: new ServiceQuotasClient({ region }),
      cloudFormation: new CloudFormationClient({ region }),
    });
    console.log(
      formatReport(report, {
        stage: args.stage,
        ignoreQuotas: args.ignoreQuotas,
        withModels: args.withModels,
      }),
    );
    if (!mayDeploy(report, { ignoreQuotas: args.ignoreQuotas })) return 1;
    console.log(
      args.withModels
        ? `Deploying ${stackNameFor(args.stage)}, then ${modelsStackNameFor(args.stage)}.`
        : `Deploying ${stackNameFor(args.stage)} only.`,
    );
  }
  const cdk = join(REPO_ROOT, 'node_modules', '.bin', 'cdk');
  const child = spawn(cdk, [...args.cdkArgs], { stdio: 'inherit', cwd: REPO_ROOT });
  return new Promise((resolve) => {
    child.on('error', (error) => {
      console.error(`could not run cdk: ${error.message}`);
      resolve(1);
    });
    // A signal's exit status as a shell reports it (128 + its number).
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
  });
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(error.message);
    process.exit(1);
  },
);
