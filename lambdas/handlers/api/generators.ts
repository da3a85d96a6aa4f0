import { routes } from '../../../contracts/routes.ts';
import { GeneratorCatalogue } from '../../domain/generators/present.ts';
import { ImageModels, parseDeployedModels } from '../../domain/images/models.ts';
import { bind, type RouteBinding } from '../../http/api-handler.ts';
import { staticApiEntry } from '../../shared/static-api-entry.ts';

/** The models of the stage (`IMAGE_MODELS`): the generators that run on endpoints. */
function modelsFromEnv(): ImageModels {
  return new ImageModels(process.env.IMAGE_MODELS ? parseDeployedModels(process.env.IMAGE_MODELS) : []);
}

/**
 * The catalogue's routes: procedural generators (Lambda) and the stage's models (endpoints),
 * answered by lambdas/domain/generators/present.ts.
 */
export function generatorRoutes(models: ImageModels = modelsFromEnv()): RouteBinding[] {
  const catalogue = new GeneratorCatalogue(models);
  return [
    bind(routes.listGenerators, async () => ({ generators: catalogue.summaries() })),
    bind(routes.getGenerator, async ({ params }) => catalogue.described(params.name)),
    // Infinity's client (seed 000) on its own paths: a bare list, and the same generator info.
    bind(routes.infinityListGenerators, async () => catalogue.summaries()),
    bind(routes.infinityGetGenerator, async ({ params }) => catalogue.described(params.name)),
    bind(routes.validateParams, async ({ params, body }) => catalogue.validate(params.name, body.job_params)),
    bind(routes.randomParams, async ({ params, body }) => catalogue.random(params.name, body)),
  ];
}

export const handler = staticApiEntry(generatorRoutes);
