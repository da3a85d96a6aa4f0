import { describe, expect, it } from 'vitest';
import { allStates, placeholdersOf, readDefinition } from '../../statemachines/definitions.ts';
import { validateAsl } from './asl-validator.ts';

const text = readDefinition('generationBatch');
const definition = JSON.parse(text) as { TimeoutSeconds?: number; States: Record<string, State> };

interface State {
  Type: string;
  Resource?: string;
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
  HeartbeatSeconds?: number;
  Retry?: { ErrorEquals: string[]; IntervalSeconds?: number; MaxAttempts?: number; BackoffRate?: number }[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
  ItemProcessor?: { States: Record<string, State> };
  Iterator?: { States: Record<string, State> };
  Branches?: { States: Record<string, State> }[];
  QueryLanguage?: string;
  MaxConcurrency?: number;
  MaxConcurrencyPath?: string;
}

const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

const states = allStates(definition.States);
const tasks = states.filter(([, state]) => state.Type === 'Task');

describe('statemachines/generation-batch.asl.json', () => {
  it('is valid ASL', () => {
    const result = validateAsl(definition);
    expect(result.errors, result.errorsText('\n')).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it('is JSONPath only (the local runner ignores JSONata)', () => {
    expect(text).not.toMatch(/JSONata/);
    for (const [path, state] of states) expect(state.QueryLanguage ?? 'JSONPath', path).toBe('JSONPath');
  });

  it('has a top-level timeout', () => {
    expect(definition.TimeoutSeconds).toEqual(expect.any(Number));
    expect(definition.TimeoutSeconds).toBeGreaterThan(0);
  });

  it('walks nested states: the Map’s tasks are included', () => {
    expect(tasks.map(([path]) => path)).toEqual(
      expect.arrayContaining(['RunJobs/RunJob', 'RunJobs/FailJob', 'StartBatch', 'FinishBatch', 'FailBatch']),
    );
  });

  it.each(tasks)(
    'Task %s has a timeout, catches everything, and retries the Lambda service errors',
    (_path, task) => {
      expect(task.TimeoutSeconds ?? task.TimeoutSecondsPath).toBeDefined();
      if (task.HeartbeatSeconds !== undefined)
        expect(task.HeartbeatSeconds).toBeLessThan(task.TimeoutSeconds ?? 0);
      expect(task.Catch?.some((c) => c.ErrorEquals.includes('States.ALL'))).toBe(true);
      if (task.Resource?.startsWith('arn:aws:states:::lambda:invoke')) {
        const retried = (task.Retry ?? []).flatMap((retry) => retry.ErrorEquals);
        expect(retried).toEqual(expect.arrayContaining(LAMBDA_SERVICE_ERRORS));
        for (const retry of task.Retry ?? []) {
          expect(retry.MaxAttempts ?? 3).toBeGreaterThanOrEqual(2);
          expect(retry.BackoffRate ?? 2).toBeGreaterThanOrEqual(1);
        }
      }
    },
  );

  it('every Map catches everything and takes its concurrency from the execution input, within 40', () => {
    const maps = states.filter(([, state]) => state.Type === 'Map');
    expect(maps.length).toBeGreaterThan(0);
    for (const [path, map] of maps) {
      expect(
        map.Catch?.some((c) => c.ErrorEquals.includes('States.ALL')),
        path,
      ).toBe(true);
      expect(map.MaxConcurrencyPath ?? map.MaxConcurrency, path).toBeDefined();
      if (map.MaxConcurrency !== undefined) expect(map.MaxConcurrency).toBeLessThanOrEqual(40);
    }
  });

  it('names its four task functions by placeholder', () => {
    expect(placeholdersOf(text)).toEqual(
      new Set(['StartBatchFunctionArn', 'RunJobFunctionArn', 'FailJobFunctionArn', 'FinishBatchFunctionArn']),
    );
  });
});
