/**
 * The text-to-image models this deployment serves (contracts/models.ts `DeployedModel`): which
 * `model_id`s exist and which can serve now. Their generator descriptions are in
 * generator-info.ts, which needs the zod contracts this module keeps out of task bundles.
 */
import type { DeployedModel } from '../../../contracts/models.ts';
import { DomainError, invalidParameters, unavailable } from '../errors.ts';
import {
  type FieldChecks,
  isBoolean,
  isNumber,
  isString,
  NOT_AN_OBJECT,
  objectProblem,
  objectWith,
  optional,
} from '../field-checks.ts';

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
}

/**
 * Reads the catalogue the stack passes as `IMAGE_MODELS` (contracts/models.ts `deployedModels`).
 * Checked with the field checks rather than the zod schema: every Lambda reads it, and the task
 * Lambdas are kept free of zod (contracts/vocabulary.ts says why). One check per field of
 * `DeployedModel`: a field added to the schema does not compile until it is checked here too.
 */
const DEPLOYED_MODEL_FIELDS: FieldChecks<DeployedModel> = {
  name: isString,
  modelId: isString,
  description: isString,
  endpointName: isString,
  instanceType: isString,
  usdPerHour: isNumber,
  coldStartSeconds: isNumber,
  secondsPerImage: isNumber,
  invocationTimeoutSeconds: isNumber,
  defaultSteps: isNumber,
  available: isBoolean,
  unavailableReason: optional(isString),
};

const isDeployedModel = objectWith(DEPLOYED_MODEL_FIELDS);

export function parseDeployedModels(json: string): DeployedModel[] {
  const raw: unknown = JSON.parse(json);
  if (!Array.isArray(raw)) throw new Error('IMAGE_MODELS must be a JSON array');
  return raw.map((model: unknown, index) => {
    if (isDeployedModel(model)) return model;
    const field = objectProblem(model, DEPLOYED_MODEL_FIELDS);
    throw new Error(
      field === NOT_AN_OBJECT
        ? `IMAGE_MODELS[${index}] must be an object`
        : `IMAGE_MODELS[${index}].${field} must be a value of its type (DeployedModel, contracts/models.ts)`,
    );
  });
}
