import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type EmdModel, SEED_EMD_MODELS } from '../../../contracts/inference-models.ts';
import { DEFAULT_EMD_MODELS, parseStageConfig, type StageConfigInput } from '../../../lib/config.ts';
import { VLM_IMAGE_TAG, type VlmComponent, VlmEndpoint } from '../../../lib/constructs/vlm-endpoint.ts';
import { InferenceFamily } from '../../../lib/families/inference.ts';
import { flattenReference } from '../../../lib/nag.ts';
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

const ENDPOINT = 'synthforge-test-vlm';
const OWN_IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/synthforge/lmi:20.0.0';

const modelNamed = (key: string): EmdModel => {
  const model = SEED_EMD_MODELS.find((candidate) => candidate.key === key);
  if (!model) throw new Error(`no seed model ${key}`);
  return structuredClone(model);
};

/** A stage with the EMD endpoint, on top of `inference.emd` overrides. */
const withEmd = (emd: Record<string, unknown> = {}): Partial<StageConfigInput> =>
  ({ inference: { emd: { enabled: true, ...emd } } }) as Partial<StageConfigInput>;

const vlmOf = (built: TestStack): VlmEndpoint => {
  const vlm = built.stack.families.require(InferenceFamily, 'this test').vlm;
  if (!vlm) throw new Error('the stage deploys no VLM endpoint');
  return vlm;
};

/** A resource of either stack, with what the Models stack reads of the platform resolved. */
function resourceOf(built: TestStack, construct: Construct): CfnResource {
  const stack = Stack.of(construct);
  const element = (construct.node.defaultChild ?? construct) as unknown as Parameters<
    Stack['getLogicalId']
  >[0];
  const template = stack === built.models ? built.modelsTemplate : built.template;
  const resource = (template.toJSON().Resources as Record<string, CfnResource>)[stack.getLogicalId(element)];
  if (!resource) throw new Error(`no resource for ${construct.node.path}`);
  return throughOutputs(built, resource);
}

/** The scaling policies of a component's scalable target, by type. */
function scalingOf(built: TestStack, component: VlmComponent) {
  const targetId = built.models.getLogicalId(component.scalableTarget);
  const policies = Object.entries(
    resourcesOfType(built.modelsTemplate, 'AWS::ApplicationAutoScaling::ScalingPolicy'),
  ).filter(([, policy]) => referencedId(policy.Properties.ScalingTargetId) === targetId);
  const byType = (type: string) => policies.find(([, policy]) => policy.Properties.PolicyType === type);
  return { policies, tracking: byType('TargetTrackingScaling'), step: byType('StepScaling') };
}

let built: TestStack;
let vlm: VlmEndpoint;
let component: (key: string) => VlmComponent;

beforeAll(() => {
  built = buildTestStack(withEmd());
  vlm = vlmOf(built);
  component = (key) => {
    const found = vlm.components.find((candidate) => candidate.model.key === key);
    if (!found) throw new Error(`no component for ${key}`);
    return found;
  };
});

describe('endpoint', () => {
  it('puts the endpoint, its configuration, components and scaling in the Models stack, and IAM in the platform', () => {
    // Assess
    expect(Stack.of(vlm.endpoint)).toBe(built.models);
    expect(
      vlm.components.every(({ component, scalableTarget, wakeAlarm }) =>
        [component, scalableTarget, wakeAlarm].every((part) => Stack.of(part) === built.models),
      ),
    ).toBe(true);
    expect(Stack.of(vlm.executionRole)).toBe(built.stack);
    expect(resourcesOfType(built.modelsTemplate, 'AWS::IAM::Role')).toEqual({});
    expect(resourceOf(built, vlm.endpoint).Properties.EndpointName).toBe(ENDPOINT);
  });

  it('runs one variant without a model, created with one instance, that managed scaling takes from 0 to maxInstances', () => {
    // Act
    const config = resourceOf(built, vlm.endpointConfig).Properties;

    // Assess: the components run with the role; the instances have their own storage (no volume key).
    expect(referencedId(config.ExecutionRoleArn)).toBe(built.idOf(vlm.executionRole));
    expect(config.KmsKeyId).toBeUndefined();
    expect(config.AsyncInferenceConfig).toBeUndefined();
    expect(config.ProductionVariants).toEqual([
      {
        VariantName: 'AllTraffic',
        InstanceType: 'ml.g5.12xlarge',
        InitialInstanceCount: 1,
        ManagedInstanceScaling: {
          Status: 'ENABLED',
          MinInstanceCount: 0,
          MaxInstanceCount: 1,
          ScaleInPolicy: { Strategy: 'IDLE_RELEASE', CooldownInMinutes: 20 },
        },
        RoutingConfig: { RoutingStrategy: 'LEAST_OUTSTANDING_REQUESTS' },
        ModelDataDownloadTimeoutInSeconds: 3600,
        ContainerStartupHealthCheckTimeoutInSeconds: 3600,
      },
    ]);
  });

  it('takes the instance type, maximum and scale-in cooldown from the stage', () => {
    // Prepare
    const large = buildTestStack(
      withEmd({ instanceType: 'ml.g6e.12xlarge', maxInstances: 3, scaleInCooldownMinutes: 45 }),
    );

    // Act
    const config = resourceOf(large, vlmOf(large).endpointConfig).Properties;

    // Assess
    expect(config.ProductionVariants[0]).toMatchObject({
      InstanceType: 'ml.g6e.12xlarge',
      ManagedInstanceScaling: {
        MaxInstanceCount: 3,
        ScaleInPolicy: { Strategy: 'IDLE_RELEASE', CooldownInMinutes: 45 },
      },
    });
  });
});

describe('inference components', () => {
  it('creates one per deployed model, with one copy, its GPUs and memory, on the variant, named synthforge-<stage>-<key>', () => {
    // Assess: the default models (the three one-GPU ones).
    expect(vlm.components.map(({ componentName }) => componentName)).toEqual([
      'synthforge-test-qwen2-vl-7b',
      'synthforge-test-gemma-3-4b',
      'synthforge-test-ui-tars-1-5-7b',
    ]);
    expect(
      Object.keys(resourcesOfType(built.modelsTemplate, 'AWS::SageMaker::InferenceComponent')),
    ).toHaveLength(3);
    for (const { model, componentName, component: resource } of vlm.components) {
      const properties = resourceOf(built, resource).Properties;
      expect(properties, model.key).toMatchObject({
        EndpointName: { 'Fn::GetAtt': [built.models.getLogicalId(vlm.endpoint), 'EndpointName'] },
        VariantName: 'AllTraffic',
        InferenceComponentName: componentName,
        RuntimeConfig: { CopyCount: 1 },
        Specification: {
          ComputeResourceRequirements: {
            NumberOfAcceleratorDevicesRequired: model.gpus,
            MinMemoryRequiredInMb: model.minMemoryMb,
          },
          StartupParameters: {
            ModelDataDownloadTimeoutInSeconds: 3600,
            ContainerStartupHealthCheckTimeoutInSeconds: 3600,
          },
        },
      });
      expect(properties.Specification.ModelName, model.key).toBeUndefined();
    }
  });

  it('serves the Hub model with vLLM in LMI’s async mode, on exactly its GPUs, with its context and images per prompt', () => {
    // Act
    const container = resourceOf(built, component('qwen2-vl-7b').component).Properties.Specification
      .Container;

    // Assess
    expect(flattenReference(container.Image)).toBe(
      `763104351884.dkr.ecr.eu-west-1.<AWS::URLSuffix>/djl-inference:${VLM_IMAGE_TAG}`,
    );
    expect(container.Environment).toEqual({
      HF_MODEL_ID: 'Qwen/Qwen2-VL-7B-Instruct',
      OPTION_ASYNC_MODE: 'true',
      OPTION_ROLLING_BATCH: 'disable',
      OPTION_ENTRYPOINT: 'djl_python.lmi_vllm.vllm_async_service',
      OPTION_TENSOR_PARALLEL_DEGREE: '1',
      OPTION_MAX_MODEL_LEN: '16000',
      // It takes videos: one per prompt.
      OPTION_LIMIT_MM_PER_PROMPT: '{"image":2,"video":1}',
      SERVING_FAIL_FAST: 'true',
    });
    const uiTars = resourceOf(built, component('ui-tars-1.5-7b').component).Properties.Specification
      .Container;
    expect(uiTars.Environment.OPTION_LIMIT_MM_PER_PROMPT).toBe('{"image":1}');
  });

  it("passes a gated model's Hub token as a secret CloudFormation resolves at deploy time, never its value", () => {
    // Act
    const gemma = resourceOf(built, component('gemma-3-4b').component).Properties.Specification.Container;
    const qwen = resourceOf(built, component('qwen2-vl-7b').component).Properties.Specification.Container;

    // Assess: only the gated model gets it, and the role may not read any secret.
    expect(gemma.Environment.HF_TOKEN).toBe('{{resolve:secretsmanager:synthforge/hf-token:SecretString:::}}');
    expect(qwen.Environment.HF_TOKEN).toBeUndefined();
    const actions = statementsOfRole(built.template, built.idOf(vlm.executionRole)).flatMap((s) =>
      [s.Action].flat(),
    );
    expect(actions.filter((action) => action.startsWith('secretsmanager:'))).toEqual([]);
  });

  it('deploys the 32B model on its four GPUs when the stage lists it and allows the second instance it needs', () => {
    // Prepare
    const models = [...DEFAULT_EMD_MODELS, modelNamed('qwen2.5-vl-32b')];
    const both = buildTestStack(withEmd({ models, maxInstances: 2 }));

    // Act
    const big = vlmOf(both).components.find(({ model }) => model.key === 'qwen2.5-vl-32b');
    const properties = resourceOf(both, big?.component as Construct).Properties;

    // Assess: dots are not allowed in SageMaker names.
    expect(properties.InferenceComponentName).toBe('synthforge-test-qwen2-5-vl-32b');
    expect(properties.Specification.ComputeResourceRequirements.NumberOfAcceleratorDevicesRequired).toBe(4);
    expect(properties.Specification.Container.Environment.OPTION_TENSOR_PARALLEL_DEGREE).toBe('4');
  });

  it('runs a configured image, pulled from its own repository only', () => {
    // Prepare
    const own = buildTestStack(withEmd({ image: OWN_IMAGE }));
    const ownVlm = vlmOf(own);

    // Act
    const container = resourceOf(own, ownVlm.components[0]?.component as Construct).Properties.Specification
      .Container;
    const pull = statementsOfRole(own.template, own.idOf(ownVlm.executionRole)).find(
      (s) => s.Sid === 'PullImage',
    );

    // Assess
    expect(container.Image).toBe(OWN_IMAGE);
    expect(flattenReference(pull?.Resource)).toBe(
      'arn:<AWS::Partition>:ecr:eu-west-1:123456789012:repository/synthforge/lmi',
    );
  });
});

describe('scale to zero', () => {
  it("registers each component's copy count from 0 to 1 with the service-linked role, once the component exists", () => {
    for (const item of vlm.components) {
      // Act
      const target = resourceOf(built, item.scalableTarget);

      // Assess
      expect(target.Properties).toEqual({
        ServiceNamespace: 'sagemaker',
        ResourceId: `inference-component/${item.componentName}`,
        ScalableDimension: 'sagemaker:inference-component:DesiredCopyCount',
        MinCapacity: 0,
        MaxCapacity: 1,
      });
      expect(target.DependsOn).toContain(built.models.getLogicalId(item.component));
    }
  });

  it('takes an idle component to zero by target tracking on its invocations per copy', () => {
    // Act
    const { policies, tracking } = scalingOf(built, component('gemma-3-4b'));

    // Assess
    expect(policies).toHaveLength(2);
    expect(tracking?.[1].Properties.TargetTrackingScalingPolicyConfiguration).toEqual({
      TargetValue: 1,
      PredefinedMetricSpecification: {
        PredefinedMetricType: 'SageMakerInferenceComponentInvocationsPerCopy',
      },
    });
  });

  it('wakes a component at zero: NoCapacityInvocationFailures ≥ 1 in a minute adds one copy', () => {
    for (const item of vlm.components) {
      // Act
      const { step } = scalingOf(built, item);
      const alarm = resourceOf(built, item.wakeAlarm).Properties;

      // Assess
      expect(step?.[1].Properties.StepScalingPolicyConfiguration).toEqual({
        AdjustmentType: 'ChangeInCapacity',
        Cooldown: 60,
        MetricAggregationType: 'Maximum',
        StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }],
      });
      expect(alarm).toMatchObject({
        Namespace: 'AWS/SageMaker',
        MetricName: 'NoCapacityInvocationFailures',
        Dimensions: [{ Name: 'InferenceComponentName', Value: item.componentName }],
        Statistic: 'Sum',
        Period: 60,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: step?.[0] }],
      });
    }
  });
});

describe('execution role', () => {
  it('is assumed by SageMaker, with no managed policy, allowed exactly its image, its log groups and its metrics', () => {
    // Prepare
    const role = resourceOf(built, vlm.executionRole).Properties;
    const statements = statementsOfRole(built.template, built.idOf(vlm.executionRole));
    const bySid = (sid: string): Statement | undefined => statements.find((s) => s.Sid === sid);

    // Assess
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'sagemaker.amazonaws.com' } },
    ]);
    expect(role.ManagedPolicyArns).toBeUndefined();
    expect(statements.map((s) => s.Sid).sort()).toEqual(
      ['AuthenticateToEcr', 'PublishInstanceMetrics', 'PullImage', 'WriteOwnLogGroups'].sort(),
    );
    expect(flattenReference(bySid('PullImage')?.Resource)).toBe(
      'arn:<AWS::Partition>:ecr:eu-west-1:763104351884:repository/djl-inference',
    );
    expect(bySid('AuthenticateToEcr')).toMatchObject({ Action: 'ecr:GetAuthorizationToken', Resource: '*' });
    expect(bySid('PublishInstanceMetrics')).toMatchObject({
      Action: 'cloudwatch:PutMetricData',
      Resource: '*',
      Condition: {
        StringEquals: {
          'cloudwatch:namespace': ['/aws/sagemaker/Endpoints', '/aws/sagemaker/InferenceComponents'],
        },
      },
    });
    // The endpoint's log group and each component's, which this construct creates with the retention.
    const groups = resourcesOfType(built.template, 'AWS::Logs::LogGroup');
    const written = [bySid('WriteOwnLogGroups')?.Resource]
      .flat()
      .map((arn: CfnJson) => groups[referencedId(arn) as string]?.Properties);
    expect(written.map((group) => group?.LogGroupName).sort()).toEqual(
      [
        `/aws/sagemaker/Endpoints/${ENDPOINT}`,
        ...vlm.components.map(({ componentName }) => `/aws/sagemaker/InferenceComponents/${componentName}`),
      ].sort(),
    );
    for (const group of written) expect(group?.RetentionInDays).toBe(30);
  });
});

describe('what synthesis refuses', () => {
  it('a model that needs more GPUs than the instance type has, naming both', () => {
    // Prepare
    const models = [{ ...modelNamed('qwen2.5-vl-32b') }];

    // Act and assess
    expect(() => buildTestStack(withEmd({ instanceType: 'ml.g5.2xlarge', models }))).toThrow(
      /inference\.emd\.models\.0\.gpus: qwen2\.5-vl-32b needs 4 GPUs per copy; ml\.g5\.2xlarge has 1/,
    );
  });

  it('models whose first copies do not fit maxInstances, saying how many they need', () => {
    // Prepare
    const models = [...DEFAULT_EMD_MODELS, modelNamed('qwen2.5-vl-32b')];

    // Act and assess
    expect(() => parseStageConfig({ stage: 'test', ...withEmd({ models }) })).toThrow(
      /inference\.emd\.maxInstances: .* need 2 ml\.g5\.12xlarge instances/,
    );
  });

  it('an instance type without a known GPU count', () => {
    expect(() => parseStageConfig({ stage: 'test', ...withEmd({ instanceType: 'ml.m5.xlarge' }) })).toThrow(
      /inference\.emd\.instanceType: one of the GPU instance types/,
    );
  });

  it('a key that makes an invalid component name', () => {
    // Prepare: 63 characters of key make a name past SageMaker's 63.
    const models = [{ ...modelNamed('gemma-3-4b'), key: `g${'e'.repeat(62)}` }];

    // Act and assess
    expect(() => buildTestStack(withEmd({ models }))).toThrow(/makes the component name .* shorten the key/);
  });

  it('a region without a known Deep Learning Containers registry, unless the stage names its image', () => {
    // Prepare: the construct alone, in a stack of that region.
    const build = (emd: Record<string, unknown>) => {
      const stack = new Stack(testApp(), 'Elsewhere', {
        env: { account: TEST_ENV.account, region: 'xx-nowhere-1' },
      });
      return new VlmEndpoint(stack, 'VlmEndpoint', {
        stage: 'test',
        config: parseStageConfig({ stage: 'test', ...withEmd(emd) }).inference.emd,
        logRetention: RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      });
    };

    // Act and assess
    expect(() => build({})).toThrow(
      /inference\.emd\.image: no Deep Learning Containers registry is known for xx-nowhere-1/,
    );
    expect(build({ image: OWN_IMAGE }).components).toHaveLength(3);
  });
});
