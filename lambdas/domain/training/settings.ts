/**
 * A stage's training settings as the functions get them (`TRAINING_SETTINGS`, written by the stack
 * from contracts/training.ts `TrainingConfigSchema`). Checked by hand: the workflow's task Lambdas
 * read them and stay free of zod (contracts/vocabulary.ts says why).
 */
import type { TrainingSettings } from '../../../contracts/training.ts';

/** The type of each field; a field added to the schema does not compile until it is listed here. */
const FIELDS = {
  instanceType: 'string',
  allowedInstanceTypes: 'string[]',
  volumeSizeGb: 'number',
  maxRuntimeSeconds: 'number',
  maxRuntimeLimitSeconds: 'number',
  spot: 'boolean',
  maxWaitSeconds: 'number',
  maxAutoResumes: 'number',
} as const satisfies Record<keyof TrainingSettings, 'string' | 'string[]' | 'number' | 'boolean'>;

export function parseTrainingSettings(json: string): TrainingSettings {
  const raw = JSON.parse(json) as Record<string, unknown>;
  for (const [field, kind] of Object.entries(FIELDS)) {
    const value = raw?.[field];
    const valid =
      kind === 'string[]'
        ? Array.isArray(value) && value.every((item) => typeof item === 'string')
        : typeof value === kind;
    if (!valid) throw new Error(`TRAINING_SETTINGS.${field} must be a ${kind}`);
  }
  return raw as unknown as TrainingSettings;
}
