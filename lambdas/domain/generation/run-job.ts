import type { JobsEngine } from '../jobs/engine.ts';
import { isTerminal } from '../jobs/lifecycle.ts';
import type { BlobStore } from '../ports.ts';
import { inProcessRenderer, type Renderer } from './renderer.ts';

export interface RunJobInput {
  tenant: string;
  batchId: string;
  jobId: string;
}

export type RunJobOutcome =
  | { outcome: 'completed'; bytes: number; frames: number }
  | { outcome: 'skipped'; status: string };

/** Where a job's result lives. Deterministic, so a retried worker overwrites rather than duplicates. */
export const resultKey = (tenant: string, jobId: string) => `${tenant}/jobs/${jobId}/result.zip`;

/** Raised inside a render when the job was cancelled (or otherwise ended) under it. */
class JobEnded extends Error {}

/**
 * Runs one generation job: pending -> running, render, write the ZIP, running -> completed. A job
 * that already ended is left alone; a job already running is a retry after a crash, and runs again.
 */
export async function runGenerationJob(
  deps: { engine: JobsEngine; blobs: BlobStore; renderer?: Renderer },
  input: RunJobInput,
): Promise<RunJobOutcome> {
  const { engine, blobs, renderer = inProcessRenderer } = deps;
  const { tenant, jobId } = input;
  const job = await engine.get(tenant, jobId);
  if (isTerminal(job.status)) return { outcome: 'skipped', status: job.status };
  // Its batch may have ended without closing it (a crash in the middle of a cancel).
  const closed = await engine.closeIfBatchEnded(job);
  if (closed) return { outcome: 'skipped', status: closed.status };
  if (job.status === 'pending') {
    const started = await engine.transition(tenant, jobId, 'running', { progress: 0 }, 'started');
    if (!started.applied)
      return { outcome: 'skipped', status: started.reason === 'illegal' ? started.job.status : 'missing' };
  } else {
    await engine.log(tenant, jobId, 'warn', 'restarted after an interrupted attempt');
  }

  // A retried worker starts from where the interrupted attempt got: progress never goes back.
  let reported = job.status === 'running' ? job.progress : 0;
  let rendered: Awaited<ReturnType<Renderer['render']>>;
  try {
    rendered = await renderer.render(job.generator ?? '', job.params ?? {}, {
      preview: job.preview ?? false,
      // One folder named after the job: results of many jobs extract side by side (seed 000's client).
      folder: jobId,
      onProgress: async (fraction, message) => {
        // Writes are throttled to every 10 %: progress is for people, not a per-frame ledger.
        const progress = Math.min(99, Math.floor(fraction * 100));
        if (progress <= reported || (progress - reported < 10 && fraction < 1)) return;
        reported = progress;
        const updated = await engine.store.update(tenant, jobId, { progress, message });
        if (updated) return;
        // Not applied: the job ended under us (stop rendering), or an overlapping attempt is further
        // along (carry on; the store keeps the higher progress).
        const current = await engine.store.get(tenant, jobId);
        if (!current || isTerminal(current.status)) throw new JobEnded();
      },
    });
  } catch (error) {
    if (error instanceof JobEnded) {
      const current = await engine.get(tenant, jobId);
      return { outcome: 'skipped', status: current.status };
    }
    throw error;
  }

  const key = resultKey(tenant, jobId);
  await blobs.put(key, rendered.archive, 'application/zip');
  const bytes = rendered.archive.byteLength;
  const done = await engine.transition(
    tenant,
    jobId,
    'completed',
    {
      progress: 100,
      message: 'done',
      result: { key, bytes, frames: rendered.frames, contentType: 'application/zip' },
    },
    `completed: ${rendered.frames} frames, ${bytes} bytes`,
  );
  // A late completion after a cancel is a no-op: the job stays cancelled.
  if (!done.applied)
    return { outcome: 'skipped', status: done.reason === 'illegal' ? done.job.status : 'missing' };
  return { outcome: 'completed', bytes, frames: rendered.frames };
}
