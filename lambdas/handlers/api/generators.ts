import { routes } from '../../../contracts/routes.ts';
import { DomainError, notFound } from '../../domain/errors.ts';
import { describeGenerator, getGenerator, listGenerators } from '../../domain/generators/catalogue.ts';
import { randomizeUnspecified, validateJobs } from '../../domain/generators/params.ts';
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
  return [
    bind(routes.listGenerators, async () => ({
      generators: [...listGenerators().map(describeGenerator), ...endpointGenerators.values()].map(
        ({ name, description, runs_on, options }) => ({ name, description, runs_on, options }),
      ),
    })),
    bind(routes.getGenerator, async ({ params }) => described(params.name)),
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
      const kept = body.param_values ?? {};
      return { job_params: Array.from({ length: body.n }, () => randomizeUnspecified(generator, kept, rng)) };
    }),
  ];
}

export const handler = staticApiEntry(generatorRoutes);
