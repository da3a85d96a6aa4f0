import { type SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import type { ExecutionInput, Workflow } from '../../domain/ports.ts';

export interface StepFunctionsWorkflowOptions<I extends ExecutionInput> {
  /** `arn:<partition>:states:<region>:<account>:stateMachine:<name>` */
  stateMachineArn: string;
  /** The job an input runs: its id names the execution. */
  jobIdOf: (input: I) => string;
  /** How many items of a batch the Map state runs at once (machines without a Map: 1). */
  maxConcurrency: number;
}

/** Step Functions caps `cause` at 32,768 characters. */
const MAX_CAUSE_CHARS = 32_768;

/**
 * Runs each job (a batch, a training run) as one execution named after it. Step Functions refuses a
 * second execution of the same name, which is what makes `start` idempotent across retries and
 * duplicate deliveries. The document the machine reads is the input and `maxConcurrency`.
 */
export class StepFunctionsWorkflow<I extends ExecutionInput> implements Workflow<I> {
  readonly #stateMachineArn: string;
  readonly #jobIdOf: (input: I) => string;
  readonly #maxConcurrency: number;

  constructor(
    private readonly sfn: SFNClient,
    options: StepFunctionsWorkflowOptions<I>,
  ) {
    executionArnPrefix(options.stateMachineArn);
    if (!Number.isInteger(options.maxConcurrency) || options.maxConcurrency < 1) {
      throw new RangeError('maxConcurrency must be a positive integer');
    }
    this.#stateMachineArn = options.stateMachineArn;
    this.#jobIdOf = options.jobIdOf;
    this.#maxConcurrency = options.maxConcurrency;
  }

  async start(input: I): Promise<{ executionId: string }> {
    const jobId = this.#jobIdOf(input);
    const document = { ...input, maxConcurrency: this.#maxConcurrency };
    try {
      const output = await this.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: this.#stateMachineArn,
          name: jobId,
          input: JSON.stringify(document),
        }),
      );
      return { executionId: output.executionArn ?? this.#executionArn(jobId) };
    } catch (error) {
      // The job's execution exists already (closed, or open with an input that differs, e.g. after
      // a configuration change): it is this job's execution either way, and no second one may start.
      if (error instanceof Error && error.name === 'ExecutionAlreadyExists') {
        return { executionId: this.#executionArn(jobId) };
      }
      throw error;
    }
  }

  executionIdOf(jobId: string): string {
    return this.#executionArn(jobId);
  }

  stop(executionId: string, cause: string): Promise<void> {
    return stopExecution(this.sfn, executionId, cause);
  }

  #executionArn(executionName: string): string {
    return `${executionArnPrefix(this.#stateMachineArn)}${executionName}`;
  }
}

/**
 * Stops an execution by its ARN, whichever state machine it belongs to: a cancel needs no state
 * machine ARN. One that does not exist (any more) is stopped already.
 */
export async function stopExecution(sfn: SFNClient, executionArn: string, cause: string): Promise<void> {
  try {
    await sfn.send(new StopExecutionCommand({ executionArn, cause: cause.slice(0, MAX_CAUSE_CHARS) }));
  } catch (error) {
    if (error instanceof Error && error.name === 'ExecutionDoesNotExist') return;
    throw error;
  }
}

/**
 * Execution ARNs are the state machine's ARN with `execution` for `stateMachine`, plus the name:
 * building one needs no DescribeExecution call and no extra permission.
 */
function executionArnPrefix(stateMachineArn: string): string {
  const parts = stateMachineArn.split(':');
  if (parts.length !== 7 || parts[0] !== 'arn' || parts[2] !== 'states' || parts[5] !== 'stateMachine') {
    throw new RangeError(`not a state machine ARN: ${stateMachineArn}`);
  }
  return `${[...parts.slice(0, 5), 'execution', parts[6]].join(':')}:`;
}
