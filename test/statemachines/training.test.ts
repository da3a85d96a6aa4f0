import { describe, expect, it } from 'vitest';
import { happyPathTransitions } from '../../bench/b11-training.ts';
import { allStates, readDefinition } from '../../statemachines/definitions.ts';
import { validateAsl } from './asl-validator.ts';

interface State {
  Type: string;
  Next?: string;
  Default?: string;
  End?: boolean;
  Resource?: string;
  TimeoutSeconds?: number;
  Parameters?: Record<string, unknown>;
  Retry?: { ErrorEquals: string[] }[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
}

const text = readDefinition('training');
const definition = JSON.parse(text) as {
  StartAt: string;
  TimeoutSeconds: number;
  States: Record<string, State>;
};
const train = definition.States.Train as State;

/** Node's timers hold at most 2^31 − 1 ms (24.8 days); a longer timeout fires at once. */
const LONGEST_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

describe('statemachines/training.asl.json', () => {
  it('is valid ASL, JSONPath only', () => {
    const result = validateAsl(definition);
    expect(result.errors, result.errorsText('\n')).toEqual([]);
    expect(text).not.toMatch(/JSONata/);
  });

  it('waits for the training job with createTrainingJob.sync, no polling states', () => {
    expect(train.Resource).toBe('arn:aws:states:::sagemaker:createTrainingJob.sync');
    expect(Object.values(definition.States).filter((state) => state.Type === 'Wait')).toEqual([]);
    // Prepare, Train, Record, the resume choice, Trained: B11 (bench/b11-training.ts) asks ≤ 6.
    expect(happyPathTransitions(definition)).toBe(5);
  });

  it('fixes the role, image and network isolation itself: no input can choose them', () => {
    const parameters = train.Parameters as Record<string, unknown>;
    const placeholder = (name: string) => `\${${name}}`;
    expect(parameters.RoleArn).toBe(placeholder('TrainingRoleArn'));
    expect(parameters.AlgorithmSpecification).toEqual({
      TrainingImage: placeholder('TrainerImageUri'),
      TrainingInputMode: 'File',
    });
    expect(parameters.EnableNetworkIsolation).toBe(true);
    // The instance and its volume key come from PrepareTraining (the key only where SageMaker takes one).
    expect(parameters['ResourceConfig.$']).toBe('$.prepared.job.resourceConfig');
    expect(
      Object.keys(parameters).filter((key) => key.startsWith('RoleArn') || key.startsWith('Algorithm')),
    ).toEqual(['RoleArn', 'AlgorithmSpecification']);
  });

  it('sends every failure to RecordFailure, which records it and fails the execution', () => {
    for (const [path, state] of allStates(definition.States)) {
      if (state.Type !== 'Task' || path === 'RecordFailure') continue;
      expect(state.Catch?.find((c) => c.ErrorEquals.includes('States.ALL'))?.Next, path).toBe(
        'RecordFailure',
      );
    }
    expect(definition.States.RecordFailure?.Next).toBe('TrainingFailed');
    expect(definition.States.TrainingFailed?.Type).toBe('Fail');
  });

  it('has every timeout within what a timer can hold, so the local runner honours it', () => {
    // A 30-day execution timeout once ended every local run at once (Node fired the timer at 0).
    expect(definition.TimeoutSeconds).toBeLessThanOrEqual(LONGEST_TIMER_SECONDS);
    for (const [path, state] of allStates(definition.States)) {
      if (state.Type !== 'Task') continue;
      expect(state.TimeoutSeconds, path).toBeGreaterThan(0);
      expect(state.TimeoutSeconds, path).toBeLessThanOrEqual(LONGEST_TIMER_SECONDS);
    }
  });

  it('resumes by preparing another attempt, and only when RecordTraining asks', () => {
    const choice = definition.States.ResumeOrFinish as State & {
      Choices: { Variable: string; Next: string }[];
    };
    expect(choice.Choices).toEqual([
      { Variable: '$.outcome.resume', BooleanEquals: true, Next: 'PrepareTraining' },
    ]);
    expect(choice.Default).toBe('Trained');
  });
});
