/**
 * The catalogue's answers: procedural generators (Lambda) and the stage's models (endpoints) listed,
 * described, their parameters validated, and random parameters drawn for procedural generators
 * (a prompt cannot be drawn).
 */
import type { z } from 'zod';
import type { RandomRequest, RandomResponse, ValidateResponse } from '../../../contracts/api.ts';
import type { GeneratorInfo, GeneratorSummary, ParamViolation } from '../../../contracts/generators.ts';
import { DomainError, invalidParameters, notFound } from '../errors.ts';
import { describeEndpointModels } from '../images/generator-info.ts';
import { validateModelParams } from '../images/model-runs.ts';
import type { ImageModels } from '../images/models.ts';
import { describeGenerator, getGenerator, listGenerators } from './catalogue.ts';
import { drawParamSets, validateJobs } from './params.ts';
import { Rng } from './rng.ts';

function generatorNamed(name: string) {
  const generator = getGenerator(name);
  if (!generator) throw notFound('generator', name);
  return generator;
}

export class GeneratorCatalogue {
  readonly #endpointGenerators: Map<string, GeneratorInfo>;

  constructor(models: ImageModels) {
    this.#endpointGenerators = new Map(
      describeEndpointModels(models.models).map((info) => [info.name, info]),
    );
  }

  /** Every generator, procedural ones first, as the lists show them. */
  summaries(): z.infer<typeof GeneratorSummary>[] {
    return [...listGenerators().map(describeGenerator), ...this.#endpointGenerators.values()].map(
      ({ name, description, runs_on, options }) => ({ name, description, runs_on, options }),
    );
  }

  /** One generator with its parameters; a 404 for a name it does not know. */
  described(name: string): GeneratorInfo {
    return this.#endpointGenerators.get(name) ?? describeGenerator(generatorNamed(name));
  }

  /**
   * Each job's parameter problems (null when valid). A model's parameters are checked by the schema
   * its batches are checked by, not its specs.
   */
  validate(name: string, jobParams: readonly unknown[]): z.infer<typeof ValidateResponse> {
    const results = this.#endpointGenerators.has(name)
      ? jobParams.map(validateModelParams)
      : validateJobs(generatorNamed(name), jobParams);
    return { valid: results.every((result) => result === null), results };
  }

  /** `n` random valid parameter sets of a procedural generator, keeping the values given. */
  random(name: string, request: z.output<typeof RandomRequest>): z.infer<typeof RandomResponse> {
    if (this.#endpointGenerators.has(name)) {
      throw new DomainError(
        'INVALID_REQUEST',
        `${name} takes a prompt: random parameters are drawn for procedural generators only`,
        {
          generator: name,
        },
      );
    }
    const generator = generatorNamed(name);
    const rng = new Rng(request.seed ?? Math.floor(Math.random() * 2 ** 31));
    // The kept values pass the validation a submission with them passes, or get its 400.
    const drawn = drawParamSets(generator, request.param_values ?? {}, request.n, rng);
    if ('violations' in drawn) throw invalidKeptValues(generator.name, drawn.violations);
    return { job_params: drawn.sets };
  }
}

/**
 * The 400 for `param_values` that no valid set can keep: the first problem as seed 001's
 * `{parameter, value, constraint}`, and every problem as the violations a batch's job run reports.
 */
function invalidKeptValues(generator: string, violations: ParamViolation[]): DomainError {
  const [first] = violations;
  return invalidParameters(`param_values cannot be kept: ${first?.message}`, {
    location: 'body',
    generator,
    parameter: first?.parameter,
    value: first?.value,
    constraint: first?.constraint,
    violations,
  });
}
