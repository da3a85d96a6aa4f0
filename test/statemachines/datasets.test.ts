import { describe, expect, it } from 'vitest';
import { allStates, readDefinition, TASK_FUNCTIONS } from '../../statemachines/definitions.ts';
import { LAMBDA_ERRORS, validateAsl } from './asl-validator.ts';

interface State {
  Type: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Resource?: string;
  TimeoutSeconds?: number;
  Choices?: { Variable: string; StringEquals: string; Next: string }[];
  Parameters?: { FunctionName?: string; Payload?: Record<string, unknown> };
  Retry?: { ErrorEquals: string[]; MaxAttempts?: number }[];
  Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string }[];
}

const text = readDefinition('datasets');
const definition = JSON.parse(text) as {
  StartAt: string;
  TimeoutSeconds: number;
  States: Record<string, State>;
};
const run = definition.States.RunDatasetJob as State;

describe('statemachines/datasets.asl.json', () => {
  it('is valid ASL, JSONPath only', () => {
    const result = validateAsl(definition);
    expect(result.errors, result.errorsText('\n')).toEqual([]);
    expect(text).not.toMatch(/JSONata/);
  });

  it('invokes exactly its manifest’s functions', () => {
    const functions = allStates(definition.States)
      .map(([, state]) => state.Parameters?.FunctionName)
      .filter((name): name is string => name !== undefined);
    expect([...new Set(functions)].sort()).toEqual(
      TASK_FUNCTIONS.datasets.map((placeholder) => `\${${placeholder}}`).sort(),
    );
  });

  it('runs the job a slice at a time: the step again while it answers continue, then done', () => {
    expect(definition.StartAt).toBe('RunDatasetJob');
    expect(run.Parameters?.Payload).toEqual({ 'tenant.$': '$.tenant', 'jobId.$': '$.jobId' });
    expect(run.Next).toBe('Continue');
    const loop = definition.States.Continue as State;
    expect(loop.Type).toBe('Choice');
    expect(loop.Choices).toEqual([
      { Variable: '$.outcome.status', StringEquals: 'continue', Next: 'RunDatasetJob' },
    ]);
    expect(definition.States[loop.Default ?? '']?.Type).toBe('Succeed');
  });

  it('gives a slice Lambda’s 15 minutes and the whole job a day', () => {
    expect(run.TimeoutSeconds).toBe(900);
    expect(definition.TimeoutSeconds).toBe(86_400);
  });

  it('retries Lambda’s own errors on every task, and a failed slice twice more from its progress', () => {
    for (const [path, state] of allStates(definition.States)) {
      if (state.Type !== 'Task') continue;
      expect(state.Retry?.[0]?.ErrorEquals, path).toEqual(LAMBDA_ERRORS);
    }
    expect(run.Retry?.[1]).toMatchObject({ ErrorEquals: ['States.TaskFailed'], MaxAttempts: 2 });
  });

  it('sends a failure of the step to FailJob, which records it and fails the execution', () => {
    expect(run.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'FailJob' }]);
    const failJob = definition.States.FailJob as State;
    expect(failJob.Parameters?.Payload).toEqual({
      'tenant.$': '$.tenant',
      'jobId.$': '$.jobId',
      'error.$': '$.error',
    });
    expect(failJob.Next).toBe('DatasetJobFailed');
    expect(failJob.Catch?.[0]?.Next).toBe('DatasetJobFailed');
    expect(definition.States.DatasetJobFailed?.Type).toBe('Fail');
  });
});
