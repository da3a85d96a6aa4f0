/**
 * A state machine on the local platform: aws-local-stepfunctions executes the very file in
 * statemachines/, with each Task bound to the task function of the handler module Lambda runs (its
 * family's `tasks`, lambdas/families/<name>/family.ts).
 * An execution that ends FAILED, TIMED_OUT or ABORTED is handed to the reconciler, as the
 * EventBridge rule does in the cloud.
 */

import { ExecutionAbortedError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import {
  allStates,
  machineNameOf,
  readDefinition,
  SERVICE_SUBSTITUTIONS,
  type StateMachineName,
  substitute,
  TASK_FUNCTIONS,
} from '../../../statemachines/definitions.ts';
import type { ExecutionInput, Workflow } from '../../domain/ports.ts';
import type { TaskFunction } from '../../families/family.ts';
import type { ExecutionStatusChangeEvent } from '../../handlers/reconciler.ts';
import { logger } from '../../shared/logger.ts';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../support/local-aws.ts';
import type { LocalTaskTokens } from './task-tokens.ts';

export type { TaskFunction };

/**
 * `machine`'s definition with the local platform's substitutions, as the local runner executes it:
 * each function placeholder names a local function, each service placeholder the value its family
 * gives locally (`serviceValues`; the local services ignore them, but the definition must name
 * something of the right shape).
 */
export function localDefinition(
  machine: StateMachineName,
  serviceValues: Readonly<Record<string, string>> = {},
) {
  const names = {
    ...Object.fromEntries(TASK_FUNCTIONS[machine].map((p) => [p, localFunctionName(p)])),
    ...Object.fromEntries(SERVICE_SUBSTITUTIONS[machine].map((p) => [p, serviceValues[p] ?? p])),
  };
  return JSON.parse(substitute(readDefinition(machine), names));
}

/** A Task state's service integration other than Lambda, as the local platform plays it. */
export type ServiceTask = (parameters: Record<string, unknown>) => Promise<unknown>;

const LOCAL_ARN_PREFIX = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}`;
const localFunctionName = (placeholder: string) =>
  `synthforge-local-${placeholder.replace(/FunctionArn$/, '')}`;

export interface ExecutionRecord<I extends ExecutionInput = ExecutionInput> {
  executionId: string;
  /** The job the execution runs (its name). */
  jobId: string;
  input: I & { maxConcurrency: number };
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  /** Billable transitions: states entered, as Step Functions counts them. */
  statesEntered: number;
  done: Promise<void>;
  abort: () => void;
}

export interface LocalWorkflowOptions<I extends ExecutionInput, R> {
  /** Which machine of statemachines/ this runs. */
  machine: StateMachineName;
  /** The task function behind each of the machine's function placeholders (its family's). */
  tasks: Readonly<Record<string, TaskFunction<R>>>;
  /** The local values of the machine's service placeholders (a role, an image: ignored locally). */
  serviceValues?: Readonly<Record<string, string>>;
  /** The job an input runs: its id names the execution, as deployed. */
  jobIdOf: (input: I) => string;
  maxConcurrency: number;
  /**
   * The runtime the task functions run on. The platform builds it after its runners (it needs them),
   * so it is read on each call; one read before then throws.
   */
  runtime: () => R;
  /** Called for every execution that closes FAILED, TIMED_OUT or ABORTED. */
  onClosedAbnormally: (event: ExecutionStatusChangeEvent) => Promise<unknown>;
  /** Milliseconds between retries (Step Functions waits seconds; locally there is no reason to). */
  retryIntervalMs?: number;
  /** Fault injection for tests: wraps the task function bound to a placeholder. */
  wrapTask?: (placeholder: string, task: TaskFunction<R>) => TaskFunction<R>;
  /** Where `.waitForTaskToken` steps wait. Needed by machines that have one. */
  tokens?: LocalTaskTokens;
  /** Multiplies every HeartbeatSeconds (tests: a lost heartbeat in milliseconds, not minutes). */
  heartbeatScale?: number;
  /**
   * Service integrations by resource, without `arn:aws:states:::` (`sagemaker:createTrainingJob.sync`):
   * called with the state's resolved Parameters; what they answer is the step's result.
   */
  services?: Readonly<Record<string, ServiceTask>>;
  /**
   * Called when an execution is stopped (cancel): Step Functions stops the job a `.sync` step was
   * waiting for, which the local service must do too.
   */
  onStop?: (input: I) => Promise<void>;
}

export class LocalWorkflow<I extends ExecutionInput, R> implements Workflow<I> {
  readonly executions = new Map<string, ExecutionRecord<I>>();
  #shuttingDown = false;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #machine: StateMachine;
  readonly #handlers: Record<string, (input: unknown) => Promise<unknown>>;
  /** Every Task state retries after `retryIntervalMs`. */
  readonly #retryIntervals: Record<string, number>;

  readonly #machineName: string;
  /** The definition it runs: the file in statemachines/ with the local substitutions. */
  readonly definition: { States: Record<string, { Type: string }> };

  constructor(private readonly options: LocalWorkflowOptions<I, R>) {
    const machine = options.machine;
    this.#machineName = machineNameOf(machine);
    const definition = localDefinition(machine, options.serviceValues);
    this.definition = definition;
    // Not validated here: asl-validator compiles its whole JSON schema on every call, which cost the
    // start about 0.7 s for three machines. The definitions are files of the repository, checked
    // as substituted here by the tests (test/lambdas/local/stepfunctions/runner.test.ts).
    this.#machine = new StateMachine(definition, { validationOptions: { noValidate: true } });
    const byFunctionName = new Map(
      Object.entries(options.tasks).map(([placeholder, task]) => [
        localFunctionName(placeholder),
        options.wrapTask ? options.wrapTask(placeholder, task) : task,
      ]),
    );
    // Every Task state is a lambda:invoke; the override plays Lambda: it calls the task function
    // with the Payload and wraps the answer in the same {Payload} envelope.
    this.#handlers = Object.fromEntries(
      allStates(definition.States)
        .filter(([, state]) => state.Type === 'Task')
        .map(([path, state]) => {
          const { Resource: resource = '', HeartbeatSeconds: heartbeatSeconds } = state as {
            Resource?: string;
            HeartbeatSeconds?: number;
          };
          const invokesLambda = resource.startsWith('arn:aws:states:::lambda:');
          const waitsForToken = resource.endsWith('.waitForTaskToken');
          return [
            path.split('/').pop() as string,
            async (input: unknown) => {
              if (!invokesLambda) return this.#runService(resource, input);
              const { FunctionName, Payload } = input as { FunctionName: string; Payload: unknown };
              const task = byFunctionName.get(FunctionName);
              if (!task) throw new Error(`no local function ${FunctionName}`);
              if (waitsForToken) {
                const waited = this.#invokeAndWait(
                  task,
                  Payload as Record<string, unknown>,
                  heartbeatSeconds,
                );
                // An aborted execution stops listening to its steps: the rejection is observed here.
                waited.catch(() => undefined);
                return waited;
              }
              // Tracked: an aborted execution does not stop the task it was running (nor does Lambda's),
              // and a shutdown must let it finish before the emulators close under it.
              const running = task(this.options.runtime(), Payload);
              this.#inFlight.add(running);
              try {
                return { Payload: (await running) ?? null, StatusCode: 200 };
              } finally {
                this.#inFlight.delete(running);
              }
            },
          ];
        }),
    );
    this.#retryIntervals = Object.fromEntries(
      Object.keys(this.#handlers).map((state) => [state, options.retryIntervalMs ?? 10]),
    );
  }

  /**
   * A `.waitForTaskToken` step: a fresh token replaces the one the definition passed (the local
   * runner has no `$$.Task.Token`), the function runs, and the step's output is what the token brings
   * back; without a heartbeat for the step's HeartbeatSeconds it fails (`heartbeatScale` shortens
   * that for tests).
   */
  async #invokeAndWait(
    task: TaskFunction<R>,
    payload: Record<string, unknown>,
    heartbeatSeconds: number | undefined,
  ): Promise<unknown> {
    const tokens = this.options.tokens;
    if (!tokens) throw new Error('this machine has a waitForTaskToken step but the workflow has no tokens');
    const heartbeatMs =
      heartbeatSeconds === undefined
        ? undefined
        : heartbeatSeconds * 1000 * (this.options.heartbeatScale ?? 1);
    const { token, output } = tokens.wait(heartbeatMs);
    output.catch(() => undefined);
    const running = task(this.options.runtime(), { ...payload, taskToken: token });
    this.#inFlight.add(running);
    try {
      await running;
    } catch (error) {
      // The function failed: the step fails with its error, and nothing will send the token back.
      await tokens.fail(token, (error as Error).name, (error as Error).message).catch(() => undefined);
    } finally {
      this.#inFlight.delete(running);
    }
    return output;
  }

  /** A service integration step: tracked like a task, so that a shutdown waits for it to end. */
  async #runService(resource: string, parameters: unknown): Promise<unknown> {
    const name = resource.replace(/^arn:aws:states:::/, '');
    const service = this.options.services?.[name];
    if (!service) throw new Error(`no local service plays ${resource}`);
    const running = service(parameters as Record<string, unknown>);
    this.#inFlight.add(running);
    try {
      return await running;
    } finally {
      this.#inFlight.delete(running);
    }
  }

  executionIdOf(jobId: string): string {
    return `${LOCAL_ARN_PREFIX}:execution:${this.#machineName}:${jobId}`;
  }

  async start(input: I): Promise<{ executionId: string }> {
    const jobId = this.options.jobIdOf(input);
    const executionId = this.executionIdOf(jobId);
    const existing = this.executions.get(executionId);
    // Named after its job, like StartExecution: starting it again while it runs is a no-op.
    if (existing && existing.status === 'RUNNING') return { executionId };
    const fullInput = { ...input, maxConcurrency: this.options.maxConcurrency };
    const run = this.#machine.run(fullInput as never, {
      overrides: {
        taskResourceLocalHandlers: this.#handlers as never,
        retryIntervalOverrides: this.#retryIntervals,
      },
      // `$$.Task.Token` must resolve; each waiting step gets its own token in #invokeAndWait.
      context: { Execution: { Id: executionId, Name: jobId }, Task: { Token: 'replaced-per-step' } },
    });
    const record: ExecutionRecord<I> = {
      executionId,
      jobId,
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

  /**
   * StopExecution: answers at once, as Step Functions does, and stops what a `.sync` step waits for
   * (a training job) in the background; a shutdown waits for that like any task in flight.
   */
  async stop(executionId: string): Promise<void> {
    const record = this.executions.get(executionId);
    if (record?.status !== 'RUNNING') return;
    record.abort();
    const onStop = this.options.onStop;
    if (!onStop) return;
    const stopping = onStop(record.input).catch((error: unknown) =>
      logger.error('stopping the work of a stopped execution failed', {
        executionId,
        error: error as Error,
      }),
    );
    this.#inFlight.add(stopping);
    void stopping.finally(() => this.#inFlight.delete(stopping));
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

  async #follow(record: ExecutionRecord<I>, run: ReturnType<StateMachine['run']>): Promise<void> {
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
    logger.warn('a local execution closed abnormally', {
      executionId: record.executionId,
      status: record.status,
      error,
      cause,
    });
    try {
      await this.options.onClosedAbnormally({
        version: '0',
        id: `local-${record.jobId}`,
        'detail-type': 'Step Functions Execution Status Change',
        source: 'aws.states',
        account: LOCAL_ACCOUNT_ID,
        time: new Date().toISOString(),
        region: LOCAL_REGION,
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
