import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { DescribeEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointAsyncCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { SNSEvent } from 'aws-lambda';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createShapesEndpointServer } from '../../../../containers/shapes-endpoint/server.ts';
import { EMULATOR_CREDENTIALS } from '../../../../lambdas/adapters/clients.ts';
import {
  inProcessLauncher,
  type NotificationKind,
  type SageMakerAsyncNotification,
  type SageMakerHost,
  startSageMakerHost,
} from '../../../../lambdas/local/sagemaker/host.ts';
import { useEmulators } from '../../../support/emulators.ts';

const fixture = useEmulators();

interface Received {
  kind: NotificationKind;
  event: SNSEvent;
  message: SageMakerAsyncNotification;
}

const received: Received[] = [];
/** Added to the host's clock, to expire RequestTTLSeconds without waiting a minute. */
let clockOffsetMs = 0;
let host: SageMakerHost;
let runtime: SageMakerRuntimeClient;
let control: SageMakerClient;

beforeAll(async () => {
  host = await startSageMakerHost({
    s3: fixture.clients.s3,
    now: () => Date.now() + clockOffsetMs,
    notify: async (event, kind) => {
      const message = JSON.parse(event.Records[0]?.Sns.Message ?? '{}') as SageMakerAsyncNotification;
      received.push({ kind, event, message });
    },
  });
  const settings = {
    region: 'us-east-1',
    endpoint: host.endpoint,
    credentials: EMULATOR_CREDENTIALS,
    maxAttempts: 1,
  };
  runtime = new SageMakerRuntimeClient(settings);
  control = new SageMakerClient(settings);
});

afterAll(async () => {
  runtime?.destroy();
  control?.destroy();
  await host?.stop();
});

function bucket(): string {
  return fixture.emulators.bucketName;
}

/** Registers an endpoint whose instances are the shapes server in this process. */
function register(name: string, options: { msPerStep?: number } & Record<string, unknown> = {}) {
  const stats = { active: 0, max: 0, requests: 0, launches: 0 };
  const { msPerStep = 0, ...rest } = options;
  const launch = inProcessLauncher(() => {
    stats.launches++;
    const server = createShapesEndpointServer({ msPerStep });
    server.on('request', (request, response) => {
      if (request.url !== '/invocations') return;
      stats.requests++;
      stats.active++;
      stats.max = Math.max(stats.max, stats.active);
      response.once('close', () => {
        stats.active--;
      });
    });
    return server;
  });
  host.register({
    name,
    s3OutputPath: `s3://${bucket()}/async/${name}/out`,
    s3FailurePath: `s3://${bucket()}/async/${name}/failures`,
    launch,
    ...rest,
  });
  return stats;
}

async function putInput(key: string, body: unknown): Promise<string> {
  await fixture.clients.s3.send(
    new PutObjectCommand({
      Bucket: bucket(),
      Key: key,
      Body: JSON.stringify(body),
      ContentType: 'application/json',
    }),
  );
  return `s3://${bucket()}/${key}`;
}

async function readObject(uri: string): Promise<Buffer> {
  const [, name, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri) ?? [];
  const object = await fixture.clients.s3.send(new GetObjectCommand({ Bucket: name, Key: key }));
  return Buffer.from((await object.Body?.transformToByteArray()) ?? []);
}

async function invoke(endpointName: string, inputLocation: string, inferenceId: string, extra = {}) {
  return runtime.send(
    new InvokeEndpointAsyncCommand({
      EndpointName: endpointName,
      InputLocation: inputLocation,
      ContentType: 'application/json',
      Accept: 'image/png',
      InferenceId: inferenceId,
      ...extra,
    }),
  );
}

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function notificationFor(inferenceId: string): Promise<Received> {
  return until(() => received.find((entry) => entry.message.inferenceId === inferenceId));
}

async function instanceCounts(name: string) {
  const described = await control.send(new DescribeEndpointCommand({ EndpointName: name }));
  const variant = described.ProductionVariants?.[0];
  return {
    status: described.EndpointStatus,
    current: variant?.CurrentInstanceCount,
    desired: variant?.DesiredInstanceCount,
  };
}

describe('the local SageMaker async endpoint host', () => {
  it('runs the container as a child process and notifies success with the PNG in S3', async () => {
    // Prepare: the default launcher, a real process started through tsx (the cold start).
    host.register({
      name: 'shapes-child',
      s3OutputPath: `s3://${bucket()}/async/child/out`,
      s3FailurePath: `s3://${bucket()}/async/child/failures`,
    });
    const input = await putInput('inputs/child.json', {
      inputs: 'three pastel stars',
      parameters: { width: 96, height: 64, seed: 7 },
    });

    // Act
    const answer = await invoke('shapes-child', input, 'job-child', { CustomAttributes: 'trace=1' });
    const notification = await notificationFor('job-child');

    // Assess
    expect(answer.$metadata.httpStatusCode).toBe(202);
    expect(answer.InferenceId).toBe('job-child');
    expect(answer.OutputLocation).toMatch(
      new RegExp(`^s3://${bucket()}/async/child/out/[0-9a-f-]{36}\\.out$`),
    );
    const id = /([0-9a-f-]{36})\.out$/.exec(answer.OutputLocation ?? '')?.[1];
    expect(answer.FailureLocation).toBe(`s3://${bucket()}/async/child/failures/${id}-error.out`);

    expect(notification.kind).toBe('success');
    const record = notification.event.Records[0];
    expect(record).toMatchObject({
      EventSource: 'aws:sns',
      EventVersion: '1.0',
      Sns: { Type: 'Notification', TopicArn: 'arn:aws:sns:us-east-1:000000000000:shapes-child-success' },
    });
    expect(notification.message).toEqual({
      awsRegion: 'us-east-1',
      eventTime: expect.any(String),
      receivedTime: expect.any(String),
      invocationStatus: 'Completed',
      requestParameters: {
        accept: 'image/png',
        contentType: 'application/json',
        customAttributes: 'trace=1',
        endpointName: 'shapes-child',
        inputLocation: input,
      },
      responseParameters: { contentType: 'image/png', outputLocation: answer.OutputLocation },
      inferenceId: 'job-child',
      eventVersion: '1.0',
      eventSource: 'aws:sagemaker',
      eventName: 'InferenceResult',
    });
    const image = PNG.sync.read(await readObject(answer.OutputLocation ?? ''));
    expect([image.width, image.height]).toEqual([96, 64]);
  });

  it('shows 0 instances before, 1 while serving and 0 again after the idle shutdown', async () => {
    // Prepare: 25 steps of 20 ms keep the request at the instance for half a second.
    register('shapes-scaling', { msPerStep: 20, idleShutdownMs: 200, coldStartDelayMs: 300 });
    const input = await putInput('inputs/scaling.json', {
      inputs: 'circles',
      parameters: { width: 64, height: 64, seed: 1, num_inference_steps: 25 },
    });
    const before = await instanceCounts('shapes-scaling');

    // Act
    await invoke('shapes-scaling', input, 'job-scaling');
    const warming = await until(async () => {
      const counts = await instanceCounts('shapes-scaling');
      return counts.desired === 1 && counts.current === 0 ? counts : undefined;
    });
    const serving = await until(async () => {
      const counts = await instanceCounts('shapes-scaling');
      return counts.current === 1 ? counts : undefined;
    });
    const done = await notificationFor('job-scaling');
    const after = await until(async () => {
      const counts = await instanceCounts('shapes-scaling');
      return counts.current === 0 && counts.desired === 0 ? counts : undefined;
    });

    // Assess
    expect(before).toEqual({ status: 'InService', current: 0, desired: 0 });
    expect(warming).toEqual({ status: 'Updating', current: 0, desired: 1 });
    expect(serving).toEqual({ status: 'InService', current: 1, desired: 1 });
    expect(done.kind).toBe('success');
    expect(after).toEqual({ status: 'InService', current: 0, desired: 0 });
  });

  it('describes the async configuration of an endpoint', async () => {
    register('shapes-described', { maxConcurrency: 3 });

    const described = await control.send(new DescribeEndpointCommand({ EndpointName: 'shapes-described' }));

    expect(described).toMatchObject({
      EndpointName: 'shapes-described',
      EndpointArn: 'arn:aws:sagemaker:us-east-1:000000000000:endpoint/shapes-described',
      EndpointStatus: 'InService',
      AsyncInferenceConfig: {
        ClientConfig: { MaxConcurrentInvocationsPerInstance: 3 },
        OutputConfig: {
          S3OutputPath: `s3://${bucket()}/async/shapes-described/out`,
          S3FailurePath: `s3://${bucket()}/async/shapes-described/failures`,
          NotificationConfig: {
            SuccessTopic: 'arn:aws:sns:us-east-1:000000000000:shapes-described-success',
            ErrorTopic: 'arn:aws:sns:us-east-1:000000000000:shapes-described-error',
          },
        },
      },
    });
    expect(described.CreationTime).toBeInstanceOf(Date);
  });

  it('notifies an error with the reason and writes the container’s answer as the failure object', async () => {
    // Prepare
    register('shapes-bad-input');
    const input = await putInput('inputs/bad.json', { inputs: 'stars', parameters: { width: 'wide' } });

    // Act
    const answer = await invoke('shapes-bad-input', input, 'job-bad');
    const notification = await notificationFor('job-bad');

    // Assess
    expect(notification.kind).toBe('error');
    expect(notification.event.Records[0]?.Sns.TopicArn).toBe(
      'arn:aws:sns:us-east-1:000000000000:shapes-bad-input-error',
    );
    expect(notification.message).toMatchObject({
      invocationStatus: 'Failed',
      failureReason:
        'ClientError: Received client error (400) from model. See the SageMaker Endpoint logs in your account for more information.',
      responseParameters: { contentType: 'application/json', failureLocation: answer.FailureLocation },
      inferenceId: 'job-bad',
    });
    const failure = JSON.parse((await readObject(answer.FailureLocation ?? '')).toString()) as {
      code: number;
      message: string;
    };
    expect(failure).toMatchObject({
      code: 400,
      message: expect.stringContaining('"width" must be an integer'),
    });
  });

  it('answers an unknown endpoint with the ValidationError the SDK throws', async () => {
    const invoked = invoke('nope', `s3://${bucket()}/inputs/none.json`, 'job-nope');
    const described = control.send(new DescribeEndpointCommand({ EndpointName: 'nope' }));

    await expect(invoked).rejects.toMatchObject({
      name: 'ValidationError',
      message: 'Endpoint nope of account 000000000000 not found.',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(described).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'Could not find endpoint "arn:aws:sagemaker:us-east-1:000000000000:endpoint/nope".',
    });
  });

  it('rejects requests SageMaker would reject', async () => {
    register('shapes-validated');

    await expect(
      invoke('shapes-validated', `s3://${bucket()}/inputs/x.json`, 'job-ttl', { RequestTTLSeconds: 5 }),
    ).rejects.toMatchObject({
      name: 'ValidationError',
      message: expect.stringContaining("'requestTTLSeconds'"),
    });
    await expect(
      runtime.send(new InvokeEndpointAsyncCommand({ EndpointName: 'shapes-validated' })),
    ).rejects.toMatchObject({ name: 'ValidationError' });
  });

  it('throttles as SageMaker does: 400 ThrottlingException with a null message, retried by the SDK', async () => {
    // Prepare
    register('shapes-throttled');
    const input = await putInput('inputs/throttled.json', {
      inputs: 'stars',
      parameters: { width: 64, height: 64 },
    });
    const retrying = new SageMakerRuntimeClient({
      region: 'us-east-1',
      endpoint: host.endpoint,
      credentials: EMULATOR_CREDENTIALS,
      maxAttempts: 3,
    });

    // Act
    host.throttleNext('shapes-throttled', 1);
    const throttled = invoke('shapes-throttled', input, 'job-throttled');
    await expect(throttled).rejects.toBeDefined();
    host.throttleNext('shapes-throttled', 1);
    const retried = await retrying.send(
      new InvokeEndpointAsyncCommand({
        EndpointName: 'shapes-throttled',
        InputLocation: input,
        ContentType: 'application/json',
        Accept: 'image/png',
        InferenceId: 'job-retried',
      }),
    );
    retrying.destroy();

    // Assess
    await expect(throttled).rejects.toMatchObject({
      name: 'ThrottlingException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    expect(retried.$metadata).toMatchObject({ httpStatusCode: 202, attempts: 2 });
    expect((await notificationFor('job-retried')).kind).toBe('success');
    expect(received.some((entry) => entry.message.inferenceId === 'job-throttled')).toBe(false);
  });

  it('fails injected model errors with an error notification', async () => {
    register('shapes-model-error');
    const input = await putInput('inputs/model-error.json', {
      inputs: 'stars',
      parameters: { width: 64, height: 64 },
    });
    host.failNextInvocations('shapes-model-error', 1);

    const failed = await invoke('shapes-model-error', input, 'job-model-error');
    const after = await invoke('shapes-model-error', input, 'job-model-ok');

    const failure = await notificationFor('job-model-error');
    expect(failure.message.failureReason).toContain('Received server error (500) from model');
    expect((await readObject(failed.FailureLocation ?? '')).toString()).toContain('injected model failure');
    expect((await notificationFor('job-model-ok')).kind).toBe('success');
    expect(after.OutputLocation).not.toBe(failed.OutputLocation);
  });

  it('queues the second request while the only slot (maxConcurrency 1) is busy', async () => {
    // Prepare: 15 steps of 20 ms: each request holds the slot for 300 ms.
    const stats = register('shapes-queued', { msPerStep: 20, maxConcurrency: 1 });
    const input = await putInput('inputs/queued.json', {
      inputs: 'stars',
      parameters: { width: 64, height: 64, seed: 3, num_inference_steps: 15 },
    });

    // Act
    await invoke('shapes-queued', input, 'job-queued-1');
    await invoke('shapes-queued', input, 'job-queued-2');
    const waiting = await until(() => {
      const snapshot = host.describe('shapes-queued');
      return snapshot?.inFlight === 1 && snapshot.queued === 1 ? snapshot : undefined;
    });
    const first = await notificationFor('job-queued-1');
    const second = await notificationFor('job-queued-2');

    // Assess
    expect(waiting).toMatchObject({ currentInstanceCount: 1, inFlight: 1, queued: 1 });
    expect(stats).toMatchObject({ max: 1, requests: 2, launches: 1 });
    expect([first.kind, second.kind]).toEqual(['success', 'success']);
    expect(Date.parse(second.message.eventTime)).toBeGreaterThanOrEqual(Date.parse(first.message.eventTime));
  });

  it('fails a request that outlives InvocationTimeoutSeconds', async () => {
    register('shapes-slow', { msPerStep: 100 });
    const input = await putInput('inputs/slow.json', {
      inputs: 'stars',
      parameters: { width: 64, height: 64, num_inference_steps: 30 },
    });

    const answer = await invoke('shapes-slow', input, 'job-slow', { InvocationTimeoutSeconds: 1 });
    const notification = await notificationFor('job-slow');

    expect(notification.kind).toBe('error');
    expect(notification.message.failureReason).toContain('InvocationTimeoutSeconds (1 s)');
    expect((await readObject(answer.FailureLocation ?? '')).toString()).toBe(
      notification.message.failureReason,
    );
  });

  it('expires a request that waited in the queue longer than RequestTTLSeconds', async () => {
    // Prepare
    register('shapes-expiring', { msPerStep: 20, maxConcurrency: 1 });
    const input = await putInput('inputs/expiring.json', {
      inputs: 'stars',
      parameters: { width: 64, height: 64, num_inference_steps: 15 },
    });

    // Act: the second request waits behind the first while the clock jumps past its TTL.
    await invoke('shapes-expiring', input, 'job-expiring-1');
    await invoke('shapes-expiring', input, 'job-expiring-2', { RequestTTLSeconds: 60 });
    await until(() => (host.describe('shapes-expiring')?.inFlight === 1 ? true : undefined));
    clockOffsetMs += 61_000;
    const first = await notificationFor('job-expiring-1');
    const second = await notificationFor('job-expiring-2');
    clockOffsetMs = 0;

    // Assess
    expect(first.kind).toBe('success');
    expect(second.kind).toBe('error');
    expect(second.message.failureReason).toContain('longer than RequestTTLSeconds (60 s)');
  });

  it('takes an inline body instead of an input location', async () => {
    register('shapes-inline');
    const body = Buffer.from(JSON.stringify({ inputs: 'squares', parameters: { width: 64, height: 72 } }));

    const answer = await runtime.send(
      new InvokeEndpointAsyncCommand({
        EndpointName: 'shapes-inline',
        Body: body,
        ContentType: 'application/json',
        Accept: 'image/png',
        InferenceId: 'job-inline',
      }),
    );
    const notification = await notificationFor('job-inline');

    expect(notification.kind).toBe('success');
    expect(notification.message.requestParameters).not.toHaveProperty('inputLocation');
    const image = PNG.sync.read(await readObject(answer.OutputLocation ?? ''));
    expect([image.width, image.height]).toEqual([64, 72]);
  });
});

describe('stopping the host', () => {
  it('fails queued requests with an error notification instead of dropping them, without waiting for a cold start', async () => {
    // Prepare: a cold start that would take a minute keeps the request queued.
    const notifications: SageMakerAsyncNotification[] = [];
    const stopping = await startSageMakerHost({
      s3: fixture.clients.s3,
      notify: async (event) => {
        notifications.push(JSON.parse(event.Records[0]?.Sns.Message ?? '{}') as SageMakerAsyncNotification);
      },
    });
    stopping.register({
      name: 'shapes-stopping',
      s3OutputPath: `s3://${bucket()}/async/stopping/out`,
      launch: inProcessLauncher(() => createShapesEndpointServer()),
      // An hour: a stop that waited for the cold start would hang the test.
      coldStartDelayMs: 3_600_000,
    });
    const client = new SageMakerRuntimeClient({
      region: 'us-east-1',
      endpoint: stopping.endpoint,
      credentials: EMULATOR_CREDENTIALS,
      maxAttempts: 1,
    });
    const input = await putInput('inputs/stopping.json', { inputs: 'stars' });

    // Act
    await client.send(
      new InvokeEndpointAsyncCommand({
        EndpointName: 'shapes-stopping',
        InputLocation: input,
        InferenceId: 'job-stop',
      }),
    );
    client.destroy();
    await stopping.stop();

    // Assess
    expect(notifications).toEqual([
      expect.objectContaining({
        inferenceId: 'job-stop',
        invocationStatus: 'Failed',
        failureReason: 'ClientError: The endpoint host stopped before the request ran.',
      }),
    ]);
    expect(stopping.describe('shapes-stopping')).toMatchObject({
      currentInstanceCount: 0,
      desiredInstanceCount: 0,
    });
  });

  it('drops, when it abandons them, the requests it did not answer: their callers invoke them again', async () => {
    // Prepare: one request at a slow instance (20 steps of 100 ms), one queued behind it.
    const notifications: SageMakerAsyncNotification[] = [];
    const abandoning = await startSageMakerHost({
      s3: fixture.clients.s3,
      stopGraceMs: 0,
      notify: async (event) => {
        notifications.push(JSON.parse(event.Records[0]?.Sns.Message ?? '{}') as SageMakerAsyncNotification);
      },
    });
    let drawing = false;
    abandoning.register({
      name: 'shapes-abandoned',
      s3OutputPath: `s3://${bucket()}/async/abandoned/out`,
      s3FailurePath: `s3://${bucket()}/async/abandoned/failures`,
      launch: inProcessLauncher(() => {
        const server = createShapesEndpointServer({ msPerStep: 100 });
        server.on('request', (request) => {
          if (request.url === '/invocations') drawing = true;
        });
        return server;
      }),
    });
    const client = new SageMakerRuntimeClient({
      region: 'us-east-1',
      endpoint: abandoning.endpoint,
      credentials: EMULATOR_CREDENTIALS,
      maxAttempts: 1,
    });
    const input = await putInput('inputs/abandoned.json', {
      inputs: 'stars',
      parameters: { num_inference_steps: 20 },
    });
    for (const inferenceId of ['job-drawing', 'job-queued']) {
      await client.send(
        new InvokeEndpointAsyncCommand({
          EndpointName: 'shapes-abandoned',
          InputLocation: input,
          ContentType: 'application/json',
          Accept: 'image/png',
          InferenceId: inferenceId,
        }),
      );
    }
    client.destroy();
    await until(() => (drawing ? true : undefined));

    // Act
    await abandoning.stop({ abandon: true });

    // Assess
    expect(notifications).toEqual([]);
    expect(abandoning.describe('shapes-abandoned')).toMatchObject({ queued: 0, currentInstanceCount: 0 });
  });
});

describe('removeLeftovers', () => {
  it("deletes what an earlier host left under the endpoints' output and failure paths, and nothing else", async () => {
    // Prepare
    const leftovers = await startSageMakerHost({ s3: fixture.clients.s3, notify: async () => undefined });
    leftovers.register({
      name: 'shapes-leftovers',
      s3OutputPath: `s3://${bucket()}/staged/leftovers/output`,
      s3FailurePath: `s3://${bucket()}/staged/leftovers/failures`,
      launch: inProcessLauncher(() => createShapesEndpointServer()),
    });
    const staged = ['staged/leftovers/output/a.out', 'staged/leftovers/failures/b-error.out'];
    const kept = ['staged/leftovers/outputs-of-someone-else.txt', 'staged/other/output/c.out'];
    for (const key of [...staged, ...kept]) await putInput(key, { leftover: key });

    // Act
    const removed = await leftovers.removeLeftovers();
    const listed = await fixture.clients.s3.send(
      new ListObjectsV2Command({ Bucket: bucket(), Prefix: 'staged/' }),
    );
    await leftovers.stop();

    // Assess
    expect(removed).toBe(2);
    expect((listed.Contents ?? []).map((object) => object.Key).sort()).toEqual([...kept].sort());
  });
});
