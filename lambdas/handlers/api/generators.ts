import { routes } from '../../../contracts/routes.ts';
import { notFound } from '../../domain/errors.ts';
import { describeGenerator, getGenerator, listGenerators } from '../../domain/generators/catalogue.ts';
import { randomizeUnspecified, validateJobs } from '../../domain/generators/params.ts';
import { Rng } from '../../domain/generators/rng.ts';
import { bind, type RouteBinding } from '../../http/api-handler.ts';
import { staticApiEntry } from '../../shared/static-api-entry.ts';

function generatorNamed(name: string) {
  const generator = getGenerator(name);
  if (!generator) throw notFound('generator', name);
  return generator;
}

export function generatorRoutes(): RouteBinding[] {
  return [
    bind(routes.listGenerators, async () => ({
      generators: listGenerators().map((generator) => {
        const { name, description, runs_on, options } = describeGenerator(generator);
        return { name, description, runs_on, options };
      }),
    })),
    bind(routes.getGenerator, async ({ params }) => describeGenerator(generatorNamed(params.name))),
    bind(routes.validateParams, async ({ params, body }) => {
      const results = validateJobs(generatorNamed(params.name), body.job_params);
      return { valid: results.every((result) => result === null), results };
    }),
    bind(routes.randomParams, async ({ params, body }) => {
      const generator = generatorNamed(params.name);
      const rng = new Rng(body.seed ?? Math.floor(Math.random() * 2 ** 31));
      const kept = body.param_values ?? {};
      return { job_params: Array.from({ length: body.n }, () => randomizeUnspecified(generator, kept, rng)) };
    }),
  ];
}

export const handler = staticApiEntry(generatorRoutes);
