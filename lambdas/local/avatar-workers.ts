/**
 * The avatar engine on worker threads, for the local platform: each job's computation runs in a
 * thread of its own (its neighbour search spreads over more threads), while the platform's API and
 * emulators keep answering. The worker runs the same module a Lambda function runs, through tsx as
 * the platform itself does.
 */
import { Worker } from 'node:worker_threads';
import type { AvatarEnginePort, ComputeOutput, ComputeRequest, Progress } from '../domain/avatars/compute.ts';
import { EngineInputError } from '../domain/avatars/compute.ts';

const WORKER = new URL('./avatar-worker.ts', import.meta.url);

type WorkerMessage =
  | { progress: { share: number; step: string } }
  | { output: ComputeOutput }
  | { error: { name: string; message: string; code?: string; stack?: string } };

export class WorkerThreadEngine implements AvatarEnginePort {
  readonly #running = new Set<Worker>();

  run(request: ComputeRequest, onProgress: Progress = () => undefined): Promise<ComputeOutput> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(WORKER, { workerData: request, execArgv: ['--import', 'tsx'] });
      this.#running.add(worker);
      let settled = false;
      const settle = (action: () => void) => {
        if (settled) return;
        settled = true;
        this.#running.delete(worker);
        action();
        void worker.terminate();
      };
      worker.on('message', (message: WorkerMessage) => {
        if ('progress' in message) onProgress(message.progress.share, message.progress.step);
        else if ('output' in message) settle(() => resolve(message.output));
        else {
          const { name, message: text, code } = message.error;
          const error =
            name === 'EngineInputError' && code
              ? new EngineInputError(code, text)
              : Object.assign(new Error(text), { name, code });
          settle(() => reject(error));
        }
      });
      worker.on('error', (error) => settle(() => reject(error)));
      worker.on('exit', (code) =>
        settle(() => reject(new Error(`the avatar worker exited with code ${code} before answering`))),
      );
    });
  }

  /** Stops every computation in flight (the platform is stopping; their jobs run again on the next start). */
  async terminate(): Promise<void> {
    await Promise.all([...this.#running].map((worker) => worker.terminate()));
    this.#running.clear();
  }
}
