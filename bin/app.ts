#!/usr/bin/env node
/**
 * The CDK app (composition root): validated stage config → the stage's two stacks (the platform,
 * and its model endpoints) → cdk-nag.
 *
 *   npm run synth                      # stage from cdk.json (dev); needs no Docker
 *   npx cdk synth -c stage=prod        # config/stages/prod.json
 *   npm run deploy -- -c stage=prod    # scripts/deploy.ts: checks the account, then cdk deploy --all
 *
 * CDK's built-in CloudFormation validation stays on here; the tests build the stack on an app with
 * it off, which is what keeps them fast.
 */
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadStageConfig } from '../lib/config.ts';
import { acknowledgeNagFindings } from '../lib/nag-acknowledgements.ts';
import { stageStacks } from '../lib/stage-stacks.ts';

const app = new App();
const config = loadStageConfig(app);

const account = config.account ?? process.env.CDK_DEFAULT_ACCOUNT;
const region = config.region ?? process.env.CDK_DEFAULT_REGION;
// Two stacks: the platform, and the model endpoints that depend on it (lib/stage-stacks.ts).
const { platform } = stageStacks(
  app,
  config,
  account || region ? { ...(account ? { account } : {}), ...(region ? { region } : {}) } : undefined,
);

Tags.of(app).add('project', 'synthforge');
Tags.of(app).add('stage', config.stage);

acknowledgeNagFindings(platform);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
