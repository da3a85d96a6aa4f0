/**
 * The catalogue of models served on SageMaker asynchronous endpoints (GPU generators): written once
 * here, read by the stage configuration (which endpoints the stack deploys, on what, scaled how) and
 * by the runtime (which `model_id`s the API accepts, how long a cold start takes, what an image
 * costs). Not part of the API documents: the API shows these as generators.
 */
import * as z from 'zod';

/**
 * A generator name as the API shows it: `stable-diffusion-v1-5`. Also part of the endpoint name, so it
 * ends with a letter or digit (SageMaker endpoint names cannot end with a dash).
 */
export const ENDPOINT_MODEL_NAME = /^[a-z][a-z0-9-]{0,38}[a-z0-9]$/;
/** A Hugging Face model id: `owner/name`. */
export const HUB_MODEL_ID = /^[A-Za-z0-9][\w.-]{0,95}\/[\w.-]{1,96}$/;
/** A SageMaker instance type: `ml.g5.xlarge`. */
export const INSTANCE_TYPE = /^ml\.[a-z0-9-]+\.[a-z0-9]+$/;
/**
 * A container image in Amazon ECR, the only registry SageMaker hosting pulls from here:
 * `<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>` with a `:tag` or an `@sha256:` digest.
 * Groups: 1 account, 2 region, 3 repository.
 */
export const ECR_IMAGE_URI =
  /^(\d{12})\.dkr\.ecr\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com(?:\.cn)?\/((?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)(?::[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})$/;

/**
 * Which server answers the endpoint's `/invocations`: the Hugging Face inference container running a
 * diffusers pipeline, or SynthForge's own `shapes` container (containers/shapes-endpoint), which
 * speaks the same request and response format on CPU.
 */
export const ENDPOINT_CONTAINERS = ['huggingface', 'shapes'] as const;
export type EndpointContainer = (typeof ENDPOINT_CONTAINERS)[number];

export const EndpointModelSchema = z
  .object({
    /** The generator name in the API (`GET /api/v1/generators/{name}`) and in the endpoint's name. */
    name: z.string().regex(ENDPOINT_MODEL_NAME, 'lower-case letters, digits and dashes, 2–40 characters'),
    /** The `model_id` requests name (seed 001: a Hugging Face id such as `runwayml/stable-diffusion-v1-5`). */
    modelId: z.string().regex(HUB_MODEL_ID, 'a Hugging Face model id, owner/name'),
    /**
     * The Hub repository the container downloads (`HF_MODEL_ID`), when it differs from `modelId`:
     * `runwayml/stable-diffusion-v1-5` was removed from the Hub in 2024 and lives on as
     * `stable-diffusion-v1-5/stable-diffusion-v1-5`.
     */
    hubModelId: z.string().regex(HUB_MODEL_ID).optional(),
    description: z.string().min(1).max(500).optional(),
    container: z.enum(ENDPOINT_CONTAINERS).default('huggingface'),
    /**
     * The container image, in ECR. Default for `huggingface`: the Hugging Face PyTorch inference GPU
     * image of the stack's region. Required for `shapes`: the image built from
     * containers/shapes-endpoint and pushed to one of your repositories.
     */
    image: z
      .string()
      .regex(ECR_IMAGE_URI, 'an ECR image URI: <account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>')
      .optional(),
    instanceType: z
      .string()
      .regex(INSTANCE_TYPE, 'a SageMaker instance type such as ml.g5.xlarge')
      .default('ml.g5.xlarge'),
    /** Requests one instance works on at once (`MaxConcurrentInvocationsPerInstance`). */
    maxConcurrencyPerInstance: z.number().int().min(1).max(1000).default(1),
    /** The most instances scaling may add. The least is always 0: an idle model costs nothing. */
    maxInstances: z.number().int().min(1).max(20).default(1),
    /** Target tracking keeps `ApproximateBacklogSizePerInstance` near this. */
    targetBacklogPerInstance: z.number().min(0.1).max(1000).default(2),
    scaleInCooldownSeconds: z.number().int().min(0).max(3600).default(600),
    scaleOutCooldownSeconds: z.number().int().min(0).max(3600).default(60),
    /**
     * From zero instances to serving: the `warming` estimate a job shows until observed cold starts
     * refine it. GPU instances with a diffusers model take several minutes.
     */
    coldStartSeconds: z.number().int().min(1).max(3600).default(480),
    /** Instance seconds one 512×512 image at 50 steps takes: the basis of cost and time estimates. */
    secondsPerImage: z.number().positive().max(3600).default(4),
    /** The most one invocation may run (`InvocationTimeoutSeconds`, at most an hour). */
    invocationTimeoutSeconds: z.number().int().min(1).max(3600).default(600),
    /** Default of `num_inference_steps` for this model. */
    defaultSteps: z.number().int().min(1).max(150).default(50),
  })
  .strict()
  .superRefine((model, ctx) => {
    if (model.container === 'shapes' && model.image === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['image'],
        message:
          'the shapes container has no public image: build containers/shapes-endpoint, push it to ECR and name it here',
      });
    }
  });
export type EndpointModel = z.output<typeof EndpointModelSchema>;
export type EndpointModelInput = z.input<typeof EndpointModelSchema>;

/**
 * On-demand USD per instance hour of SageMaker real-time/async hosting (us-east-1, published list
 * prices when this was written: verify against the pricing page for your region before relying on
 * an estimate). A stage adds or overrides types with `imageGeneration.instancePricesUsdPerHour`.
 */
export const DEFAULT_INSTANCE_PRICES_USD_PER_HOUR: Readonly<Record<string, number>> = {
  'ml.g4dn.xlarge': 0.736,
  'ml.g4dn.2xlarge': 1.052,
  'ml.g5.xlarge': 1.408,
  'ml.g5.2xlarge': 1.515,
  'ml.g6.xlarge': 1.167,
  'ml.g6e.xlarge': 2.336,
  'ml.p4d.24xlarge': 37.688,
  'ml.m5.large': 0.115,
  'ml.m5.xlarge': 0.23,
  'ml.c5.xlarge': 0.204,
};

/** Stable Diffusion 1.5 on one g5: what a stage deploys when it names no models. */
export const DEFAULT_ENDPOINT_MODELS: readonly EndpointModelInput[] = [
  {
    name: 'stable-diffusion-v1-5',
    modelId: 'runwayml/stable-diffusion-v1-5',
    hubModelId: 'stable-diffusion-v1-5/stable-diffusion-v1-5',
    description: 'Stable Diffusion 1.5 text-to-image (diffusers) on a GPU endpoint that scales to zero.',
  },
];

export const ImageGenerationConfigSchema = z
  .object({
    /** The models the stage deploys, each on its own asynchronous endpoint. */
    models: z
      .array(EndpointModelSchema)
      .max(10)
      .prefault(DEFAULT_ENDPOINT_MODELS.map((model) => ({ ...model }))),
    /** The `model_id` of requests that name none; default: the first model's. */
    defaultModelId: z.string().regex(HUB_MODEL_ID).optional(),
    /**
     * How long `POST /generate` waits for the image before answering 202 with the job instead. Below
     * API Gateway's 29 s, with room for the answer.
     */
    syncWaitSeconds: z.number().int().min(0).max(25).default(20),
    /** Instance prices added to (or overriding) DEFAULT_INSTANCE_PRICES_USD_PER_HOUR. */
    instancePricesUsdPerHour: z.record(z.string().regex(INSTANCE_TYPE), z.number().positive()).default({}),
    /** Private subnets and security groups for the endpoints; without them they use SageMaker's network. */
    vpc: z
      .object({
        subnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]+$/)).min(1),
        securityGroupIds: z.array(z.string().regex(/^sg-[0-9a-f]+$/)).min(1),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((config, ctx) => {
    const prices = { ...DEFAULT_INSTANCE_PRICES_USD_PER_HOUR, ...config.instancePricesUsdPerHour };
    const names = new Set<string>();
    const ids = new Set<string>();
    config.models.forEach((model, index) => {
      if (names.has(model.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['models', index, 'name'],
          message: `${model.name} appears twice`,
        });
      }
      if (ids.has(model.modelId)) {
        ctx.addIssue({
          code: 'custom',
          path: ['models', index, 'modelId'],
          message: `${model.modelId} appears twice`,
        });
      }
      names.add(model.name);
      ids.add(model.modelId);
      if (prices[model.instanceType] === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['models', index, 'instanceType'],
          message: `no price for ${model.instanceType}: add it to instancePricesUsdPerHour`,
        });
      }
    });
    if (config.defaultModelId !== undefined && !ids.has(config.defaultModelId)) {
      ctx.addIssue({
        code: 'custom',
        path: ['defaultModelId'],
        message: 'must be the modelId of one of the models',
      });
    }
  });
export type ImageGenerationConfig = z.output<typeof ImageGenerationConfigSchema>;

/** USD per instance hour of a type, the stage's own prices first. */
export function instancePriceUsdPerHour(config: ImageGenerationConfig, instanceType: string): number {
  const price =
    config.instancePricesUsdPerHour[instanceType] ?? DEFAULT_INSTANCE_PRICES_USD_PER_HOUR[instanceType];
  if (price === undefined) throw new Error(`no price for ${instanceType}`);
  return price;
}

/**
 * The SageMaker endpoint name of a model in a stage: at most 63 characters, never ending with a dash
 * (SageMaker's pattern). Long stage and model names are cut, so two models of a stage could share a
 * name: the endpoints construct refuses that.
 */
export function endpointNameOf(stage: string, model: Pick<EndpointModel, 'name'>): string {
  return `synthforge-${stage}-${model.name}`.slice(0, 63).replace(/-+$/, '');
}

/**
 * What the runtime knows of each deployed model, passed to the Lambdas as JSON (`IMAGE_MODELS`) and
 * built by the local platform for its own endpoints: the catalogue entry plus where it is deployed
 * and what an instance hour costs.
 */
export const DeployedModelSchema = z.object({
  name: z.string(),
  modelId: z.string(),
  description: z.string(),
  endpointName: z.string(),
  instanceType: z.string(),
  usdPerHour: z.number(),
  coldStartSeconds: z.number(),
  secondsPerImage: z.number(),
  invocationTimeoutSeconds: z.number(),
  defaultSteps: z.number(),
  /** False when the model is listed but cannot serve here (locally, a GPU model without AWS). */
  available: z.boolean(),
  /** Why it cannot serve, when `available` is false. */
  unavailableReason: z.string().optional(),
});
export type DeployedModel = z.output<typeof DeployedModelSchema>;

/** The runtime view of a stage's catalogue. */
export function deployedModels(stage: string, config: ImageGenerationConfig): DeployedModel[] {
  return config.models.map((model) => ({
    name: model.name,
    modelId: model.modelId,
    description: model.description ?? `${model.modelId} text-to-image on ${model.instanceType}`,
    endpointName: endpointNameOf(stage, model),
    instanceType: model.instanceType,
    usdPerHour: instancePriceUsdPerHour(config, model.instanceType),
    coldStartSeconds: model.coldStartSeconds,
    secondsPerImage: model.secondsPerImage,
    invocationTimeoutSeconds: model.invocationTimeoutSeconds,
    defaultSteps: model.defaultSteps,
    available: true,
  }));
}
