/**
 * The catalogue's description of a model and the request schema agree: every bound the catalogue
 * publishes is one `/generate` enforces, and the stage's catalogue survives its trip through the
 * Lambda environment.
 */
import { describe, expect, it } from 'vitest';
import { GenerateRequest } from '../../../../contracts/images.ts';
import {
  DeployedModelSchema,
  deployedModels,
  ImageGenerationConfigSchema,
} from '../../../../contracts/models.ts';
import { describeEndpointModels } from '../../../../lambdas/domain/images/generator-info.ts';
import { parseDeployedModels } from '../../../../lambdas/domain/images/models.ts';

const models = deployedModels('test', ImageGenerationConfigSchema.parse({}));

describe('describeEndpointModels', () => {
  it('publishes exactly the bounds /generate enforces', () => {
    // Prepare
    const [generator] = describeEndpointModels(models);
    const bounded = (generator?.params ?? []).filter((spec) => spec.options?.min !== undefined);

    // Assess
    expect(bounded.map((spec) => spec.name)).toEqual([
      'width',
      'height',
      'num_inference_steps',
      'guidance_scale',
      'seed',
    ]);
    for (const { name, options } of bounded) {
      const at = (value: number) => GenerateRequest.safeParse({ prompt: 'x', [name]: value }).success;
      const step = name === 'width' || name === 'height' ? 8 : 1;
      expect(at(options?.min as number), `${name} min`).toBe(true);
      expect(at(options?.max as number), `${name} max`).toBe(true);
      expect(at((options?.min as number) - step), `${name} below`).toBe(false);
      expect(at((options?.max as number) + step), `${name} above`).toBe(false);
    }
  });
});

describe('parseDeployedModels', () => {
  it('reads back what the stack writes into IMAGE_MODELS, as the schema does', () => {
    // Act
    const parsed = parseDeployedModels(JSON.stringify(models));

    // Assess
    expect(parsed).toEqual(models);
    expect(parsed.map((model) => DeployedModelSchema.parse(model))).toEqual(models);
  });

  it('refuses what the schema refuses, naming the field', () => {
    const [model] = models;
    for (const broken of [
      { ...model, usdPerHour: '1.4' },
      { ...model, name: undefined },
      { ...model, available: 'yes' },
      { ...model, unavailableReason: 42 },
    ]) {
      expect(DeployedModelSchema.safeParse(broken).success).toBe(false);
      expect(() => parseDeployedModels(JSON.stringify([broken]))).toThrow(/IMAGE_MODELS\[0\]\.\w+ must be a/);
    }
    expect(() => parseDeployedModels('{}')).toThrow(/must be a JSON array/);
    expect(() => parseDeployedModels('[null]')).toThrow('IMAGE_MODELS[0] must be an object');
  });
});
