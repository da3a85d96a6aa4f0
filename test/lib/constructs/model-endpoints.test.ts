import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  deployedModels,
  type EndpointModelInput,
  endpointNameOf,
  ImageGenerationConfigSchema,
} from '../../../contracts/models.ts';
import { parseStageConfig } from '../../../lib/config.ts';
import {
  ENDPOINT_STAGING_PREFIX,
  HUGGINGFACE_INFERENCE_GPU_TAG,
  type ModelEndpoint,
  ModelEndpoints,
} from '../../../lib/constructs/model-endpoints.ts';
import { GenerationFamily } from '../../../lib/families/generation.ts';
import { ImagesFamily } from '../../../lib/families/images.ts';
import { flattenReference } from '../../../lib/nag.ts';
import { acknowledgeNagFindings } from '../../../lib/nag-acknowledgements.ts';
import { stageStacks } from '../../../lib/stage-stacks.ts';
import { SynthForgeStack } from '../../../lib/synthforge-stack.ts';
import {
  buildTestStack,
  type CfnJson,
  type CfnResource,
  referencedId,
  resourcesOfType,
  type Statement,
  statementsOfRole,
  TEST_ENV,
  type TestStack,
  testApp,
  throughOutputs,
} from '../stack-fixture.ts';

const SD15_ENDPOINT = 'synthforge-test-stable-diffusion-v1-5';
const SHAPES_IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/synthforge/shapes-endpoint:1.0.0';

/** A second model on a CPU instance: the shapes container, tuned scaling. */
const SHAPES_MODEL: EndpointModelInput = {
  name: 'shapes-endpoint',
  modelId: 'synthforge/shapes',
  container: 'shapes',
  image: SHAPES_IMAGE,
  instanceType: 'ml.m5.large',
  maxConcurrencyPerInstance: 4,
  maxInstances: 3,
  targetBacklogPerInstance: 5,
  scaleInCooldownSeconds: 900,
  scaleOutCooldownSeconds: 120,
  coldStartSeconds: 300,
};

/**
 * The resource of `type` a model's scope holds as `childId`: in the Models stack (the SageMaker and
 * scaling resources) or the platform stack (role, policy, log group), with the values the Models
 * stack reads from the platform's outputs resolved to what they hold (`throughOutputs`).
 */
function resourceOf(built: TestStack, type: string, endpoint: ModelEndpoint, childId: string): CfnResource {
  const child =
    endpoint.endpoint.node.scope?.node.tryFindChild(childId) ??
    endpoint.executionRole.node.scope?.node.findChild(childId);
  const stack = Stack.of(child as Construct);
  const id = stack.getLogicalId(
    (child?.node.defaultChild ?? child) as unknown as Parameters<Stack['getLogicalId']>[0],
  );
  const template = stack === built.models ? built.modelsTemplate : built.template;
  const resource = resourcesOfType(template, type)[id];
  if (!resource) throw new Error(`no ${type} ${childId} for ${endpoint.endpointName}`);
  return throughOutputs(built, resource);
}

/** The logical id of a resource of the Models stack. */
const modelsIdOf = (built: TestStack, resource: { node: { defaultChild?: unknown } } | CfnElementLike) =>
  built.models.getLogicalId(
    ('node' in resource && resource.node.defaultChild
      ? resource.node.defaultChild
      : resource) as unknown as Parameters<Stack['getLogicalId']>[0],
  );
type CfnElementLike = Parameters<Stack['getLogicalId']>[0];

/** Every Allow statement of the policies attached to `role`. */
const statementsOf = (built: TestStack, role: Role): Statement[] =>
  statementsOfRole(built.template, built.idOf(role)).filter((statement) => statement.Effect === 'Allow');

/** The families of a stack built outside the fixture. */
const imagesOf = (stack: SynthForgeStack) => stack.families.require(ImagesFamily, 'this test');
const generationOf = (stack: SynthForgeStack) => stack.families.require(GenerationFamily, 'this test');

const actionsOf = (statement: Statement) => [statement.Action].flat();
const resourcesOf = (statement: Statement) => [statement.Resource].flat().map(flattenReference);

let built: TestStack;
let sd15: ModelEndpoint;
let two: TestStack;
let shapes: ModelEndpoint;

beforeAll(() => {
  built = buildTestStack();
  sd15 = built.families.images.endpoints.endpoints[0] as ModelEndpoint;
  const defaultModel = built.config.imageGeneration.models[0] as EndpointModelInput;
  two = buildTestStack({ imageGeneration: { models: [defaultModel, SHAPES_MODEL] } });
  shapes = two.families.images.endpoints.endpoints[1] as ModelEndpoint;
});

describe('endpoints', () => {
  it('deploys the default catalogue: one endpoint named synthforge-<stage>-<model>, in the Models stack', () => {
    expect(resourcesOfType(built.template, 'AWS::SageMaker::Endpoint')).toEqual({});
    const endpoints = resourcesOfType(built.modelsTemplate, 'AWS::SageMaker::Endpoint');
    expect(Object.values(endpoints).map((e) => e.Properties.EndpointName)).toEqual([SD15_ENDPOINT]);
    expect(sd15.endpointName).toBe(endpointNameOf('test', { name: 'stable-diffusion-v1-5' }));
    expect(flattenReference(built.stack.resolve(sd15.endpointArn))).toBe(
      `arn:<AWS::Partition>:sagemaker:eu-west-1:123456789012:endpoint/${SD15_ENDPOINT}`,
    );
    const endpoint = resourceOf(built, 'AWS::SageMaker::Endpoint', sd15, 'Endpoint');
    expect(referencedId(endpoint.Properties.EndpointConfigName)).toBe(
      modelsIdOf(built, sd15.endpoint.node.scope?.node.findChild('Config') as CfnElementLike),
    );
  });

  it('gives two models two endpoints, two roles and two scalable targets', () => {
    const names = Object.values(resourcesOfType(two.modelsTemplate, 'AWS::SageMaker::Endpoint')).map(
      (e) => e.Properties.EndpointName,
    );
    expect(names).toEqual([SD15_ENDPOINT, 'synthforge-test-shapes-endpoint']);
    expect(Object.keys(resourcesOfType(two.modelsTemplate, 'AWS::SageMaker::Model'))).toHaveLength(2);
    expect(Object.keys(resourcesOfType(two.modelsTemplate, 'AWS::SageMaker::EndpointConfig'))).toHaveLength(
      2,
    );
    expect(
      Object.keys(resourcesOfType(two.modelsTemplate, 'AWS::ApplicationAutoScaling::ScalableTarget')),
    ).toHaveLength(2);
    const roles = two.families.images.endpoints.endpoints.map((e) => two.idOf(e.executionRole));
    expect(new Set(roles).size).toBe(2);
  });

  it('creates no SageMaker or scaling resource for a stage without models, and grants nothing', () => {
    // Prepare
    const app = testApp();
    const config = parseStageConfig({ stage: 'test', imageGeneration: { models: [] } });
    const { platform: stack, models } = stageStacks(app, config, TEST_ENV);
    const grantee = new Role(stack, 'Grantee', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });

    // Act
    imagesOf(stack).endpoints.grantInvoke(grantee);
    imagesOf(stack).endpoints.grantDescribe(grantee);
    imagesOf(stack).endpoints.grantReadOutputs(grantee);
    imagesOf(stack).endpoints.grantDeleteOutputs(grantee);
    const template = Template.fromStack(stack);

    // Assess
    const types = Object.values(template.toJSON().Resources as Record<string, CfnResource>).map(
      (r) => r.Type,
    );
    expect(types.filter((type) => type.startsWith('AWS::SageMaker::'))).toEqual([]);
    expect(types.filter((type) => type.startsWith('AWS::ApplicationAutoScaling::'))).toEqual([]);
    expect(imagesOf(stack).endpoints.endpoints).toEqual([]);
    expect(imagesOf(stack).endpoints.deployedModels).toEqual([]);
    expect(grantee.node.tryFindChild('DefaultPolicy')).toBeUndefined();
    // The topics stay, so their consumers need no special case.
    expect(Object.keys(resourcesOfType(template, 'AWS::SNS::Topic'))).toHaveLength(3);
    // An empty Models stack: `cdk deploy` skips it (or deletes the one deployed before).
    expect(Template.fromStack(models).toJSON().Resources ?? {}).toEqual({});
  });

  it('refuses two models whose cut endpoint names collide', () => {
    // Prepare
    const stack = new Stack(new App(), 'Bare', { env: TEST_ENV });
    const long = 'a'.repeat(35);
    const config = ImageGenerationConfigSchema.parse({
      models: [
        { name: `${long}-one`, modelId: 'org/one' },
        { name: `${long}-two`, modelId: 'org/two' },
      ],
    });

    // Act
    const build = () =>
      new ModelEndpoints(stack, 'ModelEndpoints', {
        stage: 'a-long-stage-name-xy',
        config,
        outputsBucket: new Bucket(stack, 'Outputs'),
        logRetention: RetentionDays.ONE_WEEK,
        removalPolicy: RemovalPolicy.DESTROY,
      });

    // Assess
    expect(build).toThrow(/would share the endpoint name/);
  });
});

describe('model', () => {
  it('runs the Hugging Face GPU inference image of the region with HF_MODEL_ID (the Hub id) and HF_TASK', () => {
    const model = resourceOf(built, 'AWS::SageMaker::Model', sd15, 'Model').Properties;
    expect(flattenReference(built.stack.resolve(model.PrimaryContainer.Image))).toBe(
      `763104351884.dkr.ecr.eu-west-1.<AWS::URLSuffix>/huggingface-pytorch-inference:${HUGGINGFACE_INFERENCE_GPU_TAG}`,
    );
    expect(model.PrimaryContainer.Environment).toEqual({
      HF_MODEL_ID: 'stable-diffusion-v1-5/stable-diffusion-v1-5',
      HF_TASK: 'text-to-image',
      SAGEMAKER_MODEL_SERVER_TIMEOUT: '600',
    });
    expect(referencedId(model.ExecutionRoleArn)).toBe(built.idOf(sd15.executionRole));
    // It downloads the weights from the Hub: no network isolation, and no VPC unless configured.
    expect(model.EnableNetworkIsolation).toBe(false);
    expect(model.VpcConfig).toBeUndefined();
  });

  it('runs a configured image isolated from the network, without Hugging Face settings', () => {
    const model = resourceOf(two, 'AWS::SageMaker::Model', shapes, 'Model').Properties;
    expect(model.PrimaryContainer.Image).toBe(SHAPES_IMAGE);
    expect(model.PrimaryContainer.Environment).toBeUndefined();
    expect(model.EnableNetworkIsolation).toBe(true);
  });

  it('places the model in the stage VPC when it has one', () => {
    const vpc = { subnetIds: ['subnet-0a1b2c3d'], securityGroupIds: ['sg-0a1b2c3d'] };
    const inVpc = buildTestStack({ imageGeneration: { vpc } });
    const endpoint = inVpc.families.images.endpoints.endpoints[0] as ModelEndpoint;
    const model = resourceOf(inVpc, 'AWS::SageMaker::Model', endpoint, 'Model').Properties;
    expect(model.VpcConfig).toEqual({ Subnets: vpc.subnetIds, SecurityGroupIds: vpc.securityGroupIds });

    const ec2 = statementsOf(inVpc, endpoint.executionRole).filter((s) =>
      actionsOf(s).some((a) => a.startsWith('ec2:')),
    );
    const create = ec2.find((s) => actionsOf(s).includes('ec2:CreateNetworkInterface'));
    expect(resourcesOf(create as Statement)).toEqual([
      'arn:<AWS::Partition>:ec2:eu-west-1:123456789012:network-interface/*',
      'arn:<AWS::Partition>:ec2:eu-west-1:123456789012:subnet/subnet-0a1b2c3d',
      'arn:<AWS::Partition>:ec2:eu-west-1:123456789012:security-group/sg-0a1b2c3d',
    ]);
    for (const statement of ec2.filter((s) => resourcesOf(s).includes('*'))) {
      for (const action of actionsOf(statement)) expect(action).toMatch(/^ec2:Describe/);
    }
  });
});

describe('asynchronous endpoint configuration', () => {
  it('stages responses and failures under the endpoint prefix, with the key, and notifies both topics', () => {
    const config = resourceOf(built, 'AWS::SageMaker::EndpointConfig', sd15, 'Config').Properties;
    const { ClientConfig, OutputConfig } = config.AsyncInferenceConfig;
    const bucket = `<${built.idOf(built.stack.data.outputsBucket)}>`;
    expect(ClientConfig).toEqual({ MaxConcurrentInvocationsPerInstance: 1 });
    expect(flattenReference(built.stack.resolve(OutputConfig.S3OutputPath))).toBe(
      `s3://${bucket}/_endpoints/${SD15_ENDPOINT}/output`,
    );
    expect(flattenReference(built.stack.resolve(OutputConfig.S3FailurePath))).toBe(
      `s3://${bucket}/_endpoints/${SD15_ENDPOINT}/failures`,
    );
    expect(sd15.outputPrefix).toBe(`${ENDPOINT_STAGING_PREFIX}${SD15_ENDPOINT}/output/`);
    expect(sd15.failurePrefix).toBe(`${ENDPOINT_STAGING_PREFIX}${SD15_ENDPOINT}/failures/`);
    const { images } = built.families;
    expect(referencedId(OutputConfig.KmsKeyId)).toBe(built.idOf(images.endpoints.key));
    expect(OutputConfig.NotificationConfig).toEqual({
      SuccessTopic: { Ref: built.idOf(images.endpoints.successTopic) },
      ErrorTopic: { Ref: built.idOf(images.endpoints.errorTopic) },
    });
  });

  it('has one variant, AllTraffic, created with one instance of the configured type', () => {
    const config = resourceOf(built, 'AWS::SageMaker::EndpointConfig', sd15, 'Config').Properties;
    expect(config.ProductionVariants).toHaveLength(1);
    expect(config.ProductionVariants[0]).toMatchObject({
      VariantName: 'AllTraffic',
      InstanceType: 'ml.g5.xlarge',
      InitialInstanceCount: 1,
    });
  });

  it('names a volume key only for instance types without instance storage', () => {
    const gpu = resourceOf(built, 'AWS::SageMaker::EndpointConfig', sd15, 'Config').Properties;
    const cpu = resourceOf(two, 'AWS::SageMaker::EndpointConfig', shapes, 'Config').Properties;
    expect(gpu.KmsKeyId).toBeUndefined();
    expect(referencedId(cpu.KmsKeyId)).toBe(two.idOf(two.families.images.endpoints.key));
    expect(cpu.AsyncInferenceConfig.ClientConfig).toEqual({ MaxConcurrentInvocationsPerInstance: 4 });
  });
});

describe('scale to zero', () => {
  const scalingOf = (stack: TestStack, endpoint: ModelEndpoint) => {
    const target = resourceOf(
      stack,
      'AWS::ApplicationAutoScaling::ScalableTarget',
      endpoint,
      'ScalableTarget',
    );
    const targetId = modelsIdOf(stack, endpoint.scalableTarget);
    const policies = Object.entries(
      resourcesOfType(stack.modelsTemplate, 'AWS::ApplicationAutoScaling::ScalingPolicy'),
    )
      .filter(([, policy]) => referencedId(policy.Properties.ScalingTargetId) === targetId)
      .map(([id, policy]) => ({ id, ...policy }));
    const tracking = policies.find((p) => p.Properties.PolicyType === 'TargetTrackingScaling');
    const step = policies.find((p) => p.Properties.PolicyType === 'StepScaling');
    const alarms = Object.values(resourcesOfType(stack.modelsTemplate, 'AWS::CloudWatch::Alarm')).filter(
      (alarm) => JSON.stringify(alarm.Properties.AlarmActions) === JSON.stringify([{ Ref: step?.id }]),
    );
    return { target, policies, tracking, step, alarms };
  };

  it('registers the variant from 0 to maxInstances, after the endpoint exists, with the service-linked role', () => {
    const { target } = scalingOf(built, sd15);
    expect(target.Properties).toEqual({
      ServiceNamespace: 'sagemaker',
      ResourceId: `endpoint/${SD15_ENDPOINT}/variant/AllTraffic`,
      ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      MinCapacity: 0,
      MaxCapacity: 1,
    });
    expect(target.DependsOn).toContain(modelsIdOf(built, sd15.endpoint));
  });

  it('tracks ApproximateBacklogSizePerInstance of the endpoint at the target, with the cooldowns', () => {
    const { target, tracking, policies } = scalingOf(two, shapes);
    expect(policies).toHaveLength(2);
    expect(target.Properties.MaxCapacity).toBe(3);
    expect(tracking?.Properties.TargetTrackingScalingPolicyConfiguration).toEqual({
      TargetValue: 5,
      ScaleInCooldown: 900,
      ScaleOutCooldown: 120,
      CustomizedMetricSpecification: {
        Namespace: 'AWS/SageMaker',
        MetricName: 'ApproximateBacklogSizePerInstance',
        Dimensions: [{ Name: 'EndpointName', Value: 'synthforge-test-shapes-endpoint' }],
        Statistic: 'Average',
      },
    });
  });

  it('wakes from zero: HasBacklogWithoutCapacity ≥ 1 over a minute adds one instance', () => {
    const { step, alarms } = scalingOf(built, sd15);
    expect(step?.Properties.StepScalingPolicyConfiguration).toEqual({
      AdjustmentType: 'ChangeInCapacity',
      // At least the cold start, so that the booting instance is not joined by a second.
      Cooldown: 480,
      MetricAggregationType: 'Average',
      StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }],
    });
    expect(alarms).toHaveLength(1);
    expect(alarms[0]?.Properties).toMatchObject({
      Namespace: 'AWS/SageMaker',
      MetricName: 'HasBacklogWithoutCapacity',
      Dimensions: [{ Name: 'EndpointName', Value: SD15_ENDPOINT }],
      Statistic: 'Average',
      Period: 60,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
    });
  });

  it('keeps the configured scale-out cooldown for the wake policy when it exceeds the cold start', () => {
    const slow = buildTestStack({
      imageGeneration: { models: [{ ...SHAPES_MODEL, scaleOutCooldownSeconds: 1200 }] },
    });
    const { step } = scalingOf(slow, slow.families.images.endpoints.endpoints[0] as ModelEndpoint);
    expect(step?.Properties.StepScalingPolicyConfiguration.Cooldown).toBe(1200);
  });
});

describe('topics and key', () => {
  it('are KMS-encrypted with the rotating key and refuse publishers without TLS', () => {
    const { key, successTopic, errorTopic } = built.families.images.endpoints;
    const keyId = built.idOf(key);
    expect(resourcesOfType(built.template, 'AWS::KMS::Key')[keyId]?.Properties.EnableKeyRotation).toBe(true);
    for (const topic of [successTopic, errorTopic]) {
      const topicId = built.idOf(topic);
      const properties = resourcesOfType(built.template, 'AWS::SNS::Topic')[topicId]?.Properties as CfnJson;
      expect(referencedId(properties.KmsMasterKeyId)).toBe(keyId);
      built.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        Topics: [{ Ref: topicId }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it('expires the staging prefix of the outputs bucket after a day', () => {
    const bucket = resourcesOfType(built.template, 'AWS::S3::Bucket')[
      built.idOf(built.stack.data.outputsBucket)
    ];
    expect(bucket?.Properties.LifecycleConfiguration.Rules).toContainEqual({
      Id: 'expire-endpoint-staging',
      Prefix: '_endpoints/',
      Status: 'Enabled',
      ExpirationInDays: 1,
      NoncurrentVersionExpiration: { NoncurrentDays: 1 },
    });
  });
});

describe('execution role', () => {
  it('is assumed by SageMaker and holds nothing but its access policy', () => {
    const role = resourcesOfType(built.template, 'AWS::IAM::Role')[built.idOf(sd15.executionRole)];
    expect(role?.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'sagemaker.amazonaws.com' } },
    ]);
    expect(role?.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role?.Properties.Policies).toBeUndefined();
  });

  it('is allowed exactly what the endpoint does, each on the narrowest resource', () => {
    const bucket = `<${built.idOf(built.stack.data.outputsBucket)}.Arn>`;
    const { key, successTopic, errorTopic } = built.families.images.endpoints;
    const bySid = Object.fromEntries(
      statementsOf(built, sd15.executionRole).map((s) => [
        s.Sid,
        { actions: actionsOf(s), resources: resourcesOf(s) },
      ]),
    );
    const logGroup = sd15.executionRole.node.scope?.node.findChild('Logs');
    expect(bySid).toEqual({
      ReadRequests: { actions: ['s3:GetObject'], resources: [`${bucket}/*/jobs/*/request.json`] },
      WriteResponses: {
        actions: ['s3:PutObject'],
        resources: [
          `${bucket}/_endpoints/${SD15_ENDPOINT}/output/*`,
          `${bucket}/_endpoints/${SD15_ENDPOINT}/failures/*`,
        ],
      },
      UseEndpointKey: {
        actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [`<${built.idOf(key)}.Arn>`],
      },
      PullImage: {
        actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        resources: [
          'arn:<AWS::Partition>:ecr:eu-west-1:763104351884:repository/huggingface-pytorch-inference',
        ],
      },
      AuthenticateToEcr: { actions: ['ecr:GetAuthorizationToken'], resources: ['*'] },
      WriteOwnLogGroup: {
        actions: [
          'logs:CreateLogGroup',
          'logs:CreateLogStream',
          'logs:DescribeLogStreams',
          'logs:PutLogEvents',
        ],
        resources: [`<${built.idOf(logGroup as never)}.Arn>`],
      },
      Notify: {
        actions: ['sns:Publish'],
        resources: [`<${built.idOf(successTopic)}>`, `<${built.idOf(errorTopic)}>`],
      },
    });
  });

  it('pulls a configured image from its own repository only, and never passes a role', () => {
    const pull = statementsOf(two, shapes.executionRole).find((s) => s.Sid === 'PullImage') as Statement;
    expect(resourcesOf(pull)).toEqual([
      'arn:<AWS::Partition>:ecr:eu-west-1:123456789012:repository/synthforge/shapes-endpoint',
    ]);
    for (const endpoint of two.families.images.endpoints.endpoints) {
      const actions = statementsOf(two, endpoint.executionRole).flatMap(actionsOf);
      expect(actions.filter((a) => a.startsWith('iam:'))).toEqual([]);
      for (const action of actions) expect(action).not.toContain('*');
    }
  });

  it('writes its own log group, kept for the stage retention', () => {
    built.template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: `/aws/sagemaker/Endpoints/${SD15_ENDPOINT}`,
      RetentionInDays: 30,
    });
  });
});

describe('grants', () => {
  let granted: { template: Template; stack: SynthForgeStack; role: Role };

  beforeAll(() => {
    // Prepare
    const app = testApp();
    const config = parseStageConfig({ stage: 'test' });
    const stack = new SynthForgeStack(app, 'SynthForge-test', { config, env: TEST_ENV });
    const role = new Role(stack, 'StateMachineLikeRole', {
      assumedBy: new ServicePrincipal('states.amazonaws.com'),
    });
    const callback = generationOf(stack).workflow.tasks.finishBatch;

    // Act
    imagesOf(stack).endpoints.grantInvoke(role);
    imagesOf(stack).endpoints.grantDescribe(callback);
    imagesOf(stack).endpoints.grantReadOutputs(callback);
    imagesOf(stack).endpoints.grantDeleteOutputs(callback);
    granted = { template: Template.fromStack(stack), stack, role };
  });

  const statementsFor = (roleId: string) => statementsOfRole(granted.template, roleId);

  it('invoke and describe act on exactly the stage endpoints', () => {
    const endpointArn = `arn:<AWS::Partition>:sagemaker:eu-west-1:123456789012:endpoint/${SD15_ENDPOINT}`;
    const roleId = granted.stack.getLogicalId(granted.role.node.defaultChild as never);
    const invoke = statementsFor(roleId).filter((s) =>
      actionsOf(s).includes('sagemaker:InvokeEndpointAsync'),
    );
    expect(invoke.map((s) => [actionsOf(s), resourcesOf(s)])).toEqual([
      [['sagemaker:InvokeEndpointAsync'], [endpointArn]],
    ]);
    const callbackRole = granted.stack.getLogicalId(
      generationOf(granted.stack).workflow.tasks.finishBatch.executionRole.node.defaultChild as never,
    );
    const describe = statementsFor(callbackRole).find((s) => s.Sid === 'DescribeModelEndpoints') as Statement;
    expect([actionsOf(describe), resourcesOf(describe)]).toEqual([
      ['sagemaker:DescribeEndpoint'],
      [endpointArn],
    ]);
  });

  it('read and delete outputs reach the staging prefix only, decrypting through S3 only', () => {
    const callbackRole = granted.stack.getLogicalId(
      generationOf(granted.stack).workflow.tasks.finishBatch.executionRole.node.defaultChild as never,
    );
    const bySid = Object.fromEntries(statementsFor(callbackRole).map((s) => [s.Sid, s]));
    const staged = `<${granted.stack.getLogicalId(granted.stack.data.outputsBucket.node.defaultChild as never)}.Arn>/_endpoints/*`;
    expect(actionsOf(bySid.ReadEndpointOutputs as Statement)).toEqual(['s3:GetObject']);
    expect(resourcesOf(bySid.ReadEndpointOutputs as Statement)).toEqual([staged]);
    expect(actionsOf(bySid.DeleteEndpointOutputs as Statement)).toEqual(['s3:DeleteObject']);
    expect(resourcesOf(bySid.DeleteEndpointOutputs as Statement)).toEqual([staged]);
    expect(bySid.DecryptEndpointOutputs).toMatchObject({
      Action: 'kms:Decrypt',
      Condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } },
    });
  });

  it('leaves no unacknowledged cdk-nag finding', () => {
    acknowledgeNagFindings(granted.stack);
    const findings = new AwsSolutionsChecks()
      .validateScope(granted.stack)
      .violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`));
    expect(findings).toEqual([]);
  });
});

describe('cdk-nag', () => {
  it('is clean for a configured image, a CPU instance and a VPC, once acknowledged', () => {
    // Prepare
    const app = testApp();
    const config = parseStageConfig({
      stage: 'test',
      imageGeneration: {
        models: [SHAPES_MODEL],
        vpc: { subnetIds: ['subnet-0a1b2c3d'], securityGroupIds: ['sg-0a1b2c3d'] },
      },
    });
    const stack = new SynthForgeStack(app, 'SynthForge-test', { config, env: TEST_ENV });

    // Act
    acknowledgeNagFindings(stack);
    const findings = new AwsSolutionsChecks()
      .validateScope(stack)
      .violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`));

    // Assess
    expect(findings).toEqual([]);
  });
});

describe('runtime view and outputs', () => {
  it('exposes the deployed models for IMAGE_MODELS', () => {
    const modelEndpoints = built.families.images.endpoints;
    const { config } = built;
    expect(modelEndpoints.deployedModels).toEqual(deployedModels('test', config.imageGeneration));
    expect(JSON.parse(modelEndpoints.imageModelsEnvironment.IMAGE_MODELS)).toEqual(
      modelEndpoints.deployedModels,
    );
    expect(modelEndpoints.deployedModels[0]).toMatchObject({
      modelId: 'runwayml/stable-diffusion-v1-5',
      endpointName: SD15_ENDPOINT,
      usdPerHour: 1.408,
    });
  });

  it('outputs each endpoint name (from the Models stack) and both topic ARNs (from the platform)', () => {
    const outputs = two.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    const modelOutputs = two.modelsTemplate.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(modelOutputs.ModelEndpointStableDiffusionV15?.Value).toBe(SD15_ENDPOINT);
    expect(modelOutputs.ModelEndpointShapesEndpoint?.Value).toBe('synthforge-test-shapes-endpoint');
    expect(outputs.ModelEndpointStableDiffusionV15).toBeUndefined();
    expect(outputs.ModelSuccessTopicArn?.Value).toEqual({
      Ref: two.idOf(two.families.images.endpoints.successTopic),
    });
    expect(outputs.ModelErrorTopicArn?.Value).toEqual({
      Ref: two.idOf(two.families.images.endpoints.errorTopic),
    });
  });
});

describe('catalogue validation', () => {
  it('requires an ECR image for the shapes container', () => {
    const { image: _image, ...withoutImage } = SHAPES_MODEL;
    expect(() => ImageGenerationConfigSchema.parse({ models: [withoutImage] })).toThrow(/shapes container/);
    expect(() =>
      ImageGenerationConfigSchema.parse({
        models: [{ ...SHAPES_MODEL, image: 'docker.io/library/node:24' }],
      }),
    ).toThrow(/ECR image URI/);
  });

  it('keeps endpoint names valid: no model name or cut name ends with a dash', () => {
    expect(() =>
      ImageGenerationConfigSchema.parse({ models: [{ name: 'trailing-', modelId: 'org/model' }] }),
    ).toThrow();
    const name = endpointNameOf('a-long-stage-name-xy', { name: `${'b'.repeat(30)}-c` });
    expect(name).toHaveLength(62);
    expect(name.endsWith('-')).toBe(false);
  });
});
