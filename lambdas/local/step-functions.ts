/**
 * The batch workflow on the local platform: aws-local-stepfunctions executes the very file in
 * statemachines/, with each Task bound to the task function of the handler module Lambda runs.
 * An execution that ends FAILED, TIMED_OUT or ABORTED is handed to the reconciler, as the
 * EventBridge rule does in the cloud.
 */
import { ExecutionAbortedError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import { allStates, readDefinition, substitute, TASK_FUNCTIONS } from '../../statemachines/definitions.ts';
import type { BatchExecutionInput, BatchWorkflow } from '../domain/ports.ts';
import type { ExecutionStatusChangeEvent } from '../handlers/reconciler.ts';
import { failJobTask } from '../handlers/workflow/fail-job.ts';
import { finishBatchTask } from '../handlers/workflow/finish-batch.ts';
import { runJobTask } from '../handlers/workflow/run-job.ts';
import { startBatchTask } from '../handlers/workflow/start-batch.ts';
import type { Runtime } from '../runtime.ts';
import { logger } from '../shared/logger.ts';

// biome-ignore lint/suspicious/noExplicitAny: task events are typed by each task function.
export type TaskFunction = (runtime: Runtime, event: any) => Promise<unknown>;

/** Placeholder -> the task function Lambda runs behind that function ARN. */
export const LOCAL_TASK_FUNCTIONS: Record<(typeof TASK_FUNCTIONS.generationBatch)[number], TaskFunction> = {
  StartBatchFunctionArn: startBatchTask,
  RunJobFunctionArn: runJobTask,
  FailJobFunctionArn: failJobTask,
  FinishBatchFunctionArn: finishBatchTask,
};

const LOCAL_ARN_PREFIX = 'arn:aws:states:us-east-1:000000000000';
const STATE_MACHINE_NAME = 'synthforge-generation-batch';
const localFunctionName = (placeholder: string) =>
  `synthforge-local-${placeholder.replace(/FunctionArn$/, '')}`;

export interface ExecutionRecord {
  executionId: string;
  input: BatchExecutionInput & { maxConcurrency: number };
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  /** Billable transitions: states entered, as Step Functions counts them. */
  statesEntered: number;
  done: Promise<void>;
  abort: () => void;
}

export interface LocalBatchWorkflowOptions {
  maxConcurrency: number;
  /** Called for every execution that closes FAILED, TIMED_OUT or ABORTED. */
  onClosedAbnormally: (event: ExecutionStatusChangeEvent) => Promise<unknown>;
  /** Milliseconds between retries (Step Functions waits seconds; locally there is no reason to). */
  retryIntervalMs?: number;
  /** Fault injection for tests: wraps the task function bound to a placeholder. */
  wrapTask?: (placeholder: string, task: TaskFunction) => TaskFunction;
}

export class LocalBatchWorkflow implements BatchWorkflow {
  readonly executions = new Map<string, ExecutionRecord>();
  #runtime: Runtime | undefined;
  #shuttingDown = false;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #machine: StateMachine;
  readonly #handlers: Record<string, (input: unknown) => Promise<unknown>>;

  constructor(private readonly options: LocalBatchWorkflowOptions) {
    const names = Object.fromEntries(TASK_FUNCTIONS.generationBatch.map((p) => [p, localFunctionName(p)]));
    const definition = JSON.parse(substitute(readDefinition('generationBatch'), names));
    this.#machine = new StateMachine(definition, { validationOptions: { checkArn: false } });
    const byFunctionName = new Map(
      Object.entries(LOCAL_TASK_FUNCTIONS).map(([placeholder, task]) => [
        localFunctionName(placeholder),
        options.wrapTask ? options.wrapTask(placeholder, task) : task,
      ]),
    );
    // Every Task state is a lambda:invoke; the override plays Lambda: it calls the task function
    // with the Payload and wraps the answer in the same {Payload} envelope.
    this.#handlers = Object.fromEntries(
      allStates(definition.States)
        .filter(([, state]) => state.Type === 'Task')
        .map(([path]) => [
          path.split('/').pop() as string,
          async (input: unknown) => {
            const { FunctionName, Payload } = input as { FunctionName: string; Payload: unknown };
            const task = byFunctionName.get(FunctionName);
            if (!task) throw new Error(`no local function ${FunctionName}`);
            // Tracked: an aborted execution does not stop the task it was running (nor does Lambda's),
            // and a shutdown must let it finish before the emulators close under it.
            const running = task(this.runtime, Payload);
            this.#inFlight.add(running);
            try {
              return { Payload: (await running) ?? null, StatusCode: 200 };
            } finally {
              this.#inFlight.delete(running);
            }
          },
        ]),
    );
  }

  /** The runtime is created after the workflow (it needs the workflow); the platform binds it here. */
  bind(runtime: Runtime): void {
    this.#runtime = runtime;
  }

  private get runtime(): Runtime {
    if (!this.#runtime) throw new Error('LocalBatchWorkflow used before bind(runtime)');
    return this.#runtime;
  }

  async start(input: BatchExecutionInput): Promise<{ executionId: string }> {
    const executionId = `${LOCAL_ARN_PREFIX}:execution:${STATE_MACHINE_NAME}:${input.batchId}`;
    const existing = this.executions.get(executionId);
    // Named after the batch, like StartExecution: starting it again while it runs is a no-op.
    if (existing && existing.status === 'RUNNING') return { executionId };
    const fullInput = { ...input, maxConcurrency: this.options.maxConcurrency };
    const run = this.#machine.run(fullInput as never, {
      overrides: {
        taskResourceLocalHandlers: this.#handlers as never,
        retryIntervalOverrides: Object.fromEntries(
          Object.keys(this.#handlers).map((state) => [state, this.options.retryIntervalMs ?? 10]),
        ),
      },
      context: { Execution: { Id: executionId, Name: input.batchId } },
    });
    const record: ExecutionRecord = {
      executionId,
      input: fullInput,
      status: 'RUNNING',
      statesEntered: 0,
      abort: run.abort,
      done: Promise.resolve(),
    };
    record.done = this.#follow(record, run);
    this.executions.set(executionId, record);
    return { executionId };
  }

  async stop(executionId: string): Promise<void> {
    const record = this.executions.get(executionId);
    if (record?.status === 'RUNNING') record.abort();
  }

  /**
   * Stops every running execution because the platform is stopping. Unlike a user's cancel, these
   * are not reconciled: their batches stay open and the next start resumes them.
   */
  async shutdown(graceMs = 5_000): Promise<void> {
    this.#shuttingDown = true;
    for (const record of this.executions.values()) if (record.status === 'RUNNING') record.abort();
    const settled = Promise.all([this.idle(), Promise.allSettled([...this.#inFlight])]);
    await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
  }

  /** Resolves when every execution started so far has closed. */
  async idle(): Promise<void> {
    await Promise.all([...this.executions.values()].map((record) => record.done));
  }

  async #follow(record: ExecutionRecord, run: ReturnType<StateMachine['run']>): Promise<void> {
    const counting = (async () => {
      for await (const event of run.eventLogs) if (event.type === 'StateEntered') record.statesEntered++;
    })();
    let error: string | undefined;
    let cause: string | undefined;
    try {
      await run.result;
      record.status = 'SUCCEEDED';
    } catch (failure) {
      record.status =
        failure instanceof ExecutionAbortedError
          ? 'ABORTED'
          : failure instanceof ExecutionTimeoutError
            ? 'TIMED_OUT'
            : 'FAILED';
      error = (failure as Error).name;
      cause = (failure as Error).message;
    }
    await counting.catch(() => undefined);
    if (record.status === 'SUCCEEDED' || this.#shuttingDown) return;
    try {
      await this.options.onClosedAbnormally({
        version: '0',
        id: `local-${record.input.batchId}`,
        'detail-type': 'Step Functions Execution Status Change',
        source: 'aws.states',
        account: '000000000000',
        time: new Date().toISOString(),
        region: 'us-east-1',
        resources: [record.executionId],
        detail: {
          executionArn: record.executionId,
          status: record.status,
          input: JSON.stringify(record.input),
          ...(error ? { error } : {}),
          ...(cause ? { cause } : {}),
        },
      });
    } catch (failure) {
      logger.error('reconciler failed on a closed execution', {
        error: failure as Error,
        executionId: record.executionId,
      });
    }
  }
}
