/**
 * Seed 003's EMD models (vision-language models) on one SageMaker real-time endpoint that scales to
 * zero: one inference component per model, each serving its Hugging Face model with vLLM in AWS's
 * LMI container (DJL Serving), and the endpoint's instances managed by SageMaker from 0 to
 * `maxInstances`.
 *
 * Scaling to zero, as AWS's own scale-to-zero sample builds it:
 * - the endpoint configuration has one variant, no model (the components bring their containers),
 *   `initialInstanceCount` 1 and managed instance scaling with `minInstanceCount` 0: an instance
 *   with no component copy on it is released after `scaleInCooldownMinutes`;
 * - each component is created with one copy (SageMaker scales to zero only an endpoint that is in
 *   service with its components), and Application Auto Scaling owns its copy count from then on:
 *   0 to 1 copy, target tracking on `SageMakerInferenceComponentInvocationsPerCopy` takes it to 0
 *   once no request has come for its scale-in alarm's window (about 15 minutes);
 * - a request to a component with no copy fails with "no capacity" (the gateway answers 503 with
 *   `Retry-After`) and counts in `NoCapacityInvocationFailures`; the wake alarm on that metric
 *   drives a step policy that adds a copy, and managed instance scaling adds an instance for it.
 *
 * The Hugging Face token of a gated model: LMI reads it from the container's `HF_TOKEN` variable,
 * and SageMaker documents no way to inject a secret into a container's environment. It is resolved
 * from its Secrets Manager secret by CloudFormation at deploy time (a dynamic reference), so it is
 * in neither the repository, the synthesized template nor cdk.out; but SageMaker stores the
 * environment as given, and DescribeInferenceComponent shows it in plain text to whoever may call
 * it in the account. Use a fine-grained, read-only token limited to the gated repositories. Staging the
 * weights in S3 once (HF_MODEL_ID an `s3://` prefix) would remove the token, and the Hub download
 * at every wake, altogether; the catalogue does not do it yet. A changed token reaches a component
 * only when the component itself is updated.
 *
 * The execution role and the log groups stay with this construct; everything that uses the
 * account's instance quota (the endpoint configuration, the endpoint, the components, their
 * scaling and wake alarms) goes to `endpointScope`, the stage's Models stack.
 */
import { Duration, type RemovalPolicy, SecretValue, Stack, Token } from 'aws-cdk-lib';
import { CfnScalableTarget, CfnScalingPolicy } from 'aws-cdk-lib/aws-applicationautoscaling';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { Policy, Role } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnEndpoint, CfnEndpointConfig, CfnInferenceComponent } from 'aws-cdk-lib/aws-sagemaker';
import { Fact, FactName } from 'aws-cdk-lib/region-info';
import { Construct } from 'constructs';
import { componentNameOf, type EmdDeployment, type EmdModel } from '../../contracts/inference-models.ts';
import type { EmdConfig } from '../config.ts';
import { type EcrImage, ecrImageOf, regionalEcrImage } from '../ecr-image.ts';
import { allowHosting, hostingRole } from './sagemaker-hosting.ts';
import type { SynthForgeFunction } from './synthforge-function.ts';

/** The LMI image: DJL Serving 0.36 with vLLM 0.15.1 (LMI v20), CUDA 12.8. */
const VLM_IMAGE_REPOSITORY = 'djl-inference';
export const VLM_IMAGE_TAG = '0.36.0-lmi20.0.0-cu128-v1.0';

/** The endpoint's one production variant, which the components are placed on. */
const VLM_VARIANT = 'AllTraffic';

/**
 * How long a component may take to download its weights, and its container to answer its first
 * health check, as in AWS's sample: a 32B model's weights are some 67 GB, loaded onto four GPUs.
 */
const STARTUP_TIMEOUT_SECONDS = 3600;

/**
 * Target tracking's target, in invocations per minute per copy. With at most one copy it only ever
 * decides to scale in, and only at zero traffic (its new count is the current one times the metric
 * over the target, rounded up): any request in the alarm's window keeps the copy.
 */
const TARGET_INVOCATIONS_PER_COPY = 1;

/**
 * Between two wake-ups of one component. The count cannot pass 1 copy, so an alarm that fires
 * again while the copy is still loading changes nothing.
 */
const WAKE_COOLDOWN_SECONDS = 60;

/** The namespaces in which SageMaker publishes the endpoint's and the components' instance metrics. */
const METRIC_NAMESPACES = ['/aws/sagemaker/Endpoints', '/aws/sagemaker/InferenceComponents'];

/** SageMaker's names: letters and digits, dashes inside (and at most 63 characters). */
const SAGEMAKER_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/;

export interface VlmEndpointProps {
  /** The stage name: the endpoint is `synthforge-<stage>-vlm`, each component `synthforge-<stage>-<key>`. */
  readonly stage: string;
  /** The stage's `inference.emd`: the models, the instance type and count, the image. */
  readonly config: EmdConfig;
  /** Retention of the endpoint's and the components' log groups. */
  readonly logRetention: RetentionDays;
  /** What deleting the stack does to those log groups. */
  readonly removalPolicy: RemovalPolicy;
  /**
   * Where the quota-bound resources go: the stage's Models stack (lib/stage-stacks.ts), so that an
   * account without the GPU quota fails that stack alone. Default: this construct.
   */
  readonly endpointScope?: Construct;
}

/** One model's inference component. */
export interface VlmComponent {
  readonly model: EmdModel;
  /** `synthforge-<stage>-<key>`, dots made dashes (`componentNameOf`). */
  readonly componentName: string;
  readonly componentArn: string;
  readonly component: CfnInferenceComponent;
  /** Application Auto Scaling's target: the component's copy count, 0 to 1. */
  readonly scalableTarget: CfnScalableTarget;
  /** Fires on the first request that finds no copy, and wakes the component. */
  readonly wakeAlarm: Alarm;
}

export class VlmEndpoint extends Construct {
  /** `synthforge-<stage>-vlm`. */
  readonly endpointName: string;
  /** Built from the name: granting on it does not wait for the endpoint. */
  readonly endpointArn: string;
  /** The role SageMaker runs the components with: pulls the image, writes logs and metrics. */
  readonly executionRole: Role;
  /** The role's statements. */
  readonly accessPolicy: Policy;
  readonly endpointConfig: CfnEndpointConfig;
  readonly endpoint: CfnEndpoint;
  /** One per model, in the configuration's order. */
  readonly components: readonly VlmComponent[];
  /** The stage's `inference.emd`: the instance type and wake time each deployment reports. */
  readonly #config: EmdConfig;

  constructor(scope: Construct, id: string, props: VlmEndpointProps) {
    super(scope, id);
    const { config, stage } = props;
    const serving = props.endpointScope ? new Construct(props.endpointScope, id) : this;
    this.endpointName = `synthforge-${stage}-vlm`;
    this.endpointArn = this.#sagemakerArn('endpoint', this.endpointName);
    this.#config = config;
    const named = componentNames(stage, config.models);
    const image = this.#image(config);

    // SageMaker would create these on first start, without a retention.
    const logGroups = [
      new LogGroup(this, 'EndpointLogs', {
        logGroupName: `/aws/sagemaker/Endpoints/${this.endpointName}`,
        retention: props.logRetention,
        removalPolicy: props.removalPolicy,
      }),
      ...named.map(
        ({ model, name }) =>
          new LogGroup(this, `${model.key}Logs`, {
            logGroupName: `/aws/sagemaker/InferenceComponents/${name}`,
            retention: props.logRetention,
            removalPolicy: props.removalPolicy,
          }),
      ),
    ];

    const hosting = hostingRole(
      this,
      `SageMaker execution role of the ${this.endpointName} endpoint's inference components`,
    );
    this.executionRole = hosting.role;
    this.accessPolicy = hosting.policy;
    allowHosting(hosting, { image, logGroups, logsSid: 'WriteOwnLogGroups' });
    // PutMetricData has no resource: the namespace condition is what narrows it.
    hosting.allow({
      sid: 'PublishInstanceMetrics',
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': METRIC_NAMESPACES } },
    });
    // No Secrets Manager and no S3: the weights come from the Hub, and a gated model's token is
    // resolved by CloudFormation at deploy time (see the file's comment), never read by SageMaker.

    this.endpointConfig = new CfnEndpointConfig(serving, 'Config', {
      // Without a model on the variant, the components run with this role.
      executionRoleArn: this.executionRole.roleArn,
      // No volume key: every type of GPU_INSTANCE_TYPES has instance storage, which SageMaker
      // encrypts in hardware and for which it rejects a volume key.
      productionVariants: [
        {
          variantName: VLM_VARIANT,
          instanceType: config.instanceType,
          // The endpoint cannot be created empty: it starts with one instance, which the components'
          // first copies use, and which is released once they have scaled to zero.
          initialInstanceCount: 1,
          managedInstanceScaling: {
            status: 'ENABLED',
            minInstanceCount: 0,
            maxInstanceCount: config.maxInstances,
            scaleInPolicy: { strategy: 'IDLE_RELEASE', cooldownInMinutes: config.scaleInCooldownMinutes },
          },
          routingConfig: { routingStrategy: 'LEAST_OUTSTANDING_REQUESTS' },
          modelDataDownloadTimeoutInSeconds: STARTUP_TIMEOUT_SECONDS,
          containerStartupHealthCheckTimeoutInSeconds: STARTUP_TIMEOUT_SECONDS,
        },
      ],
    });
    // SageMaker checks the role's permissions (the image pull) when the endpoint is created.
    this.endpointConfig.node.addDependency(this.accessPolicy);

    this.endpoint = new CfnEndpoint(serving, 'Endpoint', {
      endpointName: this.endpointName,
      endpointConfigName: this.endpointConfig.attrEndpointConfigName,
    });

    this.components = named.map(({ model, name }) => this.#component(serving, model, name, image));
  }

  /** Where the model `key` is deployed, as the runtime's model list carries it; undefined if it is not. */
  deploymentOf(key: string): EmdDeployment | undefined {
    const deployed = this.components.find((component) => component.model.key === key);
    if (!deployed) return undefined;
    return {
      endpointName: this.endpointName,
      componentName: deployed.componentName,
      instanceType: this.#config.instanceType,
      // Seconds from a request to a model at zero until it answers (what the waking 503 estimates).
      wakeSeconds: this.#config.wakeSeconds,
    };
  }

  /**
   * Lets `fn` invoke the components (InvokeEndpoint, with or without a response stream, both on the
   * endpoint and naming the component) and describe the endpoint and the components (their status,
   * copies and instances).
   */
  allowInvokeAndDescribe(fn: SynthForgeFunction): void {
    const componentArns = this.components.map((component) => component.componentArn);
    fn.allow({
      sid: 'InvokeVlmComponents',
      actions: ['sagemaker:InvokeEndpoint'],
      resources: [this.endpointArn, ...componentArns],
    });
    fn.allow({
      sid: 'DescribeVlmEndpoint',
      actions: ['sagemaker:DescribeEndpoint'],
      resources: [this.endpointArn],
    });
    fn.allow({
      sid: 'DescribeVlmComponents',
      actions: ['sagemaker:DescribeInferenceComponent'],
      resources: componentArns,
    });
  }

  #component(serving: Construct, model: EmdModel, componentName: string, image: EcrImage): VlmComponent {
    const scope = new Construct(serving, model.key);
    const video = model.media.includes('video');
    const component = new CfnInferenceComponent(scope, 'Component', {
      endpointName: this.endpoint.attrEndpointName,
      variantName: VLM_VARIANT,
      // Explicit: the scalable target and the wake alarm name it.
      inferenceComponentName: componentName,
      specification: {
        container: {
          image: image.uri,
          environment: {
            HF_MODEL_ID: model.hubModelId,
            // vLLM's OpenAI-compatible server (LMI's async mode): chat completions in, and a stream of
            // chat.completion.chunk lines out, which the gateway parses.
            OPTION_ASYNC_MODE: 'true',
            OPTION_ROLLING_BATCH: 'disable',
            OPTION_ENTRYPOINT: 'djl_python.lmi_vllm.vllm_async_service',
            // Exactly the component's GPUs: "max" might see the whole instance.
            OPTION_TENSOR_PARALLEL_DEGREE: String(model.gpus),
            OPTION_MAX_MODEL_LEN: String(model.maxModelLen),
            OPTION_LIMIT_MM_PER_PROMPT: JSON.stringify({
              image: model.imagesPerPrompt,
              ...(video ? { video: 1 } : {}),
            }),
            // A model that fails to load stops the container, so that SageMaker reports the failure
            // instead of waiting for a health check that never passes.
            SERVING_FAIL_FAST: 'true',
            ...(model.hubTokenSecretName !== undefined
              ? { HF_TOKEN: SecretValue.secretsManager(model.hubTokenSecretName).unsafeUnwrap() }
              : {}),
          },
        },
        computeResourceRequirements: {
          numberOfAcceleratorDevicesRequired: model.gpus,
          minMemoryRequiredInMb: model.minMemoryMb,
        },
        startupParameters: {
          modelDataDownloadTimeoutInSeconds: STARTUP_TIMEOUT_SECONDS,
          containerStartupHealthCheckTimeoutInSeconds: STARTUP_TIMEOUT_SECONDS,
        },
      },
      // One copy at create, as AWS's samples do; scaling takes it to zero. Application Auto Scaling
      // owns the count afterwards. That CloudFormation sends CopyCount again only when it changes
      // here is unverified: an update of the component (its image, environment or token) may send
      // it too and set the live count back to 1, waking a model that had scaled to zero.
      runtimeConfig: { copyCount: 1 },
    });

    const scalableTarget = new CfnScalableTarget(scope, 'ScalableTarget', {
      serviceNamespace: 'sagemaker',
      resourceId: `inference-component/${componentName}`,
      scalableDimension: 'sagemaker:inference-component:DesiredCopyCount',
      minCapacity: 0,
      maxCapacity: 1,
    });
    scalableTarget.addResourceDependency(component, 'the component must exist before it can be registered');

    new CfnScalingPolicy(scope, 'InvocationsTracking', {
      policyName: `${componentName}-invocations-per-copy`,
      policyType: 'TargetTrackingScaling',
      scalingTargetId: scalableTarget.ref,
      targetTrackingScalingPolicyConfiguration: {
        targetValue: TARGET_INVOCATIONS_PER_COPY,
        predefinedMetricSpecification: {
          predefinedMetricType: 'SageMakerInferenceComponentInvocationsPerCopy',
        },
      },
    });

    const wake = new CfnScalingPolicy(scope, 'WakeFromZero', {
      policyName: `${componentName}-wake-from-zero`,
      policyType: 'StepScaling',
      scalingTargetId: scalableTarget.ref,
      stepScalingPolicyConfiguration: {
        adjustmentType: 'ChangeInCapacity',
        cooldown: WAKE_COOLDOWN_SECONDS,
        metricAggregationType: 'Maximum',
        stepAdjustments: [{ metricIntervalLowerBound: 0, scalingAdjustment: 1 }],
      },
    });
    // SageMaker's documented alarm (Sum over 60 s, at least 1). AWS's sample uses Maximum over 30 s,
    // which would save at most half a minute of a wake that takes minutes, on a metric whose
    // sub-minute resolution is not documented.
    const wakeAlarm = new Alarm(scope, 'NoCapacity', {
      alarmDescription: `A request found no copy of ${componentName}: wakes it`,
      metric: new Metric({
        namespace: 'AWS/SageMaker',
        metricName: 'NoCapacityInvocationFailures',
        dimensionsMap: { InferenceComponentName: componentName },
        statistic: 'Sum',
        period: Duration.minutes(1),
      }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      // The metric is absent while every request finds a copy.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    // The policy's Ref is its ARN, which is what an alarm action names.
    wakeAlarm.addAlarmAction({ bind: () => ({ alarmActionArn: wake.ref }) });

    return {
      model,
      componentName,
      componentArn: this.#sagemakerArn('inference-component', componentName),
      component,
      scalableTarget,
      wakeAlarm,
    };
  }

  /** The configured image, or LMI from AWS's Deep Learning Containers registry of the stack's region. */
  #image(config: EmdConfig): EcrImage {
    const stack = Stack.of(this);
    if (config.image !== undefined) {
      const image = ecrImageOf(stack, config.image);
      if (!image) throw new Error(`inference.emd.image: ${config.image} is not an ECR image`);
      return image;
    }
    // An environment-agnostic stack looks the registry's account up in a mapping at deploy time.
    const account = Token.isUnresolved(stack.region)
      ? stack.regionalFact(FactName.DLC_REPOSITORY_ACCOUNT)
      : Fact.find(stack.region, FactName.DLC_REPOSITORY_ACCOUNT);
    if (account === undefined) {
      throw new Error(
        `inference.emd.image: no Deep Learning Containers registry is known for ${stack.region}; set the image`,
      );
    }
    return regionalEcrImage(stack, account, VLM_IMAGE_REPOSITORY, VLM_IMAGE_TAG);
  }

  #sagemakerArn(resource: string, name: string): string {
    return Stack.of(this).formatArn({ service: 'sagemaker', resource, resourceName: name });
  }
}

/** Each model's component name (`componentNameOf`), checked against SageMaker's rules: a clear error at synth. */
function componentNames(stage: string, models: readonly EmdModel[]): { model: EmdModel; name: string }[] {
  const keyOf = new Map<string, string>();
  return models.map((model) => {
    const name = componentNameOf(`synthforge-${stage}`, model.key);
    if (!SAGEMAKER_NAME.test(name) || name.length > 63) {
      throw new Error(
        `inference.emd.models: ${model.key} makes the component name ${name}, which SageMaker refuses (letters, digits and dashes inside, at most 63 characters): shorten the key`,
      );
    }
    const other = keyOf.get(name);
    if (other !== undefined) {
      throw new Error(`inference.emd.models: ${other} and ${model.key} both make the component name ${name}`);
    }
    keyOf.set(name, model.key);
    return { model, name };
  });
}
