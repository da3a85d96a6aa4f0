#!/usr/bin/env node
/**
 * The CDK app (composition root): validated stage config → the SynthForge stack → cdk-nag.
 *
 *   npm run synth                      # stage from cdk.json (dev)
 *   npx cdk synth -c stage=prod        # config/stages/prod.json
 *
 * CDK's built-in CloudFormation validation stays on here; the tests build the stack on an app with
 * it off, which is what keeps them fast.
 */
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadStageConfig } from '../lib/config.ts';
import { acknowledgeNagFindings } from '../lib/nag-acknowledgements.ts';
import { stackNameFor } from '../lib/stack-name.ts';
import { SynthForgeStack } from '../lib/synthforge-stack.ts';

const app = new App();
const config = loadStageConfig(app);

const account = config.account ?? process.env.CDK_DEFAULT_ACCOUNT;
const region = config.region ?? process.env.CDK_DEFAULT_REGION;
const stack = new SynthForgeStack(app, stackNameFor(config.stage), {
  config,
  description: `SynthForge (${config.stage}): synthetic-data generation API`,
  ...(account || region ? { env: { ...(account ? { account } : {}), ...(region ? { region } : {}) } } : {}),
});

Tags.of(app).add('project', 'synthforge');
Tags.of(app).add('stage', config.stage);

acknowledgeNagFindings(stack);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
