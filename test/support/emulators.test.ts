import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { awsClientsFor } from '../../lambdas/adapters/clients.ts';
import { DynamoJobStore } from '../../lambdas/adapters/dynamo/job-store.ts';
import { S3BlobStore } from '../../lambdas/adapters/s3/blob-store.ts';
import { type RunningEmulators, startEmulators } from '../../lambdas/local/storage/emulators.ts';
import { aJob } from './jobs.ts';

// Tests of lambdas/local/storage/emulators.ts, kept beside the fixture that wraps it.

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function started(options: Parameters<typeof startEmulators>[0] = {}) {
  const emulators = await startEmulators(options);
  const clients = awsClientsFor(emulators);
  const stop = async () => {
    clients.destroy();
    await emulators.stop();
  };
  return {
    jobs: new DynamoJobStore(clients.dynamo, {
      tableName: emulators.tableNames.state,
      cursorSecret: 'emulator-test-secret-0123',
    }),
    blobs: new S3BlobStore(clients.s3, { bucket: emulators.bucketName }),
    emulators,
    stop,
  };
}

describe('startEmulators', () => {
  it('keeps jobs and blobs under dataDir across a restart', async () => {
    // Prepare
    const dataDir = await mkdtemp(join(tmpdir(), 'synthforge-emulators-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const job = aJob({ tenant: 'acme', batchId: aJob({ tenant: 'acme' }).id });
    const first = await started({ dataDir });
    await first.jobs.create([job]);
    await first.blobs.put('acme/results/a.txt', new TextEncoder().encode('hello'), 'text/plain');
    await first.stop();

    // Act
    const second = await started({ dataDir });
    cleanups.push(second.stop);

    // Assess
    expect(await second.jobs.get('acme', job.id)).toStrictEqual(job);
    expect(await second.jobs.listBatchItems('acme', job.batchId ?? '')).toStrictEqual([job]);
    expect(new TextDecoder().decode(await second.blobs.get('acme/results/a.txt'))).toBe('hello');
  });

  it('starts independent in-memory emulators on free ports', async () => {
    // Prepare
    const job = aJob({ tenant: 'acme' });

    // Act
    const [left, right] = await Promise.all([started(), started()]);
    cleanups.push(left.stop, right.stop);
    await left.jobs.create([job]);

    // Assess
    const endpoints = (emulators: RunningEmulators) => [emulators.dynamoEndpoint, emulators.s3Endpoint];
    expect(new Set([...endpoints(left.emulators), ...endpoints(right.emulators)]).size).toBe(4);
    expect(await left.jobs.get('acme', job.id)).toStrictEqual(job);
    expect(await right.jobs.get('acme', job.id)).toBeUndefined();
  });

  it('reports a port that is taken', async () => {
    // Prepare
    const holder = await started();
    cleanups.push(holder.stop);
    const takenPort = Number(new URL(holder.emulators.dynamoEndpoint).port);

    // Act
    const starting = startEmulators({ dynamoPort: takenPort });

    // Assess
    await expect(starting).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
