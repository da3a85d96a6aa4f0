/**
 * Seed 003's inference gateway (contracts/families/inference.ts): Claude 4 and Nova on Bedrock, the
 * EMD models on a SageMaker endpoint that scales to zero (lib/constructs/vlm-endpoint.ts, only when
 * the stage enables it), and three functions: one behind every buffered route, one that streams
 * its answer (Lambda response streaming behind API Gateway's STREAM transfer mode, so its time
 * limit is Lambda's 15 minutes rather than API Gateway's 29 s), and RunInference, the inference
 * machine's step that makes an `"async": true` request's call (15 minutes too). The three call the
 * models with the same grants.
 */
import { CfnOutput, Duration, Stack, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { inferenceFamily } from '../../contracts/families/inference.ts';
import {
  type BedrockModel,
  runtimeBedrockModel,
  runtimeEmdModel,
  SEED_BEDROCK_MODELS,
  SEED_EMD_MODELS,
} from '../../contracts/inference-models.ts';
import type { InferenceConfig } from '../config.ts';
import { STREAM_TIMEOUT } from '../constructs/api.ts';
import { JOB_SUBMISSION_ACTIONS } from '../constructs/data.ts';
import { type LambdaStateMachine, lambdaStateMachine } from '../constructs/lambda-state-machine.ts';
import { SynthForgeFunction } from '../constructs/synthforge-function.ts';
import { VlmEndpoint } from '../constructs/vlm-endpoint.ts';
import { accessPolicyOf, iam5Resource, type NagAcknowledgement } from '../nag.ts';
import {
  API_FUNCTION,
  type CancellableExecutions,
  type FamilyConstruct,
  type FamilyRegistration,
  type SharedInfrastructure,
} from './family.ts';
import { GenerationFamily } from './generation.ts';
import { ImagesFamily } from './images.ts';
import { PlatformFamily } from './platform.ts';

const NAG_REASONS = {
  foundationModels:
    'A cross-region inference profile routes each call to its foundation model in whichever region of the profile has capacity, so the model is allowed in every region; the statement names each configured foundation model, and the profiles themselves are allowed in this region and account only.',
  uploads:
    "Frames too large to send inline are uploaded by the tenant with a presigned PUT and read back by the gateway (and by Bedrock, with the caller's permissions) under <tenant>/uploads/..., chosen at run time; the statement allows only GetObject (and PutObject to the API function, which presigns the uploads) on keys of that shape, in the one outputs bucket.",
  asyncInference:
    "An asynchronous inference job keeps its request (<tenant>/inference/<job>/request.json, written by the API) and its answer (<tenant>/inference/<job>/result.json, written by RunInference, presigned by the jobs function) under the tenant's prefix and the job's id, both chosen at run time; each statement allows only the actions its function needs, on keys of that shape, in the one outputs bucket.",
  stopInferenceExecutions:
    'Cancelling an inference job stops its execution, whose name is the job id, known only at run time; the resource is limited to executions of the one inference state machine.',
  vlmRegistryAndMetrics:
    'ecr:GetAuthorizationToken and cloudwatch:PutMetricData support no resource-level permissions, so AWS requires Resource "*"; the image is pulled from its one repository only, and metrics are limited by condition to the SageMaker endpoint and inference component namespaces.',
} as const;

/** An asynchronous job's call: Lambda's own limit (the stage's `asyncDeadlineMs` stays inside it). */
export const RUN_INFERENCE_TIMEOUT = Duration.minutes(15);

/**
 * What the gateway's runtime knows of every model (`INFERENCE_MODELS`): the Bedrock models, and the
 * EMD catalogue (seed 003's models, each replaced by the stage's model of the same key, then the
 * stage's other models), each with where it is deployed when the stage deploys it.
 */
function runtimeModelsOf(
  config: InferenceConfig,
  bedrockModels: readonly BedrockModel[],
  vlm: VlmEndpoint | undefined,
) {
  const staged = new Map(config.emd.models.map((model) => [model.key, model]));
  const seedKeys = new Set(SEED_EMD_MODELS.map((model) => model.key));
  const catalogue = [
    ...SEED_EMD_MODELS.map((model) => staged.get(model.key) ?? model),
    ...config.emd.models.filter((model) => !seedKeys.has(model.key)),
  ];
  return [
    ...bedrockModels.map((model) => runtimeBedrockModel(model)),
    ...catalogue.map((model) => runtimeEmdModel(model, vlm?.deploymentOf(model.key))),
  ];
}

/**
 * The regions a cross-region inference profile's prefix serves (`us.` profiles route between US
 * regions, and so on): a profile outside the stack's geography does not exist there. Which regions
 * of its geography a profile may be called from differs by model; this is the geography only.
 */
const PROFILE_GEOGRAPHIES: readonly { prefix: string; regions: RegExp }[] = [
  { prefix: 'us-gov.', regions: /^us-gov-/ },
  { prefix: 'us.', regions: /^us-(?!gov-)/ },
  { prefix: 'eu.', regions: /^eu-/ },
  { prefix: 'apac.', regions: /^ap-/ },
  { prefix: 'jp.', regions: /^ap-northeast-[13]$/ },
  { prefix: 'au.', regions: /^ap-southeast-[24]$/ },
  { prefix: 'ca.', regions: /^ca-/ },
];

/** The geographies in which seed 003's Bedrock models (Claude Sonnet 4, Nova Pro) both have a profile. */
const SEED_PROFILE_PREFIXES: readonly string[] = ['us.', 'eu.', 'apac.'];

/**
 * The stage's Bedrock models as a stack in `region` calls them. A seed model's `us.` profile (the
 * default) follows the region: `eu.` in eu-west-1, `apac.` in ap-southeast-2. Any other profile must
 * be one of the region's geography: one that the region cannot call fails the synthesis, where it
 * would otherwise answer "invalid model" at every call. An environment-agnostic stack keeps the
 * models as configured.
 */
export function bedrockModelsIn(region: string, models: readonly BedrockModel[]): BedrockModel[] {
  if (Token.isUnresolved(region)) return [...models];
  const serves = (prefix: string) =>
    PROFILE_GEOGRAPHIES.some((geography) => geography.prefix === prefix && geography.regions.test(region));
  const seedPrefix = SEED_PROFILE_PREFIXES.find(serves);
  const seedIds = new Set(SEED_BEDROCK_MODELS.map((model) => model.modelId));
  return models.map((model) => {
    const prefix = PROFILE_GEOGRAPHIES.find((geography) =>
      model.modelId.startsWith(geography.prefix),
    )?.prefix;
    if (prefix === undefined || serves(prefix)) return model;
    if (seedIds.has(model.modelId) && seedPrefix !== undefined) {
      return { ...model, modelId: `${seedPrefix}${model.modelId.slice(prefix.length)}` };
    }
    throw new Error(
      `inference.bedrock.models: ${model.key} is called through ${model.modelId}, a profile that ${region} cannot call: ` +
        `list inference.bedrock.models in the stage with a profile of ${region}'s geography (or a model id that ${region} serves), or none ([])`,
    );
  });
}

/**
 * Lambda allows 4 KB of environment per function; the model list is most of it, and the table and
 * bucket names and the common variables take the rest.
 */
const MAX_MODELS_ENVIRONMENT_BYTES = 3000;

/**
 * The Bedrock resources the stage's models are called on: each inference profile, in this region
 * and account, with the foundation models it routes to (in any region); a model called by its own
 * id, in this region only.
 */
function bedrockResourcesOf(
  stack: Stack,
  models: readonly BedrockModel[],
): { all: string[]; foundationModelArns: string[] } {
  const profileArns = new Set<string>();
  const foundationModelArns = new Set<string>();
  const directModelArns = new Set<string>();
  for (const model of models) {
    if (model.foundationModels.includes(model.modelId)) {
      // Called by its own id: the model in this region, no profile.
      directModelArns.add(
        stack.formatArn({
          service: 'bedrock',
          account: '',
          resource: 'foundation-model',
          resourceName: model.modelId,
        }),
      );
      continue;
    }
    profileArns.add(
      stack.formatArn({ service: 'bedrock', resource: 'inference-profile', resourceName: model.modelId }),
    );
    for (const foundationModel of model.foundationModels) {
      foundationModelArns.add(
        stack.formatArn({
          service: 'bedrock',
          region: '*',
          account: '',
          resource: 'foundation-model',
          resourceName: foundationModel,
        }),
      );
    }
  }
  return {
    all: [...profileArns, ...foundationModelArns, ...directModelArns],
    foundationModelArns: [...foundationModelArns],
  };
}

export interface InferenceFamilyProps extends SharedInfrastructure {
  /** Endpoint names other families deploy, which the VLM endpoint's must differ from. */
  readonly takenEndpointNames: readonly string[];
  /** Generation's FailJob: the inference machine records with it what RunInference could not. */
  readonly failJob: SynthForgeFunction;
  /** The platform: its jobs function links a completed inference job's answer. */
  readonly platform: PlatformFamily;
}

export class InferenceFamily extends Construct implements FamilyConstruct<typeof inferenceFamily> {
  readonly manifest = inferenceFamily;
  /** The EMD models' endpoint; undefined when the stage does not enable it. */
  readonly vlm: VlmEndpoint | undefined;
  readonly routeHandlers: {
    readonly inference: SynthForgeFunction;
    readonly inferenceStream: SynthForgeFunction;
  };
  readonly stateMachines: { readonly inference: LambdaStateMachine };
  readonly cancellable: readonly CancellableExecutions[];
  /** The inference machine's step: an `"async": true` request's call, and its answer in S3. */
  readonly runInference: SynthForgeFunction;
  /** `arn:...:bedrock:*::foundation-model/<id>`: each configured profile's models, in any region. */
  readonly #foundationModelArns: readonly string[];
  /** `<tenant>/uploads/*` in the outputs bucket: the frames uploaded with a presigned PUT. */
  readonly #uploadObjectsArn: string;
  /** Whom the family granted objects of asynchronous jobs, and which: for the nag acknowledgements. */
  readonly #jobObjectGrants: { fn: SynthForgeFunction; objectsArn: string }[] = [];
  /** The Bedrock models and inference profiles the stage calls (InvokeModel's resources). */
  readonly #bedrockResources: readonly string[];

  constructor(scope: Construct, id: string, props: InferenceFamilyProps) {
    super(scope, id);
    const { config, data, events, defaults } = props;
    const { inference } = config;

    this.vlm = inference.emd.enabled
      ? new VlmEndpoint(this, 'VlmEndpoint', {
          stage: config.stage,
          config: inference.emd,
          logRetention: props.logRetention,
          removalPolicy: props.removalPolicy,
          ...(props.modelsStack ? { endpointScope: props.modelsStack } : {}),
        })
      : undefined;
    if (this.vlm && props.takenEndpointNames.includes(this.vlm.endpointName)) {
      throw new Error(
        `the inference endpoint ${this.vlm.endpointName} has the name of an image model's endpoint: rename that model`,
      );
    }
    const bedrockModels = bedrockModelsIn(Stack.of(this).region, inference.bedrock.models);
    const models = JSON.stringify(runtimeModelsOf(inference, bedrockModels, this.vlm));
    if (Buffer.byteLength(models) > MAX_MODELS_ENVIRONMENT_BYTES) {
      throw new Error(
        `inference: the model list takes ${Buffer.byteLength(models)} bytes of the functions' environment, more than the ${MAX_MODELS_ENVIRONMENT_BYTES} Lambda leaves it: configure fewer models or shorter names`,
      );
    }

    const environment = {
      INFERENCE_MODELS: models,
      INFERENCE_DEADLINE_MS: String(inference.deadlineMs),
      STATE_TABLE: data.stateTable.tableName,
      OUTPUTS_BUCKET: data.outputsBucket.bucketName,
    };
    const inferenceFn = new SynthForgeFunction(this, 'Inference', {
      ...API_FUNCTION,
      defaults,
      entry: 'lambdas/handlers/api/inference.ts',
      description: 'API: inference gateway (seed 003): Bedrock and EMD models, fan-out, status, uploads',
      // `"async": true` stores a job, publishes its events when it cannot start, and starts it.
      environment: {
        ...environment,
        // Presigned upload URLs.
        RESULT_URL_TTL_SECONDS: String(config.resultUrlTtlSeconds),
        EVENT_BUS_NAME: events.bus.eventBusName,
        IDEMPOTENCY_TTL_SECONDS: String(config.idempotencyTtlSeconds),
      },
    });
    const stream = new SynthForgeFunction(this, 'InferenceStream', {
      memorySize: API_FUNCTION.memorySize,
      timeout: STREAM_TIMEOUT,
      defaults,
      entry: 'lambdas/handlers/api/inference-stream.ts',
      description: "API: a model's answer streamed as Server-Sent Events (seed 003)",
      environment,
    });
    this.runInference = new SynthForgeFunction(this, 'RunInference', {
      // A call of minutes with frames of megabytes in memory, as the API function's.
      memorySize: API_FUNCTION.memorySize,
      timeout: RUN_INFERENCE_TIMEOUT,
      defaults,
      entry: 'lambdas/handlers/workflow/run-inference.ts',
      description:
        'Inference workflow: an "async": true request\'s model call, its answer stored in S3 (seed 003)',
      environment: {
        INFERENCE_MODELS: models,
        INFERENCE_ASYNC_DEADLINE_MS: String(inference.asyncDeadlineMs),
        STATE_TABLE: data.stateTable.tableName,
        OUTPUTS_BUCKET: data.outputsBucket.bucketName,
        EVENT_BUS_NAME: events.bus.eventBusName,
      },
    });

    const bedrock = bedrockResourcesOf(Stack.of(this), bedrockModels);
    this.#foundationModelArns = bedrock.foundationModelArns;
    this.#bedrockResources = bedrock.all;
    this.#uploadObjectsArn = data.outputsBucket.arnForObjects('*/uploads/*');
    // `<tenant>/inference/<job>/...`: an asynchronous job's request (what the API stores) and answer
    // (what the jobs function links).
    const jobObjectsArn = data.outputsBucket.arnForObjects('*/inference/*');
    const requestObjectsArn = data.outputsBucket.arnForObjects('*/inference/*/request.json');
    const resultObjectsArn = data.outputsBucket.arnForObjects('*/inference/*/result.json');

    // Usage items: each call adds to its tenant's, model's and day's counters, which are read back;
    // an async request's job is stored (its first log line with it) and failed if it cannot start.
    // And the idempotency records of the model routes (an `Idempotency-Key` on a retried request).
    data.allowStateTable(inferenceFn, JOB_SUBMISSION_ACTIONS);
    // A stream is counted in the usage items only: it reads none back.
    data.allowStateTable(stream, ['dynamodb:UpdateItem']);
    // The job is read, moved and logged; its call is counted in the usage items.
    data.allowStateTable(this.runInference, [
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
      'dynamodb:BatchWriteItem',
    ]);
    for (const fn of [inferenceFn, this.runInference]) events.allowPublish(fn);
    // The API function presigns uploads and reads the frames back; the stream and the job only read
    // the `s3://` frames of their request (a job's were uploaded before it was submitted).
    inferenceFn.allow({
      sid: 'TenantUploads',
      actions: ['s3:GetObject', 's3:PutObject'],
      resources: [this.#uploadObjectsArn],
    });
    for (const fn of [stream, this.runInference]) {
      fn.allow({ sid: 'TenantUploads', actions: ['s3:GetObject'], resources: [this.#uploadObjectsArn] });
    }
    for (const fn of [inferenceFn, stream, this.runInference]) this.#allowModels(fn);
    this.#allowJobObjects(inferenceFn, ['s3:PutObject'], requestObjectsArn);
    this.#allowJobObjects(this.runInference, ['s3:GetObject', 's3:PutObject'], jobObjectsArn);
    // `GET /jobs/{id}` links a completed job's answer: the jobs function signs the link.
    const { jobs } = props.platform.routeHandlers;
    jobs.addEnvironment('OUTPUTS_BUCKET', data.outputsBucket.bucketName);
    jobs.addEnvironment('RESULT_URL_TTL_SECONDS', String(config.resultUrlTtlSeconds));
    this.#allowJobObjects(jobs, ['s3:GetObject'], resultObjectsArn);

    const machine = lambdaStateMachine(this, {
      machine: 'inference',
      taskOf: { RunInferenceFunctionArn: this.runInference, FailJobFunctionArn: props.failJob },
      stage: defaults.stage,
      logSuffix: 'inference',
      description: 'inference workflow: one "async": true model call (seed 003)',
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      ids: { output: 'InferenceStateMachineArn' },
    });
    inferenceFn.addEnvironment('INFERENCE_STATE_MACHINE_ARN', machine.stateMachine.stateMachineArn);
    inferenceFn.allow({
      sid: 'StartInferenceExecutions',
      actions: ['states:StartExecution'],
      resources: [machine.stateMachine.stateMachineArn],
    });

    this.routeHandlers = { inference: inferenceFn, inferenceStream: stream };
    this.stateMachines = { inference: machine };
    this.cancellable = [
      { executionArns: machine.executionArns, reason: NAG_REASONS.stopInferenceExecutions },
    ];

    if (this.vlm) {
      // The output belongs to the stack that creates the endpoint.
      new CfnOutput(Stack.of(this.vlm.endpoint), 'VlmEndpointName', {
        value: this.vlm.endpointName,
        description: "SageMaker real-time endpoint of the EMD models' inference components (scales to zero)",
      });
    }
  }

  /** What calling the stage's models takes, the same for every function that calls them. */
  #allowModels(fn: SynthForgeFunction): void {
    // Converse needs InvokeModel, ConverseStream InvokeModelWithResponseStream: the same models,
    // answered whole or in pieces.
    if (this.#bedrockResources.length > 0) {
      fn.allow({
        sid: 'InvokeBedrockModels',
        actions: ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'],
        resources: [...this.#bedrockResources],
      });
    }
    this.vlm?.allowInvokeAndDescribe(fn);
  }

  /** Objects of asynchronous jobs (`objectsArn`, a key pattern under `*\/inference/`), to `fn`. */
  #allowJobObjects(fn: SynthForgeFunction, actions: string[], objectsArn: string): void {
    fn.allow({ sid: 'InferenceJobObjects', actions, resources: [objectsArn] });
    this.#jobObjectGrants.push({ fn, objectsArn });
  }

  nagAcknowledgements(): NagAcknowledgement[] {
    const stack = Stack.of(this);
    const list: NagAcknowledgement[] = [];
    for (const fn of [...Object.values(this.routeHandlers), this.runInference]) {
      const scope = accessPolicyOf(fn);
      list.push({ scope, id: iam5Resource(stack, this.#uploadObjectsArn), reason: NAG_REASONS.uploads });
      for (const arn of this.#foundationModelArns) {
        list.push({ scope, id: iam5Resource(stack, arn), reason: NAG_REASONS.foundationModels });
      }
    }
    for (const { fn, objectsArn } of this.#jobObjectGrants) {
      list.push({
        scope: accessPolicyOf(fn),
        id: iam5Resource(stack, objectsArn),
        reason: NAG_REASONS.asyncInference,
      });
    }
    if (this.vlm) {
      list.push({
        scope: this.vlm.accessPolicy,
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: NAG_REASONS.vlmRegistryAndMetrics,
      });
    }
    return list;
  }
}

export const inference: FamilyRegistration = {
  manifest: inferenceFamily,
  id: 'Inference',
  build: (scope, id, context) =>
    new InferenceFamily(scope, id, {
      ...context,
      takenEndpointNames: context.families
        .require(ImagesFamily, 'inference')
        .endpoints.endpoints.map((endpoint) => endpoint.endpointName),
      failJob: context.families.require(GenerationFamily, 'inference').workflow.tasks.failJob,
      platform: context.families.require(PlatformFamily, 'inference'),
    }),
};
