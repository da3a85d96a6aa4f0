/**
 * The text-to-image models this deployment serves (contracts/models.ts `DeployedModel`), as the API
 * sees them: which `model_id`s exist, which can serve now, and each one's generator description.
 */
import type { GeneratorInfo, ParameterSpec } from '../../../contracts/generators.ts';
import type { DeployedModel } from '../../../contracts/models.ts';
import { DomainError, invalidParameters, unavailable } from '../errors.ts';

/** Seed 001's parameters, in the generator format of seed 000 (what `GET /generators/{name}` shows). */
function parameterSpecs(model: DeployedModel): ParameterSpec[] {
  return [
    { name: 'prompt', type: 'str', default_value: '', description: 'What the image shows (required).' },
    { name: 'negative_prompt', type: 'str', default_value: '', description: 'What should not appear.' },
    {
      name: 'width',
      type: 'int',
      default_value: 512,
      options: { min: 64, max: 1024 },
      description: 'Pixels, a multiple of 8.',
    },
    {
      name: 'height',
      type: 'int',
      default_value: 512,
      options: { min: 64, max: 1024 },
      description: 'Pixels, a multiple of 8.',
    },
    {
      name: 'num_inference_steps',
      type: 'int',
      default_value: model.defaultSteps,
      options: { min: 1, max: 150 },
      description: 'Denoising steps: more is slower and finer.',
    },
    {
      name: 'guidance_scale',
      type: 'float',
      default_value: 7.5,
      options: { min: 1, max: 20 },
      description: 'How strictly the image follows the prompt (classifier-free guidance).',
    },
    {
      name: 'seed',
      type: 'int',
      default_value: 0,
      options: { min: 0, max: 4_294_967_295 },
      description: 'The same seed and parameters give the same image; none: a random seed, returned.',
    },
  ];
}

export class ImageModels {
  readonly #byId: Map<string, DeployedModel>;
  readonly #byName: Map<string, DeployedModel>;

  constructor(
    readonly models: readonly DeployedModel[],
    /** The model of requests that name none; default: the first. */
    readonly defaultModelId: string | undefined = models[0]?.modelId,
  ) {
    this.#byId = new Map(models.map((model) => [model.modelId, model]));
    this.#byName = new Map(models.map((model) => [model.name, model]));
  }

  /**
   * The model a request names (or the default). Unknown: 400 naming the ones there are. Listed but
   * unable to serve here: 503 with the reason, before anything is stored or started.
   */
  resolve(modelId: string | undefined): DeployedModel {
    const id = modelId ?? this.defaultModelId;
    const model = id === undefined ? undefined : this.#byId.get(id);
    if (!model) {
      if (this.models.length === 0) {
        throw unavailable('no image model is deployed on this stage', {
          reason: 'imageGeneration.models is empty',
        });
      }
      const known = this.models.map((m) => m.modelId);
      throw invalidParameters(`Invalid parameter: model_id must be one of ${known.join(', ')}`, {
        parameter: 'model_id',
        value: modelId,
        constraint: `one of ${known.join(', ')}`,
      });
    }
    if (!model.available) {
      throw new DomainError(
        'UNAVAILABLE',
        `model ${model.modelId} cannot serve here: ${model.unavailableReason ?? 'not available'}`,
        { model_id: model.modelId, reason: model.unavailableReason ?? 'not available' },
      );
    }
    return model;
  }

  byName(name: string): DeployedModel | undefined {
    return this.#byName.get(name);
  }

  /** Each model as a generator of the catalogue (`runs_on: endpoint`). */
  generators(): GeneratorInfo[] {
    return this.models.map((model) => ({
      name: model.name,
      description: `${model.description}${model.available ? '' : ` (not available here: ${model.unavailableReason})`}`,
      runs_on: 'endpoint' as const,
      options: { preview: false },
      params: parameterSpecs(model),
      output: `One PNG per prompt, from ${model.modelId} on ${model.instanceType}: POST /api/v1/generate or /api/v1/generate/batch.`,
    }));
  }
}

/**
 * Reads the catalogue the stack passes as `IMAGE_MODELS` (contracts/models.ts `deployedModels`).
 * Checked by hand rather than with the zod schema: every Lambda reads it, and the task Lambdas are
 * kept free of zod (contracts/vocabulary.ts says why).
 */
export function parseDeployedModels(json: string): DeployedModel[] {
  const raw: unknown = JSON.parse(json);
  if (!Array.isArray(raw)) throw new Error('IMAGE_MODELS must be a JSON array');
  const strings = ['name', 'modelId', 'description', 'endpointName', 'instanceType'] as const;
  const numbers = [
    'usdPerHour',
    'coldStartSeconds',
    'secondsPerImage',
    'invocationTimeoutSeconds',
    'defaultSteps',
  ] as const;
  return raw.map((entry, index) => {
    const model = entry as Record<string, unknown>;
    for (const field of strings) {
      if (typeof model[field] !== 'string')
        throw new Error(`IMAGE_MODELS[${index}].${field} must be a string`);
    }
    for (const field of numbers) {
      if (typeof model[field] !== 'number')
        throw new Error(`IMAGE_MODELS[${index}].${field} must be a number`);
    }
    if (typeof model.available !== 'boolean')
      throw new Error(`IMAGE_MODELS[${index}].available must be a boolean`);
    return model as unknown as DeployedModel;
  });
}
