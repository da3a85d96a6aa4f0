/**
 * Renders on a small pool of worker threads, so the local platform's API answers while batches
 * render (a Lambda renders in its own invocation and needs none of this).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ParamValues } from '../../contracts/generators.ts';
import type { Renderer } from '../domain/generation/renderer.ts';
import type { RenderOptions, RenderResult } from '../domain/generators/generator.ts';
import type { RenderMessage, RenderRequest } from './render-worker-loop.ts';

const WORKER_ENTRY = new URL('./render-worker.mjs', import.meta.url);

interface QueuedRender {
  request: RenderRequest;
  options: RenderOptions;
  resolve: (result: RenderResult) => void;
  reject: (error: Error) => void;
}

export class WorkerRenderer implements Renderer {
  readonly #idle: Worker[] = [];
  readonly #all = new Set<Worker>();
  readonly #queue: QueuedRender[] = [];
  #closed = false;

  constructor(private readonly size = Math.max(1, availableParallelism())) {}

  render(generator: string, params: ParamValues, options: RenderOptions): Promise<RenderResult> {
    if (this.#closed) return Promise.reject(new Error('renderer closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({
        request: { generator, params, preview: options.preview, folder: options.folder },
        options,
        resolve,
        reject,
      });
      this.#next();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.reject(new Error('renderer closed'));
    await Promise.all([...this.#all].map((worker) => worker.terminate()));
    this.#all.clear();
    this.#idle.length = 0;
  }

  #next(): void {
    if (this.#queue.length === 0) return;
    const worker = this.#idle.pop() ?? (this.#all.size < this.size ? this.#spawn() : undefined);
    if (!worker) return;
    const job = this.#queue.shift() as QueuedRender;
    this.#run(worker, job);
  }

  #spawn(): Worker {
    const worker = new Worker(WORKER_ENTRY);
    worker.unref();
    this.#all.add(worker);
    return worker;
  }

  #run(worker: Worker, job: QueuedRender): void {
    let settled = false;
    const finish = (reuse: boolean) => {
      settled = true;
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      if (reuse && !this.#closed) this.#idle.push(worker);
      else {
        this.#all.delete(worker);
        void worker.terminate();
      }
      this.#next();
    };
    const onError = (error: Error) => {
      if (settled) return;
      finish(false);
      job.reject(error);
    };
    // A worker terminated mid-render (close(), or a crash) fails its render instead of leaving it hanging.
    const onExit = (code: number) => onError(new Error(`render worker exited with code ${code}`));
    const onMessage = (message: RenderMessage) => {
      if (settled) return;
      if (message.type === 'progress') {
        // A progress callback that throws (the job was cancelled) ends the render: the worker is
        // replaced rather than left computing frames nobody wants.
        Promise.resolve(job.options.onProgress?.(message.fraction, message.message)).catch((error: Error) => {
          if (settled) return;
          finish(false);
          job.reject(error);
        });
      } else if (message.type === 'done') {
        finish(true);
        job.resolve({ archive: message.archive, frames: message.frames });
      } else {
        finish(true);
        job.reject(Object.assign(new Error(message.message), { name: message.name }));
      }
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage(job.request);
  }
}
