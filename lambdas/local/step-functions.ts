/**
 * The batch workflow on the local platform: aws-local-stepfunctions executes the very file in
 * statemachines/, with each Task bound to the task function of the handler module Lambda runs.
 * An execution that ends FAILED, TIMED_OUT or ABORTED is handed to the reconciler, as the
 * EventBridge rule does in the cloud.
 */

import { randomUUID } from 'node:crypto';
import { ExecutionAbortedError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import {
  allStates,
  machineNameOf,
  readDefinition,
  SERVICE_SUBSTITUTIONS,
  type StateMachineName,
  substitute,
  TASK_FUNCTIONS,
} from '../../statemachines/definitions.ts';
import type { ExecutionInput, TaskCallbacks, Workflow } from '../domain/ports.ts';
import type { ExecutionStatusChangeEvent } from '../handlers/reconciler.ts';
import { failJobTask } from '../handlers/workflow/fail-job.ts';
import { finishBatchTask } from '../handlers/workflow/finish-batch.ts';
import { invokeModelTask } from '../handlers/workflow/invoke-model.ts';
import { prepareTrainingTask } from '../handlers/workflow/prepare-training.ts';
import { recordTrainingTask } from '../handlers/workflow/record-training.ts';
import { runJobTask } from '../handlers/workflow/run-job.ts';
import { startBatchTask } from '../handlers/workflow/start-batch.ts';
import type { Runtime } from '../runtime.ts';
import { logger } from '../shared/logger.ts';

// biome-ignore lint/suspicious/noExplicitAny: task events are typed by each task function.
export type TaskFunction = (runtime: Runtime, event: any) => Promise<unknown>;

type Placeholder = (typeof TASK_FUNCTIONS)[StateMachineName][number];

/** Placeholder -> the task function Lambda runs behind that function ARN. */
export const LOCAL_TASK_FUNCTIONS: Record<Placeholder, TaskFunction> = {
  StartBatchFunctionArn: startBatchTask,
  RunJobFunctionArn: runJobTask,
  InvokeModelFunctionArn: invokeModelTask,
  FailJobFunctionArn: failJobTask,
  FinishBatchFunctionArn: finishBatchTask,
  PrepareTrainingFunctionArn: prepareTrainingTask,
  RecordTrainingFunctionArn: recordTrainingTask,
};

/**
 * The values of the non-Lambda substitutions locally: the training host runs the trainer from the
 * working tree and ignores the role and image, but the definition must name something of the
 * right shape.
 */
const LOCAL_SERVICE_VALUES: Record<string, string> = {
  TrainingRoleArn: 'arn:aws:iam::000000000000:role/synthforge-local-training',
  TrainerImageUri: '000000000000.dkr.ecr.us-east-1.amazonaws.com/synthforge-trainer:local',
  // Script mode's code channel and hyperparameters (lib/constructs/training-workflow.ts): the local
  // host reads only the train channel and runs the trainer from the working tree, which logs the two
  // sagemaker_* hyperparameters as unknown and ignores them.
  TrainerEntryPoint: 'sagemaker_entry.py',
  TrainerSourcePath: '/opt/ml/input/data/code/sourcedir.tar.gz',
  TrainerSourceUri: 's3://synthforge-local-assets/trainer/sourcedir.tar.gz',
};

/** `machine`'s definition with the local platform's substitutions, as the local runner executes it. */
export function localDefinition(machine: StateMachineName) {
  const names = {
    ...Object.fromEntries(TASK_FUNCTIONS[machine].map((p) => [p, localFunctionName(p)])),
    ...Object.fromEntries(SERVICE_SUBSTITUTIONS[machine].map((p) => [p, LOCAL_SERVICE_VALUES[p] ?? p])),
  };
  return JSON.parse(substitute(readDefinition(machine), names));
}

/** A Task state's service integration other than Lambda, as the local platform plays it. */
export type ServiceTask = (parameters: Record<string, unknown>) => Promise<unknown>;

const LOCAL_ARN_PREFIX = 'arn:aws:states:us-east-1:000000000000';
const localFunctionName = (placeholder: string) =>
  `synthforge-local-${placeholder.replace(/FunctionArn$/, '')}`;

/** A step waiting on a task token; what resumes it. */
interface WaitingTask {
  resolve: (output: unknown) => void;
  reject: (error: Error) => void;
  heartbeatMs: number | undefined;
  timer: NodeJS.Timeout | undefined;
}

const namedError = (name: string, message: string) => Object.assign(new Error(message), { name });

/**
 * Step Functions' callback pattern, locally: a `.waitForTaskToken` step registers its token here and
 * waits; `succeed` / `fail` / `heartbeat` are SendTaskSuccess / Failure / Heartbeat. A step that
 * hears nothing for its HeartbeatSeconds fails with `States.HeartbeatTimeout`, as in AWS
 * (aws-local-stepfunctions runs neither the callback pattern nor heartbeats itself).
 */
export class LocalTaskTokens implements TaskCallbacks {
  readonly #waiting = new Map<string, WaitingTask>();

  /** A new token and the promise of the step's output. */
  wait(heartbeatMs: number | undefined): { token: string; output: Promise<unknown> } {
    const token = `local-task-token-${randomUUID()}`;
    const output = new Promise<unknown>((resolve, reject) => {
      const waiting: WaitingTask = { resolve, reject, heartbeatMs, timer: undefined };
      this.#waiting.set(token, waiting);
      this.#arm(token, waiting);
    });
    return { token, output };
  }

  async succeed(token: string, output: Record<string, unknown>): Promise<void> {
    this.#take(token).resolve(output);
  }

  async fail(token: string, error: string, cause: string): Promise<void> {
    this.#take(token).reject(namedError(error, cause));
  }

  async heartbeat(token: string): Promise<void> {
    const waiting = this.#waiting.get(token);
    if (!waiting) throw namedError('TaskTimedOut', `task token ${token} is not waiting`);
    this.#arm(token, waiting);
  }

  /** Tokens waiting now. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** Fails every waiting step (the platform is stopping). */
  abandonAll(): void {
    for (const token of [...this.#waiting.keys()])
      this.#take(token).reject(namedError('States.TaskFailed', 'stopped'));
  }

  #take(token: string): WaitingTask {
    const waiting = this.#waiting.get(token);
    // What SendTaskSuccess answers for a token whose step has closed.
    if (!waiting) throw namedError('TaskTimedOut', `task token ${token} is not waiting`);
    clearTimeout(waiting.timer);
    this.#waiting.delete(token);
    return waiting;
  }

  #arm(token: string, waiting: WaitingTask): void {
    clearTimeout(waiting.timer);
    if (waiting.heartbeatMs === undefined) return;
    waiting.timer = setTimeout(() => {
      if (!this.#waiting.has(token)) return;
      this.#take(token).reject(namedError('States.HeartbeatTimeout', 'no heartbeat in time'));
    }, waiting.heartbeatMs);
    waiting.timer.unref();
  }
}

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

export interface LocalWorkflowOptions<I extends ExecutionInput = ExecutionInput> {
  /** The job an input runs: its id names the execution, as deployed. */
  jobIdOf: (input: I) => string;
  maxConcurrency: number;
  /** Called for every execution that closes FAILED, TIMED_OUT or ABORTED. */
  onClosedAbnormally: (event: ExecutionStatusChangeEvent) => Promise<unknown>;
  /** Milliseconds between retries (Step Functions waits seconds; locally there is no reason to). */
  retryIntervalMs?: number;
  /** Fault injection for tests: wraps the task function bound to a placeholder. */
  wrapTask?: (placeholder: string, task: TaskFunction) => TaskFunction;
  /** Which machine of statemachines/ this runs. Default: the generation batch. */
  machine?: StateMachineName;
  /** Constant fields of every execution input (the image workflow's heartbeat and timeout). */
  settings?: Readonly<Record<string, number>>;
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

export class LocalWorkflow<I extends ExecutionInput = ExecutionInput> implements Workflow<I> {
  readonly executions = new Map<string, ExecutionRecord<I>>();
  #runtime: Runtime | undefined;
  #shuttingDown = false;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #machine: StateMachine;
  readonly #handlers: Record<string, (input: unknown) => Promise<unknown>>;

  readonly #machineName: string;

  constructor(private readonly options: LocalWorkflowOptions<I>) {
    const machine = options.machine ?? 'generationBatch';
    this.#machineName = machineNameOf(machine);
    const definition = localDefinition(machine);
    // Not validated here: asl-validator compiles its whole JSON schema on every call, which cost the
    // start about 0.7 s for three machines. The definitions are files of the repository, checked
    // as substituted here by the tests (test/lambdas/local/step-functions.test.ts).
    this.#machine = new StateMachine(definition, { validationOptions: { noValidate: true } });
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
        .map(([path, state]) => [
          path.split('/').pop() as string,
          async (input: unknown) => {
            const resource = (state as { Resource?: string }).Resource ?? '';
            if (!resource.startsWith('arn:aws:states:::lambda:')) return this.#runService(resource, input);
            const { FunctionName, Payload } = input as { FunctionName: string; Payload: unknown };
            const task = byFunctionName.get(FunctionName);
            if (!task) throw new Error(`no local function ${FunctionName}`);
            if ((state as { Resource?: string }).Resource?.endsWith('.waitForTaskToken')) {
              const heartbeatSeconds = (state as { HeartbeatSeconds?: number }).HeartbeatSeconds;
              const waited = this.#invokeAndWait(task, Payload as Record<string, unknown>, heartbeatSeconds);
              // An aborted execution stops listening to its steps: the rejection is observed here.
              waited.catch(() => undefined);
              return waited;
            }
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

  /**
   * A `.waitForTaskToken` step: a fresh token replaces the one the definition passed (the local
   * runner has no `$$.Task.Token`), the function runs, and the step's output is what the token brings
   * back; without a heartbeat for the step's HeartbeatSeconds it fails (`heartbeatScale` shortens
   * that for tests).
   */
  async #invokeAndWait(
    task: TaskFunction,
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
    const running = task(this.runtime, { ...payload, taskToken: token });
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

  /** The runtime is created after the workflow (it needs the workflow); the platform binds it here. */
  bind(runtime: Runtime): void {
    this.#runtime = runtime;
  }

  private get runtime(): Runtime {
    if (!this.#runtime) throw new Error('LocalWorkflow used before bind(runtime)');
    return this.#runtime;
  }

  executionIdOf(jobId: string): string {
    return `${LOCAL_ARN_PREFIX}:execution:${this.#machineName}:${jobId}`;
  }

  async start(input: I): Promise<{ executionId: string }> {
    const jobId = this.options.jobIdOf(input);
    const executionId = this.executionIdOf(jobId);
    const existing = this.executions.get(executionId);
    // Named after the batch, like StartExecution: starting it again while it runs is a no-op.
    if (existing && existing.status === 'RUNNING') return { executionId };
    const fullInput = { ...this.options.settings, ...input, maxConcurrency: this.options.maxConcurrency };
    const run = this.#machine.run(fullInput as never, {
      overrides: {
        taskResourceLocalHandlers: this.#handlers as never,
        retryIntervalOverrides: Object.fromEntries(
          Object.keys(this.#handlers).map((state) => [state, this.options.retryIntervalMs ?? 10]),
        ),
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
