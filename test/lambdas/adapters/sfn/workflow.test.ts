import {
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  SFNClient,
  StartExecutionCommand,
  type StartExecutionCommandInput,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { StepFunctionsWorkflow } from '../../../../lambdas/adapters/sfn/workflow.ts';
import type { BatchExecutionInput } from '../../../../lambdas/domain/ports.ts';

const STATE_MACHINE_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:synthforge-generation-batch';
const sfnMock = mockClient(SFNClient);

/**
 * StartExecution as Step Functions documents it for standard workflows: the same name and input while
 * the execution is open returns the same ARN; another input, or any start after it closed, fails with
 * ExecutionAlreadyExists.
 */
function fakeStepFunctions() {
  const executions = new Map<string, { arn: string; input: string; open: boolean }>();
  sfnMock.on(StartExecutionCommand).callsFake((input: StartExecutionCommandInput) => {
    const name = input.name ?? '';
    const existing = executions.get(name);
    if (existing === undefined) {
      const arn = `arn:aws:states:eu-west-1:123456789012:execution:synthforge-generation-batch:${name}`;
      executions.set(name, { arn, input: input.input ?? '', open: true });
      return { executionArn: arn, startDate: new Date() };
    }
    if (existing.open && existing.input === input.input)
      return { executionArn: existing.arn, startDate: new Date() };
    throw new ExecutionAlreadyExists({
      message: `Execution Already Exists: '${existing.arn}'`,
      $metadata: {},
    });
  });
  return executions;
}

function workflow(maxConcurrency = 4): StepFunctionsWorkflow<BatchExecutionInput> {
  return new StepFunctionsWorkflow<BatchExecutionInput>(new SFNClient({ region: 'eu-west-1' }), {
    stateMachineArn: STATE_MACHINE_ARN,
    jobIdOf: (input) => input.batchId,
    maxConcurrency,
  });
}

const BATCH = {
  tenant: 'acme',
  batchId: '01JD3X2K8Q7YV4N6B5M9T0RWZC',
  items: [{ jobId: '01JD3X2K8Q7YV4N6B5M9T0RWZD' }, { jobId: '01JD3X2K8Q7YV4N6B5M9T0RWZE' }],
};
const EXECUTION_ARN = `arn:aws:states:eu-west-1:123456789012:execution:synthforge-generation-batch:${BATCH.batchId}`;

describe('StepFunctionsWorkflow', () => {
  beforeEach(() => {
    sfnMock.reset();
  });

  it('starts one execution named after the batch, with the input the state machine reads', async () => {
    // Prepare
    fakeStepFunctions();

    // Act
    const started = await workflow(6).start(BATCH);

    // Assess
    expect(started).toStrictEqual({ executionId: EXECUTION_ARN });
    expect(sfnMock).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: STATE_MACHINE_ARN,
      name: BATCH.batchId,
    });
    const input = JSON.parse(sfnMock.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? '{}');
    expect(input).toStrictEqual({
      tenant: 'acme',
      batchId: BATCH.batchId,
      maxConcurrency: 6,
      items: BATCH.items,
    });
  });

  it('knows the ARN of a batch execution before starting it, without asking Step Functions', async () => {
    // Prepare
    fakeStepFunctions();
    const batches = workflow();

    // Act
    const expected = batches.executionIdOf(BATCH.batchId);
    const calledBeforeStart = sfnMock.calls().length;
    const started = await batches.start(BATCH);

    // Assess
    expect(calledBeforeStart).toBe(0);
    expect(expected).toBe(started.executionId);
  });

  it('keeps one execution across 1,000 replayed starts, before and after it closed', async () => {
    // Prepare
    const executions = fakeStepFunctions();
    const batches = workflow();

    // Act
    const whileOpen = await Promise.all(Array.from({ length: 500 }, () => batches.start(BATCH)));
    const execution = executions.get(BATCH.batchId);
    if (execution) execution.open = false;
    const afterClose = await Promise.all(Array.from({ length: 500 }, () => batches.start(BATCH)));

    // Assess
    expect(executions.size).toBe(1);
    expect(new Set([...whileOpen, ...afterClose].map((started) => started.executionId))).toStrictEqual(
      new Set([EXECUTION_ARN]),
    );
  });

  it('returns the existing execution when the batch is started again with another input', async () => {
    // Prepare
    const executions = fakeStepFunctions();
    await workflow(4).start(BATCH);

    // Act
    const restarted = await workflow(8).start(BATCH);

    // Assess
    expect(restarted).toStrictEqual({ executionId: EXECUTION_ARN });
    expect(executions.size).toBe(1);
  });

  it('passes on failures other than an existing execution', async () => {
    // Prepare
    sfnMock
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    // Act
    const starting = workflow().start(BATCH);

    // Assess
    await expect(starting).rejects.toThrow('Rate exceeded');
  });

  it('stops an execution with the cause, and ignores one that does not exist', async () => {
    // Prepare
    sfnMock
      .on(StopExecutionCommand)
      .resolvesOnce({ stopDate: new Date() })
      .rejectsOnce(new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} }));
    const batches = workflow();

    // Act
    await batches.stop(EXECUTION_ARN, 'cancelled by the user');
    const stoppingMissing = batches.stop(`${EXECUTION_ARN}-gone`, 'cancelled by the user');

    // Assess
    await expect(stoppingMissing).resolves.toBeUndefined();
    expect(sfnMock).toHaveReceivedCommandWith(StopExecutionCommand, {
      executionArn: EXECUTION_ARN,
      cause: 'cancelled by the user',
    });
  });

  it('refuses a configuration whose ARN is not a state machine', () => {
    // Act
    const building = () =>
      new StepFunctionsWorkflow<BatchExecutionInput>(new SFNClient({ region: 'eu-west-1' }), {
        stateMachineArn: 'arn:aws:lambda:eu-west-1:123456789012:function:run-job',
        jobIdOf: (input) => input.batchId,
        maxConcurrency: 4,
      });

    // Assess
    expect(building).toThrow(RangeError);
  });
});
