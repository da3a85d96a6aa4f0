/**
 * A tenant's data as the platform leaves it, in memory: image jobs with their image, generation jobs
 * with the result ZIP the shapes generator renders (frames and COCO annotations), and uploads.
 */
import { encodePng } from '../../../../lambdas/domain/archive/png.ts';
import { resultKey } from '../../../../lambdas/domain/generation/run-job.ts';
import { applyDefaults } from '../../../../lambdas/domain/generators/params.ts';
import {
  renderShapesJob,
  shapesGenerator,
} from '../../../../lambdas/domain/generators/shapes/shapes-generator.ts';
import { imageKeys } from '../../../../lambdas/domain/images/service.ts';
import type { JobOfKind } from '../../../../lambdas/domain/jobs/model.ts';
import { aJob, aTenant } from '../../../support/jobs.ts';
import { MemoryBlobStore, MemoryJobs } from '../../../support/memory-blobs.ts';

/** A small RGB PNG whose pixels depend on `seed`. */
export function aPng(width = 8, height = 6, seed = 1): Uint8Array {
  const rgb = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 31 + seed * 57) % 256);
  return encodePng(width, height, rgb);
}

export function aWorld() {
  const blobs = new MemoryBlobStore();
  const jobs = new MemoryJobs();
  const tenant = aTenant('datasets');
  let clock = Date.parse('2026-05-01T12:00:00.000Z');
  /** Each job a millisecond after the last: a batch's items have an order. */
  const next = () => {
    clock += 1;
    return new Date(clock);
  };

  return {
    blobs,
    jobs,
    tenant,
    deps: { blobs, jobs },

    aBatch(): JobOfKind<'batch'> {
      const batch = aJob({ tenant, kind: 'batch', total: 0, status: 'running' }, next());
      jobs.add(batch);
      return batch;
    },

    /** A completed image job (its image written), or one in `status` without an image. */
    async anImageJob(
      options: { batchId?: string; status?: 'completed' | 'running' | 'failed'; png?: Uint8Array } = {},
    ): Promise<JobOfKind<'image'>> {
      const draft = aJob(
        { tenant, kind: 'image', ...(options.batchId ? { batchId: options.batchId } : {}) },
        next(),
      );
      const status = options.status ?? 'completed';
      const png = options.png ?? aPng(16, 12, jobs.jobs.length);
      const key = imageKeys(tenant, draft.id).image;
      const job: JobOfKind<'image'> = {
        ...draft,
        status,
        ...(status === 'completed'
          ? { result: { key, bytes: png.byteLength, contentType: 'image/png' } }
          : {}),
      };
      if (status === 'completed') await blobs.put(key, png, 'image/png');
      jobs.add(job);
      return job;
    },

    /** A completed generation job whose result is a real shapes archive of `frames` 64 × 48 frames. */
    async aGenerationJob(
      options: { batchId?: string; frames?: number; status?: 'completed' | 'running' } = {},
    ): Promise<JobOfKind<'generation'>> {
      const params = applyDefaults(shapesGenerator, {
        image_width: 64,
        image_height: 64,
        frames: options.frames ?? 2,
        seed: jobs.jobs.length + 1,
      });
      const draft = aJob(
        {
          tenant,
          kind: 'generation',
          generator: 'shapes',
          params,
          ...(options.batchId ? { batchId: options.batchId } : {}),
        },
        next(),
      );
      const status = options.status ?? 'completed';
      if (status !== 'completed') {
        const job = { ...draft, status };
        jobs.add(job);
        return job;
      }
      const rendered = await renderShapesJob(params, { preview: false, folder: draft.id });
      const key = resultKey(tenant, draft.id);
      await blobs.put(key, rendered.archive, 'application/zip');
      const job: JobOfKind<'generation'> = {
        ...draft,
        status,
        result: {
          key,
          bytes: rendered.archive.byteLength,
          frames: rendered.frames,
          contentType: 'application/zip',
        },
      };
      jobs.add(job);
      return job;
    },

    /** An object of the tenant, `<tenant>/<path>`. */
    async anUpload(path: string, body: Uint8Array = aPng(), contentType = 'image/png'): Promise<string> {
      const key = `${tenant}/${path}`;
      await blobs.put(key, body, contentType);
      return key;
    },
  };
}

export type World = ReturnType<typeof aWorld>;

/** Every image of an async iterable, in order. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}
