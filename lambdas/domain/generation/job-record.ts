/**
 * A generation job (seed 000): one procedural generator's render of one set of parameter values,
 * one of the jobs of a batch.
 */
import type { ParamValues } from '../../../contracts/generators.ts';
import { type FieldChecks, isBoolean, isPlainObject, isString, oneOf, optional } from '../field-checks.ts';
import type { JobRecordBase, KindFields } from '../jobs/model.ts';

export interface GenerationJobRecord extends JobRecordBase {
  kind: 'generation';
  /** The generator of the catalogue that renders it. */
  generator: string;
  /** Seed 000's preview jobs render small and fast; absent: a standard job. */
  preview?: boolean;
  /** Every parameter of the generator, defaults applied. */
  params: ParamValues;
}

export const GENERATION_JOB_FIELDS: FieldChecks<KindFields<GenerationJobRecord>> = {
  kind: oneOf(['generation']),
  generator: isString,
  preview: optional(isBoolean),
  params: isPlainObject,
};
