import { describe, expect, it } from 'vitest';
import { allStates, readDefinition, TASK_FUNCTIONS } from '../../statemachines/definitions.ts';
import { LAMBDA_ERRORS, validateAsl } from './asl-validator.ts';

interface State {
  Type: string;
  Next?: string;
  End?: boolean;
  Resource?: string;
  TimeoutSeconds?: number;
  Parameters?: { FunctionName?: string; Payload?: Record<string, unknown> };
  Retry?: { ErrorEquals: string[]; MaxAttempts?: number }[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
}

const text = readDefinition('inference');
const definition = JSON.parse(text) as {
  StartAt: string;
  TimeoutSeconds: number;
  States: Record<string, State>;
};
const run = definition.States.RunInference as State;

describe('statemachines/inference.asl.json', () => {
  it('is valid ASL, JSONPath only', () => {
    const result = validateAsl(definition);
    expect(result.errors, result.errorsText('\n')).toEqual([]);
    expect(text).not.toMatch(/JSONata/);
  });

  it('invokes exactly its manifest’s functions', () => {
    const functions = allStates(definition.States)
      .map(([, state]) => state.Parameters?.FunctionName)
      .filter((name): name is string => name !== undefined);
    expect(functions.sort()).toEqual(
      TASK_FUNCTIONS.inference.map((placeholder) => `\${${placeholder}}`).sort(),
    );
  });

  it('runs the job in one step, which gets pointers only (the request and answer are in S3)', () => {
    expect(definition.StartAt).toBe('RunInference');
    expect(run.Resource).toBe('arn:aws:states:::lambda:invoke');
    expect(run.Parameters?.Payload).toEqual({ 'tenant.$': '$.tenant', 'jobId.$': '$.jobId' });
    expect(run.End).toBe(true);
  });

  it('gives the step Lambda’s 15 minutes, and the whole run about 16', () => {
    expect(run.TimeoutSeconds).toBe(900);
    expect(definition.TimeoutSeconds).toBe(960);
    expect(definition.TimeoutSeconds).toBeGreaterThan(run.TimeoutSeconds ?? 0);
  });

  it('retries Lambda’s own errors on every task, as the other machines do', () => {
    for (const [path, state] of allStates(definition.States)) {
      if (state.Type !== 'Task') continue;
      expect(state.Retry?.[0]?.ErrorEquals, path).toEqual(LAMBDA_ERRORS);
      expect(state.TimeoutSeconds, path).toBeGreaterThan(0);
    }
  });

  it('sends a failure of the step to FailJob, which records it and fails the execution', () => {
    expect(run.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'FailJob' }]);
    const failJob = definition.States.FailJob as State;
    expect(failJob.Parameters?.Payload).toEqual({
      'tenant.$': '$.tenant',
      'jobId.$': '$.jobId',
      'error.$': '$.error',
    });
    expect(failJob.Next).toBe('InferenceFailed');
    expect(failJob.Catch?.[0]?.Next).toBe('InferenceFailed');
    expect(definition.States.InferenceFailed?.Type).toBe('Fail');
  });
});
