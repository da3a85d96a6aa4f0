import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { S3Client } from '@aws-sdk/client-s3';
import {
  DescribeEndpointCommand,
  DescribeInferenceComponentCommand,
  ListInferenceComponentsCommand,
  SageMakerClient,
  UpdateInferenceComponentRuntimeConfigCommand,
} from '@aws-sdk/client-sagemaker';
import {
  InvokeEndpointCommand,
  InvokeEndpointWithResponseStreamCommand,
  type InvokeEndpointWithResponseStreamCommandOutput,
  SageMakerRuntimeClient,
} from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMULATOR_CREDENTIALS } from '../../../../lambdas/adapters/clients.ts';
import {
  type InferenceComponentRegistration,
  type InstanceLauncher,
  inProcessLauncher,
  NO_CAPACITY_MESSAGE,
  type SageMakerHost,
  sharedLauncher,
  startSageMakerHost,
} from '../../../../lambdas/local/sagemaker/host.ts';

const settings = { region: 'us-east-1', credentials: EMULATOR_CREDENTIALS, maxAttempts: 1 };
/** Never called: the real-time endpoints read and write nothing in S3. */
const unusedS3 = new S3Client({ ...settings, endpoint: 'http://127.0.0.1:9' });

/** DescribeInferenceComponent's `Specification` shape: the SDK drops members outside it. */
const SPECIFICATION = {
  Container: { ArtifactUrl: 's3://models/qwen2-vl-7b/', Environment: { OPTION_MAX_MODEL_LEN: '16000' } },
  ComputeResourceRequirements: { MinMemoryRequiredInMb: 16_384, NumberOfAcceleratorDevicesRequired: 1 },
};

let host: SageMakerHost;
let runtime: SageMakerRuntimeClient;
let control: SageMakerClient;

beforeAll(async () => {
  host = await startSageMakerHost({ s3: unusedS3, notify: async () => {} });
  runtime = new SageMakerRuntimeClient({ ...settings, endpoint: host.endpoint });
  control = new SageMakerClient({ ...settings, endpoint: host.endpoint });
});

afterAll(async () => {
  runtime?.destroy();
  control?.destroy();
  unusedS3.destroy();
  await host?.stop();
});

/** What the in-test model containers saw and did. */
interface ModelStats {
  launches: number;
  stops: number;
  requests: {
    component?: string;
    accept?: string;
    customAttributes?: string;
    body: Record<string, unknown>;
  }[];
  /** When each stream's last line was written (epoch ms). */
  streamsFinishedAt: number[];
}

/**
 * A tiny model container: `/ping`, and `/invocations` answering JSON, or jsonlines written one line
 * every `lineMs` when the body asks `"stream": true`. `"fail": true` answers 400; `"crash": true`
 * drops the connection after two lines.
 */
function modelLauncher(options: { lineMs?: number; lines?: number; startMs?: number } = {}) {
  const stats: ModelStats = { launches: 0, stops: 0, requests: [], streamsFinishedAt: [] };
  const { lineMs = 60, lines = 5, startMs = 0 } = options;
  const inner = inProcessLauncher(() => {
    stats.launches++;
    const startedAt = Date.now();
    const server = createServer(async (request: IncomingMessage, response: ServerResponse) => {
      if (request.url === '/ping') {
        response.writeHead(Date.now() - startedAt >= startMs ? 200 : 503).end();
        return;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      const header = (name: string) => request.headers[name] as string | undefined;
      stats.requests.push({
        component: header('x-amzn-sagemaker-inference-component'),
        accept: header('accept'),
        customAttributes: header('x-amzn-sagemaker-custom-attributes'),
        body,
      });
      if (body.fail) {
        response.writeHead(400, { 'Content-Type': 'application/json' });
        response.end('{"error":"bad prompt"}');
        return;
      }
      if (!body.stream) {
        response.writeHead(200, {
          'Content-Type': 'application/json',
          'X-Amzn-SageMaker-Custom-Attributes': `seen=${header('x-amzn-sagemaker-custom-attributes') ?? ''}`,
        });
        response.end(JSON.stringify({ model: header('x-amzn-sagemaker-inference-component'), echo: body }));
        return;
      }
      response.writeHead(200, { 'Content-Type': 'application/jsonlines' });
      for (let line = 0; line < lines; line++) {
        if (body.crash && line === 2) {
          response.destroy();
          return;
        }
        response.write(`${JSON.stringify({ token: line })}\n`);
        await new Promise((resolve) => setTimeout(resolve, lineMs));
      }
      stats.streamsFinishedAt.push(Date.now());
      response.end();
    });
    return server;
  });
  const launch: InstanceLauncher = async (context) => {
    const handle = await inner(context);
    return {
      ...handle,
      stop: async () => {
        stats.stops++;
        await handle.stop();
      },
    };
  };
  return { launch, stats };
}

function register(name: string, component: Partial<InferenceComponentRegistration> = {}, extra = {}) {
  const model = modelLauncher();
  const ready = host.registerRealtime({
    name,
    maxInstances: 2,
    components: [{ name: `${name}-ic`, launch: model.launch, ...component }],
    ...extra,
  });
  return { ...model, ready, component: `${name}-ic` };
}

function invoke(endpoint: string, component: string | undefined, body: unknown, extra = {}) {
  return runtime.send(
    new InvokeEndpointCommand({
      EndpointName: endpoint,
      ...(component === undefined ? {} : { InferenceComponentName: component }),
      ContentType: 'application/json',
      Accept: 'application/json',
      Body: new TextEncoder().encode(JSON.stringify(body)),
      ...extra,
    }),
  );
}

function invokeStream(endpoint: string, component: string, body: unknown) {
  return runtime.send(
    new InvokeEndpointWithResponseStreamCommand({
      EndpointName: endpoint,
      InferenceComponentName: component,
      ContentType: 'application/json',
      Accept: 'application/jsonlines',
      Body: new TextEncoder().encode(JSON.stringify({ ...(body as object), stream: true })),
    }),
  );
}

/** Reads the stream part by part, noting when each arrived; the error the iterator throws, if any. */
async function readParts(output: InvokeEndpointWithResponseStreamCommandOutput) {
  const parts: { text: string; at: number }[] = [];
  let error: unknown;
  try {
    for await (const event of output.Body ?? []) {
      const bytes = event.PayloadPart?.Bytes;
      if (bytes) parts.push({ text: new TextDecoder().decode(bytes), at: Date.now() });
    }
  } catch (caught) {
    error = caught;
  }
  return { parts, text: parts.map((part) => part.text).join(''), error };
}

function describeComponent(name: string) {
  return control.send(new DescribeInferenceComponentCommand({ InferenceComponentName: name }));
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the local SageMaker real-time endpoints with inference components', () => {
  it('forwards InvokeEndpoint to a copy and answers with the model’s body and headers', async () => {
    // Prepare
    const { ready, stats } = register('rt-basic', { name: 'qwen2-vl-7b' });
    await ready;

    // Act
    const answer = await invoke('rt-basic', 'qwen2-vl-7b', { prompt: 'hi' }, { CustomAttributes: 'trace=7' });

    // Assess
    expect(answer.$metadata.httpStatusCode).toBe(200);
    expect(answer.ContentType).toBe('application/json');
    expect(answer.InvokedProductionVariant).toBe('AllTraffic');
    expect(answer.CustomAttributes).toBe('seen=trace=7');
    expect(JSON.parse(new TextDecoder().decode(answer.Body))).toEqual({
      model: 'qwen2-vl-7b',
      echo: { prompt: 'hi' },
    });
    expect(stats.requests).toEqual([
      {
        component: 'qwen2-vl-7b',
        accept: 'application/json',
        customAttributes: 'trace=7',
        body: { prompt: 'hi' },
      },
    ]);
  });

  it('describes the endpoint, its components and lists them', async () => {
    // Prepare
    const { ready } = register(
      'rt-described',
      { specification: SPECIFICATION, maxCopies: 3 },
      { variantName: 'variant-0', maxInstances: 2 },
    );
    await ready;

    // Act
    const endpoint = await control.send(new DescribeEndpointCommand({ EndpointName: 'rt-described' }));
    const component = await describeComponent('rt-described-ic');
    const listed = await control.send(
      new ListInferenceComponentsCommand({ EndpointNameEquals: 'rt-described' }),
    );

    // Assess
    expect(endpoint).toMatchObject({
      EndpointName: 'rt-described',
      EndpointArn: 'arn:aws:sagemaker:us-east-1:000000000000:endpoint/rt-described',
      EndpointStatus: 'InService',
      ProductionVariants: [
        {
          VariantName: 'variant-0',
          CurrentInstanceCount: 1,
          DesiredInstanceCount: 1,
          ManagedInstanceScaling: { Status: 'ENABLED', MinInstanceCount: 0, MaxInstanceCount: 2 },
        },
      ],
    });
    expect(component).toMatchObject({
      InferenceComponentName: 'rt-described-ic',
      InferenceComponentArn: 'arn:aws:sagemaker:us-east-1:000000000000:inference-component/rt-described-ic',
      EndpointName: 'rt-described',
      EndpointArn: endpoint.EndpointArn,
      VariantName: 'variant-0',
      InferenceComponentStatus: 'InService',
      RuntimeConfig: { DesiredCopyCount: 1, CurrentCopyCount: 1 },
      Specification: SPECIFICATION,
    });
    expect(component.CreationTime).toBeInstanceOf(Date);
    expect(component.LastModifiedTime).toBeInstanceOf(Date);
    expect(listed.InferenceComponents).toEqual([
      expect.objectContaining({
        InferenceComponentName: 'rt-described-ic',
        InferenceComponentStatus: 'InService',
      }),
    ]);
    await expect(describeComponent('nope-ic')).rejects.toMatchObject({
      name: 'ValidationException',
      message:
        'Could not find inference component "arn:aws:sagemaker:us-east-1:000000000000:inference-component/nope-ic".',
    });
  });

  it('streams each chunk the model writes as a PayloadPart as it arrives', async () => {
    // Prepare: five lines, 60 ms apart.
    const { ready, stats, component } = register('rt-stream');
    await ready;

    // Act
    const output = await invokeStream('rt-stream', component, { prompt: 'count' });
    const { parts, text, error } = await readParts(output);

    // Assess
    expect(error).toBeUndefined();
    expect(output.ContentType).toBe('application/jsonlines');
    expect(output.InvokedProductionVariant).toBe('AllTraffic');
    expect(text).toBe([0, 1, 2, 3, 4].map((token) => `${JSON.stringify({ token })}\n`).join(''));
    const finishedAt = stats.streamsFinishedAt[0] ?? 0;
    expect(parts.filter((part) => part.at < finishedAt).length).toBeGreaterThanOrEqual(3);
  });

  it('answers "no capacity" at zero copies, wakes the component and serves once a copy is up', async () => {
    // Prepare: no copy at first; the copy takes 300 ms to answer /ping.
    const model = modelLauncher({ startMs: 300 });
    const ready = host.registerRealtime({
      name: 'rt-cold',
      components: [{ name: 'rt-cold-ic', launch: model.launch, initialCopies: 0, wakeDelayMs: 200 }],
    });
    await ready;
    const before = await describeComponent('rt-cold-ic');

    // Act
    const refused = invoke('rt-cold', 'rt-cold-ic', { prompt: 'wake' });
    await expect(refused).rejects.toMatchObject({
      name: 'ValidationError',
      message: NO_CAPACITY_MESSAGE,
      $metadata: { httpStatusCode: 400 },
    });
    const warming = await until(async () => {
      const described = await describeComponent('rt-cold-ic');
      return described.RuntimeConfig?.DesiredCopyCount === 1 ? described : undefined;
    });
    const serving = await until(async () => {
      const described = await describeComponent('rt-cold-ic');
      return described.RuntimeConfig?.CurrentCopyCount === 1 ? described : undefined;
    });
    const answer = await invoke('rt-cold', 'rt-cold-ic', { prompt: 'again' });

    // Assess
    expect(NO_CAPACITY_MESSAGE).toContain('has no capacity');
    expect(before).toMatchObject({
      InferenceComponentStatus: 'InService',
      RuntimeConfig: { DesiredCopyCount: 0, CurrentCopyCount: 0 },
    });
    expect(warming).toMatchObject({
      InferenceComponentStatus: 'Updating',
      RuntimeConfig: { DesiredCopyCount: 1, CurrentCopyCount: 0 },
    });
    expect(serving).toMatchObject({
      InferenceComponentStatus: 'InService',
      RuntimeConfig: { DesiredCopyCount: 1, CurrentCopyCount: 1 },
    });
    expect(serving.LastModifiedTime?.getTime()).toBeGreaterThan(before.LastModifiedTime?.getTime() ?? 0);
    expect(answer.$metadata.httpStatusCode).toBe(200);
    expect(host.describeComponent('rt-cold-ic')?.noCapacityFailures).toBe(1);
    expect(model.stats.launches).toBe(1);
  });

  it('scales an idle component in to zero copies and stops its container', async () => {
    // Prepare
    const { ready, stats, component } = register('rt-idle', { idleScaleInMs: 300 });
    await ready;
    await invoke('rt-idle', component, { prompt: 'once' });

    // Act
    const idle = await until(async () => {
      const described = await describeComponent(component);
      return described.RuntimeConfig?.CurrentCopyCount === 0 ? described : undefined;
    });
    const endpoint = await control.send(new DescribeEndpointCommand({ EndpointName: 'rt-idle' }));

    // Assess
    expect(idle).toMatchObject({
      InferenceComponentStatus: 'InService',
      RuntimeConfig: { DesiredCopyCount: 0, CurrentCopyCount: 0 },
    });
    expect(endpoint.ProductionVariants?.[0]).toMatchObject({
      CurrentInstanceCount: 0,
      DesiredInstanceCount: 0,
    });
    expect(stats.stops).toBe(1);
    await expect(invoke('rt-idle', component, {})).rejects.toMatchObject({ message: NO_CAPACITY_MESSAGE });
  });

  it('scales with UpdateInferenceComponentRuntimeConfig and scaleComponentToZero', async () => {
    // Prepare
    const { ready, stats, component } = register('rt-updated', { maxCopies: 2 });
    await ready;

    // Act
    const updated = await control.send(
      new UpdateInferenceComponentRuntimeConfigCommand({
        InferenceComponentName: component,
        DesiredRuntimeConfig: { CopyCount: 2 },
      }),
    );
    const two = await until(async () => {
      const described = await describeComponent(component);
      return described.RuntimeConfig?.CurrentCopyCount === 2 ? described : undefined;
    });
    host.scaleComponentToZero('rt-updated', component);
    const zero = await until(async () => {
      const described = await describeComponent(component);
      return described.RuntimeConfig?.CurrentCopyCount === 0 ? described : undefined;
    });

    // Assess
    expect(updated.InferenceComponentArn).toBe(
      'arn:aws:sagemaker:us-east-1:000000000000:inference-component/rt-updated-ic',
    );
    expect(two.RuntimeConfig).toEqual({ DesiredCopyCount: 2, CurrentCopyCount: 2 });
    expect(zero.RuntimeConfig).toEqual({ DesiredCopyCount: 0, CurrentCopyCount: 0 });
    expect([stats.launches, stats.stops]).toEqual([2, 2]);
    await expect(
      control.send(
        new UpdateInferenceComponentRuntimeConfigCommand({
          InferenceComponentName: component,
          DesiredRuntimeConfig: { CopyCount: 3 },
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
  });

  it('reports a copy that fails to start and tries again on the next wake', async () => {
    // Prepare: the first launch fails, the second starts.
    const model = modelLauncher();
    let launches = 0;
    const launch: InstanceLauncher = async (context) => {
      launches++;
      if (launches === 1) throw new Error('no GPU left');
      return model.launch(context);
    };
    await host.registerRealtime({
      name: 'rt-failing',
      components: [{ name: 'rt-failing-ic', launch, wakeDelayMs: 50 }],
    });
    const failed = await describeComponent('rt-failing-ic');

    // Act
    const refused = await invoke('rt-failing', 'rt-failing-ic', {}).catch((error: unknown) => error);
    const recovered = await until(async () => {
      const described = await describeComponent('rt-failing-ic');
      return described.RuntimeConfig?.CurrentCopyCount === 1 ? described : undefined;
    });

    // Assess
    expect(failed).toMatchObject({
      InferenceComponentStatus: 'InService',
      FailureReason: 'The inference component copy failed to start: no GPU left',
      RuntimeConfig: { DesiredCopyCount: 0, CurrentCopyCount: 0 },
    });
    expect(refused).toMatchObject({ name: 'ValidationError', message: NO_CAPACITY_MESSAGE });
    expect(recovered.FailureReason).toBeUndefined();
    expect(launches).toBe(2);
  });

  it('answers a model’s error as ModelError 424 with the original status and message', async () => {
    // Prepare
    const { ready, component } = register('rt-model-error');
    await ready;

    // Act
    const rejected = await invoke('rt-model-error', component, { fail: true }).catch(
      (error: unknown) => error,
    );
    host.failRealtimeNext('rt-model-error', component, 1, { status: 503, body: 'overloaded' });
    const injected = await invoke('rt-model-error', component, { prompt: 'fine' }).catch(
      (error: unknown) => error,
    );

    // Assess
    expect(rejected).toMatchObject({
      name: 'ModelError',
      $metadata: { httpStatusCode: 424 },
      OriginalStatusCode: 400,
      OriginalMessage: '{"error":"bad prompt"}',
      LogStreamArn:
        'arn:aws:logs:us-east-1:000000000000:log-group:/aws/sagemaker/InferenceComponents/rt-model-error-ic',
      message: expect.stringContaining(
        'Received client error (400) from model with message "{"error":"bad prompt"}"',
      ),
    });
    expect(injected).toMatchObject({
      name: 'ModelError',
      OriginalStatusCode: 503,
      OriginalMessage: 'overloaded',
    });
  });

  it('throws a ModelStreamError from the iterator when the stream breaks mid-way', async () => {
    // Prepare
    const { ready, component } = register('rt-broken');
    await ready;
    host.failStreamAfter('rt-broken', component, { chunks: 2 });

    // Act
    const injected = await readParts(await invokeStream('rt-broken', component, { prompt: 'x' }));
    const crashed = await readParts(await invokeStream('rt-broken', component, { crash: true }));
    const whole = await readParts(await invokeStream('rt-broken', component, { prompt: 'y' }));

    // Assess
    expect(injected.parts).toHaveLength(2);
    expect(injected.error).toMatchObject({ name: 'ModelStreamError', ErrorCode: 'StreamBroken' });
    expect(crashed.text).toBe('{"token":0}\n{"token":1}\n');
    expect(crashed.error).toMatchObject({ name: 'ModelStreamError', ErrorCode: 'StreamBroken' });
    expect(whole.error).toBeUndefined();
    expect(whole.parts.length).toBeGreaterThanOrEqual(2);
  });

  it('rejects an unknown component, a missing one and an unknown endpoint as SageMaker does', async () => {
    const { ready } = register('rt-names');
    await ready;

    await expect(invoke('rt-names', 'other-ic', {})).rejects.toMatchObject({
      name: 'ValidationError',
      $metadata: { httpStatusCode: 400 },
      message: 'Inference Component other-ic was not found on endpoint rt-names of account 000000000000.',
    });
    await expect(invoke('rt-names', undefined, {})).rejects.toMatchObject({
      name: 'ValidationError',
      message: expect.stringContaining('Inference Component Name header is required'),
    });
    await expect(invoke('rt-none', 'x', {})).rejects.toMatchObject({
      name: 'ValidationError',
      message: 'Endpoint rt-none of account 000000000000 not found.',
    });
  });

  it('throttles, slows and times out as injected, and refuses a body over 6 MB', async () => {
    // Prepare
    const { ready, component } = register('rt-faults', {}, { invocationTimeoutMs: 500 });
    await ready;
    host.throttleRealtimeNext('rt-faults', component, 1);

    // Act
    const throttled = invoke('rt-faults', component, {});
    await expect(throttled).rejects.toMatchObject({
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
    });
    host.delayRealtimeNext('rt-faults', component, 200);
    const started = Date.now();
    const slow = await invoke('rt-faults', component, { prompt: 'slow' });
    const slowMs = Date.now() - started;
    host.delayRealtimeNext('rt-faults', component, 2_000);
    const timedOut = await invoke('rt-faults', component, { prompt: 'too slow' }).catch(
      (error: unknown) => error,
    );
    const large = await invoke('rt-faults', component, undefined, {
      Body: new Uint8Array(6 * 1024 * 1024 + 1),
    }).catch((error: unknown) => error);

    // Assess
    expect(slow.$metadata.httpStatusCode).toBe(200);
    expect(slowMs).toBeGreaterThanOrEqual(200);
    expect(timedOut).toMatchObject({
      name: 'ModelError',
      OriginalStatusCode: 0,
      message: expect.stringContaining('Your invocation timed out'),
    });
    expect(large).toMatchObject({
      $metadata: { httpStatusCode: 413 },
      message: 'HTTP content length exceeded 6291456 bytes.',
    });
  });

  it('shares one container among components through sharedLauncher', async () => {
    // Prepare
    const model = modelLauncher();
    const launch = sharedLauncher(model.launch);
    await host.registerRealtime({
      name: 'rt-shared',
      components: ['rt-shared-a', 'rt-shared-b'].map((name) => ({ name, launch })),
    });

    // Act
    const [a, b] = await Promise.all([
      invoke('rt-shared', 'rt-shared-a', { prompt: 'a' }),
      invoke('rt-shared', 'rt-shared-b', { prompt: 'b' }),
    ]);
    host.scaleComponentToZero('rt-shared', 'rt-shared-a');
    await until(async () =>
      (await describeComponent('rt-shared-a')).RuntimeConfig?.CurrentCopyCount === 0 ? true : undefined,
    );
    const stillServing = await invoke('rt-shared', 'rt-shared-b', { prompt: 'b again' });
    const stopsWhileShared = model.stats.stops;
    host.scaleComponentToZero('rt-shared', 'rt-shared-b');
    await until(async () => (model.stats.stops === 1 ? true : undefined));

    // Assess
    expect(model.stats.launches).toBe(1);
    expect(JSON.parse(new TextDecoder().decode(a.Body)).model).toBe('rt-shared-a');
    expect(JSON.parse(new TextDecoder().decode(b.Body)).model).toBe('rt-shared-b');
    expect(stillServing.$metadata.httpStatusCode).toBe(200);
    expect(stopsWhileShared).toBe(0);
  });

  it('answers requests in flight with an error and stops the copies when the host stops', async () => {
    // Prepare: a host of its own, with one slow request and one stream in flight.
    const own = await startSageMakerHost({ s3: unusedS3, notify: async () => {} });
    const client = new SageMakerRuntimeClient({ ...settings, endpoint: own.endpoint });
    const model = modelLauncher({ lineMs: 200, lines: 20 });
    await own.registerRealtime({
      name: 'rt-stopped',
      components: [{ name: 'rt-stopped-ic', launch: model.launch }],
    });
    own.delayRealtimeNext('rt-stopped', 'rt-stopped-ic', 10_000);
    const slow = client.send(
      new InvokeEndpointCommand({
        EndpointName: 'rt-stopped',
        InferenceComponentName: 'rt-stopped-ic',
        Body: new TextEncoder().encode('{}'),
      }),
    );
    const stream = await client.send(
      new InvokeEndpointWithResponseStreamCommand({
        EndpointName: 'rt-stopped',
        InferenceComponentName: 'rt-stopped-ic',
        Body: new TextEncoder().encode('{"stream":true}'),
      }),
    );
    const reading = readParts(stream);
    await until(async () => (own.describeComponent('rt-stopped-ic')?.inFlight === 2 ? true : undefined));

    // Act
    await own.stop();

    // Assess
    await expect(slow).rejects.toMatchObject({
      name: 'ServiceUnavailable',
      $metadata: { httpStatusCode: 503 },
    });
    expect((await reading).error).toMatchObject({ name: 'InternalStreamFailure' });
    client.destroy();
    expect(model.stats.stops).toBe(1);
  });
});
