/**
 * A stage's training settings as the functions get them (`TRAINING_SETTINGS`, written by the stack
 * from contracts/training.ts `TrainingConfigSchema`). Checked by hand: the workflow's task Lambdas
 * read them and stay free of zod (contracts/vocabulary.ts says why).
 */
import type { TrainingSettings } from '../../../contracts/training.ts';
import {
  arrayOf,
  type FieldChecks,
  isBoolean,
  isNumber,
  isString,
  NOT_AN_OBJECT,
  objectProblem,
  objectWith,
} from '../field-checks.ts';

/** One check per field: a field added to the schema does not compile until it is checked here. */
const FIELDS: FieldChecks<TrainingSettings> = {
  instanceType: isString,
  allowedInstanceTypes: arrayOf(isString),
  volumeSizeGb: isNumber,
  maxRuntimeSeconds: isNumber,
  maxRuntimeLimitSeconds: isNumber,
  spot: isBoolean,
  maxWaitSeconds: isNumber,
  maxAutoResumes: isNumber,
};

const isTrainingSettings = objectWith(FIELDS);

export function parseTrainingSettings(json: string): TrainingSettings {
  const raw: unknown = JSON.parse(json);
  if (isTrainingSettings(raw)) return raw;
  const field = objectProblem(raw, FIELDS);
  throw new Error(
    field === NOT_AN_OBJECT
      ? 'TRAINING_SETTINGS must be a JSON object'
      : `TRAINING_SETTINGS.${field} must be a value of its type (TrainingSettings, contracts/training.ts)`,
  );
}
