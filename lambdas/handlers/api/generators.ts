import type { ParamViolation } from '../../../contracts/generators.ts';
import { routes } from '../../../contracts/routes.ts';
import { DomainError, invalidParameters, notFound } from '../../domain/errors.ts';
import { describeGenerator, getGenerator, listGenerators } from '../../domain/generators/catalogue.ts';
import { drawParamSets, validateJobs } from '../../domain/generators/params.ts';
import { Rng } from '../../domain/generators/rng.ts';
import { describeEndpointModels } from '../../domain/images/generator-info.ts';
import { validateModelParams } from '../../domain/images/model-runs.ts';
import { ImageModels, parseDeployedModels } from '../../domain/images/models.ts';
import { bind, type RouteBinding } from '../../http/api-handler.ts';
import { staticApiEntry } from '../../shared/static-api-entry.ts';

function generatorNamed(name: string) {
  const generator = getGenerator(name);
  if (!generator) throw notFound('generator', name);
  return generator;
}

/** The models of the stage (`IMAGE_MODELS`): the generators that run on endpoints. */
function modelsFromEnv(): ImageModels {
  return new ImageModels(process.env.IMAGE_MODELS ? parseDeployedModels(process.env.IMAGE_MODELS) : []);
}

/**
 * The catalogue: procedural generators (Lambda) and the stage's models (endpoints). Random
 * parameters are drawn for procedural generators only: a prompt cannot be drawn.
 */
export function generatorRoutes(models: ImageModels = modelsFromEnv()): RouteBinding[] {
  const endpointGenerators = new Map(describeEndpointModels(models.models).map((info) => [info.name, info]));
  const described = (name: string) => endpointGenerators.get(name) ?? describeGenerator(generatorNamed(name));
  const summaries = () =>
    [...listGenerators().map(describeGenerator), ...endpointGenerators.values()].map(
      ({ name, description, runs_on, options }) => ({ name, description, runs_on, options }),
    );
  return [
    bind(routes.listGenerators, async () => ({ generators: summaries() })),
    bind(routes.getGenerator, async ({ params }) => described(params.name)),
    // Infinity's client (seed 000) on its own paths: a bare list, and the same generator info.
    bind(routes.infinityListGenerators, async () => summaries()),
    bind(routes.infinityGetGenerator, async ({ params }) => described(params.name)),
    bind(routes.validateParams, async ({ params, body }) => {
      // A model's parameters are checked by the schema its batches are checked by, not its specs.
      const results = endpointGenerators.has(params.name)
        ? body.job_params.map(validateModelParams)
        : validateJobs(generatorNamed(params.name), body.job_params);
      return { valid: results.every((result) => result === null), results };
    }),
    bind(routes.randomParams, async ({ params, body }) => {
      if (endpointGenerators.has(params.name)) {
        throw new DomainError(
          'INVALID_REQUEST',
          `${params.name} takes a prompt: random parameters are drawn for procedural generators only`,
          {
            generator: params.name,
          },
        );
      }
      const generator = generatorNamed(params.name);
      const rng = new Rng(body.seed ?? Math.floor(Math.random() * 2 ** 31));
      // The kept values pass the validation a submission with them passes, or get its 400.
      const drawn = drawParamSets(generator, body.param_values ?? {}, body.n, rng);
      if ('violations' in drawn) throw invalidKeptValues(generator.name, drawn.violations);
      return { job_params: drawn.sets };
    }),
  ];
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

export const handler = staticApiEntry(generatorRoutes);
