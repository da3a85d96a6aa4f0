/** Reading the training settings the stack passes the functions (`TRAINING_SETTINGS`). */
import { describe, expect, it } from 'vitest';
import { TrainingConfigSchema, trainingSettingsOf } from '../../../../contracts/training.ts';
import { parseTrainingSettings } from '../../../../lambdas/domain/training/settings.ts';

const settings = trainingSettingsOf(TrainingConfigSchema.parse({}));

describe('parseTrainingSettings', () => {
  it('reads back what the stack writes', () => {
    expect(parseTrainingSettings(JSON.stringify(settings))).toEqual(settings);
  });

  it('names the first field that is not of its type, or says it is no object', () => {
    expect(() => parseTrainingSettings(JSON.stringify({ ...settings, spot: 'no' }))).toThrow(
      'TRAINING_SETTINGS.spot must be a value of its type (TrainingSettings, contracts/training.ts)',
    );
    expect(() => parseTrainingSettings(JSON.stringify({ ...settings, allowedInstanceTypes: [1] }))).toThrow(
      'TRAINING_SETTINGS.allowedInstanceTypes must be',
    );
    for (const json of ['[]', 'null', '"settings"']) {
      expect(() => parseTrainingSettings(json)).toThrow('TRAINING_SETTINGS must be a JSON object');
    }
  });
});
