import { type SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import type { BatchExecutionInput, BatchWorkflow } from '../../domain/ports.ts';

export interface StepFunctionsBatchWorkflowOptions {
  /** `arn:<partition>:states:<region>:<account>:stateMachine:<name>` */
  stateMachineArn: string;
  /** How many items of a batch the Map state runs at once. */
  maxConcurrency: number;
  /** Constant fields every execution input carries (the image workflow's `heartbeatSeconds`, `timeoutSeconds`). */
  settings?: Readonly<Record<string, number>>;
}

/** The execution input the batch state machine reads (statemachines/generation-batch.asl.json). */
export interface BatchExecutionDocument extends BatchExecutionInput {
  maxConcurrency: number;
}

/** Step Functions caps `cause` at 32,768 characters. */
const MAX_CAUSE_CHARS = 32_768;

/**
 * Runs each batch as one execution named after the batch. Step Functions refuses a second execution
 * of the same name, which is what makes `start` idempotent across retries and duplicate deliveries.
 */
export class StepFunctionsBatchWorkflow implements BatchWorkflow {
  readonly #stateMachineArn: string;
  readonly #maxConcurrency: number;
  readonly #settings: Readonly<Record<string, number>>;

  constructor(
    private readonly sfn: SFNClient,
    options: StepFunctionsBatchWorkflowOptions,
  ) {
    executionArnPrefix(options.stateMachineArn);
    if (!Number.isInteger(options.maxConcurrency) || options.maxConcurrency < 1) {
      throw new RangeError('maxConcurrency must be a positive integer');
    }
    this.#stateMachineArn = options.stateMachineArn;
    this.#maxConcurrency = options.maxConcurrency;
    this.#settings = options.settings ?? {};
  }

  async start(input: BatchExecutionInput): Promise<{ executionId: string }> {
    const document: BatchExecutionDocument = {
      ...this.#settings,
      tenant: input.tenant,
      batchId: input.batchId,
      maxConcurrency: this.#maxConcurrency,
      items: input.items,
    };
    try {
      const output = await this.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: this.#stateMachineArn,
          name: input.batchId,
          input: JSON.stringify(document),
        }),
      );
      return { executionId: output.executionArn ?? this.#executionArn(input.batchId) };
    } catch (error) {
      // The batch's execution exists already (closed, or open with an input that differs, e.g. after
      // a configuration change): it is this batch's execution either way, and no second one may start.
      if (error instanceof Error && error.name === 'ExecutionAlreadyExists') {
        return { executionId: this.#executionArn(input.batchId) };
      }
      throw error;
    }
  }

  executionIdOf(batchId: string): string {
    return this.#executionArn(batchId);
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
