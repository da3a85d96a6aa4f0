/**
 * Step Functions' callback pattern on the local platform (aws-local-stepfunctions runs neither the
 * callback pattern nor heartbeats itself).
 */
import { randomUUID } from 'node:crypto';
import type { TaskCallbacks } from '../../domain/ports.ts';

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
