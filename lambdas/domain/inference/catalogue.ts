/**
 * The inference gateway's models as the stage deploys them (`INFERENCE_MODELS`): every model of the
 * catalogue is listed, deployed or not, so that the routes tell "no such model" (400) from "not
 * deployed in this stage" (503) and from "cannot be called here" (503 with the reason).
 */
import type { RuntimeModel } from '../../../contracts/inference-models.ts';
import { type DomainError, invalidParameters, unavailable } from '../errors.ts';
import type { CallableModel, SageMakerRuntimeModel } from './ports.ts';

export class ModelCatalogue {
  readonly #byKey: ReadonlyMap<string, RuntimeModel>;

  constructor(readonly models: readonly RuntimeModel[]) {
    const byKey = new Map<string, RuntimeModel>();
    for (const model of models) {
      if (byKey.has(model.key)) throw new Error(`inference model key ${model.key} is configured twice`);
      byKey.set(model.key, model);
    }
    this.#byKey = byKey;
  }

  /** Every model, in the configured order. */
  list(): readonly RuntimeModel[] {
    return this.models;
  }

  /** The EMD models (SageMaker inference components), deployed or not. */
  emdModels(): SageMakerRuntimeModel[] {
    return this.models.filter((model): model is SageMakerRuntimeModel => model.provider === 'sagemaker');
  }

  /**
   * The model of a key, or a 400 that lists the keys there are. With `provider`, only that
   * provider's models count (`/api/emd/{model_key}` takes EMD models only).
   */
  require(key: string, provider?: RuntimeModel['provider']): RuntimeModel {
    const model = this.#byKey.get(key);
    if (model && (provider === undefined || model.provider === provider)) return model;
    const supported = this.models
      .filter((candidate) => provider === undefined || candidate.provider === provider)
      .map((candidate) => candidate.key);
    const what = provider === 'sagemaker' ? 'EMD model key' : 'model key';
    throw invalidParameters(`unknown ${what} ${key}; supported: ${supported.join(', ')}`, {
      parameter: 'model_key',
      value: key,
      supported,
    });
  }

  /** The models of several keys, in order, or one 400 that names every unknown key. */
  requireAll(keys: readonly string[]): RuntimeModel[] {
    const unknown = keys.filter((key) => !this.#byKey.has(key));
    if (unknown.length > 0) {
      const supported = this.models.map((model) => model.key);
      const what = unknown.length > 1 ? 'model keys' : 'model key';
      throw invalidParameters(`unknown ${what} ${unknown.join(', ')}; supported: ${supported.join(', ')}`, {
        parameter: 'models',
        value: unknown,
        supported,
      });
    }
    return keys.map((key) => this.require(key));
  }
}

/** A known model that can be called here, or the 503 that says why not and what to do. */
export function callableOrThrow(model: RuntimeModel): CallableModel {
  const reason = whyNotCallable(model);
  if (reason === undefined) return model as CallableModel;
  throw reason;
}

/** Why a model cannot be called in this stage, as the 503 the routes answer; undefined if it can. */
export function whyNotCallable(model: RuntimeModel): DomainError | undefined {
  if (model.provider === 'sagemaker' && model.deployment === undefined) {
    return unavailable(
      `EMD model ${model.key} is not deployed in this stage: add it to the stage's inference models and ` +
        'deploy (see the README)',
      { model_key: model.key, model_id: model.modelId, reason: 'not_deployed' },
    );
  }
  if (model.provider === 'bedrock' && model.unavailable !== undefined) {
    return unavailable(`model ${model.key} cannot be called here: ${model.unavailable}`, {
      model_key: model.key,
      model_id: model.modelId,
      reason: 'unavailable',
    });
  }
  return undefined;
}
