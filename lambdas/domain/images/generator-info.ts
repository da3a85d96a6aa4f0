/**
 * The stage's models as generators of the catalogue (`GET /api/v1/generators`, `runs_on:
 * endpoint`): seed 001's parameters in seed 000's generator format, their bounds and defaults read
 * from the request schema itself, so the catalogue cannot drift from what `/generate` accepts.
 */
import type { GeneratorInfo, ParameterSpec } from '../../../contracts/generators.ts';
import { ImageParameters } from '../../../contracts/images.ts';
import type { DeployedModel } from '../../../contracts/models.ts';

const shape = ImageParameters.shape;
const defaults = ImageParameters.parse({});
const bounds = (field: { unwrap(): { minValue: number | null; maxValue: number | null } }) => {
  const number = field.unwrap();
  return { min: number.minValue ?? undefined, max: number.maxValue ?? undefined };
};

function parameterSpecs(model: DeployedModel): ParameterSpec[] {
  const side = (name: 'width' | 'height'): ParameterSpec => ({
    name,
    type: 'int',
    default_value: defaults[name],
    options: bounds(shape[name]),
    description: 'Pixels, a multiple of 8.',
  });
  return [
    { name: 'prompt', type: 'str', default_value: '', description: 'What the image shows (required).' },
    { name: 'negative_prompt', type: 'str', default_value: '', description: 'What should not appear.' },
    side('width'),
    side('height'),
    {
      name: 'num_inference_steps',
      type: 'int',
      default_value: model.defaultSteps,
      options: bounds(shape.num_inference_steps),
      description: 'Denoising steps: more is slower and finer.',
    },
    {
      name: 'guidance_scale',
      type: 'float',
      default_value: defaults.guidance_scale,
      options: bounds(shape.guidance_scale),
      description: 'How strictly the image follows the prompt (classifier-free guidance).',
    },
    {
      name: 'seed',
      type: 'int',
      default_value: 0,
      options: bounds(shape.seed),
      description: 'The same seed and parameters give the same image; none: a random seed, returned.',
    },
    {
      name: 'profile',
      type: 'str',
      default_value: '',
      description:
        "Name of an image profile (GET /api/v1/profiles) to steer the image toward: once the model has made it, its colour means, brightness and RMS contrast are moved to the profile's (a colour transfer after Reinhard et al., 2001). Empty for none.",
    },
  ];
}

/** Each model as a generator of the catalogue. */
export function describeEndpointModels(models: readonly DeployedModel[]): GeneratorInfo[] {
  return models.map((model) => ({
    name: model.name,
    description: `${model.description}${model.available ? '' : ` (not available here: ${model.unavailableReason})`}`,
    runs_on: 'endpoint' as const,
    options: { preview: false },
    params: parameterSpecs(model),
    output: `One PNG per prompt, from ${model.modelId} on ${model.instanceType}: POST /api/v1/generate or /api/v1/generate/batch.`,
  }));
}
