/**
 * The stacks of one stage, as `bin/app.ts` deploys them and the tests build them:
 *
 * - `SynthForge-<stage>`: the platform (API, data, workflows, training, observability, and each
 *   model's role, log group, key and notification topics);
 * - `SynthForge-<stage>-Models`: each model's SageMaker model, endpoint configuration, endpoint and
 *   scaling, i.e. exactly what counts against the account's instance quotas. It depends on the
 *   platform stack and nothing depends on it: an account whose quota for `ml.g5.xlarge` endpoints is
 *   0 (the default of many accounts) gets a platform that deploys, and a Models stack that fails and
 *   rolls back on its own. Until it is deployed, the image routes answer 503 naming the stack
 *   (lambdas/domain/images/service.ts). `npm run deploy` checks the quotas first (scripts/deploy.ts).
 *
 * A stage with `"models": []` leaves the Models stack empty: `cdk deploy` skips a stack with no
 * resources (and deletes one that was deployed before), so removing every model removes the stack.
 */
import type { App, Environment } from 'aws-cdk-lib';
import { ReferenceStrength, Stack } from 'aws-cdk-lib';
import { DEFAULT_CROSS_STACK_REFERENCES } from 'aws-cdk-lib/cx-api';
import type { StageConfig } from './config.ts';
import { modelsStackNameFor, stackNameFor } from './stack-name.ts';
import { SynthForgeStack } from './synthforge-stack.ts';

export interface StageStacks {
  readonly platform: SynthForgeStack;
  readonly models: Stack;
}

export function stageStacks(app: App, config: StageConfig, env?: Environment): StageStacks {
  const common = env ? { env } : {};
  const models = new Stack(app, modelsStackNameFor(config.stage), {
    ...common,
    description: `SynthForge (${config.stage}): GPU model endpoints that scale to zero`,
  });
  // The Models stack reads the platform's values (each model's role, the key, the topics, the bucket)
  // with Fn::GetStackOutput rather than Fn::ImportValue: an export cannot be removed while another
  // stack imports it, so with strong references removing a model (its role leaves the platform
  // stack, which deploys first) would fail until the Models stack had been deployed without it.
  models.node.setContext(DEFAULT_CROSS_STACK_REFERENCES, ReferenceStrength.WEAK);
  const platform = new SynthForgeStack(app, stackNameFor(config.stage), {
    ...common,
    config,
    modelsStack: models,
    description: `SynthForge (${config.stage}): synthetic-data generation API`,
  });
  return { platform, models };
}
