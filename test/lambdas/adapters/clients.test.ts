import { createServer, type Server, type Socket } from 'node:net';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { type AwsClients, createAwsClients } from '../../../lambdas/adapters/clients.ts';
import { S3BlobStore } from '../../../lambdas/adapters/s3/blob-store.ts';

const built: AwsClients[] = [];
function clients(options: Parameters<typeof createAwsClients>[0]): AwsClients {
  const created = createAwsClients(options);
  built.push(created);
  return created;
}

/**
 * Accepts connections and never answers: what a stuck dependency looks like to a client. Counts the
 * requests it was sent (a request line per attempt), which is what the dependency sees of retries.
 */
async function blackHole(): Promise<{ endpoint: string; requests(): number; close(): Promise<void> }> {
  const received = new Map<Socket, string>();
  const server: Server = createServer((socket) => {
    received.set(socket, '');
    socket.on('data', (chunk) => received.set(socket, received.get(socket) + chunk.toString('latin1')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests: () =>
      [...received.values()].reduce(
        (sum, text) => sum + (text.match(/^POST \/ HTTP\/1\.1\r$/gm)?.length ?? 0),
        0,
      ),
    close: () => {
      for (const socket of received.keys()) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('createAwsClients', () => {
  afterEach(() => {
    for (const created of built.splice(0)) created.destroy();
  });

  it('presigns production S3 links path-style and without checksum parameters', async () => {
    // Prepare
    const aws = clients({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIAEXAMPLEEXAMPLE', secretAccessKey: 'example-secret-key' },
    });
    const blobs = new S3BlobStore(aws.s3, { bucket: 'synthforge-outputs-123456789012' });

    // Act
    const url = new URL(await blobs.presignGet('acme/results/job.zip', 300, 'job.zip'));

    // Assess
    expect(url.host).toBe('s3.eu-west-1.amazonaws.com');
    expect(url.pathname).toBe('/synthforge-outputs-123456789012/acme/results/job.zip');
    const parameters = [...url.searchParams.keys()].map((name) => name.toLowerCase());
    expect(parameters.filter((name) => name.includes('checksum'))).toEqual([]);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('300');
  });

  it('gives up on a dependency that never answers after 3 attempts, instead of hanging', async () => {
    // Prepare
    const stuck = await blackHole();
    const aws = clients({
      region: 'us-east-1',
      endpoints: { dynamodb: stuck.endpoint },
      timeouts: { connectionMs: 200, requestMs: 300 },
    });

    // Act
    const reading = aws.dynamo.send(
      new GetCommand({ TableName: 'synthforge-state', Key: { pk: 'a', sk: 'b' } }),
    );

    // Assess: a call that hung would never settle (the suite's test timeout ends it); one that
    // settles has timed out each attempt, tried exactly 3 times and says so. No clock is read:
    // how long that took depends on the machine's load, not on the code.
    const error = await reading.then(
      () => expect.fail('a stuck dependency answered'),
      (reason: unknown) => reason as { name: string; $metadata?: { attempts?: number } },
    );
    expect(error.name).toBe('TimeoutError');
    expect(error.$metadata?.attempts).toBe(3);
    expect(stuck.requests()).toBe(3);
    await stuck.close();
  });
});
