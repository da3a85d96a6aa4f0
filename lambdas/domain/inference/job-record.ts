/**
 * An asynchronous inference job (seed 003, `"async": true`): one model call that one execution of
 * the inference machine runs. Its request and its answer are objects in S3 (execution.ts).
 */
import type { ModelInput } from '../../../contracts/inference.ts';
import { arrayOf, type FieldChecks, isNumber, isString, objectWith, oneOf } from '../field-checks.ts';
import type { JobRecordBase, KindFields } from '../jobs/model.ts';

/**
 * What the job asks: the model and the provider its route allows. Its request is stored beside it
 * (execution.ts `inferenceKeys`), at a key the job's tenant and id name.
 */
export type InferenceJobParams = {
  model_key: string;
  /** `/api/emd/{model_key}` takes EMD models only, `/api/claude4` and `/api/nova` Bedrock's. */
  provider: 'bedrock' | 'sagemaker';
};

export interface InferenceJobRecord extends JobRecordBase {
  kind: 'inference';
  params: InferenceJobParams;
}

const isInferenceJobParams = objectWith<InferenceJobParams>({
  model_key: isString,
  provider: oneOf(['bedrock', 'sagemaker']),
});

export const INFERENCE_JOB_FIELDS: FieldChecks<KindFields<InferenceJobRecord>> = {
  kind: oneOf(['inference']),
  params: isInferenceJobParams,
};

/**
 * A stored request read back (request.json): the route's schema checked it before it was stored, so
 * its fields are checked to be there and of their types, not against the route's limits again (the
 * frames are, when the job runs, exactly as the route checks them).
 */
export const isStoredModelInput = objectWith<ModelInput>({
  text: isString,
  frames: arrayOf(isString),
  mediaType: oneOf(['image', 'video']),
  max_tokens: isNumber,
  temperature: isNumber,
});
