import type { FileHandle } from 'node:fs/promises';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { awsClientsFor, EMULATOR_CREDENTIALS } from '../../../../lambdas/adapters/clients.ts';
import { createDynalite } from '../../../../lambdas/local/storage/emulator-disk.ts';
import { startEmulators } from '../../../../lambdas/local/storage/emulators.ts';

// A disk that fills up under a write, without a real one: while armed, every file the S3 emulator
// stages an object in takes part of the first write, then fails each write with ENOSPC, as a file
// system does when it runs out of blocks. (test/bin/local-full-disk.test.ts uses a real full disk.)
const disk = vi.hoisted(() => ({ full: false }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const enospc = () =>
    Object.assign(new Error('ENOSPC: no space left on device, write'), {
      code: 'ENOSPC',
      errno: -28,
      syscall: 'write',
    });
  const open = async (...args: Parameters<typeof actual.open>): Promise<FileHandle> => {
    const handle = await actual.open(...args);
    if (!disk.full || !String(args[0]).endsWith('.staged')) return handle;
    const write = handle.write.bind(handle) as (
      buffer: Buffer,
      offset: number,
      length: number,
    ) => Promise<{ bytesWritten: number }>;
    let room = true;
    handle.write = (async (buffer: Buffer, offset = 0) => {
      if (!room) throw enospc();
      room = false;
      return write(buffer, offset, Math.ceil((buffer.length - offset) / 2));
    }) as FileHandle['write'];
    return handle;
  };
  return { ...actual, open };
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  disk.full = false;
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'synthforge-emulator-disk-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function startedEmulators(dataDir: string) {
  const emulators = await startEmulators({ dataDir });
  const clients = awsClientsFor(emulators);
  cleanups.push(async () => {
    clients.destroy();
    await emulators.stop();
  });
  return { emulators, s3: clients.s3, bucket: emulators.bucketName };
}

async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String);
}

describe('the S3 emulator on a full disk', () => {
  it('answers InsufficientStorage naming the folder, keeps the stored version, and serves on', async () => {
    // Prepare
    const dataDir = await tempDir();
    const { s3, bucket } = await startedEmulators(dataDir);
    const key = 'acme/jobs/01JOB/result.zip';
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'the completed result' }));
    disk.full = true;

    // Act
    const failure = await s3
      .send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.alloc(256 * 1024, 1) }))
      .then(
        () => undefined,
        (error: Error & { $metadata?: { httpStatusCode?: number } }) => error,
      );
    disk.full = false;
    const kept = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const later = await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'acme/later.txt', Body: 'later' }),
    );

    // Assess
    expect(failure?.name).toBe('InsufficientStorage');
    expect(failure?.$metadata?.httpStatusCode).toBe(507);
    expect(failure?.message).toBe(
      `the disk holding ${dataDir} is full (ENOSPC): S3 could not store ${bucket}/${key}; free some space there and retry`,
    );
    expect(await kept.Body?.transformToString()).toBe('the completed result');
    expect(later.$metadata.httpStatusCode).toBe(200);
    // What the failed write took is given back: no staged file is left to fill the disk.
    expect((await filesUnder(join(dataDir, 's3'))).filter((file) => file.includes('.staged'))).toEqual([]);
  });
});

describe('the DynamoDB emulator', () => {
  it('fails to start, once and saying why, on data another process holds', async () => {
    // Prepare
    const dataDir = await tempDir();
    await startedEmulators(dataDir);

    // Act
    const second = startEmulators({ dataDir });

    // Assess: before, dynalite answered the tables' creation by throwing "Database is closed" out of
    // a callback, which ended the process.
    await expect(second).rejects.toThrow(
      `DynamoDB's data in ${join(dataDir, 'dynamodb')} is in use by another process: is another platform running on this data folder?`,
    );
  }, 30_000);

  it('answers a failing store with InternalServerError instead of ending the process', async () => {
    // Prepare: a store that has closed under the server, as LevelDB does when it cannot go on.
    const { server, store } = createDynalite({ createTableMs: 0 }, '/data/folder');
    const endpoint = await listening(server);
    const client = new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: EMULATOR_CREDENTIALS,
      maxAttempts: 1,
    });
    cleanups.push(async () => {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    await client.send(
      new CreateTableCommand({
        TableName: 'jobs',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await store.db.close();
    const put = () => client.send(new PutItemCommand({ TableName: 'jobs', Item: { pk: { S: 'a' } } }));

    // Act
    const first = await put().catch((error: Error) => error);
    const second = await put().catch((error: Error) => error);

    // Assess
    for (const failure of [first, second]) {
      expect(failure).toMatchObject({
        name: 'InternalServerError',
        message: "DynamoDB's store failed: Database is closed",
        $metadata: { httpStatusCode: 500 },
      });
    }
  });
});

async function listening(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
