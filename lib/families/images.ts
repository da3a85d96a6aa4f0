/**
 * Seed 001's family (contracts/families/images.ts): GPU models on asynchronous endpoints that scale
 * to zero (lib/constructs/model-endpoints.ts), the image workflow whose InvokeModel step waits on a
 * task token the endpoints' notifications send back (lib/constructs/image-workflow.ts), and the
 * function behind `POST /generate`. The WebSocket API that also starts image jobs is composed by the
 * stack, after the REST API it depends on (lib/constructs/websocket-api.ts).
 */
import { CfnOutput, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { imagesFamily } from '../../contracts/families/images.ts';
import { ImageWorkflow } from '../constructs/image-workflow.ts';
import type { LambdaStateMachine } from '../constructs/lambda-state-machine.ts';
import { ModelEndpoints } from '../constructs/model-endpoints.ts';
import { SynthForgeFunction } from '../constructs/synthforge-function.ts';
import type { BatchTasks } from '../constructs/workflows.ts';
import { iam5Resource, type NagAcknowledgement, SHARED_NAG_REASONS } from '../nag.ts';
import {
  API_FUNCTION,
  type CancellableExecutions,
  type FamilyConstruct,
  type FamilyRegistration,
  keepLogicalId,
  type SharedInfrastructure,
} from './family.ts';
import { GenerationFamily } from './generation.ts';

const NAG_REASONS = {
  endpointRequests:
    'A model endpoint reads the request of whichever job invokes it, at <tenant>/jobs/<jobId>/request.json with both chosen at run time; the statement allows only GetObject, only on keys of that shape, in the one outputs bucket.',
  endpointResponses:
    "SageMaker names each asynchronous response and failure object itself (a generated inference id) under the endpoint's own staging prefixes _endpoints/<endpoint>/output/ and _endpoints/<endpoint>/failures/; the statement allows only PutObject there.",
  endpointRegistryAuth:
    'ecr:GetAuthorizationToken (and, for endpoints in a VPC, the EC2 Describe actions SageMaker uses to place network interfaces) support no resource-level permissions, so AWS requires Resource "*"; the image itself is pulled from its one repository only.',
  endpointNetworkInterfaces:
    "SageMaker creates and deletes the endpoint instances' network interfaces in the stage's subnets; their ids exist only at run time, so the resource is every network interface of this account and region.",
  endpointStagingObjects:
    'The endpoint callback reads (and deletes, once moved) the responses and failures SageMaker writes under generated names in the staging prefix _endpoints/; the statement is limited to that prefix of the one outputs bucket.',
} as const;

export interface ImagesFamilyProps extends SharedInfrastructure {
  /** The batch steps the image machine shares with the generation machine. */
  readonly batchSteps: Pick<BatchTasks, 'startBatch' | 'failJob' | 'finishBatch'>;
  /**
   * Functions of other families that start image batches too (generation's batches routes: a batch
   * whose generators are models runs on the image machine). Each already submits jobs of its own;
   * it gets this machine, the default model and the catalogue, and may start this machine.
   */
  readonly imageBatchStarters: readonly SynthForgeFunction[];
  /** Functions of other families that list the stage's models (the generator catalogue). */
  readonly catalogueReaders: readonly SynthForgeFunction[];
}

export class ImagesFamily extends Construct implements FamilyConstruct<typeof imagesFamily> {
  readonly manifest = imagesFamily;
  /** GPU models on asynchronous endpoints, and their notification topics. */
  readonly endpoints: ModelEndpoints;
  /** The image machine, InvokeModel and the endpoints' notifications. */
  readonly workflow: ImageWorkflow;
  readonly routeHandlers: { readonly images: SynthForgeFunction };
  readonly stateMachines: { readonly imageGeneration: LambdaStateMachine };
  readonly cancellable: readonly CancellableExecutions[];

  constructor(scope: Construct, id: string, props: ImagesFamilyProps) {
    super(scope, id);
    const { config, data, events, defaults } = props;
    const stack = Stack.of(this);
    const { imageGeneration } = config;

    // At the stack's root, where the endpoints were before lib/families/: their key, topics and named
    // log groups keep their logical ids, and so do the roles and outputs the Models stack reads.
    this.endpoints = new ModelEndpoints(stack, 'ModelEndpoints', {
      stage: config.stage,
      config: imageGeneration,
      outputsBucket: data.outputsBucket,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      ...(props.modelsStack ? { endpointScope: props.modelsStack } : {}),
    });

    // 'Default' leaves no trace in logical ids: the workflow's resources keep the ids they had when it
    // was the stack's own `ImageWorkflow` construct (its execution log group is named, its machine runs).
    this.workflow = new ImageWorkflow(this, 'Default', {
      data,
      events,
      endpoints: this.endpoints,
      batchTasks: props.batchSteps,
      defaults,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });

    const images = new SynthForgeFunction(this, 'Images', {
      ...API_FUNCTION,
      defaults,
      entry: 'lambdas/handlers/api/images.ts',
      description: 'API: text-to-image generation (seed 001), one image or a batch',
      environment: {
        ...this.workflow.submitterEnvironment({
          batchMaxConcurrency: config.batchMaxConcurrency,
          resultUrlTtlSeconds: config.resultUrlTtlSeconds,
          defaultModelId: imageGeneration.defaultModelId,
        }),
        IDEMPOTENCY_TTL_SECONDS: String(config.idempotencyTtlSeconds),
        // How long `POST /generate` waits before answering 202.
        IMAGE_SYNC_WAIT_SECONDS: String(imageGeneration.syncWaitSeconds),
        // The privacy gate: a batch's images are linked once it passed a privacy validation.
        ...(config.datasets.requirePrivacyValidation ? { DATASETS_REQUIRE_PRIVACY_VALIDATION: 'true' } : {}),
      },
    });
    keepLogicalId(images.logGroup, 'ApiHandlersImagesLogsD11F4D9E');
    // Also DescribeEndpoint: the phase of a waiting job, and whether a model has an endpoint at all.
    this.workflow.allowSubmit(images);

    for (const fn of props.imageBatchStarters) {
      for (const [name, value] of Object.entries(
        this.workflow.starterEnvironment(imageGeneration.defaultModelId),
      ))
        fn.addEnvironment(name, value);
      this.workflow.allowStart(fn);
    }
    for (const fn of props.catalogueReaders) {
      // Reading the catalogue touches no AWS service.
      for (const [name, value] of Object.entries(this.workflow.modelsEnvironment))
        fn.addEnvironment(name, value);
    }

    this.routeHandlers = { images };
    this.stateMachines = { imageGeneration: this.workflow.machine };
    this.cancellable = [
      { executionArns: this.workflow.machine.executionArns, reason: SHARED_NAG_REASONS.stopBatchExecutions },
    ];

    new CfnOutput(stack, 'ModelSuccessTopicArn', {
      value: this.endpoints.successTopic.topicArn,
      description: 'Model endpoints publish each successful asynchronous inference here',
    });
    new CfnOutput(stack, 'ModelErrorTopicArn', {
      value: this.endpoints.errorTopic.topicArn,
      description: 'Model endpoints publish each failed asynchronous inference here',
    });
    // Each endpoint's output belongs to the stack that creates the endpoint.
    for (const { model, endpointName, endpoint } of this.endpoints.endpoints) {
      new CfnOutput(Stack.of(endpoint), `ModelEndpoint${pascalCase(model.name)}`, {
        value: endpointName,
        description: `SageMaker asynchronous endpoint of ${model.modelId} (scales to zero)`,
      });
    }
  }

  nagAcknowledgements(): NagAcknowledgement[] {
    const stack = Stack.of(this);
    const { endpoints } = this;
    // Its result-object grants are acknowledged with every other (Data.outputsGrantees).
    const list: NagAcknowledgement[] = [];
    for (const endpoint of endpoints.endpoints) {
      const scope = endpoint.accessPolicy;
      list.push(
        { scope, id: iam5Resource(stack, endpoints.requestObjectsArn), reason: NAG_REASONS.endpointRequests },
        { scope, id: iam5Resource(stack, endpoint.outputObjectsArn), reason: NAG_REASONS.endpointResponses },
        { scope, id: iam5Resource(stack, endpoint.failureObjectsArn), reason: NAG_REASONS.endpointResponses },
        { scope, id: 'AwsSolutions-IAM5[Resource::*]', reason: NAG_REASONS.endpointRegistryAuth },
      );
      if (endpoint.networkInterfacesArn !== undefined) {
        list.push({
          scope,
          id: iam5Resource(stack, endpoint.networkInterfacesArn),
          reason: NAG_REASONS.endpointNetworkInterfaces,
        });
      }
    }
    // Whoever was granted the staged objects (the callback), once per policy that holds the grant.
    for (const scope of new Set(endpoints.stagingGrants.map((grant) => grant.policy))) {
      list.push({
        scope,
        id: iam5Resource(stack, endpoints.stagingObjectsArn),
        reason: NAG_REASONS.endpointStagingObjects,
      });
    }
    return list;
  }
}

export const images: FamilyRegistration = {
  manifest: imagesFamily,
  // The construct the image workflow was created in before lib/families/.
  id: 'ImageWorkflow',
  build: (scope, id, context) => {
    const generation = context.families.require(GenerationFamily, 'images');
    return new ImagesFamily(scope, id, {
      ...context,
      batchSteps: generation.workflow.tasks,
      imageBatchStarters: [generation.routeHandlers.batches],
      catalogueReaders: [generation.routeHandlers.generators],
    });
  },
};

/** `stable-diffusion-v1-5` → `StableDiffusionV15` (an output id takes letters and digits only). */
function pascalCase(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}
