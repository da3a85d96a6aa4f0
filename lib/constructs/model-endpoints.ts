/**
 * GPU generators on SageMaker asynchronous inference endpoints that scale to zero: one endpoint per
 * model of the stage's catalogue (`imageGeneration.models`), each with its own execution role, and
 * one pair of SNS topics on which every endpoint says that a request succeeded or failed.
 *
 * The request flow this serves: a job writes `<tenant>/jobs/<jobId>/request.json` to the outputs
 * bucket and calls InvokeEndpointAsync; the endpoint writes the response under
 * `_endpoints/<endpointName>/output/` (or the failure under `.../failures/`) and notifies a topic; the
 * callback moves the response to the job's own key. The `_endpoints/` prefix is staging only: its
 * objects expire after a day, and tenants never see it (tenant names start with a letter or digit).
 */
import { Duration, type RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import { CfnScalableTarget, CfnScalingPolicy } from 'aws-cdk-lib/aws-applicationautoscaling';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import {
  type IGrantable,
  type Policy,
  PolicyStatement,
  type PolicyStatementProps,
  type Role,
} from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import { CfnEndpoint, CfnEndpointConfig, CfnModel } from 'aws-cdk-lib/aws-sagemaker';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Fact, FactName } from 'aws-cdk-lib/region-info';
import { Construct, type IConstruct } from 'constructs';
import { hasInstanceStorage } from '../../contracts/instances.ts';
import {
  type DeployedModel,
  deployedModels,
  type EndpointModel,
  endpointNameOf,
  type ImageGenerationConfig,
} from '../../contracts/models.ts';
import { type EcrImage, ecrImageOf, regionalEcrImage } from '../ecr-image.ts';
import { allowHosting, hostingRole } from './sagemaker-hosting.ts';
import { SynthForgeFunction } from './synthforge-function.ts';

/**
 * The Hugging Face PyTorch inference image for GPUs (PyTorch 2.6, transformers 4.49, diffusers
 * 0.32.2, sagemaker-huggingface-inference-toolkit 2.4.1, CUDA 12.4), from AWS's Deep Learning
 * Containers registry of the stack's region. Source: aws/deep-learning-containers,
 * huggingface/pytorch/inference/docker/2.6/py3/cu124/Dockerfile.gpu. Its toolkit serves a diffusers
 * pipeline for `HF_TASK=text-to-image`. A model's `image` overrides it.
 */
export const HUGGINGFACE_INFERENCE_REPOSITORY = 'huggingface-pytorch-inference';
export const HUGGINGFACE_INFERENCE_GPU_TAG = '2.6.0-transformers4.49.0-gpu-py312-cu124-ubuntu22.04';

/** The task the Hugging Face inference toolkit builds its pipeline for. */
export const HUGGINGFACE_TASK = 'text-to-image';

/** Every object an endpoint writes lives under this prefix of the outputs bucket, for a day. */
export const ENDPOINT_STAGING_PREFIX = '_endpoints/';
/** Days an endpoint's response or failure object stays in staging (the callback moves it sooner). */
export const ENDPOINT_STAGING_RETENTION_DAYS = 1;
/** The one production variant of each endpoint (what scaling acts on). */
export const ENDPOINT_VARIANT = 'AllTraffic';

/**
 * How long the Hugging Face container may take to answer its first `/ping`: it downloads the model's
 * weights from the Hub (several GB for Stable Diffusion) before it does.
 */
const HUGGINGFACE_STARTUP_HEALTH_CHECK_SECONDS = 900;

export interface ModelEndpointsProps {
  /** The stage name: each endpoint is `synthforge-<stage>-<model>` (`endpointNameOf`). */
  readonly stage: string;
  /** The stage's `imageGeneration`: the models, their instances and scaling, the optional VPC. */
  readonly config: ImageGenerationConfig;
  /**
   * The outputs bucket: endpoints read requests from it and stage responses and failures in it. This
   * construct adds the lifecycle rule that expires the staging prefix.
   */
  readonly outputsBucket: Bucket;
  /** Retention of each endpoint's log group (`/aws/sagemaker/Endpoints/<name>`). */
  readonly logRetention: RetentionDays;
  /** What deleting the stack does to the key and the log groups. */
  readonly removalPolicy: RemovalPolicy;
  /**
   * Where each model's SageMaker model, endpoint configuration, endpoint and scaling go: the stage's
   * Models stack (lib/stage-stacks.ts), so that an account whose quota for the instance type is 0
   * fails (and rolls back) that stack alone, never the platform. Everything else of a model (its
   * role, policy and log group) stays here with the key and the topics: nothing here counts against
   * a quota, and the Models stack then holds no IAM at all. Default: this construct.
   */
  readonly endpointScope?: Construct;
}

/** One deployed model. */
export interface ModelEndpoint {
  /** The catalogue entry it serves. */
  readonly model: EndpointModel;
  /** `synthforge-<stage>-<model>`. */
  readonly endpointName: string;
  /** The endpoint's ARN, built from its name (granting on it does not wait for the endpoint). */
  readonly endpointArn: string;
  /** `_endpoints/<name>/output/`: the key prefix of its responses. */
  readonly outputPrefix: string;
  /** `_endpoints/<name>/failures/`: the key prefix of its failures (the error, as SageMaker writes it). */
  readonly failurePrefix: string;
  /** `s3://<bucket>/_endpoints/<name>/output`: the endpoint configuration's S3OutputPath. */
  readonly outputPath: string;
  /** `s3://<bucket>/_endpoints/<name>/failures`: the endpoint configuration's S3FailurePath. */
  readonly failurePath: string;
  /** The ARN pattern of its responses (what its role may write). */
  readonly outputObjectsArn: string;
  /** The ARN pattern of its failures (what its role may write). */
  readonly failureObjectsArn: string;
  /** Every network interface of the account and region, when the endpoint is in a VPC. */
  readonly networkInterfacesArn?: string;
  /** The SageMaker execution role: pulls the image, reads requests, writes responses, notifies. */
  readonly executionRole: Role;
  /** The role's statements. */
  readonly accessPolicy: Policy;
  readonly endpoint: CfnEndpoint;
  /** Application Auto Scaling's target: the variant's instance count, 0 to `maxInstances`. */
  readonly scalableTarget: CfnScalableTarget;
}

/** A grant on the staging objects, and the policy that holds it (cdk-nag acknowledges it there). */
export interface StagingGrant {
  readonly grantee: IGrantable;
  readonly policy: IConstruct;
}

/**
 * The model endpoints of a stage and the two notification topics. Per model:
 *
 * - an execution role allowed exactly: GetObject on request objects (`<tenant>/jobs/<job>/request.json`),
 *   PutObject on its own response and failure prefixes, the construct's key, pulling its image,
 *   writing its log group, and publishing to the two topics;
 * - a model (the Hugging Face inference container with `HF_MODEL_ID`/`HF_TASK`, or the configured
 *   image), in the stage's VPC when it has one;
 * - an asynchronous endpoint configuration (one variant `AllTraffic`, 1 initial instance) and the
 *   endpoint;
 * - scaling from 0 to `maxInstances`: target tracking on `ApproximateBacklogSizePerInstance`, and a
 *   step policy that adds an instance when `HasBacklogWithoutCapacity` says requests wait with none.
 *
 * A stage without models gets the topics and the key only, and no SageMaker resource.
 */
export class ModelEndpoints extends Construct {
  /** Encrypts staged responses and failures, the notifications, and ML volumes where allowed. */
  readonly key: Key;
  /** Every endpoint publishes here when a request succeeded (SageMaker's success notification). */
  readonly successTopic: Topic;
  /** Every endpoint publishes here when a request failed. */
  readonly errorTopic: Topic;
  /** One per model, in catalogue order. */
  readonly endpoints: readonly ModelEndpoint[];
  /**
   * What the runtime knows of each model (contracts/models.ts `deployedModels`); Lambdas get it as
   * JSON in `IMAGE_MODELS` (see `imageModelsEnvironment`).
   */
  readonly deployedModels: readonly DeployedModel[];
  /** `_endpoints/`: the staging prefix of the outputs bucket. */
  readonly stagingPrefix = ENDPOINT_STAGING_PREFIX;
  /** The ARN pattern of every staged object (`<bucket>/_endpoints/*`). */
  readonly stagingObjectsArn: string;
  /** The ARN pattern of the request objects endpoints read (any `<tenant>/jobs/<job>/request.json`). */
  readonly requestObjectsArn: string;
  readonly #stagingGrants: StagingGrant[] = [];
  readonly #outputsBucket: Bucket;

  constructor(scope: Construct, id: string, props: ModelEndpointsProps) {
    super(scope, id);
    const { config, outputsBucket } = props;
    this.#outputsBucket = outputsBucket;
    this.stagingObjectsArn = outputsBucket.arnForObjects(`${ENDPOINT_STAGING_PREFIX}*`);
    this.requestObjectsArn = outputsBucket.arnForObjects('*/jobs/*/request.json');
    this.deployedModels = deployedModels(props.stage, config);

    this.key = new Key(this, 'Key', {
      description: 'Encrypts SynthForge model endpoint responses, notifications and ML volumes',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
    });
    this.successTopic = new Topic(this, 'SuccessTopic', {
      displayName: 'SynthForge model endpoint successes',
      masterKey: this.key,
      enforceSSL: true,
    });
    this.errorTopic = new Topic(this, 'ErrorTopic', {
      displayName: 'SynthForge model endpoint errors',
      masterKey: this.key,
      enforceSSL: true,
    });

    // Responses the callback never moved, and failures, go after a day; so do the versions its
    // deletes leave behind (the bucket is versioned).
    outputsBucket.addLifecycleRule({
      id: 'expire-endpoint-staging',
      prefix: ENDPOINT_STAGING_PREFIX,
      expiration: Duration.days(ENDPOINT_STAGING_RETENTION_DAYS),
      noncurrentVersionExpiration: Duration.days(ENDPOINT_STAGING_RETENTION_DAYS),
    });

    const names = new Map<string, string>();
    for (const model of config.models) {
      const name = endpointNameOf(props.stage, model);
      const other = names.get(name);
      if (other !== undefined) {
        throw new Error(
          `models ${other} and ${model.name} would share the endpoint name ${name}: shorten one`,
        );
      }
      names.set(name, model.name);
    }

    this.endpoints = config.models.map((model) => this.#deploy(model, props));
  }

  /** `{ IMAGE_MODELS: <deployedModels as JSON> }`, for the functions that serve or run image jobs. */
  get imageModelsEnvironment(): { IMAGE_MODELS: string } {
    return { IMAGE_MODELS: JSON.stringify(this.deployedModels) };
  }

  /** The grants on staged objects made so far (each one is a wildcard cdk-nag must be told about). */
  get stagingGrants(): readonly StagingGrant[] {
    return this.#stagingGrants;
  }

  /** Lets `grantee` call InvokeEndpointAsync on these endpoints and no other. No-op without models. */
  grantInvoke(grantee: IGrantable): void {
    this.#grant(grantee, {
      sid: 'InvokeModelEndpoints',
      actions: ['sagemaker:InvokeEndpointAsync'],
      resources: this.endpoints.map((e) => e.endpointArn),
    });
  }

  /** Lets `grantee` DescribeEndpoint these endpoints (status, current instance count). */
  grantDescribe(grantee: IGrantable): void {
    this.#grant(grantee, {
      sid: 'DescribeModelEndpoints',
      actions: ['sagemaker:DescribeEndpoint'],
      resources: this.endpoints.map((e) => e.endpointArn),
    });
  }

  /** Lets `grantee` read staged responses and failures (and decrypt them with the key, through S3). */
  grantReadOutputs(grantee: IGrantable): void {
    if (this.endpoints.length === 0) return;
    this.#recordStaging(
      grantee,
      this.#grant(grantee, {
        sid: 'ReadEndpointOutputs',
        actions: ['s3:GetObject'],
        resources: [this.stagingObjectsArn],
      }),
    );
    this.#grant(grantee, {
      sid: 'DecryptEndpointOutputs',
      actions: ['kms:Decrypt'],
      resources: [this.key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` } },
    });
  }

  /** Lets `grantee` delete staged responses and failures once it has moved them. */
  grantDeleteOutputs(grantee: IGrantable): void {
    if (this.endpoints.length === 0) return;
    this.#recordStaging(
      grantee,
      this.#grant(grantee, {
        sid: 'DeleteEndpointOutputs',
        actions: ['s3:DeleteObject'],
        resources: [this.stagingObjectsArn],
      }),
    );
  }

  #deploy(model: EndpointModel, props: ModelEndpointsProps): ModelEndpoint {
    const stack = Stack.of(this);
    const scope = new Construct(this, model.name);
    // What uses the account's instance quota (and only that) goes to the endpoint scope.
    const serving = props.endpointScope ? new Construct(props.endpointScope, model.name) : scope;
    const endpointName = endpointNameOf(props.stage, model);
    const bucket = this.#outputsBucket;
    const outputPrefix = `${ENDPOINT_STAGING_PREFIX}${endpointName}/output/`;
    const failurePrefix = `${ENDPOINT_STAGING_PREFIX}${endpointName}/failures/`;
    const outputObjectsArn = bucket.arnForObjects(`${outputPrefix}*`);
    const failureObjectsArn = bucket.arnForObjects(`${failurePrefix}*`);
    // SageMaker's paths name the folder, without the trailing slash.
    const outputPath = bucket.s3UrlForObject(outputPrefix.slice(0, -1));
    const failurePath = bucket.s3UrlForObject(failurePrefix.slice(0, -1));
    const image = this.#imageOf(model);
    const vpc = props.config.vpc;
    const networkInterfacesArn = vpc
      ? stack.formatArn({ service: 'ec2', resource: 'network-interface', resourceName: '*' })
      : undefined;

    // SageMaker would create it on first start, without a retention.
    const logGroup = new LogGroup(scope, 'Logs', {
      logGroupName: `/aws/sagemaker/Endpoints/${endpointName}`,
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });

    const hosting = hostingRole(scope, `SageMaker execution role of the ${endpointName} endpoint`);
    const { role: executionRole, policy: accessPolicy, allow } = hosting;

    // The request key is chosen at run time, under any tenant and job.
    allow({ sid: 'ReadRequests', actions: ['s3:GetObject'], resources: [this.requestObjectsArn] });
    allow({
      sid: 'WriteResponses',
      actions: ['s3:PutObject'],
      resources: [outputObjectsArn, failureObjectsArn],
    });
    // Responses are SSE-KMS with the key, and so are the topics' messages. No kms:ViaService
    // condition: SageMaker encrypts the response itself for KmsKeyId (its API documents kms:Encrypt
    // on the execution role), and the key serves only these endpoints.
    allow({
      sid: 'UseEndpointKey',
      actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey'],
      resources: [this.key.keyArn],
    });
    allowHosting(hosting, { image, logGroups: [logGroup], logsSid: 'WriteOwnLogGroup' });
    allow({
      sid: 'Notify',
      actions: ['sns:Publish'],
      resources: [this.successTopic.topicArn, this.errorTopic.topicArn],
    });
    if (vpc && networkInterfacesArn) {
      // What SageMaker does with the role to place the instances' interfaces in the stage's subnets.
      allow({
        sid: 'CreateInterfacesInSubnets',
        actions: ['ec2:CreateNetworkInterface'],
        resources: [
          networkInterfacesArn,
          ...vpc.subnetIds.map((subnet) =>
            stack.formatArn({ service: 'ec2', resource: 'subnet', resourceName: subnet }),
          ),
          ...vpc.securityGroupIds.map((group) =>
            stack.formatArn({ service: 'ec2', resource: 'security-group', resourceName: group }),
          ),
        ],
      });
      allow({
        sid: 'ManageInterfaces',
        actions: [
          'ec2:CreateNetworkInterfacePermission',
          'ec2:DeleteNetworkInterface',
          'ec2:DeleteNetworkInterfacePermission',
        ],
        resources: [networkInterfacesArn],
      });
      // EC2's Describe actions support no resource-level permissions.
      allow({
        sid: 'DescribeNetwork',
        actions: [
          'ec2:DescribeDhcpOptions',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSecurityGroups',
          'ec2:DescribeSubnets',
          'ec2:DescribeVpcs',
        ],
        resources: ['*'],
      });
    }

    const huggingface = model.container === 'huggingface';
    const cfnModel = new CfnModel(serving, 'Model', {
      executionRoleArn: executionRole.roleArn,
      primaryContainer: {
        image: image.uri,
        mode: 'SingleModel',
        ...(huggingface
          ? {
              environment: {
                HF_MODEL_ID: model.hubModelId ?? model.modelId,
                HF_TASK: HUGGINGFACE_TASK,
                // The model server's own per-request timeout (60 s by default): a large image may
                // take longer, up to what the invocation allows.
                SAGEMAKER_MODEL_SERVER_TIMEOUT: String(model.invocationTimeoutSeconds),
              },
            }
          : {}),
      },
      // Network isolation cuts the container off from everything, the Hub included: the Hugging Face
      // container downloads HF_MODEL_ID's weights at start, so it needs egress. The shapes container
      // renders from its own code and needs none. (SageMaker itself still moves the request and the
      // response between S3 and the container.)
      enableNetworkIsolation: !huggingface,
      ...(vpc
        ? { vpcConfig: { subnets: [...vpc.subnetIds], securityGroupIds: [...vpc.securityGroupIds] } }
        : {}),
    });
    // SageMaker checks the role's permissions (the image pull) when the model is created.
    cfnModel.node.addDependency(accessPolicy);

    const endpointConfig = new CfnEndpointConfig(serving, 'Config', {
      // Instance storage is encrypted in hardware, and SageMaker rejects a volume key for such types.
      ...(hasInstanceStorage(model.instanceType) ? {} : { kmsKeyId: this.key.keyArn }),
      productionVariants: [
        {
          variantName: ENDPOINT_VARIANT,
          modelName: cfnModel.attrModelName,
          instanceType: model.instanceType,
          // An asynchronous endpoint cannot be created with 0 instances: it starts with one (and each
          // update of the endpoint starts one again), which target tracking removes once the backlog
          // has stayed empty for its scale-in alarm (about 15 minutes).
          initialInstanceCount: 1,
          ...(huggingface
            ? { containerStartupHealthCheckTimeoutInSeconds: HUGGINGFACE_STARTUP_HEALTH_CHECK_SECONDS }
            : {}),
        },
      ],
      asyncInferenceConfig: {
        clientConfig: { maxConcurrentInvocationsPerInstance: model.maxConcurrencyPerInstance },
        outputConfig: {
          s3OutputPath: outputPath,
          s3FailurePath: failurePath,
          kmsKeyId: this.key.keyArn,
          notificationConfig: {
            successTopic: this.successTopic.topicArn,
            errorTopic: this.errorTopic.topicArn,
          },
        },
      },
    });

    const endpoint = new CfnEndpoint(serving, 'Endpoint', {
      endpointName,
      endpointConfigName: endpointConfig.attrEndpointConfigName,
    });
    endpoint.node.addDependency(accessPolicy);

    const scalableTarget = this.#scaleToZero(serving, model, endpointName, endpoint);

    return {
      model,
      endpointName,
      endpointArn: stack.formatArn({
        service: 'sagemaker',
        resource: 'endpoint',
        resourceName: endpointName,
      }),
      outputPrefix,
      failurePrefix,
      outputPath,
      failurePath,
      outputObjectsArn,
      failureObjectsArn,
      ...(networkInterfacesArn ? { networkInterfacesArn } : {}),
      executionRole,
      accessPolicy,
      endpoint,
      scalableTarget,
    };
  }

  /**
   * 0 to `maxInstances` instances (AWS's scale-to-zero recipe for asynchronous endpoints):
   *
   * - target tracking keeps `ApproximateBacklogSizePerInstance` near the target; with no backlog its
   *   scale-in alarm (about 15 minutes of data) takes the variant to 0, and the scale-in cooldown
   *   spaces scale-ins after that;
   * - target tracking alone would leave requests waiting at 0 instances until the backlog exceeded
   *   the target, so a step policy adds one instance as soon as `HasBacklogWithoutCapacity` reads 1.
   *   Its cooldown is at least the cold start: while the first instance boots the metric still reads 1,
   *   and a shorter cooldown would add a second one for nothing.
   *
   * Application Auto Scaling acts through its service-linked role for SageMaker (no role here).
   */
  #scaleToZero(scope: Construct, model: EndpointModel, endpointName: string, endpoint: CfnEndpoint) {
    const target = new CfnScalableTarget(scope, 'ScalableTarget', {
      serviceNamespace: 'sagemaker',
      resourceId: `endpoint/${endpointName}/variant/${ENDPOINT_VARIANT}`,
      scalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      minCapacity: 0,
      maxCapacity: model.maxInstances,
    });
    target.addResourceDependency(endpoint, 'the variant must exist before it can be registered');

    new CfnScalingPolicy(scope, 'BacklogTracking', {
      policyName: `${endpointName}-backlog-per-instance`,
      policyType: 'TargetTrackingScaling',
      scalingTargetId: target.ref,
      targetTrackingScalingPolicyConfiguration: {
        targetValue: model.targetBacklogPerInstance,
        scaleInCooldown: model.scaleInCooldownSeconds,
        scaleOutCooldown: model.scaleOutCooldownSeconds,
        customizedMetricSpecification: {
          namespace: 'AWS/SageMaker',
          metricName: 'ApproximateBacklogSizePerInstance',
          dimensions: [{ name: 'EndpointName', value: endpointName }],
          statistic: 'Average',
        },
      },
    });

    const wake = new CfnScalingPolicy(scope, 'WakeFromZero', {
      policyName: `${endpointName}-wake-from-zero`,
      policyType: 'StepScaling',
      scalingTargetId: target.ref,
      stepScalingPolicyConfiguration: {
        adjustmentType: 'ChangeInCapacity',
        cooldown: Math.max(model.scaleOutCooldownSeconds, model.coldStartSeconds),
        metricAggregationType: 'Average',
        stepAdjustments: [{ metricIntervalLowerBound: 0, scalingAdjustment: 1 }],
      },
    });
    const alarm = new Alarm(scope, 'BacklogWithoutCapacity', {
      alarmDescription: `Requests wait for ${endpointName}, which has no instance: wakes it`,
      metric: new Metric({
        namespace: 'AWS/SageMaker',
        metricName: 'HasBacklogWithoutCapacity',
        dimensionsMap: { EndpointName: endpointName },
        statistic: 'Average',
        period: Duration.minutes(1),
      }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      // The metric is absent while nothing waits.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    // The policy's Ref is its ARN, which is what an alarm action names.
    alarm.addAlarmAction({ bind: () => ({ alarmActionArn: wake.ref }) });
    return target;
  }

  /** The image URI of a model and the ECR repository its role may pull from. */
  #imageOf(model: EndpointModel): EcrImage {
    const stack = Stack.of(this);
    if (model.image !== undefined) {
      const image = ecrImageOf(stack, model.image);
      if (!image) throw new Error(`${model.name}: ${model.image} is not an ECR image`);
      return image;
    }
    if (model.container !== 'huggingface')
      throw new Error(`${model.name}: the ${model.container} container needs an image`);
    return regionalEcrImage(
      stack,
      this.#dlcAccount(model),
      HUGGINGFACE_INFERENCE_REPOSITORY,
      HUGGINGFACE_INFERENCE_GPU_TAG,
    );
  }

  /** The account of AWS's Deep Learning Containers registry in the stack's region. */
  #dlcAccount(model: EndpointModel): string {
    const stack = Stack.of(this);
    // An environment-agnostic stack looks it up in a mapping at deploy time.
    if (Token.isUnresolved(stack.region)) return stack.regionalFact(FactName.DLC_REPOSITORY_ACCOUNT);
    const account = Fact.find(stack.region, FactName.DLC_REPOSITORY_ACCOUNT);
    if (account === undefined) {
      throw new Error(
        `${model.name}: no Deep Learning Containers registry is known for ${stack.region}; set the model's image`,
      );
    }
    return account;
  }

  /**
   * One statement for `grantee`: into a SynthForge function's access policy (with the other
   * statements it is allowed), or else into the principal's own policy. Returns that policy.
   */
  #grant(grantee: IGrantable, statement: PolicyStatementProps & { sid: string }): IConstruct | undefined {
    if ((statement.resources ?? []).length === 0) return undefined;
    if (grantee instanceof SynthForgeFunction) {
      grantee.allow(statement);
      return grantee.accessPolicy;
    }
    const result = grantee.grantPrincipal.addToPrincipalPolicy(new PolicyStatement(statement));
    if (!result.statementAdded) {
      throw new Error(`${statement.sid}: the principal takes no policy statements; grant it yourself`);
    }
    return Construct.isConstruct(result.policyDependable) ? result.policyDependable : undefined;
  }

  #recordStaging(grantee: IGrantable, policy: IConstruct | undefined): void {
    if (policy) this.#stagingGrants.push({ grantee, policy });
  }
}
