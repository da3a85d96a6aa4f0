/**
 * An image job (seed 001): one image of one model, made by its asynchronous endpoint while the
 * image workflow waits on a task token.
 */
import type { ResolvedImageParameters } from '../../../contracts/images.ts';
import { type FieldChecks, isNumber, isString, objectWith, oneOf, optional } from '../field-checks.ts';
import type { JobRecordBase, KindFields, StateFields } from '../jobs/model.ts';

/** What one image job keeps in its `params`: the prompt and every resolved parameter. */
export type ImageJobParams = ResolvedImageParameters & { prompt: string };

/** An image job's invocation of a model endpoint. Internal: never presented by the API. */
export interface InferenceRecord {
  endpointName: string;
  /** The Step Functions task token the workflow waits on; the endpoint's notification sends it back. */
  taskToken: string;
  invokedAt: string;
  /** Instances the endpoint had when invoked: 0 means this job waits for a cold start. */
  instancesAtInvoke: number;
}

export interface ImageJobRecord extends JobRecordBase {
  kind: 'image';
  /** The model (its name in the stage's catalogue) that makes the image. */
  generator: string;
  params: ImageJobParams;
  /** Set once the endpoint has the request: the invocation, and the workflow step waiting for it. */
  inference?: InferenceRecord;
}

/** What an image job's transitions and updates may change. */
export type ImageJobState = Pick<ImageJobRecord, 'inference'>;

/** The fields of its state, for the store's list of what a patch may set (jobs/model.ts). */
export const IMAGE_STATE_FIELDS = { inference: true } as const satisfies StateFields<ImageJobState>;

const isImageJobParams = objectWith<ImageJobParams>({
  prompt: isString,
  negative_prompt: optional(isString),
  model_id: isString,
  width: isNumber,
  height: isNumber,
  num_inference_steps: isNumber,
  guidance_scale: isNumber,
  seed: isNumber,
});

const isInferenceRecord = objectWith<InferenceRecord>({
  endpointName: isString,
  taskToken: isString,
  invokedAt: isString,
  instancesAtInvoke: isNumber,
});

export const IMAGE_JOB_FIELDS: FieldChecks<KindFields<ImageJobRecord>> = {
  kind: oneOf(['image']),
  generator: isString,
  params: isImageJobParams,
  inference: optional(isInferenceRecord),
};
