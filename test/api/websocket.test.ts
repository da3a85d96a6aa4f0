/**
 * Seed 001's WebSocket API end to end on the local platform, with a real WebSocket client: the key
 * in the query string, `generate` → `accepted` → `progress` → `result`, the documented bad inputs,
 * tenant isolation, API Gateway's frame limit on every message, `subscribe` to follow jobs from a
 * new connection, and the 1001 every connection is closed with when the platform stops.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { ServerMessage, WEBSOCKET_LIMITS } from '../../contracts/websocket.ts';
import { DynamoConnectionStore } from '../../lambdas/adapters/dynamo/connection-store.ts';
import { newJobId } from '../../lambdas/adapters/ids.ts';
import { STOPPING_REASON } from '../../lambdas/local/apigateway/websocket.ts';
import { type LocalPlatformOptions, startLocalPlatform } from '../../lambdas/local/platform.ts';
import { keyFor, usePlatform } from '../support/platform.ts';
import { type SocketClient as Client, SocketClient, UpgradeRefused } from '../support/websocket.ts';

const fixture = usePlatform();

/** A connection with `key` (the development key unless given; `null`: no key at all). */
const open = (key: string | null = fixture.platform.devKey) =>
  SocketClient.open(fixture.platform.webSocketUrl, key ?? undefined);

async function jobCount(api = fixture.api): Promise<number> {
  const page = await api.get<{ jobs: unknown[] }>('/api/v1/jobs', { limit: 100 });
  return page.body.jobs.length;
}

/** Every message is one of the contract's, in one frame of at most 32 KB. */
function expectWellFormed(client: Client): void {
  for (const { raw, bytes } of client.received) {
    expect(bytes).toBeLessThanOrEqual(WEBSOCKET_LIMITS.maxServerMessageBytes);
    const parsed = ServerMessage.safeParse(JSON.parse(raw));
    expect(parsed.success, raw.slice(0, 300)).toBe(true);
  }
}

async function decodePng(url: string): Promise<PNG> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return PNG.sync.read(Buffer.from(await response.arrayBuffer()));
}

describe('WebSocket /api/v1/ws/generation', () => {
  it('refuses the upgrade with 401 without a key, with an unknown key or a revoked one', async () => {
    // Prepare
    const { key, record } = await keyFor(fixture.platform, 'revoked-tenant');
    await fixture.platform.runtime.keys.revoke(record.keyId, new Date().toISOString());

    // Act
    const outcomes = await Promise.allSettled([open(null), open('sf_not-a-key'), open(key)]);

    // Assess
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      const reason = (outcome as PromiseRejectedResult).reason as UpgradeRefused;
      expect(reason).toBeInstanceOf(UpgradeRefused);
      expect(reason.status).toBe(401);
      expect(JSON.parse(reason.body)).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    }
    expect(fixture.platform.sockets.connections).toBe(0);
  });

  it('answers generate with accepted, monotone progress and the result, whose image has the requested size', async () => {
    // Prepare
    const client = await open();

    // Act
    client.send({
      type: 'generate',
      prompt: 'A beautiful sunset over mountains',
      width: 128,
      height: 96,
      seed: 3,
      request_id: 'r-1',
    });
    const accepted = await client.next('accepted');
    const result = await client.next('result', { jobId: accepted.job_id });

    // Assess: the seed's messages, in order, about this job only.
    expect(accepted).toMatchObject({
      request_id: 'r-1',
      job_id: expect.any(String),
      batch_id: expect.any(String),
    });
    const types = client.received.map(({ message }) => message.type);
    expect(types[0]).toBe('accepted');
    expect(types.at(-1)).toBe('result');
    const progress = client.ofType('progress', accepted.job_id);
    // At least the completed state (a loaded machine may finish the job before the subscription).
    expect(progress.length).toBeGreaterThanOrEqual(1);
    for (const [previous, current] of progress.slice(1).map((p, i) => [progress[i], p] as const)) {
      expect(current.progress).toBeGreaterThanOrEqual(previous?.progress ?? 0);
      expect(current.step).toBeGreaterThanOrEqual(previous?.step ?? 0);
    }
    // The job as it stands when the connection subscribes (pending, or already at the endpoint),
    // then each change: step is the job's phase scaled to its 20 steps (the shapes model's default).
    const expected = {
      pending: { step: 0, progress: 0, phase: 'queued' },
      running: { step: 2, progress: 0.1 },
      completed: { step: 20, progress: 1, phase: 'done' },
    } as const;
    for (const message of progress) {
      expect(message.total_steps).toBe(20);
      expect(message).toMatchObject(expected[message.status as keyof typeof expected]);
    }
    expect(progress.at(-1)?.status).toBe('completed');
    expect(result).toMatchObject({
      job_id: accepted.job_id,
      prompt: 'A beautiful sunset over mountains',
      image_path: `s3://${fixture.platform.emulators.bucketName}/dev/jobs/${accepted.job_id}/image.png`,
    });
    const png = await decodePng(result.image_url);
    expect([png.width, png.height]).toEqual([128, 96]);
    const job = await fixture.api.get<{ status: string; kind: string }>(`/api/v1/jobs/${accepted.job_id}`);
    expect(job.body).toMatchObject({ kind: 'image', status: 'completed' });
    expectWellFormed(client);
    await client.close();
  });

  it.each([
    [
      { type: 'generate', prompt: 'x', width: 2048 },
      'width',
      'Invalid parameter: width must be between 64 and 1024',
    ],
    [
      { type: 'generate', width: 512 },
      'prompt',
      'Invalid parameter: prompt is required and must be a string',
    ],
    [{ type: 'generate', prompt: 'x', colour: 'red' }, '', 'colour'],
    [{ type: 'upscale', prompt: 'x' }, 'type', 'type must be "generate", "ping" or "subscribe"'],
  ])(
    'answers %j with an INVALID_PARAMETERS error naming %j, and stores nothing',
    async (body, parameter, text) => {
      // Prepare
      const client = await open();
      const before = await jobCount();

      // Act
      client.send({ ...body, request_id: 'bad-1' });
      const error = await client.next('error');

      // Assess
      expect(error).toMatchObject({ code: 'INVALID_PARAMETERS', request_id: 'bad-1' });
      expect(error.message).toContain(text);
      expect(error.job_id).toBeUndefined();
      expect((error.details as { parameter?: string }).parameter ?? '').toBe(parameter);
      await fixture.platform.sockets.idle();
      expect(await jobCount()).toBe(before);
      expect(client.ofType('accepted')).toEqual([]);
      expectWellFormed(client);
      await client.close();
    },
  );

  it('answers what is not JSON with INVALID_REQUEST, a model that cannot serve here with UNAVAILABLE, and ping with pong', async () => {
    // Prepare
    const client = await open();
    const before = await jobCount();

    // Act
    client.send('{"type": "generate", prompt');
    const notJson = await client.next('error');
    client.send({
      type: 'generate',
      prompt: 'x',
      model_id: 'runwayml/stable-diffusion-v1-5',
      request_id: 'gpu',
    });
    await client.until((received) => received.length >= 2);
    client.send({ type: 'ping', request_id: 'p-1' });
    const pong = await client.next('pong');

    // Assess
    expect(notJson.code).toBe('INVALID_REQUEST');
    const gpu = client.ofType('error').find((error) => error.request_id === 'gpu');
    expect(gpu?.code).toBe('UNAVAILABLE');
    expect(pong).toEqual({ type: 'pong', request_id: 'p-1' });
    expect(await jobCount()).toBe(before);
    expectWellFormed(client);
    await client.close();
  });

  it('ends each of 100 jobs on 4 connections with monotone progress and a final message that says how it ended', async () => {
    // Prepare: 5 of the inferences fail in the model (which ones depends on the endpoint's order).
    const clients = await Promise.all([open(), open(), open(), open()]);
    fixture.platform.sageMaker.failNextInvocations('synthforge-local-shapes', 5, {
      body: '{"message":"CUDA out of memory"}',
    });

    // Act
    clients.forEach((client, c) => {
      for (let i = 0; i < 25; i++) {
        client.send({
          type: 'generate',
          prompt: `job ${c}-${i}`,
          width: 64,
          height: 64,
          request_id: `${c}-${i}`,
        });
      }
    });
    const finals = await Promise.all(
      clients.map((client) =>
        client.until((received) => {
          const accepted = received.filter((entry) => entry.message.type === 'accepted');
          const ended = received.filter((entry) => ['result', 'error'].includes(entry.message.type));
          return accepted.length === 25 && ended.length === 25 ? true : undefined;
        }, 90_000),
      ),
    );

    // Assess
    expect(finals).toHaveLength(4);
    let failed = 0;
    for (const client of clients) {
      expectWellFormed(client);
      for (const { job_id } of client.ofType('accepted')) {
        const messages = client.received
          .map((entry) => entry.message)
          .filter(
            (message) => 'job_id' in message && message.job_id === job_id && message.type !== 'accepted',
          );
        const progress = messages.filter((message) => message.type === 'progress');
        for (let i = 1; i < progress.length; i++) {
          expect(progress[i]?.progress).toBeGreaterThanOrEqual(progress[i - 1]?.progress ?? 0);
        }
        const last = messages.at(-1);
        const job = await fixture.api.get<{ status: string }>(`/api/v1/jobs/${job_id}`);
        if (job.body.status === 'completed') expect(last?.type).toBe('result');
        else {
          failed++;
          expect(last).toMatchObject({ type: 'error', code: 'MODEL_ERROR', status: job.body.status });
        }
      }
    }
    expect(failed).toBe(5);
    await Promise.all(clients.map((client) => client.close()));
  });

  it("never sends one tenant's messages to another tenant's connection", async () => {
    // Prepare
    const { key } = await keyFor(fixture.platform, 'websocket-other');
    const mine = await open();
    const theirs = await open(key);

    // Act
    mine.send({ type: 'generate', prompt: 'red circles', width: 64, height: 64 });
    const accepted = await mine.next('accepted');
    await mine.next('result', { jobId: accepted.job_id });
    await fixture.platform.sockets.idle();

    // Assess: nothing reached the other tenant, and its REST view does not know the job either.
    expect(theirs.received).toEqual([]);
    const otherApi = fixture.api.withKey(key);
    expect((await otherApi.get(`/api/v1/jobs/${accepted.job_id}`)).status).toBe(404);
    await Promise.all([mine.close(), theirs.close()]);
  });

  it('keeps several jobs of one connection apart and removes the connection when it closes', async () => {
    // Prepare
    const client = await open();
    const store = new DynamoConnectionStore(fixture.platform.runtime.clients.dynamo, {
      tableName: fixture.platform.emulators.tableNames.state,
    });
    // The longest prompt there is: 2,000 characters, echoed whole (it fits in a frame).
    const prompt = 'a very long prompt about stars '.repeat(70).slice(0, 2000).replace(/ $/, '.');

    // Act
    client.send({ type: 'generate', prompt, width: 64, height: 64, request_id: 'a' });
    client.send({ type: 'generate', prompt: 'blue squares', width: 64, height: 64, request_id: 'b' });
    const accepted = await client.until((received) => {
      const found = received.filter((entry) => entry.message.type === 'accepted');
      return found.length === 2
        ? found.map((entry) => entry.message as { job_id: string; request_id: string })
        : undefined;
    });
    const results = await Promise.all(accepted.map(({ job_id }) => client.next('result', { jobId: job_id })));
    await fixture.platform.sockets.idle();
    const connections = fixture.platform.sockets.connections;
    await client.close();
    // The server sees the close on its own time: wait for it, not for the client's side.
    await fixture.platform.sockets.drained();

    // Assess
    expect(new Set(accepted.map((a) => a.request_id))).toEqual(new Set(['a', 'b']));
    expect(results.map((r) => r.prompt).sort()).toEqual([prompt, 'blue squares'].sort());
    for (const { job_id } of accepted) {
      expect(client.ofType('result', job_id)).toHaveLength(1);
      expect(await store.subscribers('dev', job_id, new Date())).toEqual([]);
    }
    expect(connections).toBeGreaterThanOrEqual(1);
    expect(fixture.platform.sockets.connections).toBe(0);
    expectWellFormed(client);
  });

  it("lets a new connection follow a job started on an earlier one, and answers another tenant's id as an unknown one", async () => {
    // Prepare: the job is started on a connection that then goes.
    const first = await open();
    first.send({ type: 'generate', prompt: 'green triangles', width: 64, height: 64 });
    const { job_id: jobId } = await first.next('accepted');
    await first.close();
    const { key } = await keyFor(fixture.platform, 'websocket-subscribe-other');
    const unknown = newJobId(new Date());

    // Act
    const again = await open();
    again.send({ type: 'subscribe', job_ids: [jobId, unknown], request_id: 's-1' });
    const result = await again.next('result', { jobId });
    const missing = await again.next('error', { jobId: unknown });
    const theirs = await open(key);
    theirs.send({ type: 'subscribe', job_ids: [jobId], request_id: 's-2' });
    const refused = await theirs.next('error');
    await fixture.platform.sockets.idle();

    // Assess: the job as it stood, each change after it, and its result.
    const messages = again.received.map((entry) => entry.message).filter((m) => m !== missing);
    expect(messages[0]).toMatchObject({ type: 'progress', job_id: jobId });
    expect(messages.at(-1)).toBe(result);
    const progress = again.ofType('progress', jobId);
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i]?.progress).toBeGreaterThanOrEqual(progress[i - 1]?.progress ?? 0);
    }
    expect(progress.at(-1)).toMatchObject({ status: 'completed', progress: 1 });
    expect(result).toMatchObject({ prompt: 'green triangles' });
    expect((await decodePng(result.image_url)).width).toBe(64);
    expect(missing).toMatchObject({ code: 'NOT_FOUND', job_id: unknown, request_id: 's-1' });
    // Another tenant learns no more of the job than of an id that names nothing.
    expect(refused).toEqual({
      ...missing,
      message: missing.message.replace(unknown, jobId),
      details: { job: jobId },
      job_id: jobId,
      request_id: 's-2',
    });
    expect(theirs.received).toHaveLength(1);
    expectWellFormed(again);
    expectWellFormed(theirs);
    await Promise.all([again.close(), theirs.close()]);
  });
});

describe('WebSocket connections when the platform stops', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });
  const options = (dataDir?: string): LocalPlatformOptions => ({
    port: 0,
    retryIntervalMs: 0,
    rateLimit: { perSecond: 1_000_000, burst: 1_000_000 },
    ...(dataDir ? { dataDir } : {}),
  });

  it('closes each open connection with 1001 (going away) and says why', async () => {
    // Prepare
    const platform = await startLocalPlatform(options());
    const client = await SocketClient.open(platform.webSocketUrl, platform.devKey);
    await client.roundTrip('open');

    // Act
    await platform.stop();
    const closed = await client.until(() => client.closed);

    // Assess: a clean close the client can act on, not an abnormal closure (1006).
    expect(closed).toEqual({ code: 1001, reason: STOPPING_REASON });
  });

  it('lets a client that connects again after a restart subscribe to the job it started, and get its state and result', async () => {
    // Prepare: a job started and finished on the first run, whose client the stop then closes.
    const dataDir = await mkdtemp(join(tmpdir(), 'synthforge-ws-restart-'));
    dirs.push(dataDir);
    const first = await startLocalPlatform(options(dataDir));
    const before = await SocketClient.open(first.webSocketUrl, first.devKey);
    before.send({ type: 'generate', prompt: 'yellow stars', width: 64, height: 96, request_id: 'g-1' });
    const { job_id: jobId } = await before.next('accepted');
    await before.next('result', { jobId });
    await first.stop();
    const closed = await before.until(() => before.closed);

    // Act
    const second = await startLocalPlatform(options(dataDir));
    try {
      const after = await SocketClient.open(second.webSocketUrl, second.devKey);
      after.send({ type: 'subscribe', job_ids: [jobId], request_id: 'again' });
      const result = await after.next('result', { jobId });
      const { key } = await keyFor(second, 'websocket-restart-other');
      const theirs = await SocketClient.open(second.webSocketUrl, key);
      theirs.send({ type: 'subscribe', job_ids: [jobId] });
      const refused = await theirs.next('error');

      // Assess
      expect(closed).toEqual({ code: 1001, reason: STOPPING_REASON });
      expect(after.received.map(({ message }) => message.type)).toEqual(['progress', 'result']);
      expect(after.ofType('progress', jobId)).toEqual([
        {
          type: 'progress',
          job_id: jobId,
          step: 20,
          total_steps: 20,
          progress: 1,
          status: 'completed',
          phase: 'done',
        },
      ]);
      expect(result).toMatchObject({ prompt: 'yellow stars', image_path: expect.stringContaining(jobId) });
      const png = PNG.sync.read(Buffer.from(await (await fetch(result.image_url)).arrayBuffer()));
      expect([png.width, png.height]).toEqual([64, 96]);
      expect(refused).toMatchObject({ type: 'error', code: 'NOT_FOUND', job_id: jobId });
      expect(theirs.received).toHaveLength(1);
      await Promise.all([after.close(), theirs.close()]);
    } finally {
      await second.stop();
    }
  });
});
