/**
 * An image job (seed 001): one image of one model, made by its asynchronous endpoint while the
 * image workflow waits on a task token.
 */
import type { ProfileStatistics } from '../../../contracts/datasets.ts';
import type { ResolvedImageParameters } from '../../../contracts/images.ts';
import { type FieldChecks, isNumber, isString, objectWith, oneOf, optional } from '../field-checks.ts';
import type { JobRecordBase, KindFields, StateFields } from '../jobs/model.ts';

/** An image's parameters as planned from a request: every resolved parameter, the profile by name. */
export type PlannedImageParams = ResolvedImageParameters & { prompt: string };

/**
 * The profile an image is steered toward: its name, and its statistics as they were when the job
 * was submitted, so that computing the profile again later changes no job already submitted.
 */
export interface ImageProfile {
  name: string;
  statistics: ProfileStatistics;
}

/** What one image job keeps in its `params`: the prompt, every resolved parameter, the profile read. */
export type ImageJobParams = Omit<PlannedImageParams, 'profile'> & { profile?: ImageProfile };

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

const isProfileStatistics = objectWith<ProfileStatistics>({
  color_distribution: objectWith<ProfileStatistics['color_distribution']>({
    red_mean: isNumber,
    green_mean: isNumber,
    blue_mean: isNumber,
  }),
  brightness_mean: isNumber,
  contrast_mean: isNumber,
  brightness_std: optional(isNumber),
  contrast_std: optional(isNumber),
  resolution: objectWith<ProfileStatistics['resolution']>({ width_mean: isNumber, height_mean: isNumber }),
});

const isImageProfile = objectWith<ImageProfile>({ name: isString, statistics: isProfileStatistics });

const isImageJobParams = objectWith<ImageJobParams>({
  prompt: isString,
  negative_prompt: optional(isString),
  model_id: isString,
  width: isNumber,
  height: isNumber,
  num_inference_steps: isNumber,
  guidance_scale: isNumber,
  seed: isNumber,
  profile: optional(isImageProfile),
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
