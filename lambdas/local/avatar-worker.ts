/**
 * A worker thread of the local platform that runs one avatar job's computation
 * (lambdas/domain/avatars/compute.ts), so that a large table does not stall the API's event loop.
 * It posts `{progress}` while it runs, then `{output}` or `{error}`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type ComputeRequest, computeAvatarJob } from '../domain/avatars/compute.ts';

const port = parentPort;
if (!port) throw new Error('avatar-worker.ts runs as a worker thread');

computeAvatarJob(workerData as ComputeRequest, (share, step) =>
  port.postMessage({ progress: { share, step } }),
)
  .then((output) => port.postMessage({ output }))
  .catch((error: Error & { code?: string }) =>
    port.postMessage({
      error: { name: error.name, message: error.message, code: error.code, stack: error.stack },
    }),
  );
