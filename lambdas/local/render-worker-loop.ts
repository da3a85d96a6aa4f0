import { parentPort } from 'node:worker_threads';
import { inProcessRenderer } from '../domain/generation/renderer.ts';

export interface RenderRequest {
  generator: string;
  params: Record<string, unknown>;
  preview: boolean;
  folder?: string | undefined;
}

export type RenderMessage =
  | { type: 'progress'; fraction: number; message: string }
  | { type: 'done'; archive: Uint8Array; frames: number }
  | { type: 'error'; name: string; message: string };

const port = parentPort;
if (!port) throw new Error('render-worker-loop runs only in a worker thread');

port.on('message', async (request: RenderRequest) => {
  try {
    const result = await inProcessRenderer.render(request.generator, request.params, {
      preview: request.preview,
      folder: request.folder,
      onProgress: (fraction, message) =>
        port.postMessage({ type: 'progress', fraction, message } satisfies RenderMessage),
    });
    port.postMessage(
      { type: 'done', archive: result.archive, frames: result.frames } satisfies RenderMessage,
      [result.archive.buffer as ArrayBuffer],
    );
  } catch (error) {
    const { name, message } = error as Error;
    port.postMessage({ type: 'error', name, message } satisfies RenderMessage);
  }
});
