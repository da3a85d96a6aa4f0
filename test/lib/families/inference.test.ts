import { readFileSync } from 'node:fs';
import { Aws } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type BedrockModel,
  RuntimeModelList,
  SEED_BEDROCK_MODELS,
  SEED_EMD_MODELS,
} from '../../../contracts/inference-models.ts';
import { DEFAULT_EMD_MODELS, parseStageConfig, type StageConfigInput } from '../../../lib/config.ts';
import { STREAM_TIMEOUT } from '../../../lib/constructs/api.ts';
import { JOB_SUBMISSION_ACTIONS } from '../../../lib/constructs/data.ts';
import type { SynthForgeFunction } from '../../../lib/constructs/synthforge-function.ts';
import { bedrockModelsIn, InferenceFamily, RUN_INFERENCE_TIMEOUT } from '../../../lib/families/inference.ts';
import { flattenReference } from '../../../lib/nag.ts';
import { acknowledgeNagFindings } from '../../../lib/nag-acknowledgements.ts';
import { stageStacks } from '../../../lib/stage-stacks.ts';
import {
  buildTestStack,
  type CfnJson,
  resourcesOfType,
  type Statement,
  statementsOfRole,
  type TestStack,
  testApp,
} from '../stack-fixture.ts';

const PROFILE = (id: string) => `arn:<AWS::Partition>:bedrock:eu-west-1:123456789012:inference-profile/${id}`;
const FOUNDATION_MODEL = (id: string, region = '*') =>
  `arn:<AWS::Partition>:bedrock:${region}::foundation-model/${id}`;
const SAGEMAKER = (resource: string) => `arn:<AWS::Partition>:sagemaker:eu-west-1:123456789012:${resource}`;

const familyOf = (built: TestStack) => built.stack.families.require(InferenceFamily, 'this test');
const functionsOf = (built: TestStack): SynthForgeFunction[] => Object.values(familyOf(built).routeHandlers);
/** Every function that calls the models: the routes' and the inference machine's step. */
const callersOf = (built: TestStack): SynthForgeFunction[] => [
  ...functionsOf(built),
  familyOf(built).runInference,
];
const statementsOf = (built: TestStack, fn: SynthForgeFunction): Statement[] =>
  statementsOfRole(built.template, built.idOf(fn.executionRole));
const environmentOf = (built: TestStack, fn: SynthForgeFunction): Record<string, CfnJson> =>
  resourcesOfType(built.template, 'AWS::Lambda::Function')[built.idOf(fn)]?.Properties.Environment.Variables;
/** Every resource a function may call an action of `service` on. */
const resourcesFor = (built: TestStack, fn: SynthForgeFunction, service: string) =>
  statementsOf(built, fn)
    .filter((statement) => [statement.Action].flat().some((action) => action.startsWith(`${service}:`)))
    .flatMap((statement) => [statement.Resource].flat().map(flattenReference));

let disabled: TestStack;
let enabled: TestStack;

beforeAll(() => {
  disabled = buildTestStack();
  enabled = buildTestStack({ inference: { emd: { enabled: true } } } as Partial<StageConfigInput>);
});

describe('functions', () => {
  it('serves the buffered routes within API Gateway’s 29 s and the stream route for up to 15 minutes', () => {
    // Prepare
    const functions = resourcesOfType(disabled.template, 'AWS::Lambda::Function');
    const { inference, inferenceStream } = familyOf(disabled).routeHandlers;

    // Assess
    expect(disabled.stack.routeHandlers.inference).toBe(inference);
    expect(disabled.stack.routeHandlers.inferenceStream).toBe(inferenceStream);
    expect(inference.entryModule).toBe('lambdas/handlers/api/inference.ts');
    expect(inferenceStream.entryModule).toBe('lambdas/handlers/api/inference-stream.ts');
    expect(functions[disabled.idOf(inference)]?.Properties.Timeout).toBe(28);
    expect(functions[disabled.idOf(inferenceStream)]?.Properties.Timeout).toBe(STREAM_TIMEOUT.toSeconds());
    expect(STREAM_TIMEOUT.toSeconds()).toBe(900);
  });

  it('gives both the models, the deadline, the state table and the outputs bucket', () => {
    for (const fn of functionsOf(enabled)) {
      // Act
      const env = environmentOf(enabled, fn);

      // Assess
      expect(env.INFERENCE_DEADLINE_MS, fn.node.path).toBe('25000');
      expect(env.STATE_TABLE).toEqual({ Ref: enabled.idOf(enabled.stack.data.stateTable) });
      expect(env.OUTPUTS_BUCKET).toEqual({ Ref: enabled.idOf(enabled.stack.data.outputsBucket) });
    }
  });

  it('gives the upload URLs’ lifetime to the API function only: the stream presigns nothing', () => {
    // Act
    const { inference, inferenceStream } = familyOf(enabled).routeHandlers;

    // Assess
    expect(environmentOf(enabled, inference).RESULT_URL_TTL_SECONDS).toBe('900');
    expect(environmentOf(enabled, inferenceStream).RESULT_URL_TTL_SECONDS).toBeUndefined();
  });
});

describe('INFERENCE_MODELS', () => {
  const modelsOf = (built: TestStack) =>
    RuntimeModelList.parse(
      JSON.parse(environmentOf(built, familyOf(built).routeHandlers.inference).INFERENCE_MODELS),
    );

  it('lists every catalogue model, none deployed, when the stage does not enable the endpoint', () => {
    // Act
    const models = modelsOf(disabled);

    // Assess
    expect(models.map((model) => model.key)).toEqual([
      ...SEED_BEDROCK_MODELS.map((model) => model.key),
      ...SEED_EMD_MODELS.map((model) => model.key),
    ]);
    // The seed's US profile, made the EU one in the test stack's eu-west-1.
    expect(models.find((model) => model.key === 'claude4')).toMatchObject({
      provider: 'bedrock',
      modelId: 'eu.anthropic.claude-sonnet-4-20250514-v1:0',
    });
    for (const model of models) {
      if (model.provider === 'sagemaker') expect(model.deployment, model.key).toBeUndefined();
    }
    // Both functions read the same list.
    const { inference, inferenceStream } = familyOf(disabled).routeHandlers;
    expect(environmentOf(disabled, inferenceStream).INFERENCE_MODELS).toBe(
      environmentOf(disabled, inference).INFERENCE_MODELS,
    );
  });

  it('says where each deployed model runs, and leaves the 32B model in the catalogue undeployed by default', () => {
    // Act
    const emd = modelsOf(enabled).filter((model) => model.provider === 'sagemaker');

    // Assess
    const deployed = Object.fromEntries(emd.map((model) => [model.key, model.deployment]));
    expect(deployed).toEqual({
      'qwen2-vl-7b': {
        endpointName: 'synthforge-test-vlm',
        componentName: 'synthforge-test-qwen2-vl-7b',
        instanceType: 'ml.g5.12xlarge',
        wakeSeconds: 360,
      },
      'qwen2.5-vl-32b': undefined,
      'gemma-3-4b': {
        endpointName: 'synthforge-test-vlm',
        componentName: 'synthforge-test-gemma-3-4b',
        instanceType: 'ml.g5.12xlarge',
        wakeSeconds: 360,
      },
      'ui-tars-1.5-7b': {
        endpointName: 'synthforge-test-vlm',
        componentName: 'synthforge-test-ui-tars-1-5-7b',
        instanceType: 'ml.g5.12xlarge',
        wakeSeconds: 360,
      },
    });
  });

  it("adds the stage's own models to the catalogue, and its version of a seed model replaces the seed's", () => {
    // Prepare
    const [qwen, , uiTars] = DEFAULT_EMD_MODELS.map((model) => structuredClone(model));
    const models = [
      { ...qwen, name: 'Qwen2-VL, tuned' },
      { ...uiTars, key: 'ui-tars-own', name: 'UI-TARS, the stage’s' },
    ];
    const built = buildTestStack({ inference: { emd: { models } } } as Partial<StageConfigInput>);

    // Act
    const emd = modelsOf(built).filter((model) => model.provider === 'sagemaker');

    // Assess
    expect(emd.map((model) => model.key)).toEqual([
      ...SEED_EMD_MODELS.map((model) => model.key),
      'ui-tars-own',
    ]);
    expect(emd[0]?.name).toBe('Qwen2-VL, tuned');
  });
});

describe('Bedrock profiles and the region', () => {
  const SEED_IDS = SEED_BEDROCK_MODELS.map((model) => model.modelId);
  const idsIn = (region: string, models = SEED_BEDROCK_MODELS) =>
    bedrockModelsIn(region, models).map((model) => model.modelId);
  const usProfile: BedrockModel = {
    key: 'haiku',
    name: 'Claude 3 Haiku',
    modelId: 'us.anthropic.claude-3-haiku-20240307-v1:0',
    foundationModels: ['anthropic.claude-3-haiku-20240307-v1:0'],
    media: ['image'],
    prices: { inputPerMillionUsd: 0.25, outputPerMillionUsd: 1.25 },
  };

  it("moves the seed models' US profiles to the region's geography", () => {
    // Act / Assess
    expect(idsIn('us-east-1')).toEqual(SEED_IDS);
    expect(idsIn('eu-west-1')).toEqual([
      'eu.anthropic.claude-sonnet-4-20250514-v1:0',
      'eu.amazon.nova-pro-v1:0',
    ]);
    expect(idsIn('ap-northeast-1')).toEqual([
      'apac.anthropic.claude-sonnet-4-20250514-v1:0',
      'apac.amazon.nova-pro-v1:0',
    ]);
  });

  it('keeps the models as configured when the region is not known at synthesis', () => {
    expect(idsIn(Aws.REGION)).toEqual(SEED_IDS);
  });

  it("keeps a stage's profile of the region's geography, and a model called by its own id", () => {
    // Prepare
    const models: BedrockModel[] = [
      { ...usProfile, key: 'haiku-eu', modelId: 'eu.anthropic.claude-3-haiku-20240307-v1:0' },
      { ...usProfile, key: 'haiku-direct', modelId: 'anthropic.claude-3-haiku-20240307-v1:0' },
    ];

    // Act / Assess
    expect(idsIn('eu-west-1', models)).toEqual(models.map((model) => model.modelId));
  });

  it("fails the synthesis on a stage's profile that the region cannot call, with the fix", () => {
    // Act / Assess: a stage's own US profile in eu-west-1.
    expect(() => idsIn('eu-west-1', [usProfile])).toThrow(
      /haiku is called through us\.anthropic\.claude-3-haiku-20240307-v1:0, a profile that eu-west-1 cannot call: list inference\.bedrock\.models/,
    );
    // Seed 003's models have no profile for South America: the stage must choose.
    expect(() => idsIn('sa-east-1')).toThrow(/claude4 is called through us\..*sa-east-1 cannot call/);
  });

  it('makes config/stages/example.prod.json (eu-west-1) call EU profiles, and allows those', () => {
    // Prepare
    const raw = JSON.parse(readFileSync('config/stages/example.prod.json', 'utf8'));
    const config = parseStageConfig(raw);
    const { platform } = stageStacks(testApp(), config, { account: config.account, region: config.region });

    // Act
    const functions = Template.fromStack(platform).findResources('AWS::Lambda::Function');
    const models = Object.values(functions)
      .map((fn) => fn.Properties?.Environment?.Variables?.INFERENCE_MODELS)
      .find((value) => value !== undefined);

    // Assess
    const bedrock = RuntimeModelList.parse(JSON.parse(models)).filter((m) => m.provider === 'bedrock');
    expect(bedrock.map((model) => model.modelId)).toEqual([
      'eu.anthropic.claude-sonnet-4-20250514-v1:0',
      'eu.amazon.nova-pro-v1:0',
    ]);
  });
});

describe('IAM', () => {
  it('allows Bedrock exactly the configured profiles, in this region and account, and the foundation models they route to', () => {
    for (const fn of callersOf(disabled)) {
      // Act
      const bedrock = statementsOf(disabled, fn).filter((statement) =>
        [statement.Action].flat().some((action) => action.startsWith('bedrock:')),
      );

      // Assess
      expect(bedrock).toHaveLength(1);
      expect(bedrock[0]?.Action).toEqual(['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream']);
      expect(resourcesFor(disabled, fn, 'bedrock').sort()).toEqual(
        [
          PROFILE('eu.anthropic.claude-sonnet-4-20250514-v1:0'),
          PROFILE('eu.amazon.nova-pro-v1:0'),
          FOUNDATION_MODEL('anthropic.claude-sonnet-4-20250514-v1:0'),
          FOUNDATION_MODEL('amazon.nova-pro-v1:0'),
        ].sort(),
      );
    }
  });

  it('never grants a Bedrock action on "*" or every model, whatever the stage configures', () => {
    // Prepare: a profile, a model called by its own id, and two profiles sharing a model.
    const models: BedrockModel[] = [
      ...SEED_BEDROCK_MODELS.map((model) => structuredClone(model)),
      {
        key: 'haiku',
        name: 'Claude 3 Haiku',
        modelId: 'anthropic.claude-3-haiku-20240307-v1:0',
        foundationModels: ['anthropic.claude-3-haiku-20240307-v1:0'],
        media: ['image'],
        prices: { inputPerMillionUsd: 0.25, outputPerMillionUsd: 1.25 },
      },
      {
        key: 'nova-eu',
        name: 'Amazon Nova Pro (EU)',
        modelId: 'eu.amazon.nova-pro-v1:0',
        foundationModels: ['amazon.nova-pro-v1:0'],
        media: ['image'],
        prices: { inputPerMillionUsd: 0.8, outputPerMillionUsd: 3.2 },
      },
    ];
    const built = buildTestStack({ inference: { bedrock: { models } } } as Partial<StageConfigInput>);

    for (const fn of callersOf(built)) {
      // Act
      const resources = resourcesFor(built, fn, 'bedrock');

      // Assess: the direct model in this region only; the shared model and profile once.
      expect(resources.sort()).toEqual(
        [
          PROFILE('eu.anthropic.claude-sonnet-4-20250514-v1:0'),
          PROFILE('eu.amazon.nova-pro-v1:0'),
          FOUNDATION_MODEL('anthropic.claude-sonnet-4-20250514-v1:0'),
          FOUNDATION_MODEL('amazon.nova-pro-v1:0'),
          FOUNDATION_MODEL('anthropic.claude-3-haiku-20240307-v1:0', 'eu-west-1'),
        ].sort(),
      );
      for (const resource of resources) {
        expect(resource).not.toBe('*');
        expect(resource).not.toMatch(/\/\*$/);
      }
      const actions = statementsOf(built, fn).flatMap((statement) => [statement.Action].flat());
      expect(actions.filter((action) => action.startsWith('bedrock:') && action.includes('*'))).toEqual([]);
    }
  });

  it('allows SageMaker only to invoke and describe the VLM endpoint and its components', () => {
    for (const fn of callersOf(enabled)) {
      // Act
      const sagemaker = statementsOf(enabled, fn).filter((statement) =>
        [statement.Action].flat().some((action) => action.startsWith('sagemaker:')),
      );

      // Assess
      const components = ['qwen2-vl-7b', 'gemma-3-4b', 'ui-tars-1-5-7b'].map((key) =>
        SAGEMAKER(`inference-component/synthforge-test-${key}`),
      );
      expect(
        sagemaker.map((statement) => ({
          actions: statement.Action,
          resources: [statement.Resource].flat().map(flattenReference),
        })),
      ).toEqual([
        {
          actions: 'sagemaker:InvokeEndpoint',
          resources: [SAGEMAKER('endpoint/synthforge-test-vlm'), ...components],
        },
        { actions: 'sagemaker:DescribeEndpoint', resources: [SAGEMAKER('endpoint/synthforge-test-vlm')] },
        { actions: 'sagemaker:DescribeInferenceComponent', resources: components },
      ]);
    }
  });

  it('grants no SageMaker action, and builds no endpoint, when the stage does not enable it', () => {
    // Assess
    expect(familyOf(disabled).vlm).toBeUndefined();
    for (const fn of callersOf(disabled)) expect(resourcesFor(disabled, fn, 'sagemaker')).toEqual([]);
    for (const template of [disabled.template, disabled.modelsTemplate]) {
      expect(resourcesOfType(template, 'AWS::SageMaker::InferenceComponent')).toEqual({});
      const configs = Object.values(resourcesOfType(template, 'AWS::SageMaker::EndpointConfig'));
      // The image models' asynchronous endpoints only.
      expect(configs.every((config) => config.Properties.AsyncInferenceConfig !== undefined)).toBe(true);
    }
    expect(disabled.modelsTemplate.toJSON().Outputs?.VlmEndpointName).toBeUndefined();
  });

  /** Each function's S3 statements as `actions on <key pattern>`, and its state table actions. */
  const dataOf = (built: TestStack, fn: SynthForgeFunction) => {
    const bucket = `<${built.idOf(built.stack.data.outputsBucket)}.Arn>`;
    const s3 = statementsOf(built, fn)
      .filter((statement) => [statement.Action].flat().some((action) => action.startsWith('s3:')))
      .map(
        (statement) =>
          `${[statement.Action].flat().join(',')} on ${flattenReference(statement.Resource).replace(bucket, '')}`,
      );
    const table = statementsOf(built, fn).find((statement) => statement.Sid === 'StateTable')?.Action;
    return { s3: s3.sort(), table };
  };

  it('reaches usage items, the tenants’ uploads and async jobs’ objects, and nothing else of the data', () => {
    // Prepare
    const family = familyOf(disabled);
    const { inference, inferenceStream } = family.routeHandlers;

    // Act
    const api = dataOf(disabled, inference);
    const stream = dataOf(disabled, inferenceStream);
    const run = dataOf(disabled, family.runInference);

    // Assess: the API stores a job's request; the step reads it and writes the answer.
    expect(api).toEqual({
      s3: ['s3:GetObject,s3:PutObject on /*/uploads/*', 's3:PutObject on /*/inference/*/request.json'],
      // A job's submission, and the records of an Idempotency-Key; Query brings BatchGetItem
      // (lib/constructs/data.ts allowStateTable).
      table: [...JOB_SUBMISSION_ACTIONS, 'dynamodb:BatchGetItem'],
    });
    // The stream reads its request's uploaded frames and counts its call: nothing more.
    expect(stream).toEqual({
      s3: ['s3:GetObject on /*/uploads/*'],
      table: 'dynamodb:UpdateItem',
    });
    expect(run).toEqual({
      s3: ['s3:GetObject on /*/uploads/*', 's3:GetObject,s3:PutObject on /*/inference/*'],
      table: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:BatchWriteItem'],
    });
  });
});

describe('"async": true', () => {
  it('runs the inference machine: RunInference, then generation’s FailJob for what it could not record', () => {
    // Prepare
    const family = familyOf(disabled);
    const generation = disabled.families.generation;
    const machine = resourcesOfType(disabled.template, 'AWS::StepFunctions::StateMachine')[
      disabled.idOf(family.stateMachines.inference.stateMachine)
    ]?.Properties as CfnJson;

    // Assess
    expect(machine.DefinitionSubstitutions).toEqual({
      RunInferenceFunctionArn: { 'Fn::GetAtt': [disabled.idOf(family.runInference), 'Arn'] },
      FailJobFunctionArn: { 'Fn::GetAtt': [disabled.idOf(generation.workflow.tasks.failJob), 'Arn'] },
    });
    expect(family.runInference.entryModule).toBe('lambdas/handlers/workflow/run-inference.ts');
    const fn = resourcesOfType(disabled.template, 'AWS::Lambda::Function')[
      disabled.idOf(family.runInference)
    ];
    expect(fn?.Properties.Timeout).toBe(RUN_INFERENCE_TIMEOUT.toSeconds());
    expect(RUN_INFERENCE_TIMEOUT.toSeconds()).toBe(900);
    const env = environmentOf(disabled, family.runInference);
    expect(env.INFERENCE_ASYNC_DEADLINE_MS).toBe('840000');
    expect(Number(env.INFERENCE_ASYNC_DEADLINE_MS)).toBeLessThan(RUN_INFERENCE_TIMEOUT.toMilliseconds());
    expect(env.INFERENCE_MODELS).toBe(
      environmentOf(disabled, family.routeHandlers.inference).INFERENCE_MODELS,
    );
  });

  it('lets the API function start the machine, and the jobs function stop its executions and link answers', () => {
    // Prepare
    const family = familyOf(disabled);
    const { inference, inferenceStream } = family.routeHandlers;
    const machineId = disabled.idOf(family.stateMachines.inference.stateMachine);
    const jobs = disabled.stack.routeHandlers.jobs;
    const actionsOn = (fn: SynthForgeFunction, action: string) =>
      statementsOf(disabled, fn)
        .filter((statement) => [statement.Action].flat().includes(action))
        .flatMap((statement) => [statement.Resource].flat().map(flattenReference));

    // Assess
    expect(actionsOn(inference, 'states:StartExecution')).toEqual([`<${machineId}>`]);
    expect(environmentOf(disabled, inference).INFERENCE_STATE_MACHINE_ARN).toEqual({ Ref: machineId });
    expect(actionsOn(inferenceStream, 'states:StartExecution')).toEqual([]);
    expect(actionsOn(jobs, 'states:StopExecution')).toContain(
      `arn:<AWS::Partition>:states:eu-west-1:123456789012:execution:<${machineId}.Name>:*`,
    );
    // Of the inference jobs' objects, the answer only (the datasets family adds its own answers:
    // test/lib/families/datasets.test.ts).
    expect(actionsOn(jobs, 's3:GetObject').filter((resource) => resource.includes('/inference/'))).toEqual([
      `<${disabled.idOf(disabled.stack.data.outputsBucket)}.Arn>/*/inference/*/result.json`,
    ]);
    expect(environmentOf(disabled, jobs).OUTPUTS_BUCKET).toEqual({
      Ref: disabled.idOf(disabled.stack.data.outputsBucket),
    });
  });

  it('accepts a deadline inside Lambda’s 15 minutes only', () => {
    expect(() =>
      buildTestStack({ inference: { asyncDeadlineMs: 900_000 } } as Partial<StageConfigInput>),
    ).toThrow(/asyncDeadlineMs/);
  });
});

describe('the stack with the endpoint', () => {
  it('outputs the endpoint name from the Models stack', () => {
    expect(enabled.modelsTemplate.toJSON().Outputs.VlmEndpointName.Value).toBe('synthforge-test-vlm');
  });

  it('refuses an image model whose endpoint would take the VLM endpoint’s name', () => {
    const vlmModel = { name: 'vlm', modelId: 'someone/vlm' };
    expect(() =>
      buildTestStack({
        imageGeneration: { models: [vlmModel] },
        inference: { emd: { enabled: true } },
      } as Partial<StageConfigInput>),
    ).toThrow(/synthforge-test-vlm has the name of an image model's endpoint/);
  });

  it('leaves no unacknowledged cdk-nag finding in either stack', () => {
    // Act
    acknowledgeNagFindings(enabled.stack);
    const findings = [enabled.stack, enabled.models].flatMap((stack) =>
      new AwsSolutionsChecks()
        .validateScope(stack)
        .violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`)),
    );

    // Assess
    expect(findings).toEqual([]);
  });
});
