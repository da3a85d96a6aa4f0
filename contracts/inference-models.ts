/**
 * The inference gateway's models (seed 003): Claude 4 and Nova on Bedrock, and the EMD models, vision
 * language models each served by an inference component of one SageMaker real-time endpoint. Written
 * once here: the stage configuration (lib/config.ts) picks and sizes the deployed ones from these
 * schemas, and the runtime reads the same list back from the function's environment
 * (`INFERENCE_MODELS`).
 */
import { HUB_MODEL_ID, INSTANCE_TYPE } from './models.ts';
import * as z from './zod.ts';

/** A model key in a route (`/api/emd/{model_key}`): lower case, digits, dots and dashes. */
export const MODEL_KEY_PATTERN = /^[a-z0-9][a-z0-9.-]{0,62}$/;

export { LOCAL_VISION_MODEL } from './inference-vocabulary.ts';

const ModelKeyField = z.string().regex(MODEL_KEY_PATTERN, 'lower-case letters, digits, dots and dashes');

/** USD per million tokens; the gateway estimates each call's cost with it (`GET /api/v1/usage`). */
export const TokenPrices = z
  .object({ inputPerMillionUsd: z.number().nonnegative(), outputPerMillionUsd: z.number().nonnegative() })
  .strict();
export type TokenPrices = z.infer<typeof TokenPrices>;

const Media = z.array(z.enum(['image', 'video'])).min(1);

/** A Bedrock model the stage enables, under the key of its route (`claude4`, `nova`). */
export const BedrockModelSchema = z
  .object({
    key: ModelKeyField,
    name: z.string().min(1).max(100),
    /**
     * What Converse is called with: an inference profile (`us.anthropic.claude-sonnet-4-…`; Claude 4
     * answers only through one) or a foundation model id.
     */
    modelId: z.string().regex(/^[a-z0-9.:-]+$/, 'a Bedrock model or inference profile id'),
    /** The foundation models the profile routes to: the only ones IAM lets the gateway invoke. */
    foundationModels: z.array(z.string().regex(/^[a-z0-9.:-]+$/)).min(1),
    media: Media,
    prices: TokenPrices,
  })
  .strict();
export type BedrockModel = z.infer<typeof BedrockModelSchema>;

/** An EMD model: a Hub model served by vLLM (the LMI container) as one inference component. */
export const EmdModelSchema = z
  .object({
    key: ModelKeyField,
    name: z.string().min(1).max(100),
    hubModelId: z.string().regex(HUB_MODEL_ID, 'a Hugging Face model id, owner/name'),
    /** GPUs per copy (`NumberOfAcceleratorDevicesRequired`; also vLLM's tensor parallel degree). */
    gpus: z.number().int().min(1).max(8),
    /** Host memory per copy (`MinMemoryRequiredInMb`, which SageMaker requires). */
    minMemoryMb: z.number().int().min(128),
    maxModelLen: z.number().int().min(512),
    imagesPerPrompt: z.number().int().min(1).max(20),
    media: Media,
    /** The model is gated on the Hub: the secret holding the token (`HF_TOKEN`). */
    hubTokenSecretName: z.string().min(1).optional(),
    prices: TokenPrices,
  })
  .strict();
export type EmdModel = z.infer<typeof EmdModelSchema>;

/**
 * Seed 003's Bedrock models (the perf-evaluation-platform's registry): both through US cross-region
 * inference profiles. Prices are on-demand list prices per million tokens.
 */
export const SEED_BEDROCK_MODELS: readonly BedrockModel[] = [
  {
    key: 'claude4',
    name: 'Claude Sonnet 4',
    modelId: 'us.anthropic.claude-sonnet-4-20250514-v1:0',
    foundationModels: ['anthropic.claude-sonnet-4-20250514-v1:0'],
    media: ['image'],
    prices: { inputPerMillionUsd: 3, outputPerMillionUsd: 15 },
  },
  {
    key: 'nova',
    name: 'Amazon Nova Pro',
    modelId: 'us.amazon.nova-pro-v1:0',
    foundationModels: ['amazon.nova-pro-v1:0'],
    media: ['image', 'video'],
    prices: { inputPerMillionUsd: 0.8, outputPerMillionUsd: 3.2 },
  },
];

/**
 * Seed 003's EMD model keys, sized as Easy Model Deployer sizes them (context lengths, images per
 * prompt, GPUs: the 32B model needs four A10Gs). Their price is the instance's, not per token: the
 * token prices are zero and the endpoint's cost shows in the bill (and is nothing while scaled to 0).
 */
export const SEED_EMD_MODELS: readonly EmdModel[] = [
  {
    key: 'qwen2-vl-7b',
    name: 'Qwen2-VL 7B Instruct',
    hubModelId: 'Qwen/Qwen2-VL-7B-Instruct',
    gpus: 1,
    minMemoryMb: 24_576,
    maxModelLen: 16_000,
    imagesPerPrompt: 2,
    media: ['image', 'video'],
    prices: { inputPerMillionUsd: 0, outputPerMillionUsd: 0 },
  },
  {
    key: 'qwen2.5-vl-32b',
    name: 'Qwen2.5-VL 32B Instruct',
    hubModelId: 'Qwen/Qwen2.5-VL-32B-Instruct',
    gpus: 4,
    minMemoryMb: 98_304,
    maxModelLen: 25_000,
    imagesPerPrompt: 20,
    media: ['image', 'video'],
    prices: { inputPerMillionUsd: 0, outputPerMillionUsd: 0 },
  },
  {
    key: 'gemma-3-4b',
    name: 'Gemma 3 4B IT',
    hubModelId: 'google/gemma-3-4b-it',
    gpus: 1,
    minMemoryMb: 16_384,
    maxModelLen: 20_000,
    imagesPerPrompt: 4,
    media: ['image'],
    hubTokenSecretName: 'synthforge/hf-token',
    prices: { inputPerMillionUsd: 0, outputPerMillionUsd: 0 },
  },
  {
    key: 'ui-tars-1.5-7b',
    name: 'UI-TARS 1.5 7B',
    hubModelId: 'ByteDance-Seed/UI-TARS-1.5-7B',
    gpus: 1,
    minMemoryMb: 24_576,
    maxModelLen: 16_000,
    imagesPerPrompt: 1,
    media: ['image'],
    prices: { inputPerMillionUsd: 0, outputPerMillionUsd: 0 },
  },
];

/**
 * The instance type the EMD models' endpoint runs on unless the stage chooses another (lib/config.ts):
 * one ml.g5.12xlarge holds seed 003's one-GPU models together (3 of its 4 A10Gs).
 */
export const DEFAULT_EMD_INSTANCE_TYPE = 'ml.g5.12xlarge';

/**
 * An inference component's name for a model key: SageMaker names allow no dots
 * (`qwen2.5-vl-32b` → `synthforge-qwen2-5-vl-32b`).
 */
export const componentNameOf = (prefix: string, key: string): string =>
  `${prefix}-${key.replaceAll('.', '-')}`;

/**
 * A model as the gateway's runtime sees it (the `INFERENCE_MODELS` environment variable): where it
 * is served, or why it is not. Every model of the catalogue is listed, deployed or not, so that the
 * routes can tell "not deployed in this stage" from "no such model".
 */
export const RuntimeModelSchema = z.discriminatedUnion('provider', [
  z
    .object({
      provider: z.literal('bedrock'),
      key: ModelKeyField,
      name: z.string(),
      modelId: z.string(),
      media: Media,
      prices: TokenPrices,
      /** Why it cannot answer here (the local platform without AWS credentials), if it cannot. */
      unavailable: z.string().optional(),
      /** The local platform serves it from the local model (`--emulate-bedrock`). */
      emulated: z.boolean().default(false),
    })
    .strict(),
  z
    .object({
      provider: z.literal('sagemaker'),
      key: ModelKeyField,
      name: z.string(),
      modelId: z.string(),
      media: Media,
      imagesPerPrompt: z.number().int().min(1),
      prices: TokenPrices,
      /** Absent: the model is in the catalogue but this stage does not deploy it. */
      deployment: z
        .object({
          endpointName: z.string(),
          componentName: z.string(),
          instanceType: z.string().regex(INSTANCE_TYPE),
          /** From the wake-up alarm to a copy answering: what `estimated_ready_at` adds. */
          wakeSeconds: z.number().int().positive(),
        })
        .strict()
        .optional(),
      /** The local platform serves it from the local model. */
      emulated: z.boolean().default(false),
    })
    .strict(),
]);
export type RuntimeModel = z.output<typeof RuntimeModelSchema>;
export const RuntimeModelList = z.array(RuntimeModelSchema);

type RuntimeModelInput = z.input<typeof RuntimeModelSchema>;
type RuntimeBedrockModel = Extract<RuntimeModelInput, { provider: 'bedrock' }>;
type RuntimeEmdModel = Extract<RuntimeModelInput, { provider: 'sagemaker' }>;
/** Where a deployed EMD model is served: its endpoint, component, instance and wake time. */
export type EmdDeployment = NonNullable<RuntimeEmdModel['deployment']>;

/**
 * A Bedrock model as `INFERENCE_MODELS` lists it (the stack's and the local platform's list alike);
 * `extra`: what only the local platform says of it (emulated, or unavailable and why).
 */
export function runtimeBedrockModel<E extends Pick<RuntimeBedrockModel, 'emulated' | 'unavailable'>>(
  model: BedrockModel,
  extra: E = {} as E,
): RuntimeBedrockModel & E {
  return {
    provider: 'bedrock',
    key: model.key,
    name: model.name,
    modelId: model.modelId,
    media: [...model.media],
    prices: model.prices,
    ...extra,
  };
}

/** An EMD model as `INFERENCE_MODELS` lists it: where it is deployed, or no `deployment` if it is not. */
export function runtimeEmdModel(model: EmdModel, deployment?: EmdDeployment): RuntimeEmdModel {
  return {
    provider: 'sagemaker',
    key: model.key,
    name: model.name,
    modelId: model.hubModelId,
    media: [...model.media],
    imagesPerPrompt: model.imagesPerPrompt,
    prices: model.prices,
    ...(deployment ? { deployment } : {}),
  };
}
