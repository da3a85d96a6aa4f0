/**
 * Training runs small enough for a test: a tiny identity-crops batch made by the `shapes` generator,
 * and training parameters that take a few seconds an epoch on CPU. Shared by the API, SDK and CLI tests.
 */
import { expect } from 'vitest';
import type { Api } from './platform.ts';

/** The platform's training settings for tests: progress synced often, a short grace on stop. */
export const TEST_TRAINING = { checkpointSyncMs: 200, stopGraceMs: 10_000 };

/**
 * 12 identities × 6 crops of 32 px, batches of 4 identities × 4 crops, a ResNet-18 with a 32-d
 * embedding and CBAM after layer1 and layer4: about 5 s an epoch on two cores.
 */
export const TINY_TRAINING = {
  training_kwargs: { num_epochs: 2, batch_size: 16, num_workers: 0 },
  model_kwargs: { embedding_dim: 32, attention_layers: ['layer1', 'layer4'] as ('layer1' | 'layer4')[] },
};

/** The statuses a run ends in. */
export const ENDED = ['completed', 'failed', 'cancelled'];

/**
 * Reads until `done` holds or `timeoutMs` has passed; resolves with the last value read. A connection
 * reset is read again: while a trainer's 135 MB checkpoints stream into the in-process S3 emulator the
 * event loop stalls, and a kept-alive socket can be closed by the server just as the client reuses it
 * (Node's keep-alive race), which says nothing about the platform.
 */
export async function until<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read().catch((error: Error & { cause?: { code?: string } }) => {
      if (error.cause?.code !== 'ECONNRESET' || Date.now() > deadline) throw error;
      return undefined;
    });
    if ((value !== undefined && done(value)) || Date.now() > deadline) return value as T;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Generates a completed batch of one identity-crops job and resolves with its id. */
export async function identityCropsBatch(api: Api): Promise<string> {
  const submitted = await api.post<{ id: string }>('/api/v1/batches', {
    name: 'players',
    job_runs: [
      {
        name: 'shapes',
        param_values: {
          output: 'identity_crops',
          identities: 12,
          crops_per_identity: 6,
          crop_size: 32,
          seed: 11,
        },
      },
    ],
  });
  expect(submitted.status, submitted.text).toBe(202);
  const batch = await until(
    () => api.get<{ status: string }>(`/api/v1/batches/${submitted.body.id}`),
    (answer) => answer.body.status === 'completed',
    30_000,
  );
  expect(batch.body.status).toBe('completed');
  return submitted.body.id;
}

/** How many training runs the tenant of `api` has. */
export async function trainingRunCount(api: Api): Promise<number> {
  return (await api.get<{ jobs: unknown[] }>('/api/v1/train/jobs', { limit: 100 })).body.jobs.length;
}
